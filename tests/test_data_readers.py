"""PRM800K, MetaMathQA and Math-Shepherd readers: real fixture records where the machine has them (PRM800K only),
and small files written here for every rule and every malformed-input error."""

import json
from collections import Counter

import pytest

from e2h.data import (DataFormatError, easy_metamath, easy_prm800k, iter_json_records, read_math500, read_math_all,
                      read_metamath, read_prm800k, read_shepherd)
from e2h.format import split_steps


def _jsonl(path, rows):
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def _step(*completions, chosen=0, human=None):
    return {"completions": [{"text": t, "rating": r, "flagged": False} for t, r in completions],
            "human_completion": None if human is None else {"text": human, "rating": None, "source": "human"},
            "chosen_completion": chosen}


def _prm(problem, steps, **flags):
    return {"labeler": "x", "generation": flags.pop("generation", None), "question": {"problem": problem},
            "label": {"steps": steps, "finish_reason": "solution"}, "is_quality_control_question": False,
            "is_initial_screening_question": False, **flags}


# --- generic JSON layouts ------------------------------------------------------------------------------------------

def test_json_layouts(tmp_path):
    a = tmp_path / "a.json"
    a.write_text('[\n {"x": 1},\n\n {"x": 2}\n]\n')
    assert list(iter_json_records(a)) == [(2, {"x": 1}), (4, {"x": 2})]
    b = tmp_path / "b.json"
    b.write_text('{\n "x": 1\n}\n{\n "x": 2\n}')
    assert list(iter_json_records(b)) == [(1, {"x": 1}), (4, {"x": 2})]
    a.write_text('[\n {"x": 1}\n {"x": 2}\n]')
    with pytest.raises(DataFormatError, match=r"a.json:3: expected ',' or ']'"):
        list(iter_json_records(a))
    a.write_text('[{"x": 1},')
    with pytest.raises(DataFormatError, match="never closed"):
        list(iter_json_records(a))


# --- PRM800K -------------------------------------------------------------------------------------------------------

def test_prm800k_small_file_rules(tmp_path):
    path = _jsonl(tmp_path / "phase1_train.jsonl", [
        _prm("P1", [
            _step(("Good start.", 1)),
            _step(("Wrong turn.", -1), ("Neutral remark.", 0), chosen=1),
            _step(("Bad.", -1), chosen=None, human="A human step."),
            _step(("Done. So 5.", 1)),
            _step(("# Answer\n\n5", 1), ("# Answer\n\n6", -1)),  # an answer-only step joins the step before it
        ]),
        _prm("P2", [_step(("Fine.", 1)), _step(("Oops.", -1), chosen=None), {"completions": None,
                                                                             "human_completion": None,
                                                                             "chosen_completion": None}],
             generation=3),
        _prm("P3", [_step(("Fine.", 1)), _step(("Left.", -1), ("Right.", 1), chosen=None)]),
        _prm("Screening", [_step(("x", 1))], is_initial_screening_question=True),
        _prm("QC", [_step(("x", 1))], is_quality_control_question=True),
    ])
    recs = read_prm800k(path)
    assert [r["problem"] for r in recs] == ["P1", "P2", "P3"]  # screening and quality control are skipped
    assert len(read_prm800k(path, include_screening=True)) == 5
    r1, r2, r3 = recs
    assert r1["source"] == f"{path}:1"
    assert r1["steps"] == ["Good start.", "Neutral remark.", "A human step.", "Done. So 5.\n\n# Answer\n\n5"]
    assert r1["ratings"] == [1, 0, None, 1] and r1["labels"] == [1, 1, None, 1]
    assert r1["sft_steps"] == ["Good start."]  # stops at the first step not rated > 0 (the neutral one)
    assert {(a["prefix"], a["text"], a["label"]) for a in r1["alternatives"]} == {
        (1, "Wrong turn.", 0), (2, "Bad.", 0), (3, "Done. So 5.\n\n# Answer\n\n6", 0)}
    assert split_steps("\n\n".join(r1["steps"])) == r1["steps"]
    # Phase 2: the only completion of a step is followed even when it is bad, so the bad step is on the path.
    assert r2["steps"] == ["Fine.", "Oops."] and r2["labels"] == [1, 0] and r2["generation"] == 3
    # Several completions and none chosen: the path ends; they are alternatives after the path.
    assert r3["steps"] == ["Fine."]
    assert [(a["prefix"], a["text"], a["label"]) for a in r3["alternatives"]] == [(1, "Left.", 0), (1, "Right.", 1)]


