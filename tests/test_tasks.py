import random
import re

import pytest

from e2h import embedded_task as tasks
from e2h.format import split_steps


def test_every_level_has_four_steps_and_the_right_mix_of_two_digit_numbers():
    rng = random.Random(0)
    for level in tasks.LEVELS:
        for _ in range(200):
            rec = tasks.make_problem(rng, level)
            numbers = tasks.parse_problem(rec["problem"])
            assert len(numbers) == tasks.NUM_STEPS + 1
            assert sum(n >= 10 for n in numbers[1:]) == level - 1
            assert 0 <= int(rec["answer"]) == numbers[0] - sum(numbers[1:])
            assert all(0 <= n <= tasks.MAX_VALUE for n in numbers)


def test_reference_solutions_pass_the_checker_and_follow_the_paper_format():
    for rec in tasks.generate(20, split="train", seed=1):
        steps = split_steps(rec["solution"])
        assert len(steps) == tasks.NUM_STEPS
        assert tasks.check_steps(rec["problem"], steps) == [1] * tasks.NUM_STEPS
        assert rec["solution"].endswith(f"\n\n# Answer\n\n{rec['answer']}")


@pytest.mark.parametrize("steps, labels", [
    (["20 - 3 = 17", "17 - 12 = 5", "5 - 1 = 4", "4 - 2 = 2"], [1, 1, 1, 1]),
    (["20 - 3 = 17", "17 - 12 = 6", "6 - 1 = 5", "5 - 2 = 3"], [1, 0]),      # arithmetic slip, then stop
    (["20 - 3 = 17", "17 - 1 = 16"], [1, 0]),                                  # skipped a number
    (["20 - 3 = 17", "18 - 12 = 6"], [1, 0]),                                  # lost the running value
    (["twenty minus three"], [0]),                                             # not a step at all
    (["20 - 3 = 17", "17 - 12 = 5", "5 - 1 = 4", "4 - 2 = 2", "2 - 1 = 1"], [1, 1, 1, 1, 0]),  # extra step
    ([], []),
    (["20 - 3 = 17", "17 - 12 = 5", "5 - 1 = 4", "4 - 2 = 2\n\n# Answer\n\n2"], [1, 1, 1, 1]),
    (["20 - 3 = 17", "17 - 12 = 5", "5 - 1 = 4", "4 - 2 = 2\n\n# Answer\n\n3"], [1, 1, 1, 0]),  # answer contradicts
    (["20 - 3 = 17", "17 - 12 = 5", "5 - 1 = 4\n\n# Answer\n\n4"], [1, 1, 0]),  # answers before the chain ends
])
def test_checker_labels_good_until_the_first_bad_step(steps, labels):
    assert tasks.check_steps("Compute 20 - 3 - 12 - 1 - 2.", steps) == labels


def test_splits_are_disjoint_deterministic_and_sized():
    splits = {s: tasks.generate({1: 30, 5: 30}, split=s, seed=7) for s in ("train", "val", "test")}
    texts = {s: {r["problem"] for r in recs} for s, recs in splits.items()}
    assert all(len(t) == 60 for t in texts.values())
    assert not texts["train"] & texts["test"] and not texts["train"] & texts["val"] and not texts["val"] & texts["test"]
    assert tasks.generate({1: 30, 5: 30}, split="test", seed=7) == splits["test"]
    assert tasks.generate({1: 30, 5: 30}, split="test", seed=8) != splits["test"]


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="level must be one of"):
        tasks.make_problem(random.Random(0), 6)
    with pytest.raises(ValueError, match="split must be one of"):
        tasks.generate(1, split="dev", seed=0)
    with pytest.raises(ValueError, match="not an embedded-task problem"):
        tasks.check_steps("What is 2 + 2?", ["4"])


def test_fact_corpus_holds_true_facts_and_no_problems():
    docs = tasks.fact_corpus(300, seed=0)
    assert docs == tasks.fact_corpus(300, seed=0) and docs != tasks.fact_corpus(300, seed=1)
    subtrahends = []
    for doc in docs:
        assert "Compute" not in doc and "#" not in doc
        for fact in doc.split("\n\n"):
            a, b, c = (int(x) for x in re.fullmatch(r"(\d+) - (\d+) = (\d+)", fact).groups())
            assert a - b == c >= 0 and 1 <= b <= 29 and a <= tasks.MAX_VALUE
            subtrahends.append(b)
    # Small subtrahends are the common ones: the facts of hard (two-digit) steps are the rarer part of the text.
    assert subtrahends.count(1) > 5 * subtrahends.count(29)
    # zipf 0: every fact equally likely, and 1,550 of the 2,465 facts have a two-digit subtrahend.
    flat = tasks.fact_corpus(300, seed=0, zipf=0.0)
    share = sum(b >= 10 for d in flat for b in map(int, re.findall(r"- (\d+)", d))) / (300 * 8)
    assert abs(share - 1550 / 2465) < 0.03


