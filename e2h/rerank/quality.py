"""Evaluator quality without re-ranking in between: AUROC of reward-model scores, per level.

- **solution level**: does the aggregated solution score separate correct samples from wrong ones?
- **step level** (pools with ``step_labels``): does a step's score separate good steps (label 1) from bad ones (0)?
  Unlabelled steps (-1) are left out, and so are rows whose score list is not one score per step (an ORM).
- **within problem**: the mean, over problems with both right and wrong samples, of the solution-level AUROC among
  that problem's samples. Re-ranking only ever compares samples of one problem, and the two AUROCs above pool
  problems: an evaluator that merely scores hard-looking problems low gets a high pooled AUROC and a within-problem
  one of 0.5.

The paper's claim is that evaluators trained on easy problems generalize to hard ones; an AUROC on levels 4-5 close
to the one on levels 1-3 says so directly. Intervals resample problems with replacement (samples of one problem are
not independent), percentile method.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from e2h.progress import tqdm

from e2h.pool import flatten_lists, reward_models
from e2h.rerank.ci import percentile_interval
from e2h.rerank.select import aggregate, groups_of, step_scores


def auroc(scores: np.ndarray, labels: np.ndarray, weights: np.ndarray | None = None) -> float:
    """Area under the ROC curve (ties count one half); optional per-item weights. NaN if a class is absent."""
    scores, labels = np.asarray(scores, dtype=float), np.asarray(labels).astype(bool)
    w = np.ones(len(scores)) if weights is None else np.asarray(weights, dtype=float)
    order = np.argsort(scores, kind="stable")
    s, pos, w = scores[order], labels[order], w[order]
    tie = np.r_[0, np.cumsum(s[1:] != s[:-1])]  # tie-group id of each item, ascending score
    wpos = np.bincount(tie, w * pos)
    wneg = np.bincount(tie, w * ~pos)
    below = np.cumsum(wneg) - wneg
    total = wpos.sum() * wneg.sum()
    return float((wpos * (below + 0.5 * wneg)).sum() / total) if total > 0 else float("nan")


def _bootstrap(scores, labels, problem, n_problems, resamples, rng, level) -> tuple[float, float]:
    if resamples <= 0:
        return float("nan"), float("nan")
    vals = []
    for _ in range(resamples):  # vectorized over items; a few hundred resamples
        counts = np.bincount(rng.integers(0, n_problems, n_problems), minlength=n_problems)
        vals.append(auroc(scores, labels, counts[problem]))
    vals = np.array(vals)
    vals = vals[~np.isnan(vals)]
    if len(vals) == 0:
        return float("nan"), float("nan")
    lo, hi = np.quantile(vals, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def evaluator_auroc(pool: pd.DataFrame, *, rms=None, aggs=("min", "prod"), resamples: int = 200, seed: int = 0,
                    level: float = 0.95, progress: bool = True) -> pd.DataFrame:
    """AUROC per (rm, kind, agg, group): solution level and within problem for each aggregator, step level when
    labels exist.

    Columns: rm, kind (solution / step), agg ("" for step), group, auroc, lo, hi, positives, negatives, problems,
    resamples, level.
    """
    pool = pool.reset_index(drop=True)
    rms = reward_models(pool) if rms is None else list(rms)
    problem_codes, _ = pd.factorize(pool["problem_id"].astype(str))
    prob_level = pd.to_numeric(pool["level"], errors="coerce").to_numpy(dtype=float)
    masks = {g: m for g, m in groups_of(prob_level).items() if m.any()}
    labels_flat = None
    if "step_labels" in pool.columns:
        labels_flat, label_len = flatten_lists(pool["step_labels"])
    rng = np.random.default_rng([seed, 11])
    rows = []
    jobs = [(rm, g) for rm in rms for g in masks]
    for rm, g in tqdm(jobs, desc="evaluator AUROC", disable=not progress):
        values, lengths = step_scores(pool, rm)
        row_mask = masks[g]
        codes = np.unique(problem_codes[row_mask], return_inverse=True)[1]
        n_problems = int(codes.max()) + 1
        correct = pool["correct"].to_numpy(dtype=bool)[row_mask]
        for agg in aggs:
            score = aggregate(values, lengths, agg)[row_mask]
            lo, hi = _bootstrap(score, correct, codes, n_problems, resamples, rng, level)
            rows.append(dict(rm=rm, kind="solution", agg=agg, group=g, auroc=auroc(score, correct), lo=lo, hi=hi,
                             positives=int(correct.sum()), negatives=int((~correct).sum()), problems=n_problems))
            per = auroc_per_group(score, correct, codes)
            lo, hi = _mean_interval(per, resamples, rng, level)
            rows.append(dict(rm=rm, kind="within", agg=agg, group=g, auroc=per.mean() if len(per) else np.nan,
                             lo=lo, hi=hi, positives=int(correct.sum()), negatives=int((~correct).sum()),
                             problems=len(per)))
        if labels_flat is not None:
            step_lab = _aligned(labels_flat, label_len, lengths)
            owner = np.repeat(np.arange(len(pool)), lengths)
            keep = row_mask[owner] & (step_lab >= 0)
            if keep.any():
                good = step_lab[keep] == 1
                step_problem = np.unique(problem_codes[owner[keep]], return_inverse=True)[1]
                lo, hi = _bootstrap(values[keep], good, step_problem, int(step_problem.max()) + 1, resamples, rng,
                                    level)
                rows.append(dict(rm=rm, kind="step", agg="", group=g, auroc=auroc(values[keep], good), lo=lo, hi=hi,
                                 positives=int(good.sum()), negatives=int((~good).sum()),
                                 problems=int(step_problem.max()) + 1))
    out = pd.DataFrame(rows)
    out["resamples"], out["level"] = resamples, level
    return out


def auroc_per_group(score: np.ndarray, correct: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """AUROC within each group (``codes`` 0..G-1: a problem, say), for the groups that hold both labels."""
    if len(codes) == 0:
        return np.array([])
    order = np.argsort(codes, kind="stable")
    ends = np.cumsum(np.bincount(codes))
    out = [auroc(score[idx], correct[idx]) for idx in np.split(order, ends[:-1])]
    return np.array([a for a in out if not np.isnan(a)])


def _mean_interval(values: np.ndarray, resamples: int, rng, level: float) -> tuple[float, float]:
    """Percentile interval of the mean under resampling the values (problems) with replacement."""
    if resamples <= 0 or len(values) == 0:
        return float("nan"), float("nan")
    lo, hi = percentile_interval(values[rng.integers(0, len(values), (resamples, len(values)))].mean(1), level)
    return float(lo), float(hi)


def _aligned(labels_flat: np.ndarray, label_len: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Step labels laid out like the scores; rows without one label per score get -1 (unlabelled)."""
    owner = np.repeat(np.arange(len(lengths)), lengths)
    offset = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    match = (label_len == lengths)[owner]
    out = np.full(len(owner), -1.0)
    out[match] = labels_flat[(np.cumsum(label_len) - label_len)[owner[match]] + offset[match]]
    return out


def step_auroc(labels: list[list], scores: list[list[float]], levels: list | None = None) -> dict:
    """AUROC of step scores against step labels (1 good, 0 bad, None unlabelled), over all labelled steps and per
    level: ``{"steps", "positives", "auroc", "auroc_level_<k>"...}``; an AUROC is None when a class is absent."""
    ys, ps, lv = [], [], []
    for i, (lab, sc) in enumerate(zip(labels, scores)):
        for y, s in zip(lab, sc):
            if y is not None and y >= 0:
                ys.append(int(y))
                ps.append(s)
                lv.append(None if levels is None else levels[i])
    ys, ps, lv = np.asarray(ys, dtype=bool), np.asarray(ps, dtype=float), np.asarray(lv, dtype=object)

    def value(mask) -> float | None:
        a = auroc(ps[mask], ys[mask]) if mask.any() else float("nan")
        return None if np.isnan(a) else a

    out = {"steps": int(len(ys)), "positives": int(ys.sum()), "auroc": value(np.ones(len(ys), dtype=bool))}
    for level in sorted({x for x in lv if x is not None}):
        out[f"auroc_level_{level}"] = value(lv == level)
    return out