@pytest.mark.parametrize("bad, message", [
    ("{not json", r"bad.jsonl:2: not valid JSON"),
    (json.dumps({"question": {"problem": "P"}}), r"bad.jsonl:2: missing key 'label'"),
    (json.dumps(_prm("P", [_step(("a", 1), chosen=3)])), r"bad.jsonl:2: label.steps\[0\]: chosen_completion 3"),
    (json.dumps(_prm("P", [_step(("a", 7))])), r"bad.jsonl:2: label.steps\[0\].completions\[0\]: rating 7"),
])
def test_prm800k_malformed_lines_name_file_and_line(tmp_path, bad, message):
    path = _jsonl(tmp_path / "bad.jsonl", [_prm("ok", [_step(("a", 1))]), bad])
    with pytest.raises(DataFormatError, match=message):
        read_prm800k(path)


def test_prm800k_real_fixture_records(data_dir):
    path = data_dir / "openr_prm800k_samples" / "samples_prm800k.jsonl"
    recs = read_prm800k(path)
    assert len(recs) == 5 and len(read_prm800k(path, include_screening=True)) == 6
    for r in recs:
        assert len(r["steps"]) == len(r["labels"]) == len(r["ratings"]) >= 1
        assert split_steps("\n\n".join(r["steps"])) == r["steps"]  # the format's invariant holds on real text
        assert r["labels"] == [None if x is None else int(x >= 0) for x in r["ratings"]]
        n = len(r["sft_steps"])
        assert r["steps"][:n] == r["sft_steps"] and all(x == 1 for x in r["ratings"][:n])
        assert n == len(r["steps"]) or r["ratings"][n] != 1
    pencils = recs[0]
    assert pencils["steps"][1] == "We have $3p+e=1.24$ and $5p+e=1.82$." and pencils["labels"][1] is None
    assert pencils["steps"][-1].endswith("\n\n# Answer\n\n29")
    assert sum(a["label"] == 0 for a in pencils["alternatives"]) == 5
    # The pretty-printed example files of another mirror read too (objects written one after another).
    ex = data_dir / "reward-by-prm800k"
    assert len(read_prm800k(ex / "prm800k-phase1-train-example.json")) == 3
    phase2 = read_prm800k(ex / "prm800k-phase2-test-example.json")
    assert len(phase2) == 1 and phase2[0]["generation"] == 6 and phase2[0]["finish_reason"] == "found_error"


def test_prm800k_paper_filter_on_real_records(data_dir):
    recs = read_prm800k(data_dir / "openr_prm800k_samples" / "samples_prm800k.jsonl")
    stats = Counter()
    kept = easy_prm800k(recs, read_math_all(data_dir), read_math500(data_dir), stats=stats)
    # Per PROVENANCE.md: four records are on MATH500 problems, one on train/prealgebra/476 (level 2).
    assert stats == {"dropped: test problem": 4, "kept: MATH at kept levels": 1}
    assert [(r["unique_id"], r["level"]) for r in kept] == [("train/prealgebra/476.json", 2)]
    hard = easy_prm800k(recs, read_math_all(data_dir), read_math500(data_dir), levels=(4, 5))
    assert hard == []
    outside = dict(recs[0], problem="A problem that is not in MATH.")
    assert easy_prm800k([outside], read_math_all(data_dir), read_math500(data_dir))[0]["unique_id"] is None


# --- MetaMathQA ----------------------------------------------------------------------------------------------------

MATH = [{"unique_id": "train/algebra/1.json", "problem": "Easy   one?", "level": 2, "subject": "Algebra"},
        {"unique_id": "train/algebra/2.json", "problem": "Hard one?", "level": 5, "subject": "Algebra"},
        {"unique_id": "test/algebra/3.json", "problem": "Test one?", "level": 1, "subject": "Algebra"}]
TEST = [MATH[2]]


def _mm(qtype, original, response="We add.\nSo $x = 2.$ The answer is: 2"):
    return {"query": f"Rephrased: {original}", "response": response, "type": qtype, "original_question": original}


def test_metamath_small_file(tmp_path):
    path = tmp_path / "MetaMathQA-395K.json"
    path.write_text(json.dumps([
        _mm("MATH_AnsAug", "Easy one?"), _mm("MATH_FOBAR", "Hard one?"), _mm("MATH_SV", "Test one?"),
        _mm("MATH_Rephrased", "Not in MATH?"),
        _mm("GSM_AnsAug", "Janet has 3 ducks.", "She has 3 ducks.\n3 * 2 = 6\n#### 6\nThe answer is: 6"),
    ], indent=1))
    recs = read_metamath(path)
    assert recs[0]["steps"] == ["We add.", "So $x = 2.$"] and recs[0]["answer"] == "2"
    assert recs[4]["steps"] == ["She has 3 ducks.", "3 * 2 = 6"] and recs[4]["answer"] == "6"
    stats = Counter()
    kept = easy_metamath(recs, MATH, TEST, stats=stats)
    assert [r["original_question"] for r in kept] == ["Easy one?", "Janet has 3 ducks."]
    assert kept[0]["unique_id"] == "train/algebra/1.json" and kept[0]["level"] == 2
    assert stats["dropped: test problem"] == 1 and stats["dropped: original question not found in MATH"] == 1
    assert [r["type"] for r in easy_metamath(recs, MATH, TEST, keep_gsm=False)] == ["MATH_AnsAug"]


