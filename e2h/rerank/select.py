"""From a pool to dense per-problem arrays: solution scores, answer classes, tie priorities.

The selectors themselves are in :mod:`e2h.rerank.engine`; this module fixes what they select on:

- **aggregators** turn a sample's step scores into one solution score (min, prod, mean, max, last);
- **answer classes**: per problem, the distinct ``answer_key`` values, numbered in sorted order; a sample with no
  answer has class -1 and never wins;
- **tie rule**: every sample and every answer class gets a seeded random priority (fixed per problem, independent
  of the draws). Best-of-N ties on score go to the sample of higher priority; voting ties go to the answer of higher
  priority. The winner is therefore a function of the subset alone: at N = pool size every draw agrees;
- **vote weights** are integers, so sums are exact and ties never depend on summation order: a sample's solution
  score is divided by the largest score of its problem (voting is invariant to that scale) and mapped monotonically
  to 1 … 2**q, with q = :data:`WEIGHT_BITS` or less for huge pools (a present answer always outweighs an absent one).

Problems with fewer samples than the largest are padded with empty slots (no answer, never win), which is PRM800K's
evaluation protocol for uneven pools.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from e2h.pool import PoolError, flatten_lists, reward_models

AGGREGATORS = ("min", "prod", "mean", "max", "last")
WEIGHT_BITS = 40  # vote-weight resolution: 2**-40 of a problem's best score (less for pools above 2,048)
EASY_LEVELS, HARD_LEVELS = (1, 2, 3), (4, 5)


def aggregate(values: np.ndarray, lengths: np.ndarray, agg: str) -> np.ndarray:
    """Per-row aggregate of flattened step scores (rows given by ``lengths``, all ≥ 1)."""
    if agg not in AGGREGATORS:
        raise ValueError(f"unknown aggregator {agg!r}; expected one of {', '.join(AGGREGATORS)}")
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    if agg == "min":
        return np.minimum.reduceat(values, starts)
    if agg == "max":
        return np.maximum.reduceat(values, starts)
    if agg == "prod":
        return np.multiply.reduceat(values, starts)
    if agg == "mean":
        return np.add.reduceat(values, starts) / lengths
    return values[starts + lengths - 1]  # last


def step_scores(pool: pd.DataFrame, rm: str) -> tuple[np.ndarray, np.ndarray]:
    """All step scores of ``scores_<rm>`` flattened, and the number of steps of each row."""
    col = f"scores_{rm}"
    if col not in pool.columns:
        raise PoolError(f"pool has no column {col}; reward models present: {', '.join(reward_models(pool)) or 'none'}")
    values, lengths = flatten_lists(pool[col])
    if (lengths == 0).any():
        raise PoolError(f"{col}: row {int(np.flatnonzero(lengths == 0)[0])} has an empty step list")
    return values, lengths


def solution_scores(pool: pd.DataFrame, rm: str, agg: str) -> np.ndarray:
    """One score per pool row: the ``agg`` of the row's ``scores_<rm>`` step scores."""
    return aggregate(*step_scores(pool, rm), agg)


@dataclass
class Packed:
    """A pool as dense (problems × slots) arrays, rows sorted by problem_id then sample_idx.

    ``slot`` is a sample's position among its problem's samples; unused slots are padding (class -1, not correct).
    """

    problem_ids: np.ndarray      # (P,) str
    levels: np.ndarray           # (P,) float, NaN when unknown
    n_samples: np.ndarray        # (P,) samples per problem
    size: int                    # M: slots per problem
    cls: np.ndarray              # (P, M) int64 answer class, -1 for no answer / padding
    n_classes: np.ndarray        # (P,)
    class_credit: np.ndarray     # (P, K) fraction of the class's samples graded correct (0/1 when consistent)
    class_prio: np.ndarray       # (P, K) int64 tie priority of each class, a permutation of 0..K_p-1
    sample_prio: np.ndarray      # (P, M) int64 tie priority of each slot
    correct: np.ndarray          # (P, M) float
    rows: np.ndarray             # (P, M) pool row of each slot, -1 for padding
    weight_bits: int             # q of the vote weights 1…2**q

    def scores(self, values: np.ndarray) -> np.ndarray:
        """Scatter one value per pool row into (P, M) slots (padding gets NaN)."""
        out = np.full(self.rows.shape, np.nan)
        mask = self.rows >= 0
        out[mask] = np.asarray(values, dtype=np.float64)[self.rows[mask]]
        return out

    def ranks(self, score: np.ndarray) -> np.ndarray:
        """Best-of-N preference of each slot: a rank by (score, priority), higher wins; -1 never wins."""
        answered = self.cls >= 0
        key = np.where(answered, score, -np.inf)
        order = np.lexsort((self.sample_prio, key), axis=1)  # ascending score, ties by ascending priority
        rank = np.empty_like(order)
        np.put_along_axis(rank, order, np.arange(key.shape[1])[None, :], axis=1)
        n_unanswered = (~answered).sum(1, keepdims=True)
        return np.where(answered, rank - n_unanswered, -1)

    def weights(self, score: np.ndarray | None) -> np.ndarray:
        """Integer vote weight of each slot: 1 per answered sample for majority, else the score mapped to 1…2**q."""
        answered = self.cls >= 0
        if score is None:
            return answered.astype(np.int64)
        top = np.nanmax(np.where(answered, score, np.nan), axis=1, initial=0.0)[:, None]
        scaled = np.divide(score, top, out=np.zeros_like(score), where=(top > 0) & answered)
        w = np.floor(np.clip(scaled, 0.0, 1.0) * (2.0**self.weight_bits - 1)).astype(np.int64) + 1
        return np.where(answered, w, 0)


