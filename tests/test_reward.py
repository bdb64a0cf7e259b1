"""Reward labels on tokens: both layouts, the self-test that catches misplaced labels, ORM balancing."""

import pytest

from e2h.format import format_prompt, format_solution, split_steps
from e2h.models import train_tokenizer
from e2h.training.reward_data import (LAYOUTS, LabelLayoutError, balance_per_question, check_label_layout, labelled_spans,
                        orm_records, reward_example)
from e2h.models.spans import encode
from e2h.training.loop import IGNORE

RECORDS = [
    {"problem": "What is $1+1$?", "solution": format_solution(["We add one and one.", "So it is\n$2$."], "2"),
     "labels": [1, 0]},
    {"problem": "Find x.", "solution": format_solution(["Divide by two.", "Then  x = 3.", "Check."], "3"),
     "labels": [1, None, 0]},  # a hole: step 2 unrated
    {"problem": "Find y.", "solution": format_solution(["Guess.", "Wrong."], "7"), "labels": [0]},  # stops early
    {"problem": "Cut off.", "solution": "We start.\n\nThen we", "labels": [1, 1]},  # no answer, no EOS reached
]
TEXTS = [format_prompt(r["problem"]) + r["solution"] for r in RECORDS] * 5


@pytest.fixture(scope="module", params=[(True, False), (False, False), (True, True)],
                ids=["sep-token", "bpe-newlines", "split-digits"])
def tok(request):
    # With and without a dedicated "\n\n" token (the second splits blank lines like Llama's tokenizer does), and
    # with numbers written digit by digit (the embedded task's default).
    separator_token, split_digits = request.param
    return train_tokenizer(TEXTS, 300, separator_token=separator_token, split_digits=split_digits)


def test_every_token_layout_covers_each_step_and_its_blank_line(tok):
    spans = labelled_spans(tok, reward_example(tok, RECORDS[0], layout="every_token"))
    assert [(t.replace(" ", ""), y) for t, y in spans] == [
        ("Weaddoneandone.\n\n", 1.0), ("Soitis\n$2$.\n\n#Answer\n\n2</s>", 0.0)]
    spans = labelled_spans(tok, reward_example(tok, RECORDS[1], layout="every_token"))
    assert [(t.replace(" ", ""), y) for t, y in spans] == [
        ("Dividebytwo.\n\n", 1.0), ("Check.\n\n#Answer\n\n3</s>", 0.0)]
    spans = labelled_spans(tok, reward_example(tok, RECORDS[2], layout="every_token"))
    assert [(t.replace(" ", ""), y) for t, y in spans] == [("Guess.\n\n", 0.0)]


def test_separator_layout_labels_only_read_out_tokens(tok):
    ex = reward_example(tok, RECORDS[0], layout="separator")
    got = [(tok.decode([t]), y) for t, y in zip(ex["input_ids"], ex["labels"]) if y != IGNORE]
    assert [(t[:1] if t != tok.eos_token else t, y) for t, y in got] == [("\n", 1.0), ("</s>", 0.0)]
    ex = reward_example(tok, RECORDS[1], layout="separator")
    assert sum(y != IGNORE for y in ex["labels"]) == 2


def test_layouts_agree_at_read_out_positions(tok):
    # Whatever the layout, the token where scoring reads a step carries that step's label.
    for rec in RECORDS:
        enc = encode(tok, format_prompt(rec["problem"]), rec["solution"])
        assert len(enc.read_positions) == len(split_steps(rec["solution"]))
        for layout in LAYOUTS:
            ex = reward_example(tok, rec, layout=layout)
            for k, y in enumerate(rec["labels"]):
                assert ex["labels"][enc.read_positions[k]] == (IGNORE if y is None else float(y))


def test_prompt_never_labelled(tok):
    for rec in RECORDS:
        n_prompt = len(tok(format_prompt(rec["problem"])).input_ids)
        for layout in LAYOUTS:
            assert all(y == IGNORE for y in reward_example(tok, rec, layout=layout)["labels"][:n_prompt - 1])


def test_self_test_passes_on_correct_layouts(tok):
    for layout in LAYOUTS:
        check_label_layout(tok, RECORDS, layout=layout)


