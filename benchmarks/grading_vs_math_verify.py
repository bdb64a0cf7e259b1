"""Where e2h.grading and math-verify disagree, on MATH500 golds vs their boxed answers and on rewritten answers.

For each MATH500 problem: its gold against its own ``\\boxed{}`` answer, against the correct spellings and the
wrong variants of benchmarks/grading.py; plus the hand-written hard pairs of tests/grading_cases.tsv. math-verify
runs as documented (``verify(parse(gold), parse(pred))``, both wrapped in ``\\boxed{}``), in the main thread so
its SIGALRM timeouts work. Prints counts and every disagreement
(the reading of them is in docs/grading.md).

    python benchmarks/grading_vs_math_verify.py [--out disagreements.json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
from collections import Counter
from pathlib import Path

from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent))
from grading import ROOT, correct_variants, wrong_variants  # noqa: E402  (benchmarks/grading.py)

from e2h import grading  # noqa: E402
from e2h.format import last_boxed  # noqa: E402


def math_verify_grade(pred: str, gold: str) -> bool:
    from math_verify import parse, verify
    return bool(verify(parse(f"\\boxed{{{gold}}}"), parse(f"\\boxed{{{pred}}}")))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.environ.get("E2H_DATA_DIR", str(ROOT.parent / "shared" / "data")))
    parser.add_argument("--out", default=None, help="write the disagreements as JSON here")
    args = parser.parse_args()
    try:
        import math_verify  # noqa: F401
    except ImportError:
        sys.exit("math-verify is not installed: nothing to compare")

    rows = [json.loads(line) for line in
            (Path(args.data_dir) / "prm800k_math_splits" / "test.jsonl").read_text().splitlines() if line.strip()]
    rng = random.Random(0)
    golds_all = [r["answer"] for r in rows]
    pairs = {}  # (gold, pred) -> kind
    for row in rows:
        gold = row["answer"]
        pairs.setdefault((gold, last_boxed(row["solution"])), "own-boxed")
        for pred in correct_variants(gold):
            pairs.setdefault((gold, pred), "rewrite")
        for pred in wrong_variants(gold, rng.sample(golds_all, 3)):
            pairs.setdefault((gold, pred), "wrong-variant")

    table = ROOT / "tests" / "grading_cases.tsv"  # the hand-written hard cases, expected verdicts aside
    for line in table.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            gold, pred, _, _ = line.split("\t")
            pairs.setdefault((gold, pred), "case-table")

    keys = list(pairs)
    ours = grading.grade_many([p for _, p in keys], [g for g, _ in keys], progress=False)
    counts, disagreements = Counter(), []
    for (gold, pred), our in tqdm(list(zip(keys, ours)), desc="math-verify"):
        theirs = math_verify_grade(pred, gold)
        kind = pairs[(gold, pred)]
        counts[(kind, our, theirs)] += 1
        if our != theirs:
            disagreements.append({"kind": kind, "gold": gold, "pred": pred, "e2h": our, "math_verify": theirs})

    print(f"{len(keys)} distinct pairs")
    for (kind, our, theirs), n in sorted(counts.items()):
        print(f"  {kind:14s} e2h={our!s:5s} math-verify={theirs!s:5s}: {n}")
    for d in disagreements:
        print(f"{d['kind']:14s} e2h={d['e2h']!s:5s} mv={d['math_verify']!s:5s}  gold={d['gold']!r}  pred={d['pred']!r}")
    if args.out:
        Path(args.out).write_text(json.dumps(disagreements, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