def test_checked_fact_documents_mark_each_fact_right_or_wrong():
    docs = tasks.fact_corpus(400, seed=0, judged=0.5)
    checked = [d for d in docs if d.startswith("# Check")]
    assert 150 < len(checked) < 250 and all("#" not in d for d in docs if d not in checked)
    verdicts = []
    for doc in checked:
        lines = doc.split("\n\n")[1:]
        for fact, verdict in zip(lines[::2], lines[1::2]):
            a, b, c = (int(x) for x in re.fullmatch(r"(\d+) - (\d+) = (\d+)", fact).groups())
            assert verdict == ("right" if a - b == c else "wrong") and abs(a - b - c) <= 3
            verdicts.append(verdict)
    assert 0.4 < verdicts.count("wrong") / len(verdicts) < 0.6
    assert "Compute" not in "".join(docs)  # still no problem, chain or level


def test_step_labels_mark_the_steps_after_the_first_error_unlabelled():
    problem = "Compute 20 - 3 - 12 - 1 - 2."
    assert tasks.step_labels(problem, "20 - 3 = 17\n\n17 - 12 = 6\n\n6 - 1 = 5\n\n5 - 2 = 3\n\n# Answer\n\n3") == [
        1, 0, -1, -1]
    assert tasks.step_labels(problem, "20 - 3 = 17\n\n17 - 12 = 5\n\n5 - 1 = 4\n\n4 - 2 = 2\n\n# Answer\n\n2") == [
        1, 1, 1, 1]
    assert tasks.step_labels(problem, "") == []


def test_a_corrupted_solution_has_one_slip_that_the_checker_finds():
    problem = "Compute 20 - 3 - 12 - 1 - 2."
    solution = "20 - 3 = 17\n\n17 - 12 = 5\n\n5 - 1 = 4\n\n4 - 2 = 2\n\n# Answer\n\n2"
    rng = random.Random(0)
    for _ in range(50):
        text = tasks.corrupt_solution(solution, rng)
        changed = [k for k, (a, b) in enumerate(zip(split_steps(solution), split_steps(text))) if a != b]
        assert len(changed) == 1  # one step touched, one number in it moved by 1-3
        old, new = (re.findall(r"\d+", s) for s in (split_steps(solution)[changed[0]], split_steps(text)[changed[0]]))
        assert sum(a != b for a, b in zip(old, new)) == 1 and max(abs(int(a) - int(b)) for a, b in zip(old, new)) <= 3
        assert tasks.check_steps(problem, split_steps(text)) == [1] * changed[0] + [0]
    assert tasks.corrupt_solution("no steps here", rng) is None


def test_fixed_width_numbers_give_every_level_the_same_length_in_digit_tokens():
    from e2h.format import format_prompt
    from e2h.models import train_tokenizer

    rng = random.Random(0)
    probs = [tasks.make_problem(rng, level, width=2) for level in tasks.LEVELS for _ in range(20)]
    for r in probs:
        steps = split_steps(r["solution"])
        numbers = re.findall(r"\d+", r["problem"] + " ".join(s.split("\n\n# Answer")[0] for s in steps))
        assert all(len(x) == 2 for x in numbers), r
        assert r["answer"] == str(int(r["answer"]))  # answers as MATH writes them: no leading zero
        assert tasks.check_steps(r["problem"], steps) == [1, 1, 1, 1]
    corpus = tasks.fact_corpus(50, seed=0, width=2)
    assert all(re.fullmatch(r"\d\d - \d\d = \d\d", line) for doc in corpus for line in doc.split("\n\n"))
    tok = train_tokenizer([format_prompt(r["problem"]) + r["solution"] for r in probs] + corpus, split_digits=True)
    # the solution's work (steps without the answer) is the same number of tokens at every level
    lengths = {len(tok(format_prompt(r["problem"]) + r["solution"].split("# Answer")[0]).input_ids) for r in probs}
    assert len(lengths) == 1
    for seed in range(10):  # a slip made on purpose keeps the width
        bad = tasks.corrupt_solution(probs[seed]["solution"], random.Random(seed))
        assert all(len(x) == 2 for x in re.findall(r"\d+", bad.split("# Answer")[0]))


def test_a_number_width_too_small_for_the_task_is_refused():
    from e2h.data import embedded_splits

    with pytest.raises(ValueError, match="at least 2"):
        tasks.number_text(5, 1)
    with pytest.raises(ValueError, match="data.task_width"):
        embedded_splits([1] * 5, [1] * 5, [1] * 5, seed=0, width=1)


def test_the_dev_split_is_drawn_like_test_from_val_problems_none_of_vals():
    from e2h.data import embedded_splits

    s = embedded_splits([5] * 5, [4] * 5, [3] * 5, seed=0, width=2, dev=[2, 2, 2, 6, 6])
    assert [sum(r["level"] == lv for r in s["dev"]) for lv in tasks.LEVELS] == [2, 2, 2, 6, 6]
    assert all(tasks.split_of(r["problem"]) == "val" for r in s["dev"])
    assert not {r["problem"] for r in s["dev"]} & {r["problem"] for r in s["val"]}
    same = embedded_splits([5] * 5, [4] * 5, [3] * 5, seed=0, width=2)
    assert same["val"] == s["val"] and same["test"] == s["test"] and "dev" not in same  # nothing else moves
