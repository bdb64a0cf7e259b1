"""Summaries of resampled accuracies: the two kinds of uncertainty, and their names as they appear in tables.

- ``subsets``: the spread of the accuracy over the B subset draws, problems fixed. It is what PRM800K's evaluation
  reports (mean ± std over 400 draws) and it shrinks to zero at N = pool size: it says how much the number depends on
  which samples were drawn, not whether it would hold on other problems.
- ``problems+subsets``: draw b of the subsets paired with bootstrap sample b of the problems (drawn with
  replacement). This interval carries the finite test set too; use it to claim that a result holds.

Both are percentile intervals of the B values at the requested level.
"""

from __future__ import annotations

import numpy as np

SUBSETS, BOOTSTRAP = "subsets", "problems+subsets"
KINDS = (SUBSETS, BOOTSTRAP)


def percentile_interval(values: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper percentile bounds over the last axis (the B draws)."""
    if not 0 < level < 1:
        raise ValueError(f"CI level must be in (0, 1), got {level}")
    lo, hi = np.quantile(values, [(1 - level) / 2, (1 + level) / 2], axis=-1)
    return lo, hi


def summarize(values: np.ndarray, level: float) -> dict[str, np.ndarray]:
    """mean, std, lo, hi over the last axis."""
    lo, hi = percentile_interval(values, level)
    return {"mean": values.mean(-1), "std": values.std(-1), "lo": lo, "hi": hi}
