"""Stage 06: re-ranking curves, paired differences with majority voting, and evaluator quality
(``notebooks/06_rerank``).

``rerank_tables(p)`` reads stage 05's scored pool and writes ``rerank/{curves,differences,auroc}.parquet`` (and, on
the embedded task, ``slips.parquet``), which stage 08 draws and ``python -m e2h seeds`` pools over seeds.
``pooled_differences`` and ``evaluator_quality`` read those tables back for several runs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from e2h.io import write_parquet
from e2h.pool import add_answer_keys, read_pool, reward_models
from e2h.rerank import BOOTSTRAP, merge_equal_aggregators, resample, summary_at
from e2h.rerank.quality import evaluator_auroc
from e2h.stages.layout import RunLayout, layout
from e2h.stages.s00_data import have_splits, load_split


@dataclass
class RerankTables:
    pool: pd.DataFrame
    curves: pd.DataFrame
    differences: pd.DataFrame
    auroc: pd.DataFrame
    slips: pd.DataFrame | None
    ns: list[int]
    resamples: int
    groups: list[str]


def scored_pool(p) -> pd.DataFrame:
    """Stage 05's pool, with answer keys (stage 05 adds them; an older pool gets them here)."""
    pool = read_pool(layout(p).scored_pool)
    return pool if "answer_key" in pool.columns else add_answer_keys(pool)


def slip_tables(p, pool: pd.DataFrame) -> pd.DataFrame | None:
    """Embedded task only: per-slip step AUROC of every step-scoring reward model (``e2h.slips``)."""
    if p.data.source != "embedded" or not have_splits(p.run_dir):
        return None
    from e2h.slips import slip_auroc

    problems = {str(q["unique_id"]): q["problem"] for q in load_split(p, p.data.eval_split)}
    stepwise = [n for n in reward_models(pool) if pool[f"scores_{n}"].map(len).gt(1).any()]  # not the ORM
    return pd.concat([slip_auroc(pool, f"scores_{n}", problems).assign(rm=n) for n in stepwise])


def rerank_tables(p) -> RerankTables:
    """Compute and write every table of stage 06 from the scored pool."""
    r, where = p.rerank, layout(p)
    pool = scored_pool(p)
    res = resample(pool, methods=r.methods, aggs=r.aggregators, ns=r.ns, resamples=r.resamples, seed=r.seed,
                   ties=r.ties)
    curves, differences = res.table(r.ci_level), res.differences(level=r.ci_level)
    auroc = evaluator_auroc(pool, aggs=[a for a in ("min", "prod") if a in r.aggregators] or r.aggregators[:1],
                            resamples=min(r.resamples, 200), seed=r.seed, level=r.ci_level)
    slips = slip_tables(p, pool)
    for name, table in (("curves", curves), ("differences", differences), ("auroc", auroc), ("slips", slips)):
        if table is not None:
            write_parquet(where.rerank_table(name), table)
    return RerankTables(pool, curves, differences, auroc, slips, res.ns, res.resamples, res.groups)


def _cell(mean: float, lo: float, hi: float) -> str:
    return f"{100 * mean:.1f} [{100 * lo:.1f}, {100 * hi:.1f}]"


def headline(t: RerankTables, groups=("all", "easy", "hard")) -> pd.DataFrame:
    """The paper's pairings at the largest N: majority voting and one sample for reference, then weighted voting
    with prod and best-of-N with min for each reward model; per group the accuracy and the paired difference with
    majority voting, in % / points with the problems+subsets interval. An outcome model appears once per method."""
    n = max(t.ns)
    groups = [g for g in groups if g in t.groups]
    curves = merge_equal_aggregators(t.curves[(t.curves.n == n) & (t.curves.ci == BOOTSTRAP)])
    diffs = merge_equal_aggregators(t.differences[(t.differences.n == n) & (t.differences.ci == BOOTSTRAP)])
    rms = list(dict.fromkeys(r for r in curves.rm if r))
    wanted = [("majority", "", ""), ("single", "", "")]
    wanted += [("weighted", r, a) for r in rms for a in ("prod", "any")]
    wanted += [("best_of_n", r, a) for r in rms for a in ("min", "any")]
    rows = []
    for method, rm, agg in wanted:
        c = curves[(curves.method == method) & (curves.rm == rm) & (curves["agg"] == agg)]
        if c.empty:
            continue
        row = {"method": method, "reward model": rm or "—", "aggregator": agg or "—"}
        for g in groups:
            a = c[c.group == g].iloc[0]
            row[f"{g}: accuracy %"] = _cell(a["mean"], a["lo"], a["hi"])
            d = diffs[(diffs.method == method) & (diffs.rm == rm) & (diffs["agg"] == agg) & (diffs.group == g)]
            row[f"{g}: − majority, points"] = _cell(*d[["mean", "lo", "hi"]].iloc[0]) if len(d) else ""
        rows.append(row)
    table = pd.DataFrame(rows).set_index(["method", "reward model", "aggregator"])
    sizes = ", ".join(f"{g} {t.curves[t.curves.group == g]['problems'].iloc[0]}" for g in groups)
    table.columns.name = f"N = {n}, B = {t.resamples}; problems: {sizes}; 95% problems+subsets interval"
    return table


