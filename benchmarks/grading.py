"""Benchmark of e2h.grading on a realistic 500 x 1024 pool built from the MATH500 gold answers.

Each problem gets a palette of answers a sampler would produce: the gold in several spellings (``\\dfrac``, spaces,
``$...$``, ``\\text{}``, units, decimals, ``x =``), wrong answers (off by one, sign, unreduced fractions, other
problems' answers, ``+1``), and None for unfinished samples; 1024 samples are drawn from the palette with a
long-tailed distribution (a few answers dominate, as in real pools), the share of correct ones falling with level.

Measures answers graded per second with an empty cache (child processes started inside the timing) and with the
cache warm, and the worst single ``grade`` call on the adversarial inputs of tests/test_grading_bounds.py.

    python benchmarks/grading.py --append docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import datetime
from decimal import Decimal
import json
import os
import random
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from e2h import grading  # noqa: E402
from e2h.grading import bounded  # noqa: E402


def correct_variants(gold: str) -> list[str]:
    """Spellings of the same answer."""
    out = [gold, gold.replace("\\frac", "\\dfrac"), f"${gold}$"]
    if not re.fullmatch(r"\d{1,3}(,\d{3})+", gold):  # "58, 500" is two answers, not 58,500
        out.append(re.sub(r",\s*", ", ", gold).replace("+", " + "))
    norm = grading.normalize_answer(gold)
    m = re.fullmatch(r"(-?)\\frac\{(\d+)\}\{(\d+)\}", norm)
    if m and all(p in (2, 5) for p in _prime_factors(int(m.group(3)))):  # a terminating decimal, written out
        out.append(m.group(1) + format(Decimal(int(m.group(2))) / Decimal(int(m.group(3))), "f"))
    if re.fullmatch(r"-?\d+", norm):
        out += [f"{norm} \\text{{ units}}", f"{norm}.0", f"x = {norm}"]
    elif "," not in norm and "=" not in gold and "x" not in norm:  # "x = x^3" is an equation, not x^3
        out.append(f"x = {gold}")
    if gold.startswith("\\text{"):
        out.append(gold[len("\\text{"):-1])
    return out


def wrong_variants(gold: str, others: list[str]) -> list[str]:
    norm = grading.normalize_answer(gold)
    out = [f"{gold}+1", f"-{gold}" if not gold.startswith("-") else gold[1:]] + others
    if re.fullmatch(r"-?\d+", norm):
        out += [str(int(norm) + 1), str(int(norm) - 1), str(2 * int(norm))]
    m = re.fullmatch(r"(-?)\\frac\{(\d+)\}\{(\d+)\}", norm)
    if m:
        sign, p, q = m.group(1), int(m.group(2)), int(m.group(3))
        out += [f"{sign}\\frac{{{2 * p}}}{{{2 * q}}}", f"{sign}\\frac{{{p + 1}}}{{{q}}}"]
    return [w for w in out if grading.normalize_answer(w) != norm]  # another problem may share this answer


def _prime_factors(n: int) -> set[int]:
    factors, d = set(), 2
    while d * d <= n:
        while n % d == 0:
            factors.add(d)
            n //= d
        d += 1
    return factors | ({n} if n > 1 else set())


def build_pool(rows: list[dict], samples: int, seed: int = 0) -> tuple[list[str | None], list[str]]:
    rng = random.Random(seed)
    golds_all = [r["answer"] for r in rows]
    preds, golds = [], []
    for row in rows:
        gold = row["answer"]
        right = correct_variants(gold)
        wrong = wrong_variants(gold, rng.sample(golds_all, 6))
        p_correct = {1: 0.75, 2: 0.6, 3: 0.45, 4: 0.3, 5: 0.12}[int(row["level"])]
        weights_right = [1 / (k + 1) ** 1.5 for k in range(len(right))]
        weights_wrong = [1 / (k + 1) for k in range(len(wrong))]
        rng.shuffle(wrong)
        for _ in range(samples):
            u = rng.random()
            if u < 0.05:
                preds.append(None)
            elif u < 0.05 + 0.95 * p_correct:
                preds.append(rng.choices(right, weights_right)[0])
            else:
                preds.append(rng.choices(wrong, weights_wrong)[0])
            golds.append(gold)
    return preds, golds


def adversarial_pairs() -> list[tuple[str, str]]:
    sys.path.insert(0, str(ROOT / "tests"))
    from test_grading_bounds import ADVERSARIAL  # the same hostile inputs the tests bound
    return [pair for g, p in ADVERSARIAL for pair in ((g, p), (p, g))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.environ.get("E2H_DATA_DIR", str(ROOT.parent / "shared" / "data")))
    parser.add_argument("--samples", type=int, default=1024)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--append", default=None, help="markdown file to append the results to")
    args = parser.parse_args()

    path = Path(args.data_dir) / "prm800k_math_splits" / "test.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    preds, golds = build_pool(rows, args.samples)
    n = len(preds)
    distinct = len({(g, p) for g, p in zip(golds, preds)})

    bounded.shutdown()
    grading.clear_cache()
    grading.reset_grading_stats()
    start = time.perf_counter()
    cold = grading.grade_many(preds, golds, workers=args.workers, progress=False)
    cold_s = time.perf_counter() - start
    stats = grading.grading_stats()
    start = time.perf_counter()
    warm = grading.grade_many(preds, golds, workers=args.workers, progress=False)
    warm_s = time.perf_counter() - start
    assert warm == cold

    times = []
    for g, p in adversarial_pairs():
        start = time.monotonic()
        grading.grade(p, g, timeout=5.0)
        times.append(time.monotonic() - start)

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    lines = [
        f"- host load average (1 min) at the end: {load:.1f} (the 2 cores are shared with other jobs)",
        f"- pool: {len(rows)} problems x {args.samples} samples = {n:,} answers, {distinct:,} distinct raw "
        f"(gold, pred) pairs, accuracy {sum(cold) / n:.3f}",
        f"- cold (empty cache, child processes started inside the timing): {cold_s:.2f} s = {n / cold_s:,.0f} "
        f"answers/s; sympy calls {stats.get('symbolic_calls', 0):,}, timeouts {stats.get('timeouts', 0)}",
        f"- warm cache: {warm_s:.2f} s = {n / warm_s:,.0f} answers/s",
        f"- adversarial set ({len(times)} calls, timeout 5 s): worst {max(times):.2f} s, median "
        f"{statistics.median(times) * 1000:.1f} ms",
    ]
    print("\n".join(lines))
    if args.append:
        header = (f"\n## Grading\n\nMachine: 2-core CPU, 24 GiB. Date: {datetime.date.today().isoformat()}. "
                  f"Command: `python benchmarks/grading.py --append {args.append}`"
                  f" (workers: {args.workers or os.cpu_count()}).\n\n")
        target = Path(args.append)
        with open(target, "a", encoding="utf-8") as f:
            if f.tell() == 0:
                f.write("# Benchmarks\n")
            f.write(header + "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