def pack(pool: pd.DataFrame, *, seed: int = 0, size: int | None = None) -> Packed:
    """Dense arrays of ``pool`` (which needs ``answer_key``); tie priorities are drawn from ``seed``."""
    if "answer_key" not in pool.columns:
        raise PoolError("pool has no answer_key column; call e2h.pool.add_answer_keys(pool) first")
    df = pool.reset_index(drop=True)
    codes, problem_ids = pd.factorize(df["problem_id"].astype(str), sort=True)
    order = np.lexsort((df["sample_idx"].to_numpy(), codes))
    prob = codes[order]
    problem_ids = np.asarray(problem_ids, dtype=object)
    n_samples = np.bincount(prob, minlength=len(problem_ids))
    P, M = len(problem_ids), int(n_samples.max()) if len(n_samples) else 0
    if size is not None:
        if size < M:
            raise ValueError(f"size={size} is smaller than the largest problem's {M} samples")
        M = size
    starts = np.r_[0, np.cumsum(n_samples)[:-1]]
    slot = np.arange(len(order)) - np.repeat(starts, n_samples)
    rows = np.full((P, M), -1, dtype=np.int64)
    rows[prob, slot] = order

    key = df["answer_key"].to_numpy(dtype=object)[order]
    has = pd.notna(key)
    cls = np.full((P, M), -1, dtype=np.int64)
    # Class ids: the distinct keys of a problem, numbered 0..K_p-1 in sorted key order.
    kcode, kuniq = pd.factorize(pd.Series(key[has]).astype(str), sort=True)
    hp = prob[has]
    pair, code = np.unique(hp * max(len(kuniq), 1) + kcode, return_inverse=True)
    up = pair // max(len(kuniq), 1)  # the problem of each distinct (problem, key)
    cls[hp, slot[has]] = code - np.searchsorted(up, hp)
    n_classes = np.bincount(up, minlength=P)
    K = max(int(n_classes.max(initial=0)), 1)
    # Vote keys are sum * K + priority in int64: keep M * 2**bits * K below 2**62.
    bits = min(WEIGHT_BITS, 62 - int(np.ceil(np.log2(M + 1))) - int(np.ceil(np.log2(K + 1))))

    correct = np.zeros((P, M))
    correct[prob, slot] = df["correct"].to_numpy(dtype=float)[order]
    hits = np.zeros((P, K))
    members = np.zeros((P, K))
    np.add.at(hits, (prob[has], cls[prob[has], slot[has]]), correct[prob[has], slot[has]])
    np.add.at(members, (prob[has], cls[prob[has], slot[has]]), 1.0)
    class_credit = np.divide(hits, members, out=np.zeros_like(hits), where=members > 0)

    rng = np.random.default_rng([seed, 7])  # tie priorities: a stream of their own, unaffected by the draws
    sample_prio = rng.permuted(np.tile(np.arange(M, dtype=np.int64), (P, 1)), axis=1)
    cprio_keys = rng.random((P, K))
    cprio_keys[np.arange(K)[None, :] >= n_classes[:, None]] = -1.0  # unused class ids rank lowest
    class_prio = np.argsort(np.argsort(cprio_keys, axis=1), axis=1) - (K - n_classes)[:, None]

    levels = pd.to_numeric(df["level"], errors="coerce").to_numpy(dtype=float)[order]
    plev = np.full(P, np.nan)
    plev[prob] = levels
    return Packed(problem_ids=problem_ids, levels=plev, n_samples=n_samples, size=M, cls=cls,
                  n_classes=n_classes, class_credit=class_credit, class_prio=class_prio.astype(np.int64),
                  sample_prio=sample_prio, correct=correct, rows=rows, weight_bits=bits)


def groups_of(levels: np.ndarray) -> dict[str, np.ndarray]:
    """Problem masks per group: all, easy (levels 1-3), hard (4-5), and each level present."""
    out = {"all": np.ones(len(levels), dtype=bool),
           "easy": np.isin(levels, EASY_LEVELS), "hard": np.isin(levels, HARD_LEVELS)}
    for lvl in sorted({int(x) for x in levels[~np.isnan(levels)]}):
        out[f"level {lvl}"] = levels == lvl
    return out
