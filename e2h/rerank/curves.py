"""Public entry points: accuracy at N, the curve table, and paired differences between methods."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from e2h.pool import PoolError, reward_models
from e2h.rerank.ci import BOOTSTRAP, SUBSETS, summarize
from e2h.rerank.engine import METHODS, SCORED, Table, Variant, best_table, evaluate
from e2h.rerank.select import AGGREGATORS, aggregate, groups_of, pack, step_scores

DEFAULT_AGGS = ("min", "prod", "mean", "max")


def default_ns(size: int) -> list[int]:
    """1, 2, 4, … below the pool size, then the pool size itself."""
    return [2**k for k in range(int(np.log2(size)) + 1) if 2**k < size] + [size]


def variants_for(pool: pd.DataFrame, methods=METHODS, rms=None, aggs=DEFAULT_AGGS) -> list[Variant]:
    """Every requested (method, rm, agg); scored methods get each reward model × each aggregator."""
    rms = reward_models(pool) if rms is None else list(rms)
    out = []
    for m in methods:
        if m not in METHODS:
            raise ValueError(f"unknown method {m!r}; expected one of {', '.join(METHODS)}")
        if m in SCORED:
            for a in aggs:
                if a not in AGGREGATORS:
                    raise ValueError(f"unknown aggregator {a!r}; expected one of {', '.join(AGGREGATORS)}")
            out += [Variant(m, rm, a) for rm in rms for a in aggs]
        else:
            out.append(Variant(m))
    return out


@dataclass
class Resampled:
    """Per-draw accuracies of every variant, group and N, with the summaries built from them."""

    variants: list[Variant]
    groups: list[str]
    group_sizes: list[int]
    ns: list[int]
    subsets: np.ndarray     # (V, G, B, J)
    bootstrap: np.ndarray   # (V, G, B, J)
    seed: int
    size: int

    @property
    def resamples(self) -> int:
        return self.subsets.shape[2]

    def _frame(self, stats: dict, kind: str, level: float, extra: dict) -> pd.DataFrame:
        V, G, J = len(self.variants), len(self.groups), len(self.ns)
        v, g, j = (a.ravel() for a in np.meshgrid(np.arange(V), np.arange(G), np.arange(J), indexing="ij"))
        cols = {"method": [self.variants[i].method for i in v], "rm": [self.variants[i].rm for i in v],
                "agg": [self.variants[i].agg for i in v], **{k: [x[i] for i in v] for k, x in extra.items()},
                "group": [self.groups[i] for i in g], "n": np.asarray(self.ns)[j]}
        cols.update({k: stats[k].reshape(V, G, J).ravel() for k in ("mean", "lo", "hi", "std")})
        cols.update({"ci": kind, "level": level, "resamples": self.resamples,
                     "problems": np.asarray(self.group_sizes)[g], "pool_size": self.size})
        return pd.DataFrame(cols)

    def table(self, level: float = 0.95) -> pd.DataFrame:
        """One row per (method, rm, agg, group, n, ci): ``mean`` over draws and the ``ci`` kind's [lo, hi]."""
        mean = self.subsets.mean(2)
        frames = []
        for kind, draws in ((SUBSETS, self.subsets), (BOOTSTRAP, self.bootstrap)):
            stats = summarize(draws.transpose(0, 1, 3, 2), level)  # B last
            stats["mean"] = mean
            frames.append(self._frame(stats, kind, level, {}))
        return pd.concat(frames, ignore_index=True)

    def index(self, variant: Variant) -> int:
        try:
            return self.variants.index(variant)
        except ValueError:
            raise KeyError(f"{variant.label} was not evaluated; have: "
                           f"{', '.join(x.label for x in self.variants)}") from None

    def accuracy(self, variant: Variant, n: int, group: str = "all") -> float:
        """Mean accuracy over the subset draws."""
        return float(self.subsets[self.index(variant), self.groups.index(group), :, self.ns.index(n)].mean())

    def differences(self, baseline: Variant = Variant("majority"), level: float = 0.95) -> pd.DataFrame:
        """Paired differences (variant − baseline) on the same problems, subsets and bootstrap draws.

        ``share_le_0`` is the share of problems+subsets draws in which the variant does not beat the baseline: a
        one-sided bootstrap p-value for "variant > baseline".
        """
        b = self.index(baseline)
        others = [i for i in range(len(self.variants)) if i != b]
        frames = []
        for kind, draws in ((SUBSETS, self.subsets), (BOOTSTRAP, self.bootstrap)):
            diff = (draws[others] - draws[b][None]).transpose(0, 1, 3, 2)
            stats = summarize(diff, level)
            stats["mean"] = (self.subsets[others] - self.subsets[b][None]).mean(2)
            sub = Resampled([self.variants[i] for i in others], self.groups, self.group_sizes, self.ns,
                            self.subsets[others], self.bootstrap[others], self.seed, self.size)
            extra = {"vs": [baseline.label] * len(others)}
            frame = sub._frame(stats, kind, level, extra)
            frame["share_le_0"] = (diff <= 0).mean(-1).ravel()
            frames.append(frame)
        return pd.concat(frames, ignore_index=True)


