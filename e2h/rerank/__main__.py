"""Command line: re-ranking curves of a scored pool.

    python -m e2h.rerank POOL.parquet [--ns 1 2 4 …] [--resamples B] [--methods …] [--rms …] [--aggs …]
                         [--groups …] [--seed S] [--level 0.95] [--out curves.parquet|.csv]

POOL is a pool Parquet file, or OpenAI's PRM800K ``scored-test-samples.jsonl`` (read with
:func:`e2h.data.prm800k_scored.read_scored_samples`; reward models ``prm`` and ``orm``). The table is printed (the
mean, and the problems+subsets interval, per method and N) and written in full to ``--out`` (default: beside the
pool, ``<pool stem>.curves.parquet``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from e2h.io import atomic_path, write_parquet
from e2h.pool import PoolError, read_pool
from e2h.rerank.ci import BOOTSTRAP
from e2h.rerank.curves import DEFAULT_AGGS, resample
from e2h.rerank.engine import METHODS, Variant
from e2h.rerank.select import AGGREGATORS


def load(path: Path, *, equivalence: bool) -> pd.DataFrame:
    """A pool from Parquet, or from OpenAI's scored-samples JSON(L); answer keys are added when missing."""
    if path.suffix in (".jsonl", ".json"):
        from e2h.data.prm800k_scored import read_scored_samples

        pool = read_scored_samples(path)
    else:
        pool = read_pool(path)
    if len(pool) == 0:
        raise PoolError(f"{path}: the pool has no samples; nothing to re-rank")
    if "answer_key" not in pool.columns:
        from e2h.pool import add_answer_keys

        pool = add_answer_keys(pool, equivalence=equivalence)
    return pool


def check_args(args) -> None:
    """Every option that can be wrong, before any work: a bad --level must not surface after the computation."""
    if not 0 < args.level < 1:
        raise ValueError(f"--level {args.level}: expected an interval level between 0 and 1, e.g. 0.95")
    if args.resamples < 1:
        raise ValueError(f"--resamples {args.resamples}: expected at least 1 draw")
    if args.ns is not None and min(args.ns) < 1:
        raise ValueError(f"--ns {' '.join(map(str, args.ns))}: sample counts must be >= 1")
    if args.size is not None and args.size < 1:
        raise ValueError(f"--size {args.size}: expected at least 1 slot per problem")
    if args.out is not None and args.out.suffix not in (".parquet", ".csv"):
        raise ValueError(f"--out {args.out}: expected a .parquet or .csv file")
    if args.pool.suffix not in (".parquet", ".jsonl", ".json"):
        raise ValueError(f"{args.pool}: expected a pool .parquet or a scored-samples .jsonl/.json file")


def printable(table: pd.DataFrame) -> str:
    """Mean [lo, hi] (problems+subsets interval) per curve and group, one column per N."""
    t = table[table.ci == BOOTSTRAP].copy()
    t["curve"] = [Variant(m, r, a).label for m, r, a in zip(t["method"], t["rm"], t["agg"])]
    t["cell"] = [f"{m:.3f} [{lo:.3f}, {hi:.3f}]" for m, lo, hi in zip(t["mean"], t["lo"], t["hi"])]
    wide = t.pivot_table(index=["group", "curve"], columns="n", values="cell", aggfunc="first", sort=False)
    return wide.to_string()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m e2h.rerank", description=__doc__.split("\n\n")[0])
    ap.add_argument("pool", type=Path, help="pool .parquet, or OpenAI scored-test-samples .jsonl")
    ap.add_argument("--ns", type=int, nargs="+", help="sample counts N (default 1, 2, 4, … and the pool size)")
    ap.add_argument("--resamples", type=int, default=1000, help="subset draws per N (default 1000)")
    ap.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    ap.add_argument("--rms", nargs="+", help="reward models (default: every scores_<rm> column)")
    ap.add_argument("--aggs", nargs="+", default=list(DEFAULT_AGGS), choices=AGGREGATORS)
    ap.add_argument("--groups", nargs="+", help="all, easy, hard, 'level k' (default: every non-empty group)")
    ap.add_argument("--size", type=int, help="pad problems to this many samples (PRM800K's protocol)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--level", type=float, default=0.95, help="interval level (default 0.95)")
    ap.add_argument("--no-equivalence", action="store_true",
                    help="when the pool has no answer_key: key answers by normalized string only (fast)")
    ap.add_argument("--out", type=Path, help="output table, .parquet or .csv (default: <pool stem>.curves.parquet)")
    args = ap.parse_args(argv)
    try:
        check_args(args)
        pool = load(args.pool, equivalence=not args.no_equivalence)
        res = resample(pool, methods=args.methods, rms=args.rms, aggs=args.aggs, ns=args.ns,
                       resamples=args.resamples, seed=args.seed, groups=args.groups, size=args.size)
    except (PoolError, ValueError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    table = res.table(args.level)
    out = args.out or args.pool.with_name(args.pool.name.split(".")[0] + ".curves.parquet")
    if out.suffix == ".csv":
        with atomic_path(out) as tmp:
            table.to_csv(tmp, index=False)
    else:
        write_parquet(out, table)
    print(f"{len(res.groups)} groups, N = {res.ns}, B = {res.resamples}; mean [lo, hi] of the {BOOTSTRAP} "
          f"{args.level:.0%} interval")
    print(printable(table))
    print(f"wrote {len(table)} rows to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
