"""Pool summaries of stages 02 and 04: pass@k against brute force, per-level accuracy, ORM data mix."""

import itertools

import numpy as np
import pandas as pd
import pytest

from e2h.rerank.stats import accuracy_by_level, correctness_summary, pass_at_k, pass_at_k_table, show_samples


def test_pass_at_k_matches_enumerating_subsets():
    for n in (1, 4, 7):
        for c in range(n + 1):
            outcomes = [1] * c + [0] * (n - c)
            for k in range(1, n + 1):
                subsets = list(itertools.combinations(outcomes, k))
                brute = np.mean([any(s) for s in subsets])
                assert pass_at_k([n], [c], k)[0] == pytest.approx(brute)
    # large n: no overflow, and monotone in k
    big = pass_at_k([1024] * 3, [0, 1, 512], 1)
    assert big == pytest.approx([0, 1 / 1024, 0.5])
    assert pass_at_k([1024], [1], 1024)[0] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="at least k samples"):
        pass_at_k([2], [1], 4)


def _pool(correct_by_problem: dict, levels: dict) -> pd.DataFrame:
    rows = []
    for pid, flags in correct_by_problem.items():
        for j, ok in enumerate(flags):
            rows.append({"problem_id": pid, "level": levels[pid], "split": "test", "sample_idx": j,
                         "text": "t", "answer": "1" if ok else None, "correct": ok, "num_tokens": 5,
                         "finish_reason": "stop", "prompt": "# Question\n\nq\n\n# Solution\n\n"})
    return pd.DataFrame(rows)


def test_tables_per_group():
    pool = _pool({"a": [True] * 4, "b": [True, False, False, False], "c": [False] * 4, "d": [True, True, False, False]},
                 {"a": 1, "b": 2, "c": 4, "d": 5})
    acc = accuracy_by_level(pool).set_index("group")
    assert acc.loc["all", "accuracy"] == pytest.approx((1 + 0.25 + 0 + 0.5) / 4)
    assert acc.loc["easy (1-3)", "accuracy"] == pytest.approx(0.625)
    assert acc.loc["hard (4-5)", "accuracy"] == pytest.approx(0.25)
    assert acc.loc["level 4", "ci_low"] == acc.loc["level 4", "ci_high"] == 0
    assert (acc["ci_low"] <= acc["accuracy"]).all() and (acc["accuracy"] <= acc["ci_high"]).all()
    pk = pass_at_k_table(pool).set_index(["group", "k"])
    assert list(pk.loc["all"].index) == [1, 2, 4]
    assert pk.loc[("all", 4), "pass_at_k"] == pytest.approx(0.75)  # three of four problems have a right sample
    assert pk.loc[("all", 1), "pass_at_k"] == pytest.approx(acc.loc["all", "accuracy"])
    summary = correctness_summary(pool)
    assert summary.loc[1, "all_correct"] == 1 and summary.loc[4, "none_correct"] == 1
    assert summary.loc[2, "both_labels"] == 1 and summary["with_answer"].loc[5] == 0.5


def test_show_samples_prints_prompt_and_completion():
    pool = _pool({"a": [False]}, {"a": 3})
    text = show_samples(pool, count=1)
    assert "# Question\n\nq\n\n# Solution\n\nt" in text and "answer None (wrong)" in text