def test_metamath_malformed(tmp_path):
    path = tmp_path / "mm.json"
    path.write_text(json.dumps([_mm("MATH_AnsAug", "Easy one?"), _mm("MATH_AnsAug", "x", "no final answer")],
                               indent=1))
    with pytest.raises(DataFormatError, match=r"mm.json:\d+: response has no 'The answer is: '"):
        read_metamath(path)
    path.write_text(json.dumps([{"query": "q", "response": "The answer is: 1", "type": "GSM_AnsAug"}]))
    with pytest.raises(DataFormatError, match=r"mm.json:1: missing key 'original_question'"):
        read_metamath(path)


def test_metamath_filter_with_real_math(data_dir):
    everything = read_math_all(data_dir)
    easy = next(r for r in everything if r["unique_id"].startswith("train/") and r["level"] == 1)
    math500 = read_math500(data_dir)
    recs = [dict(source="x", problem="q", type="MATH_AnsAug", steps=["s"], answer="1", unique_id=None, level=None,
                 subject=None, original_question=o) for o in (easy["problem"], math500[0]["problem"])]
    kept = easy_metamath(recs, everything, math500)
    assert [r["unique_id"] for r in kept] == [easy["unique_id"]]


# --- Math-Shepherd -------------------------------------------------------------------------------------------------

def _shepherd(question, steps, marks, task="MATH"):
    body = " ".join(f"Step {i + 1}: {s} ки\n" for i, s in enumerate(steps)).replace("\n ", "\n")
    label = body
    for m in marks:
        label = label.replace("ки", m, 1)
    return {"input": f"{question} {body}", "label": f"{question} {label}", "task": task}


def test_shepherd_small_file(tmp_path):
    path = _jsonl(tmp_path / "math-shepherd.jsonl", [
        _shepherd("What is 2+2?", ["2+2 = 4.", "So it is 4. The answer is: 4"], "++"),
        _shepherd("What is 3+3?", ["3+3 = 7.", "The answer is: 7"], "+-", task="GSM8K"),
    ])
    a, b = read_shepherd(path)
    assert a["problem"] == "What is 2+2?" and a["task"] == "MATH"
    assert a["steps"] == ["2+2 = 4.", "So it is 4.\n\n# Answer\n\n4"] and a["labels"] == [1, 1]
    assert a["answer"] == "4" and split_steps("\n\n".join(a["steps"])) == a["steps"]
    # An answer-only last step joins the step before it, with the worse label.
    assert b["steps"] == ["3+3 = 7.\n\n# Answer\n\n7"] and b["labels"] == [0]


def test_shepherd_malformed(tmp_path):
    good = _shepherd("Q?", ["a.", "The answer is: 1"], "++")
    shifted = dict(good, label=good["label"].replace("a.", "b."))
    path = _jsonl(tmp_path / "s.jsonl", [good, shifted])
    with pytest.raises(DataFormatError, match=r"s.jsonl:2: label is not the input"):
        read_shepherd(path)
    wrong_mark = dict(good, label=good["label"].replace("+", "?", 1))
    _jsonl(path, [wrong_mark])
    with pytest.raises(DataFormatError, match=r"s.jsonl:1: step 1: label has '\?'"):
        read_shepherd(path)
    _jsonl(path, [{"input": "Q? no tags", "label": "Q? no tags"}])
    with pytest.raises(DataFormatError, match="s.jsonl:1: input has no step tag"):
        read_shepherd(path)


def test_a_record_missing_its_closing_brace_is_named_by_its_own_line(tmp_path, data_dir):
    rows = [json.dumps(_prm(f"P{i}", [_step(("a", 1))])) for i in range(140)]
    rows[136] = rows[136][:-1]  # line 137 lacks its "}"; the parser only notices on line 138
    with pytest.raises(DataFormatError, match=r"many.jsonl:137: not valid JSON.*noticed at line 138"):
        read_prm800k(_jsonl(tmp_path / "many.jsonl", rows))
    lines = (data_dir / "openr_prm800k_samples" / "samples_prm800k.jsonl").read_text().splitlines()
    lines[2] = lines[2].rstrip()[:-1]
    with pytest.raises(DataFormatError, match=r"real.jsonl:3: not valid JSON"):
        read_prm800k(_jsonl(tmp_path / "real.jsonl", lines))
