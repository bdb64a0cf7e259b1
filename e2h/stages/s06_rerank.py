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
from e2h.rerank import BOOTSTRAP, resample
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

    problems = {str(q["unique_id"]): q["problem"] for q in load_split(p, "test")}
    stepwise = [n for n in reward_models(pool) if pool[f"scores_{n}"].map(len).gt(1).any()]  # not the ORM
    return pd.concat([slip_auroc(pool, f"scores_{n}", problems).assign(rm=n) for n in stepwise])


def rerank_tables(p) -> RerankTables:
    """Compute and write every table of stage 06 from the scored pool."""
    r, where = p.rerank, layout(p)
    pool = scored_pool(p)
    res = resample(pool, methods=r.methods, aggs=r.aggregators, ns=r.ns, resamples=r.resamples, seed=r.seed)
    curves, differences = res.table(r.ci_level), res.differences(level=r.ci_level)
    auroc = evaluator_auroc(pool, aggs=[a for a in ("min", "prod") if a in r.aggregators] or r.aggregators[:1],
                            resamples=min(r.resamples, 200), seed=r.seed, level=r.ci_level)
    slips = slip_tables(p, pool)
    for name, table in (("curves", curves), ("differences", differences), ("auroc", auroc), ("slips", slips)):
        if table is not None:
            write_parquet(where.rerank_table(name), table)
    return RerankTables(pool, curves, differences, auroc, slips, res.ns, res.resamples, res.groups)


def share_not_better(differences: pd.DataFrame) -> pd.DataFrame:
    """At the largest N: the share of problems+subsets draws in which each method does not beat majority voting
    (a one-sided bootstrap p-value), per group."""
    at_max = differences[(differences.n == differences.n.max()) & (differences.ci == BOOTSTRAP)]
    return at_max.pivot_table(index=["method", "rm", "agg"], columns="group", values="share_le_0")


def slip_auroc_table(slips: pd.DataFrame) -> pd.DataFrame:
    """Per reward model, the per-slip step AUROC by group (easy / hard) and kind of slip."""
    return slips.pivot_table(index="rm", columns=["group", "slip"], values="auroc")


def checker_vote_table(p, pool: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Embedded task: majority against the checker's and the arithmetic-blind reader's weighted votes."""
    from e2h.slips import checker_vote

    problems = {str(q["unique_id"]): q["problem"] for q in load_split(p, "test")}
    return checker_vote(pool, problems, seed=seed)


def pooled_differences(run_dirs: dict[str, str | os.PathLike], *, n: int | None = None, resamples: int = 1000,
                       seed: int = 0, level: float = 0.95) -> pd.DataFrame:
    """Paired differences with majority voting at N (default: the largest), per run and pooled over runs.

    One row per (run, method, rm, agg, group) with mean, lo, hi (problems+subsets bootstrap); ``run`` is the
    run's name or ``pooled``. Per-run rows come from each run's ``rerank/differences.parquet``; the pooled interval
    resamples the problems of all runs together (their test problems differ, so the pooled set is their union).
    """
    frames, pools, at = [], [], n
    for name, run in run_dirs.items():
        where = RunLayout(run)
        d = pd.read_parquet(where.rerank_table("differences"))
        at = at or int(d["n"].max())  # the first run's largest N, unless given
        frames.append(d[(d["n"] == at) & (d["ci"] == BOOTSTRAP)].assign(run=name))
        pool = read_pool(where.scored_pool)
        pools.append(pool.assign(problem_id=name + "/" + pool["problem_id"].astype(str)))
    pool = pd.concat(pools, ignore_index=True)
    diff = resample(pool, ns=[at], resamples=resamples, seed=seed).differences(level=level)
    frames.append(diff[diff["ci"] == BOOTSTRAP].assign(run="pooled"))
    cols = ["run", "method", "rm", "agg", "group", "n", "mean", "lo", "hi", "share_le_0"]
    return pd.concat(frames, ignore_index=True)[cols]


def evaluator_quality(run_dirs: dict[str, str | os.PathLike]) -> pd.DataFrame:
    """Step AUROC and within-problem AUROC (min score) per reward model and level group, per run (from each run's
    ``rerank/auroc.parquet``)."""
    rows = []
    for name, run in run_dirs.items():
        a = pd.read_parquet(RunLayout(Path(run)).rerank_table("auroc"))
        rows.append(a[(a["kind"] == "step") | ((a["kind"] == "within") & (a["agg"] == "min"))].assign(run=name))
    return pd.concat(rows, ignore_index=True)[["run", "rm", "kind", "group", "auroc", "lo", "hi"]]
