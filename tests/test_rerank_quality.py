"""Evaluator quality: AUROC against sklearn, per level, at solution and step level."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from e2h.rerank.quality import auroc, evaluator_auroc


def test_auroc_matches_sklearn_with_ties_and_weights():
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 6, 300).astype(float)  # many ties
    labels = rng.random(300) < 0.3 + 0.1 * scores
    assert auroc(scores, labels) == pytest.approx(roc_auc_score(labels, scores))
    weights = rng.integers(0, 4, 300)  # integer weights = repeated items
    rep = np.repeat(np.arange(300), weights)
    assert auroc(scores, labels, weights) == pytest.approx(roc_auc_score(labels[rep], scores[rep]))
    assert np.isnan(auroc(scores, np.ones(300, dtype=bool)))
    assert auroc([0.1, 0.9], [False, True]) == 1.0 and auroc([0.5, 0.5], [False, True]) == 0.5


def test_solution_and_step_auroc_per_level():
    rows = []
    for p, level in enumerate([1, 1, 5, 5]):
        for i in range(4):
            right = i < 2
            # level 1: the evaluator sees the error; level 5: it scores right and wrong alike
            steps = [0.9, 0.8] if right else ([0.9, 0.1] if level == 1 else [0.8, 0.9])
            labels = [1, 1] if right else [1, 0]
            rows.append(dict(problem_id=f"p{p}", level=level, split="test", sample_idx=i, text="",
                             answer="a" if right else "b", correct=right, scores_prm=steps, scores_orm=[0.5],
                             step_labels=labels if i != 3 else [-1, -1]))
    table = evaluator_auroc(pd.DataFrame(rows), resamples=20, progress=False).set_index(["rm", "kind", "agg", "group"])
    assert table.loc[("prm", "solution", "min", "level 1"), "auroc"] == 1.0
    assert table.loc[("prm", "solution", "min", "level 5"), "auroc"] == 0.5  # min 0.8 vs 0.8: ties
    assert table.loc[("prm", "step", "", "level 1"), "auroc"] == 1.0
    # level 5 steps (labels of sample 3 unknown): good 0.9, 0.8 ×2 problems ×2 samples + sample 2's 0.8; bad 0.9
    step5 = table.loc[("prm", "step", "", "level 5")]
    assert step5["negatives"] == 2 and step5["positives"] == 10
    assert ("orm", "step", "", "all") not in table.index  # one score for two labelled steps: no step AUROC
    assert table.loc[("orm", "solution", "min", "all"), "auroc"] == 0.5
    lo, hi = table.loc[("prm", "solution", "prod", "all"), ["lo", "hi"]]
    assert 0 <= lo <= table.loc[("prm", "solution", "prod", "all"), "auroc"] <= hi <= 1


def test_within_problem_auroc_sees_through_an_evaluator_that_only_rates_problems():
    rows = []
    for p in range(6):
        for i in range(8):
            right = i < 2 + p  # harder problems (low p) have fewer right samples
            # "looks hard": the score depends on the problem only; "checks": it depends on the sample
            rows.append(dict(problem_id=f"p{p}", level=4, split="test", sample_idx=i, text="", answer=str(right),
                             correct=right, scores_looks=[0.1 * p + 0.01], scores_checks=[0.9 if right else 0.2]))
    table = evaluator_auroc(pd.DataFrame(rows), aggs=("min",), resamples=50,
                            progress=False).set_index(["rm", "kind", "agg", "group"])
    assert table.loc[("looks", "solution", "min", "hard"), "auroc"] > 0.7
    assert table.loc[("looks", "within", "min", "hard"), "auroc"] == 0.5
    row = table.loc[("checks", "within", "min", "hard")]
    assert row["auroc"] == 1.0 and row["problems"] == 6 and row["lo"] == row["hi"] == 1.0