def test_a_step_that_starts_with_a_space_owns_its_first_token(tok):
    # A policy sample that dropped the "#" of its answer header: "\n\n Answer" is a step of its own, and the token
    # " Answer" (space included) belongs to it, not to the step before the blank line.
    rec = {"problem": "Compute 36 - 08.", "solution": "36 - 08 = 28\n\n Answer\n\n28", "labels": [1, 0]}
    for layout in LAYOUTS:
        check_label_layout(tok, [rec], layout=layout)
    spans = labelled_spans(tok, reward_example(tok, rec, layout="every_token"))
    assert [(t.replace(" ", ""), y) for t, y in spans] == [("36-08=28\n\n", 1.0), ("Answer\n\n", 0.0)]


def test_self_test_catches_the_classic_bugs(tok):
    rec = RECORDS[0]
    for layout in LAYOUTS:
        good = reward_example(tok, rec, layout=layout)
        shifted = dict(good, labels=[IGNORE] + good["labels"][:-1])  # off by one (the shift bug)
        with pytest.raises(LabelLayoutError):
            check_label_layout(tok, [rec], layout=layout, examples=[shifted])
        swapped = dict(good, labels=[1.0 - y if y != IGNORE else y for y in good["labels"]])
        with pytest.raises(LabelLayoutError):
            check_label_layout(tok, [rec], layout=layout, examples=[swapped])
    every = reward_example(tok, rec, layout="every_token")
    with pytest.raises(LabelLayoutError):  # every-token labels where separator labels were intended
        check_label_layout(tok, [rec], layout="separator", examples=[every])
    no_eos = dict(every, labels=every["labels"][:-1] + [IGNORE])  # last step's label missing at EOS
    with pytest.raises(LabelLayoutError):
        check_label_layout(tok, [rec], layout="every_token", examples=[no_eos])


def test_too_many_labels_is_an_error(tok):
    with pytest.raises(ValueError, match="3 labels for 2 steps"):
        reward_example(tok, dict(RECORDS[0], labels=[1, 1, 1]), layout="every_token")
    with pytest.raises(ValueError, match="layout"):
        reward_example(tok, RECORDS[0], layout="tokens")


def test_truncation_drops_cut_read_outs(tok):
    rec = RECORDS[0]
    full = reward_example(tok, rec, layout="separator")
    short = reward_example(tok, rec, layout="separator", max_length=len(full["input_ids"]) - 1)
    assert sum(y != IGNORE for y in short["labels"]) == 1  # the EOS read-out is gone


def _rows(qid, n_pos, n_neg):
    return [{"problem_id": qid, "sample_idx": i, "text": f"s{i}", "correct": i < n_pos} for i in range(n_pos + n_neg)]


def test_balance_keeps_ratio_within_bounds():
    rows = _rows("a", 30, 2) + _rows("b", 1, 31) + _rows("c", 5, 7) + _rows("d", 32, 0) + _rows("e", 0, 32)
    kept, stats = balance_per_question(rows, max_ratio=3.0, seed=0)
    by_q = {}
    for r in kept:
        by_q.setdefault(r["problem_id"], []).append(r["correct"])
    assert set(by_q) == {"a", "b", "c"} and stats["dropped_one_class"] == 2
    assert (sum(by_q["a"]), len(by_q["a"]) - sum(by_q["a"])) == (6, 2)
    assert (sum(by_q["b"]), len(by_q["b"]) - sum(by_q["b"])) == (1, 3)
    assert (sum(by_q["c"]), len(by_q["c"]) - sum(by_q["c"])) == (5, 7)  # already within 1:3 … 3:1
    for labels in by_q.values():
        pos, neg = sum(labels), len(labels) - sum(labels)
        assert pos <= 3 * neg and neg <= 3 * pos
    assert stats["samples_out"] == len(kept) == 8 + 4 + 12


def test_balance_is_seeded_and_order_free():
    rows = _rows("a", 30, 2) + _rows("b", 2, 20)
    a, _ = balance_per_question(rows, seed=1)
    b, _ = balance_per_question(list(reversed(rows)), seed=1)
    c, _ = balance_per_question(rows, seed=2)
    key = lambda rs: sorted((r["problem_id"], r["sample_idx"]) for r in rs)  # noqa: E731
    assert key(a) == key(b) and key(a) != key(c)


def test_orm_records_label_every_step_with_the_verdict():
    text = format_solution(["a", "b"], "1")
    recs = orm_records([{"problem_id": "q", "text": text, "correct": True},
                        {"problem_id": "q", "text": "only\n\nsteps", "correct": False}], {"q": "Q?"})
    assert recs[0]["labels"] == [1, 1] and recs[1]["labels"] == [0, 0]
    assert recs[0]["problem"] == "Q?"
