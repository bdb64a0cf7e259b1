"""The vectorized resampling engine: per subset draw and problem, the credit of each selector at every N.

Work is done a chunk of problems at a time (chunks run on threads: numpy releases the GIL), all B draws and all N
at once; there is no Python loop over draws or problems inside a chunk. For a chunk, the samples of every draw are
gathered with one shared index (see :mod:`e2h.rerank.draws`) into a (slots, problems, draws) array, where slots are
the first ``S`` positions of the draw's ordering and the N grid cuts them into consecutive blocks. Then:

- **voting** (majority and weighted): block by block, each slot adds its integer weight, times K, to the running
  total of (problem, draw, answer class) with one scatter-add; the totals start at each class's tie priority, so
  after each block ``argmax`` of ``total * K + priority`` is the winner at that N with ties resolved;
- **best-of-N**: a slot's rank (score, then tie priority) — the running maximum over blocks is the winner's rank;
- **pass@N**: the running maximum of correctness, and likewise "was any answered sample drawn" (else no selector
  has a winner); **single**: the first slot's correctness.

N equal to the pool size is one deterministic evaluation of all slots, shared by every draw.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from e2h.progress import tqdm

from e2h.rerank.draws import bootstrap_counts, draw_orders
from e2h.rerank.select import Packed

METHODS = ("majority", "best_of_n", "weighted", "pass@n", "single")
SCORED = ("best_of_n", "weighted")  # the methods that use a reward model and an aggregator


@dataclass(frozen=True)
class Variant:
    """One curve: a method, and for scored methods the reward model and the step aggregator."""

    method: str
    rm: str = ""
    agg: str = ""

    @property
    def label(self) -> str:
        return f"{self.method} ({self.rm}, {self.agg})" if self.rm else self.method


@dataclass
class Table:
    """Per-variant (P, M) inputs of the kernels."""

    kind: str                        # vote | best | pass | single
    weights: np.ndarray | None = None  # vote: int64 weight per slot; None: one vote per answered sample
    expected: bool = False             # vote: a tie's credit is its expectation (correct share of the tied)
    ranks: np.ndarray | None = None    # best: rank per slot, -1 never wins
    by_rank: np.ndarray | None = None  # best: (P, M + 1) credit of the slot of rank r at column r + 1


def best_table(packed: Packed, score: np.ndarray) -> Table:
    if packed.size >= 2**15:
        raise ValueError(f"pools of {packed.size} samples per problem are not supported (at most 32,767)")
    ranks = packed.ranks(score).astype(np.int16)
    by_rank = np.zeros((len(ranks), packed.size + 1))
    p, s = np.nonzero(ranks >= 0)
    by_rank[p, ranks[p, s] + 1] = packed.correct[p, s]
    return Table("best", ranks=ranks, by_rank=by_rank)


def _blocks(ns: list[int], size: int) -> tuple[list[int], bool]:
    """N below the pool size (resampled) and whether N = pool size (deterministic) is asked for."""
    small = [n for n in ns if n < size]
    return small, any(n == size for n in ns)


NEVER = -(2**62)  # vote key of the no-answer bucket: below any class, even after every slot is added to it


class _SlotIndex:
    """Where draw b's s-th sample of a chunk's c-th problem sits in the chunk's relabelled (P_c * M) tables.

    The index depends only on the chunk size, so it is built once per size and shared by every chunk (and thread).
    """

    def __init__(self, orders_t: np.ndarray, size: int):
        self.orders_t, self.size, self._cache = orders_t, size, {}

    def __call__(self, pc: int) -> np.ndarray:  # (S, P_c, B)
        if pc not in self._cache:
            self._cache[pc] = self.orders_t[:, None, :] + (np.arange(pc) * self.size)[None, :, None]
        return self._cache[pc]


def _chunk_credit(packed: Packed, tables: list[Table], idx: np.ndarray, where_of: _SlotIndex,
                  relabel: np.ndarray, small: list[int]) -> list[np.ndarray]:
    """Credit (J, P_c, B) of every variant for the problems ``idx`` at the resampled sizes ``small``.

    Gathered arrays are laid out (slot, problem, draw), so each block of the N grid is a contiguous slab.
    """
    M, J, (S, B), Pc = packed.size, len(small), where_of.orders_t.shape, len(idx)
    bounds = list(zip([0, *small[:-1]], small))
    rl, at = relabel[idx], where_of(Pc)

    def slots(rows: np.ndarray) -> np.ndarray:  # (P_c, M) → (S, P_c, B), through the problems' relabelling
        return np.take(np.take_along_axis(rows, rl, axis=1).ravel(), at)

    def running_max(vals: np.ndarray) -> np.ndarray:  # (S, P_c, B, …) → (J, P_c, B, …) best among the first N
        return np.maximum.accumulate(np.stack([vals[lo:hi].max(0) for lo, hi in bounds]), axis=0)

    def per_problem(table: np.ndarray, at: np.ndarray) -> np.ndarray:  # table (P_c, X)[c, at[j, c, b]] → (J, P_c, B)
        got = np.take_along_axis(table, at.transpose(1, 0, 2).reshape(Pc, -1), axis=1)
        return got.reshape(Pc, J, B).transpose(1, 0, 2)

    out: list[np.ndarray | None] = [None] * len(tables)
    # Best-of-N ranks, pass@N correctness and "answered" are small integers: they travel four int16 fields per
    # int64, gathered and maxed over each block together.
    fields = [(v, t) for v, t in enumerate(tables) if t.kind in ("best", "pass")]
    fields.append((None, None))  # answered: whether any answered sample was drawn (a vote has a winner)
    for g in range(0, len(fields), 4):
        group = fields[g:g + 4]
        packed16 = np.zeros((Pc, M, 4), dtype=np.int16)
        for f, (_, t) in enumerate(group):
            packed16[:, :, f] = (packed.cls[idx] >= 0 if t is None else
                                 t.ranks[idx] if t.kind == "best" else packed.correct[idx])
        top = running_max(slots(packed16.view(np.int64)[..., 0]).view(np.int16).reshape(S, Pc, B, 4))
        for f, (v, t) in enumerate(group):
            if t is None:
                answered = top[..., f] > 0  # (J, P_c, B)
            elif t.kind == "best":  # rank + 1: column 0 of by_rank is "nothing answered was drawn"
                out[v] = per_problem(t.by_rank[idx], top[..., f].astype(np.int64) + 1)
            else:
                out[v] = top[..., f].astype(float)

    K = int(packed.n_classes[idx].max(initial=0)) + 1  # + 1: the no-answer bucket
    where = None
    for v, t in enumerate(tables):
        if t.kind == "vote":
            if where is None:  # cell of (problem, draw, class) in the running totals, shared by every vote
                cls = packed.cls[idx]
                where = slots(np.where(cls < 0, K - 1, cls) + (np.arange(Pc) * B * K)[:, None])
                where += np.arange(B) * K
                where = where.reshape(S, -1)
                start = np.full((Pc, K), NEVER, dtype=np.int64)
                start[:, :K - 1] = packed.class_prio[idx, :K - 1]
                start = np.repeat(start[:, None, :], B, axis=1).reshape(-1)
                credit_table = np.zeros((Pc, K))
                credit_table[:, :K - 1] = packed.class_credit[idx, :K - 1]
            # totals are kept as keys, total * K + priority, so one argmax applies the tie rule
            totals = start.copy()
            weights = None if t.weights is None else slots(t.weights[idx] * K).reshape(S, -1)
            if t.expected:
                out[v] = np.empty((J, Pc, B))
            else:
                win = np.empty((J, Pc, B), dtype=np.int64)
            for j, (lo, hi) in enumerate(bounds):
                np.add.at(totals, where[lo:hi].ravel(), K if weights is None else weights[lo:hi].ravel())
                if t.expected:  # key // K is the vote total (priorities are below K): the tied top classes share
                    sums = totals.reshape(Pc, B, K) // K
                    tied = sums == sums.max(axis=2, keepdims=True)
                    out[v][j] = (tied * credit_table[:, None, :]).sum(2) / tied.sum(2)
                else:
                    win[j] = totals.reshape(Pc, B, K).argmax(axis=2)
            out[v] = (out[v] if t.expected else per_problem(credit_table, win)) * answered
        elif t.kind == "single":  # the first drawn sample, whatever N
            first = np.take_along_axis(packed.correct[idx], rl, axis=1)[:, where_of.orders_t[0]]
            out[v] = np.broadcast_to(first, (J, Pc, B))
    return out


def _chunks(packed: Packed, B: int, S: int, J: int, memory_mb: float) -> list[np.ndarray]:
    """Problem chunks sized to ``memory_mb``; problems with similar numbers of answers share a chunk."""
    order = np.argsort(packed.n_classes, kind="stable")
    chunks, start = [], 0
    while start < len(order):
        K = int(packed.n_classes[order[start]]) + 1
        per_problem = B * (S * 8 * 4 + J * 8 + K * 8)  # bytes: gathered slots, winners, vote totals
        size = max(1, int(memory_mb * 2**20 // per_problem))
        # K grows along the order: shrink the chunk until its largest K fits as well
        while size > 1:
            K = int(packed.n_classes[order[min(start + size, len(order)) - 1]]) + 1
            if size * B * (S * 32 + J * 8 + K * 8) <= memory_mb * 2**20:
                break
            size //= 2
        chunks.append(order[start:start + size])
        start += size
    return chunks


def evaluate(packed: Packed, tables: list[Table], ns: list[int], masks: dict[str, np.ndarray], *,
             resamples: int, seed: int, memory_mb: float = 8, workers: int | None = None,
             progress: bool = True) -> tuple[np.ndarray, ...]:
    """Per-draw accuracy of every table, group and N: ``(subsets, bootstrap)``, each (V, G, B, len(ns)).

    ``subsets[v, g, b, j]`` is the mean credit over the group's problems in draw b; ``bootstrap`` is the same
    mean over bootstrap sample b of the group's problems (drawn with replacement), paired with draw b.
    """
    M, P, B = packed.size, len(packed.problem_ids), resamples
    if not ns or min(ns) < 1 or max(ns) > M:
        raise ValueError(f"every N must be in 1..{M} (the pool size); got {ns}")
    ns = sorted(set(ns))
    small, full = _blocks(ns, M)
    orders, relabel = draw_orders(P, M, B, seed)
    where_of = _SlotIndex(np.ascontiguousarray(orders[:, :small[-1]].T), M) if small else None
    names = list(masks)
    mask = np.stack([masks[g] for g in names]).astype(np.float64)           # (G, P)
    boot = np.stack([bootstrap_counts(masks[g], B, seed, g) for g in names])  # (G, B, P)
    V, G, J = len(tables), len(names), len(ns)
    sub_sum, boot_sum = np.zeros((V, G, J, B)), np.zeros((V, G, J, B))
    boot_t = np.ascontiguousarray(boot.transpose(0, 2, 1))                    # (G, P, B)

    def add(idx: np.ndarray, credits: list[np.ndarray], cols: slice, which: list[int]) -> None:
        """Add the chunk's credits (each (j, P_c, B)) of the variants ``which`` to the per-group sums."""
        w = boot_t[:, idx]                                                      # (G, P_c, B)
        for v, c in zip(which, credits):
            sub_sum[v, :, cols] += np.tensordot(mask[:, idx], c, axes=([1], [1]))
            boot_sum[v, :, cols] += (c[None] * w[:, None]).sum(axis=2)

    singles = [v for v, t in enumerate(tables) if t.kind == "single"]
    if small:
        chunks = _chunks(packed, B, small[-1], len(small), memory_mb)
        # numpy releases the GIL in take / add.at / argmax, so threads over chunks use several cores
        workers = max(1, workers or min(2, os.cpu_count() or 1))
        with ThreadPoolExecutor(workers) as pool:
            run = (lambda idx: _chunk_credit(packed, tables, idx, where_of, relabel, small))
            results = pool.map(run, chunks) if workers > 1 else map(run, chunks)
            for idx, credits in tqdm(zip(chunks, results), total=len(chunks),
                                     desc=f"re-ranking {P} problems × {B} draws", disable=not progress):
                add(idx, credits, slice(0, len(small)), list(range(V)))
    if full:  # N = M: every draw holds every sample; evaluate once, as a single draw in slot order
        ident = np.arange(M)[None, :]
        same = np.tile(ident, (P, 1))
        others = [v for v in range(V) if v not in singles]
        for idx in _chunks(packed, 1, M, 1, memory_mb):
            credits = _chunk_credit(packed, tables, idx, _SlotIndex(ident.T, M), same, [M])
            add(idx, [credits[v] for v in others], slice(J - 1, J), others)  # (1, P_c, 1): same for every draw
        if singles:  # a single sample is still a random draw at N = M
            credit = np.take_along_axis(packed.correct, relabel, axis=1)[:, orders[:, 0]]  # (P, B)
            for idx in np.array_split(np.arange(P), max(1, P // 256)):
                add(idx, [credit[idx][None]] * len(singles), slice(J - 1, J), singles)
    sizes = np.maximum(mask.sum(1), 1)[:, None, None]
    return (np.ascontiguousarray((sub_sum / sizes).transpose(0, 1, 3, 2)),
            np.ascontiguousarray((boot_sum / sizes).transpose(0, 1, 3, 2)))