def detail(table: pd.DataFrame, groups) -> pd.DataFrame:
    """Every curve (or difference) at the largest N for the groups, an outcome model's equal aggregators once."""
    return summary_at(merge_equal_aggregators(table), groups=list(groups))


def auroc_table(auroc: pd.DataFrame, groups=("all", "easy", "hard")) -> pd.DataFrame:
    """Evaluator AUROC for the groups, without the rows that are undefined (a step AUROC of an outcome model,
    which has no per-step score; a group with one class)."""
    keep = auroc[auroc.group.isin(list(groups)) & auroc.auroc.notna()]
    parts = []
    for _, part in keep.groupby(["rm", "kind"], sort=False):  # an outcome model's aggregators agree: keep one
        aggs = list(dict.fromkeys(part["agg"]))
        if len(aggs) > 1 and part.groupby("group")["auroc"].agg(lambda v: v.max() - v.min()).max() <= 1e-12:
            part = part[part["agg"] == aggs[0]].assign(agg="any")
        parts.append(part)
    if not parts:
        return pd.DataFrame()
    keep = pd.concat(parts)
    return keep.pivot_table(index=["rm", "kind", "agg"], columns="group", values="auroc", sort=False)[
        [g for g in groups if g in set(keep.group)]]


def share_not_better(differences: pd.DataFrame) -> pd.DataFrame:
    """At the largest N: the share of problems+subsets draws in which each method does not beat majority voting
    (a one-sided bootstrap p-value), per group."""
    at_max = differences[(differences.n == differences.n.max()) & (differences.ci == BOOTSTRAP)]
    at_max = merge_equal_aggregators(at_max)
    return at_max.pivot_table(index=["method", "rm", "agg"], columns="group", values="share_le_0")


def slip_auroc_table(slips: pd.DataFrame) -> pd.DataFrame:
    """Per reward model, the per-slip step AUROC by group (easy / hard) and kind of slip."""
    return slips.pivot_table(index="rm", columns=["group", "slip"], values="auroc")