def resample(pool: pd.DataFrame, *, methods=METHODS, rms=None, aggs=DEFAULT_AGGS, ns=None,
             resamples: int = 1000, seed: int = 0, groups=None, size: int | None = None,
             variants: list[Variant] | None = None, memory_mb: float = 8, workers: int | None = None,
             progress: bool = True, ties: str = "priority") -> Resampled:
    """Draw ``resamples`` subsets per problem and N and evaluate every variant on them (see docs/rerank.md).

    ``size`` pads every problem to that many slots (PRM800K's protocol); by default the largest problem's count.
    ``groups`` picks among all / easy / hard / "level k" (default: every non-empty one). ``ties``: ``priority``
    gives a voting tie to the answer of higher seeded priority (one draw of random tie-breaking); ``expected``
    credits it with its expectation under random tie-breaking (the tied answers' correct share), so no single
    tie permutation decides a number.
    """
    if ties not in ("priority", "expected"):
        raise ValueError(f"ties {ties!r}: expected 'priority' or 'expected'")
    if resamples < 1:
        raise ValueError(f"resamples must be ≥ 1, got {resamples}")
    if len(pool) == 0:
        raise PoolError("the pool has no samples; nothing to re-rank")
    if ns is not None and (not len(ns) or min(int(n) for n in ns) < 1):
        raise ValueError(f"ns {list(ns)}: sample counts must be >= 1")
    variants = variants_for(pool, methods, rms, aggs) if variants is None else list(variants)
    if not variants:
        raise ValueError("nothing to evaluate: no methods (or no reward models for best_of_n / weighted)")
    packed = pack(pool, seed=seed, size=size)
    ns = default_ns(packed.size) if ns is None else sorted({int(n) for n in ns})
    masks = {g: m for g, m in groups_of(packed.levels).items() if m.any()}
    if groups is not None:
        unknown = [g for g in groups if g not in masks]
        if unknown:
            raise ValueError(f"unknown or empty group(s) {unknown}; this pool has {', '.join(masks)}")
        masks = {g: masks[g] for g in groups}
    pool = pool.reset_index(drop=True)
    tables, steps, cache = [], {}, {}
    for v in variants:
        if v.method in SCORED and (v.rm, v.agg) not in cache:
            if v.rm not in steps:
                steps[v.rm] = step_scores(pool, v.rm)
            cache[(v.rm, v.agg)] = packed.scores(aggregate(*steps[v.rm], v.agg))
        if v.method == "majority":
            tables.append(Table("vote", expected=ties == "expected"))
        elif v.method == "weighted":
            tables.append(Table("vote", weights=packed.weights(cache[(v.rm, v.agg)]), expected=ties == "expected"))
        elif v.method == "best_of_n":
            tables.append(best_table(packed, cache[(v.rm, v.agg)]))
        else:
            tables.append(Table("pass" if v.method == "pass@n" else "single"))
    sub, boot = evaluate(packed, tables, ns, masks, resamples=resamples, seed=seed, memory_mb=memory_mb,
                         workers=workers, progress=progress)
    return Resampled(variants, list(masks), [int(m.sum()) for m in masks.values()], ns, sub, boot, seed,
                     packed.size)


