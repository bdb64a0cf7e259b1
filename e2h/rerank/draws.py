"""The random draws of the resampling: which samples each subset holds, and which problems each bootstrap holds.

Subsets. Draw b of problem p takes the slots ``relabel[p, orders[b, :N]]``: ``orders[b]`` is a seeded random
ordering of the M slots shared by all problems, and ``relabel[p]`` a seeded random ordering of problem p's own
slots. For a fixed problem the B orderings are independent and uniformly random, so every subset is a uniform draw
of N samples without replacement; the subsets of size N are the first N of the same ordering, so they are nested
(as in PRM800K's evaluation, which shuffles once and takes the first N). Sharing ``orders`` across problems is what
lets the engine gather every problem's samples with one index; the per-problem relabelling keeps any problem's draws
from lining up with another's sample order.

Problems. Bootstrap b draws the problems of a group with replacement; draw b of the subsets is paired with
bootstrap b, so one interval carries both sources of uncertainty.
"""

from __future__ import annotations

import zlib

import numpy as np

ORDERS_STREAM, RELABEL_STREAM, BOOTSTRAP_STREAM = 1, 2, 3


def draw_orders(n_problems: int, size: int, resamples: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``(orders, relabel)``: (B, M) shared slot orderings and (P, M) per-problem relabellings."""
    base = np.arange(size, dtype=np.int64)
    orders = np.random.default_rng([seed, ORDERS_STREAM]).permuted(np.tile(base, (resamples, 1)), axis=1)
    relabel = np.random.default_rng([seed, RELABEL_STREAM]).permuted(np.tile(base, (n_problems, 1)), axis=1)
    return orders, relabel


def subset(orders: np.ndarray, relabel: np.ndarray, b: int, p: int, n: int) -> np.ndarray:
    """Slots of problem p in draw b at size n (the definition the vectorized engine follows)."""
    return relabel[p, orders[b, :n]]


def bootstrap_counts(mask: np.ndarray, resamples: int, seed: int, group: str) -> np.ndarray:
    """(B, P) float32: how often each problem of the group (``mask``) appears in bootstrap b; 0 outside it.

    Each group has its own stream (named by the group), so adding a group or a method changes no other number.
    """
    members = np.flatnonzero(mask)
    out = np.zeros((resamples, len(mask)), dtype=np.float32)
    if len(members) == 0:
        return out
    rng = np.random.default_rng([seed, BOOTSTRAP_STREAM, zlib.crc32(group.encode())])
    picks = rng.integers(0, len(members), size=(resamples, len(members)))
    flat = np.bincount((np.arange(resamples)[:, None] * len(members) + picks).ravel(),
                       minlength=resamples * len(members))
    out[:, members] = flat.reshape(resamples, len(members))
    return out
