"""Benchmark of the re-ranking engine against a plain per-draw loop.

    .venv/bin/python benchmarks/rerank.py [--problems 500] [--samples 1024] [--resamples 1000] [--append]

Builds a synthetic scored pool (levels 1-5, harder levels with lower accuracy and more distinct wrong answers,
3-10 steps per sample, step scores that drop after a sample's first wrong step), checks that the vectorized engine
and the plain loop give equal means on a small case, then times the full curve set: N = 1, 2, …, samples, the
three selectors × four aggregators (plus pass@N and single), groups all / easy / hard. The plain loop is timed on
a slice of problems and draws and scaled up linearly (it does the same work per problem and per draw).
``--append`` adds the result to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pandas as pd

from e2h.rerank import Variant, default_ns, resample, variants_for
from e2h.rerank.draws import draw_orders, subset
from e2h.rerank.select import pack, solution_scores
from e2h.rerank.synthetic import synthetic_pool

AGGS = ("min", "prod", "mean", "max")
METHODS = ("majority", "best_of_n", "weighted", "pass@n", "single")
ROOT = Path(__file__).resolve().parents[1]


def plain_means(pool: pd.DataFrame, variants: list[Variant], ns: list[int], resamples: int, seed: int,
                problems: int | None = None, timing: dict | None = None) -> np.ndarray:
    """The obvious loop: for each draw, problem and N, count votes / take the best score. (V, len(ns)) means.

    It shares the engine's preparation (answer classes, tie priorities, vote weights, draws), so both select from
    the same inputs; ``timing["loop"]`` gets the seconds of the loop alone.
    """
    packed = pack(pool, seed=seed)
    P, M = len(packed.problem_ids), packed.size
    orders, relabel = draw_orders(P, M, resamples, seed)
    use = range(P if problems is None else problems)
    pool = pool.reset_index(drop=True)
    per = {}
    for v in variants:
        if v.rm:
            per[v] = packed.scores(solution_scores(pool, v.rm, v.agg))
    weights = {v: packed.weights(per[v]) for v in variants if v.method == "weighted"}
    total = np.zeros((len(variants), len(ns)))
    start = time.perf_counter()
    for b in range(resamples):
        for p in use:
            for j, n in enumerate(ns):
                slots = [s for s in subset(orders, relabel, b, p, n) if packed.rows[p, s] >= 0]
                answered = [s for s in slots if packed.cls[p, s] >= 0]
                for i, v in enumerate(variants):
                    if v.method == "pass@n":
                        total[i, j] += any(packed.correct[p, s] for s in slots)
                    elif v.method == "single":
                        total[i, j] += packed.correct[p, subset(orders, relabel, b, p, 1)[0]]
                    elif not answered:
                        continue
                    elif v.method == "best_of_n":
                        best = max(answered, key=lambda s: (per[v][p, s], packed.sample_prio[p, s]))
                        total[i, j] += packed.correct[p, best]
                    else:
                        votes = Counter() if v.method == "majority" else defaultdict(int)
                        for s in answered:
                            votes[packed.cls[p, s]] += 1 if v.method == "majority" else weights[v][p, s]
                        win = max(votes, key=lambda k: (votes[k], packed.class_prio[p, k]))
                        total[i, j] += packed.class_credit[p, win]
    if timing is not None:
        timing["loop"] = time.perf_counter() - start
    return total / (len(use) * resamples)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--problems", type=int, default=500)
    ap.add_argument("--samples", type=int, default=1024)
    ap.add_argument("--resamples", type=int, default=1000)
    ap.add_argument("--plain-problems", type=int, default=10, help="problems the plain loop is timed on")
    ap.add_argument("--plain-resamples", type=int, default=10, help="draws the plain loop is timed on")
    ap.add_argument("--workers", type=int, default=None, help="threads of the engine (default: up to 2)")
    ap.add_argument("--append", action="store_true", help="append the result to docs/benchmarks.md")
    args = ap.parse_args(argv)

    # 1. equal means on a small case (every method, aggregator and N; ties and missing answers included)
    small = synthetic_pool(12, 16, seed=1)
    small_variants = variants_for(small, METHODS, ["prm"], AGGS)
    ns_small = default_ns(16)
    fast = resample(small, variants=small_variants, ns=ns_small, resamples=30, seed=3, groups=["all"],
                    progress=False).subsets[:, 0].mean(1)
    slow = plain_means(small, small_variants, ns_small, 30, seed=3)
    assert np.allclose(fast, slow, rtol=0, atol=1e-12), f"engine and plain loop disagree:\n{fast}\n{slow}"
    print(f"equal means on 12 problems × 16 samples, 30 draws, {len(small_variants)} curves × {len(ns_small)} N: ok")

    # 2. the full set
    t0 = time.perf_counter()
    pool = synthetic_pool(args.problems, args.samples)
    build = time.perf_counter() - t0
    variants = variants_for(pool, METHODS, ["prm"], AGGS)
    ns = default_ns(args.samples)
    t0, c0 = time.perf_counter(), time.process_time()
    res = resample(pool, variants=variants, ns=ns, resamples=args.resamples, groups=["all", "easy", "hard"],
                   workers=args.workers)
    table = res.table()
    fast_s, cpu_s = time.perf_counter() - t0, time.process_time() - c0
    print(f"engine: {fast_s:.2f} s wall, {cpu_s:.2f} s CPU (all threads), {args.problems} problems × "
          f"{args.samples} samples, B = {args.resamples}, {len(variants)} curves × {len(ns)} N × 3 groups "
          f"(pool built in {build:.1f} s; load average {os.getloadavg()[0]:.1f})")

    # 3. the plain loop on a slice, scaled to the full set
    timing: dict = {}
    plain_means(pool, variants, ns, args.plain_resamples, seed=0, problems=args.plain_problems, timing=timing)
    slice_s = timing["loop"]  # the shared preparation is not scaled up
    plain_s = slice_s * (args.problems / args.plain_problems) * (args.resamples / args.plain_resamples)
    print(f"plain loop: {slice_s:.1f} s on {args.plain_problems} problems × {args.plain_resamples} draws "
          f"→ {plain_s:.0f} s for the full set (scaled); speed-up {plain_s / fast_s:.0f}×")
    top = table[(table.n == max(ns)) & (table.group == "all") & (table.ci == "problems+subsets")]
    print(top[["method", "agg", "mean", "lo", "hi"]].to_string(index=False))
    if args.append:
        _append(args, fast_s, cpu_s, slice_s, plain_s, len(variants), len(ns))
    return 0


def _append(args, fast_s, cpu_s, slice_s, plain_s, n_variants, n_ns) -> None:
    """Add one row to the "Re-ranking" section of docs/benchmarks.md (created if missing)."""
    path = ROOT / "docs" / "benchmarks.md"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    if "## Re-ranking" not in text:
        text = text.rstrip("\n") + (
            "\n\n## Re-ranking\n\n"
            "Targets (issue 5): the full curve set in ≤ 10 s and ≥ 50× a plain per-draw loop. Command:\n"
            "`.venv/bin/python benchmarks/rerank.py --append`. Engine time covers packing the pool, the draws and\n"
            "the table; the plain loop is timed on a slice (problems × draws) and scaled up. The machine is shared:\n"
            "the load average at the time is given, and CPU time is less sensitive to it than wall time.\n\n"
            "| date | machine | problems × samples | B | curves × N × groups | engine wall / CPU | load | "
            "plain loop, scaled (slice) | speed-up |\n"
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
    row = (f"| {datetime.date.today()} | 2-core CPU, 24 GiB (python {platform.python_version()}, numpy "
           f"{np.__version__}) | {args.problems} × {args.samples} | {args.resamples} | {n_variants} × {n_ns} × 3 | "
           f"{fast_s:.2f} s / {cpu_s:.2f} s | {os.getloadavg()[0]:.1f} | {plain_s:.0f} s ({slice_s:.1f} s on "
           f"{args.plain_problems} × {args.plain_resamples}) | {plain_s / fast_s:.0f}× |\n")
    head, sep, tail = text.partition("## Re-ranking")
    nxt = tail.find("\n## ", 1)
    section, rest = (tail, "") if nxt < 0 else (tail[:nxt + 1], tail[nxt + 1:])
    path.write_text(head + sep + section.rstrip("\n") + "\n" + row + ("\n" + rest if rest else ""))


if __name__ == "__main__":
    sys.exit(main())