def summary_at(table: pd.DataFrame, n: int | None = None, groups=("all", "easy", "hard"),
               ci: str = BOOTSTRAP) -> pd.DataFrame:
    """Wide view at one N (default: the largest): a row per curve, a column per group, "mean [lo, hi]" in %."""
    n = int(table["n"].max()) if n is None else n
    t = table[(table["n"] == n) & (table["ci"] == ci) & table["group"].isin(list(groups))].copy()
    if t.empty:
        raise ValueError(f"no rows at n={n}, ci={ci!r} for groups {list(groups)}")
    t["curve"] = [Variant(m, r, a).label for m, r, a in zip(t["method"], t["rm"], t["agg"])]
    if "vs" in t.columns:
        t["curve"] = t["curve"] + " − " + t["vs"]
    t["cell"] = [f"{100 * m:.1f} [{100 * lo:.1f}, {100 * hi:.1f}]" for m, lo, hi in zip(t["mean"], t["lo"], t["hi"])]
    wide = t.pivot_table(index="curve", columns="group", values="cell", aggfunc="first", sort=False)
    wide.columns.name = f"N = {n}, {ci} {float(t['level'].iloc[0]):.0%} interval, %"
    return wide[[g for g in groups if g in wide.columns]]


def merge_equal_aggregators(table: pd.DataFrame) -> pd.DataFrame:
    """A curve or difference table with each (method, rm) whose aggregators all give the same numbers kept once,
    its ``agg`` written ``any``: an outcome reward model scores a solution once, so min, prod, mean, max and last of
    its one score are the same curve, and five copies of it say nothing."""
    value = [c for c in ("mean", "lo", "hi") if c in table.columns]
    rows = []
    for (method, rm), part in table.groupby(["method", "rm"], sort=False):
        aggs = list(dict.fromkeys(part["agg"]))
        if rm and len(aggs) > 1:
            keys = [c for c in ("group", "n", "ci", "vs") if c in part.columns]
            spread = part.groupby(keys)[value].agg(lambda v: v.max() - v.min()).to_numpy()
            if (spread <= 1e-12).all():
                part = part[part["agg"] == aggs[0]].assign(agg="any")
        rows.append(part)
    return pd.concat(rows, ignore_index=True) if rows else table


def curves(pool: pd.DataFrame, *, level: float = 0.95, **kwargs) -> pd.DataFrame:
    """The whole curve table: one row per (method, rm, agg, group, n, ci kind) with mean, lo, hi."""
    return resample(pool, **kwargs).table(level)


def accuracy_at_n(pool: pd.DataFrame, method: str, n: int, *, rm: str | None = None, agg: str = "min",
                  resamples: int = 1000, seed: int = 0) -> float:
    """Mean accuracy over ``resamples`` random subsets of ``n`` samples per problem, in [0, 1].

    ``method`` is majority, best_of_n or weighted (or pass@n / single). ``rm`` may be left out when the pool has
    one reward model. The draws are those of :func:`curves` with the same seed, so the numbers agree.
    """
    if method in SCORED:
        if rm is None:
            have = reward_models(pool)
            if len(have) != 1:
                raise PoolError(f"{method} needs rm=…; the pool has reward models: {', '.join(have) or 'none'}")
            rm = have[0]
        variant = Variant(method, rm, agg)
    elif method in METHODS:
        variant = Variant(method)
    else:
        raise ValueError(f"unknown method {method!r}; expected one of {', '.join(METHODS)}")
    res = resample(pool, variants=[variant], ns=[n], resamples=resamples, seed=seed, groups=["all"],
                   progress=False)
    return res.accuracy(variant, n)
