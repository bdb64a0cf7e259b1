"""OpenAI's scored PRM800K samples read as a pool: the real record, and a small file written here."""

import json
import math

import pytest

from e2h.data.prm800k_scored import read_scored_samples
from e2h.rerank import accuracy_at_n
from e2h.pool import add_answer_keys


def test_the_real_record(data_dir):
    path = data_dir / "reward-by-prm800k" / "RM-scored-example.json"  # one pretty-printed record
    pool = read_scored_samples(path, progress=False)
    assert len(pool) == 1
    row = pool.iloc[0]
    assert row["problem_id"] == "test/precalculus/779.json" and row["level"] == 2 and row["answer"] == "7i - 2"
    assert bool(row["correct"]) and row["sample_idx"] == 0 and row["text"].endswith("# Answer\n\n7i - 2")
    assert len(row["scores_prm"]) == 4
    assert math.prod(row["scores_prm"]) == pytest.approx(0.09157553704097245, rel=1e-12)  # OpenAI's prm_score
    assert list(row["scores_orm"]) == pytest.approx([0.6326445937156677])


def record(problem, answer, correct, probs, orm=0.5, level=3, key="answer"):
    prm = math.prod(p["1"] + p["0"] for p in probs)
    return {"problem": problem, key: answer, "is_correct": correct, "subject": "Algebra", "level": level,
            "unique_id": f"test/algebra/{problem}.json", "steps": [f"step {i}" for i in range(len(probs))],
            "rating_probs": probs, "orm_score": orm, "prm_score": prm, "ground_truth_answer": "4"}


def good(p1, p0=0.0):
    return {"1": p1, "0": p0, "-1": 1 - p1 - p0}


def write(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_a_small_file_redraws_prm800k_best_of_n(tmp_path):
    # problem A: the best prm_score among answered samples is wrong; the unanswered one scores higher still
    recs = [record("A", "3", False, [good(0.9), good(0.8, 0.15)], orm=0.2),      # prm 0.9 * 0.95 = 0.855
            record("A", "4", True, [good(0.7), good(0.7)], orm=0.8),             # 0.49
            record("A", None, False, [good(0.99)], orm=0.99, key="given_answer"),  # no answer: never picked
            record("B", "x", True, [good(0.6, 0.3)], orm=0.3, level=5),          # 0.9
            record("B", "y", False, [good(0.5)], orm=0.6, level=5)]              # 0.5
    pool = read_scored_samples(write(tmp_path / "scored.jsonl", recs), progress=False)
    assert len(pool) == 5 and pool.groupby("problem_id").size().tolist() == [3, 2]
    assert pool["sample_idx"].tolist() == [0, 1, 2, 0, 1] and pool["answer"].isna().tolist()[2]
    assert list(pool["scores_prm"].iloc[0]) == pytest.approx([0.9, 0.95])
    keyed = add_answer_keys(pool, equivalence=False, progress=False)
    # eval.py at N = 1,860 (every sample, padded): argmax prm_score among answered samples
    acc = accuracy_at_n(keyed, "best_of_n", 3, rm="prm", agg="prod", resamples=3)
    assert acc == 0.5  # A picks "3" (wrong), B picks "x" (right)
    assert accuracy_at_n(keyed, "best_of_n", 3, rm="orm", agg="min", resamples=3) == 0.5  # A: "4", B: "y"


def test_a_prm_score_that_is_not_the_product_is_refused_with_its_line(tmp_path):
    rec = record("A", "3", False, [good(0.9)])
    rec["prm_score"] = 0.5
    path = write(tmp_path / "bad.jsonl", [record("B", "1", True, [good(0.4)]), rec])
    with pytest.raises(ValueError, match=r"bad.jsonl:2: prm_score 0.5 is not the product"):
        read_scored_samples(path, progress=False)
    broken = tmp_path / "broken.jsonl"
    broken.write_text(json.dumps(record("B", "1", True, [good(0.4)])) + "\n{not json\n")
    with pytest.raises(ValueError, match="broken.jsonl:2: not valid JSON"):
        read_scored_samples(broken, progress=False)
    missing = dict(record("B", "1", True, [good(0.4)]))
    del missing["is_correct"]
    with pytest.raises(ValueError, match="m.jsonl:1: missing key 'is_correct'"):
        read_scored_samples(write(tmp_path / "m.jsonl", [missing]), progress=False)