def checker_vote_table(p, pool: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Embedded task: majority against the checker's and the arithmetic-blind reader's weighted votes."""
    from e2h.slips import checker_vote

    problems = {str(q["unique_id"]): q["problem"] for q in load_split(p, p.data.eval_split)}
    return checker_vote(pool, problems, seed=seed)


def pooled_differences(run_dirs: dict[str, str | os.PathLike], *, ties: str, n: int | None = None,
                       resamples: int = 1000, seed: int = 0, level: float = 0.95) -> pd.DataFrame:
    """Paired differences with majority voting at N (default: the largest), per run and pooled over runs.

    One row per (run, method, rm, agg, group) with mean, lo, hi (problems+subsets bootstrap); ``run`` is the
    run's name or ``pooled``. Per-run rows come from each run's ``rerank/differences.parquet``; the pooled interval
    resamples the problems of all runs together (their test problems differ, so the pooled set is their union),
    voting ties scored as the runs' ``rerank.ties`` (``ties``, required: a pooled number under another tie rule
    than the runs' would not compare with theirs). An outcome model's aggregators are merged (``any``), as in
    ``run_summary``.
    """
    frames, pools, at = [], [], n
    for name, run in run_dirs.items():
        where = RunLayout(run)
        d = pd.read_parquet(where.rerank_table("differences"))
        at = at or int(d["n"].max())  # the first run's largest N, unless given
        frames.append(merge_equal_aggregators(d[(d["n"] == at) & (d["ci"] == BOOTSTRAP)]).assign(run=name))
        pool = read_pool(where.scored_pool)
        pools.append(pool.assign(problem_id=name + "/" + pool["problem_id"].astype(str)))
    pool = pd.concat(pools, ignore_index=True)
    diff = resample(pool, ns=[at], resamples=resamples, seed=seed, ties=ties).differences(level=level)
    frames.append(merge_equal_aggregators(diff[diff["ci"] == BOOTSTRAP]).assign(run="pooled"))
    cols = ["run", "method", "rm", "agg", "group", "n", "mean", "lo", "hi", "share_le_0", "problems", "resamples"]
    return pd.concat(frames, ignore_index=True)[cols]


def evaluator_quality(run_dirs: dict[str, str | os.PathLike]) -> pd.DataFrame:
    """Step AUROC and within-problem AUROC (min score) per reward model and level group, per run (from each run's
    ``rerank/auroc.parquet``)."""
    rows = []
    for name, run in run_dirs.items():
        a = pd.read_parquet(RunLayout(Path(run)).rerank_table("auroc"))
        rows.append(a[(a["kind"] == "step") | ((a["kind"] == "within") & (a["agg"] == "min"))].assign(run=name))
    return pd.concat(rows, ignore_index=True)[["run", "rm", "kind", "group", "auroc", "lo", "hi"]]


# The numbers a seed is summarized by: each re-ranker against majority voting at the largest N (the paper's
# pairings), and the references themselves.
SUMMARY_VARIANTS = (("weighted", "prod"), ("best_of_n", "min"), ("weighted", "any"), ("best_of_n", "any"))


def run_summary(run_dir: str | os.PathLike, name: str) -> pd.DataFrame:
    """One run's summary at its largest N, from its stage-06 tables: per group, majority, single-sample and pass@N
    accuracy and each reward model's weighted-voting (prod) and best-of-N (min) difference with majority voting,
    with the problems+subsets interval; ``name`` names the run in the ``run`` column."""
    where = RunLayout(run_dir)
    curves, diffs = (merge_equal_aggregators(pd.read_parquet(where.rerank_table(t))) for t in ("curves", "differences"))
    n = int(curves["n"].max())
    rows = []
    for table, kind in ((curves, "accuracy"), (diffs, "− majority")):
        t = table[(table["n"] == n) & (table["ci"] == BOOTSTRAP)]
        for r in t.itertuples():
            ref = r.method in ("majority", "single", "pass@n") and kind == "accuracy"
            if ref or (r.method, r.agg) in SUMMARY_VARIANTS and kind == "− majority":
                rows.append({"run": name, "metric": f"{r.method} {kind}", "rm": r.rm, "agg": r.agg, "group": r.group,
                             "n": n, "mean": r.mean, "lo": r.lo, "hi": r.hi, "problems": r.problems})
    auroc = pd.read_parquet(where.rerank_table("auroc"))
    for r in auroc[(auroc["kind"] == "within") & (auroc["agg"].isin(["min", ""]))].itertuples():
        rows.append({"run": name, "metric": "within-problem AUROC", "rm": r.rm, "agg": r.agg, "group": r.group,
                     "n": n, "mean": r.auroc, "lo": r.lo, "hi": r.hi, "problems": r.problems})
    return pd.DataFrame(rows)


def across_seeds(summaries: pd.DataFrame, level: float = 0.95, resamples: int = 10000, seed: int = 0
                 ) -> pd.DataFrame:
    """The seed as the unit: per (metric, rm, agg, group), the mean over runs, a t-interval and a bootstrap-over-
    runs percentile interval of that mean, and how many runs are above zero."""
    import numpy as np
    from scipy import stats

    rng = np.random.default_rng(seed)
    rows = []
    for key, part in summaries.groupby(["metric", "rm", "agg", "group"], sort=False):
        x = part["mean"].to_numpy(dtype=float)
        k = len(x)
        half = stats.t.ppf((1 + level) / 2, k - 1) * x.std(ddof=1) / np.sqrt(k) if k > 1 else float("nan")
        boot = rng.choice(x, size=(resamples, k)).mean(1)
        lo, hi = np.quantile(boot, [(1 - level) / 2, (1 + level) / 2])
        rows.append(dict(zip(["metric", "rm", "agg", "group"], key), runs=k, mean=x.mean(), t_lo=x.mean() - half,
                         t_hi=x.mean() + half, boot_lo=lo, boot_hi=hi, above_zero=int((x > 0).sum())))
    return pd.DataFrame(rows)


def pooled_from_summaries(summaries: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """``pooled_differences``' number from the runs' summaries alone, for when their run folders are gone: the runs'
    problems are disjoint, so the pooled mean is the problem-weighted mean of the runs' means, and its standard
    error combines theirs, each read off its interval as (hi - lo) / (2 z) (a normal approximation: every
    interval is over 120-420 problems). That is the bootstrap stratified by run; resampling the union, as
    ``pooled_differences`` does, adds only the spread of the runs' means over the pooled problems. Per (metric, rm,
    agg, group): runs, problems, mean, lo, hi."""
    import numpy as np
    from scipy import stats

    z = stats.norm.ppf((1 + level) / 2)
    rows = []
    for key, part in summaries.groupby(["metric", "rm", "agg", "group"], sort=False):
        w = part["problems"].to_numpy(dtype=float)
        w = w / w.sum()
        se = (part["hi"].to_numpy(dtype=float) - part["lo"].to_numpy(dtype=float)) / (2 * z)
        mean, half = float(w @ part["mean"].to_numpy(dtype=float)), z * float(np.sqrt(w ** 2 @ se ** 2))
        rows.append(dict(zip(["metric", "rm", "agg", "group"], key), runs=len(part),
                         problems=int(part["problems"].sum()), mean=mean, lo=mean - half, hi=mean + half))
    return pd.DataFrame(rows)
