"""Grading at paper scale: answer grouping of a generated 500 x 1024 pool, and the cold grader beside PRM800K's.

The pool: for each MATH500 problem, 1024 samples over 200-300 distinct answers in MATH's forms (integers,
fractions, decimals, surds, multiples of pi, tuples, intervals, lists, polynomials, words), with Zipf-like
frequencies (every answer once, then rank r drawn ~ 1/r^1.3; the gold ranks first in 95 % of level-1 problems
down to 30 % of level-5 ones), the gold in several spellings, and wrong answers that the grader holds equal
though they are spelled differently (``\\sqrt{8}`` and ``2\\sqrt{2}``, ``\\frac{1}{\\sqrt{3}}`` and
``\\frac{\\sqrt{3}}{3}``, ``(x+1)^2`` and ``x^2+2x+1``, ``\\frac{1}{2}``, ``0.5`` and ``\\dfrac12``).

Measured, each in a fresh process (CPU time includes the grader's child processes):

1. grading the pool (``grade_many``, cold), then answer grouping (``pool.add_answer_keys``, cold): wall and CPU
   time, grader calls, answers without a key, answers left unmerged;
2. the same clusters as the pairwise grouping (each answer against every cluster) on ``--pairwise`` problems;
3. cold grading of distinct (gold, answer) pairs by e2h and by PRM800K's grader, alternately, each in a fresh
   process: the MATH500-derived pairs of ``benchmarks/grading_vs_math_verify.py`` (without its hand-written
   table) and a sample of the pool's pairs. PRM800K's grader is run from a copy outside this repository (``--prm800k``), never vendored:

    git --git-dir <mirror of github.com/openai/prm800k> archive HEAD prm800k/grading | tar -x -C /tmp/prm800k
    pip install --target /tmp/prm800k/deps pylatexenc
    python benchmarks/grading_scale.py --prm800k /tmp/prm800k/prm800k --prm800k-deps /tmp/prm800k/deps \\
        --append docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from grading import correct_variants  # noqa: E402  (benchmarks/grading.py)


# ---------------------------------------------------------------------------------------------------------------
# Answers in MATH's forms. Each maker returns spellings of one value (the first is the plain one); a palette takes
# one spelling of most values and two or three of some, so that the grader has equal answers to merge.

def _frac(p: int, q: int) -> list[str]:
    f = Fraction(p, q)
    if f.denominator == 1:
        return [str(f.numerator)]
    sign, a, b = ("-" if f < 0 else ""), abs(f.numerator), f.denominator
    out = [f"{sign}\\frac{{{a}}}{{{b}}}", f"{sign}\\dfrac{{{a}}}{{{b}}}", f"{sign}{a}/{b}"]
    if all(x in (2, 5) for x in _factors(b)):
        out.append(f"{sign}{float(a / b):g}" if len(f"{a / b:g}") < 10 else out[0])
    out.append(f"{sign}\\frac{{{2 * a}}}{{{2 * b}}}")  # unreduced: a different answer to the grader
    return out


def _factors(n: int) -> set[int]:
    out, d = set(), 2
    while d * d <= n:
        while n % d == 0:
            out.add(d)
            n //= d
        d += 1
    return out | ({n} if n > 1 else set())


def _surd(a: int, b: int, c: int) -> list[str]:
    """a sqrt(b) / c, b square-free: also sqrt(a^2 b)/c and, for a = 1, 1/(c/b sqrt(b)) spellings."""
    head = "" if a == 1 else str(a)
    plain = f"{head}\\sqrt{{{b}}}" if c == 1 else f"\\frac{{{head}\\sqrt{{{b}}}}}{{{c}}}"
    inside = f"\\sqrt{{{a * a * b}}}" if c == 1 else f"\\frac{{\\sqrt{{{a * a * b}}}}}{{{c}}}"
    out = [plain, inside, plain.replace("\\frac", "\\dfrac")]
    if a == 1 and c == b:
        out.append(f"\\frac{{1}}{{\\sqrt{{{b}}}}}")
    return out


def _pi(a: int, b: int) -> list[str]:
    head = "" if a == 1 else str(a)
    if b == 1:
        return [f"{head}\\pi", f"\\pi\\cdot {a}" if a != 1 else "\\pi"]
    return [f"\\frac{{{head}\\pi}}{{{b}}}", f"\\frac{{{a}}}{{{b}}}\\pi", f"{head}\\pi/{b}"]


def _poly(p: int, q: int) -> list[str]:
    """(x + p)(x + q) expanded and factored."""
    b, c = p + q, p * q

    def lin(k: int) -> str:
        return "x" if k == 0 else f"x+{k}" if k > 0 else f"x-{-k}"
    mid = "" if b == 0 else ("+x" if b == 1 else "-x" if b == -1 else f"{b:+d}x")
    tail = "" if c == 0 else f"{c:+d}"
    return [f"x^2{mid}{tail}", f"({lin(p)})({lin(q)})"]


def _tuple(rng: random.Random) -> list[str]:
    a, b = rng.randint(-9, 9), rng.randint(-9, 9)
    s = rng.choice([2, 3, 5])
    return [f"({a}, {b})", f"({a},{b})", f"\\left({a}, {b}\\right)"] if rng.random() < 0.6 else \
        [f"({a}, \\sqrt{{{4 * s}}})", f"({a}, 2\\sqrt{{{s}}})"]


def _interval(rng: random.Random) -> list[str]:
    a = rng.randint(-9, 5)
    b = a + rng.randint(1, 9)
    lo, hi = rng.choice("(["), rng.choice(")]")
    return [f"{lo}{a}, {b}{hi}", f"{lo}{a},{b}{hi}"] if rng.random() < 0.7 else [f"(-\\infty, {b}{hi}"]


def _values(rng: random.Random, gold: str) -> list[list[str]]:
    """About 400 values (each as its spellings) of the kinds a sampler writes for this problem."""
    makers = [
        lambda: [str(rng.randint(-20, 400))],
        lambda: [str(rng.randint(-20, 400))],
        lambda: _frac(rng.randint(-30, 60), rng.randint(2, 24)),
        lambda: _surd(rng.randint(1, 9), rng.choice([2, 3, 5, 6, 7, 10, 11, 13]), rng.choice([1, 1, 2, 3, 4])),
        lambda: _pi(rng.randint(1, 12), rng.choice([1, 2, 3, 4, 6])),
        lambda: _poly(rng.randint(-6, 6), rng.randint(-6, 6)),
        lambda: _tuple(rng),
        lambda: _interval(rng),
        lambda: [f"{rng.randint(1, 9)}, {rng.randint(-9, -1)}", f"{rng.randint(1, 9)}, {rng.randint(-9, -1)}"],
        lambda: [f"{rng.randint(0, 99)}.{rng.randint(1, 99):02d}"],
        lambda: [rng.choice(["\\text{odd}", "\\text{even}", "\\text{Monday}", "\\text{(C)}", "\\text{none}"])],
        lambda: [f"{gold}+{rng.randint(1, 9)}", f"{rng.randint(2, 5)}{gold}" if gold.isdigit() else f"-{gold}"],
    ]
    weights = [30, 20, 14, 10, 7, 5, 4, 3, 2, 3, 1, 1]
    return [rng.choices(makers, weights)[0]() for _ in range(400)]


def problem_answers(row: dict, samples: int, rng: random.Random) -> list[str | None]:
    """``samples`` answers for one problem: 200-300 distinct raw spellings, Zipf-like counts, some None."""
    gold = row["answer"]
    right = correct_variants(gold)
    wrong: list[str] = []
    for spellings in _values(rng, gold):
        take = 1 if rng.random() < 0.75 else rng.randint(2, len(spellings)) if len(spellings) > 1 else 1
        wrong += spellings[:take]
    wrong = list(dict.fromkeys(w for w in wrong if w not in right))
    k = rng.randint(200, 300)
    level = int(row["level"])
    n_right = min(len(right), {1: 4, 2: 3, 3: 3, 4: 2, 5: 2}[level])
    palette = right[:n_right] + wrong[:k - n_right]
    rng.shuffle(palette)
    if rng.random() < {1: 0.95, 2: 0.85, 3: 0.7, 4: 0.5, 5: 0.3}[level]:  # the sampler's favourite is the gold
        palette.remove(right[0])
        palette.insert(0, right[0])
    answers = list(palette)  # every distinct answer at least once
    weights = [1 / (r + 1) ** 1.3 for r in range(len(palette))]  # Zipf-like: rank r drawn ~ 1/r^1.3
    answers += rng.choices(palette, weights, k=samples - len(palette) - samples // 40)
    answers += [None] * (samples // 40)  # unfinished samples
    rng.shuffle(answers)
    return answers[:samples]


def build_pool(rows: list[dict], samples: int, seed: int = 0):
    import pandas as pd

    rng = random.Random(seed)
    records = []
    for row in rows:
        for i, answer in enumerate(problem_answers(row, samples, rng)):
            records.append((row["unique_id"], int(row["level"]), i, answer, row["answer"]))
    df = pd.DataFrame(records, columns=["problem_id", "level", "sample_idx", "answer", "gold"])
    df["split"] = "test"
    df["text"] = ""
    return df


# ---------------------------------------------------------------------------------------------------------------
# Measurements, each in a fresh process (``--stage``), timed from here with the CPU time of all its descendants.

def _stage_pool(args) -> dict:
    """Grade the pool cold, then group its answers cold; writes nothing but the JSON result."""
    import pandas as pd

    from e2h import grading
    from e2h.pool import add_answer_keys

    df = pd.read_parquet(args.pool)
    t0 = time.perf_counter()
    answers = [a if isinstance(a, str) else None for a in df["answer"]]
    df["correct"] = grading.grade_many(answers, df["gold"].tolist(), workers=args.workers,
                                       progress=False)
    grading_s = time.perf_counter() - t0
    grading_stats = grading.grading_stats()
    grading.reset_grading_stats()
    report: dict = {}
    t0 = time.perf_counter()
    keyed = add_answer_keys(df, workers=args.workers, progress=False, report=report)
    grouping_s = time.perf_counter() - t0
    keyed[["problem_id", "sample_idx", "answer_key", "correct"]].to_parquet(args.out_keys)
    return {"grading_s": grading_s, "grading_stats": grading_stats, "grouping_s": grouping_s,
            "grouping": report, "grouping_stats": grading.grading_stats(),
            "distinct_pairs": int(df[["gold", "answer"]].dropna().drop_duplicates().shape[0]),
            "accuracy": float(df["correct"].mean())}


def _stage_pairwise(args) -> dict:
    """The pairwise grouping (no keys) on the first ``--pairwise`` problems, against the keyed one."""
    import pandas as pd

    from e2h.grading import grade, normalize_answer
    from e2h.grading.group import cluster_pairwise
    from e2h.pool import _answer_order

    keyed = pd.read_parquet(args.out_keys)
    pool = pd.read_parquet(args.pool).merge(keyed, on=["problem_id", "sample_idx"])
    problems = list(dict.fromkeys(pool["problem_id"]))[:args.pairwise]
    sub = pool[pool["problem_id"].isin(problems)].reset_index(drop=True)
    norm = pd.Series([normalize_answer(a) if isinstance(a, str) else None for a in sub["answer"]], dtype=object)
    order = _answer_order(sub, norm)
    same = lambda a, b: grade(a, b) or grade(b, a)  # noqa: E731
    t0 = time.perf_counter()
    mismatches, distinct, merged = 0, 0, 0
    for pid in problems:
        rows = order[(order["problem_id"] == pid) & ~order["correct"]]
        wrong = rows["norm"].tolist()
        pairwise = cluster_pairwise(wrong, same)
        keyed_map = dict(zip(norm[(sub["problem_id"] == pid).to_numpy()],
                             sub.loc[sub["problem_id"] == pid, "answer_key"]))
        distinct += len(wrong)
        merged += sum(pairwise[a] != a for a in wrong)
        mismatches += sum(pairwise[a] != keyed_map[a] for a in wrong)
    return {"problems": len(problems), "wrong_distinct": distinct, "merged": merged, "mismatches": mismatches,
            "pairwise_s": time.perf_counter() - t0}


# The two graders, each alone in a fresh interpreter: nothing else imported, nothing warm.
GRADER_PROGRAMS = {
    "e2h": """
import json, sys
from e2h.grading import grade_many
pairs = json.load(open(sys.argv[1]))
json.dump(grade_many([p for _, p in pairs], [g for g, _ in pairs], progress=False), open(sys.argv[2], "w"))
""",
    "prm800k": """
import json, sys
from grading.grader import grade_answer
pairs = json.load(open(sys.argv[1]))
json.dump([bool(grade_answer(p, g)) for g, p in pairs], open(sys.argv[2], "w"))
""",
}


STAGES = {"pool": _stage_pool, "pairwise": _stage_pairwise}


def _timed(cmd: list[str], env: dict) -> tuple[str, float, float]:
    """Run ``cmd``: (its stdout, wall seconds, CPU seconds of it and all its descendants)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1", **env})
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if out.returncode:
        raise SystemExit(f"{' '.join(cmd[:3])} failed:\n{out.stderr[-4000:]}")
    return out.stdout, wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _run_grader(who: str, pairs_path: Path, verdicts_path: Path, args) -> tuple[float, float]:
    if who == "e2h":
        path = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    else:  # PRM800K's grader from the copy outside this repository, never vendored
        path = os.pathsep.join(p for p in (args.prm800k, args.prm800k_deps) if p)
    _, wall, cpu = _timed([sys.executable, "-c", GRADER_PROGRAMS[who], str(pairs_path), str(verdicts_path)],
                          {"PYTHONPATH": path})
    return wall, cpu


def _run_stage(stage: str, args, **extra) -> tuple[dict, float, float]:
    """Run one stage of this script in a fresh process: (its result, wall seconds, CPU seconds with children)."""
    cmd = [sys.executable, __file__, "--stage", stage]
    for name, value in {**vars(args), **extra}.items():
        if name not in ("stage", "append") and value is not None and value is not False:
            cmd += [f"--{name.replace('_', '-')}"] + ([] if value is True else [str(value)])
    out, wall, cpu = _timed(cmd, {})
    return json.loads(out.strip().splitlines()[-1]), wall, cpu


def math500_pairs(rows: list[dict]) -> list[tuple[str, str]]:
    """The MATH500 pairs of benchmarks/grading_vs_math_verify.py: each gold against its boxed answer, correct
    rewrites and wrong variants (three other problems' golds among them); not the hand-written case table, which
    collects the graders' differences on purpose."""
    from grading import wrong_variants

    from e2h.format import last_boxed

    rng = random.Random(0)
    golds = [r["answer"] for r in rows]
    pairs: dict = {}
    for row in rows:
        gold = row["answer"]
        pairs.setdefault((gold, last_boxed(row["solution"])), None)
        for pred in correct_variants(gold) + wrong_variants(gold, rng.sample(golds, 3)):
            pairs.setdefault((gold, pred), None)
    return list(pairs)


def _side_by_side(name: str, pairs: list, args, tmp: Path, rounds: int) -> list[str]:
    path = tmp / f"{name}.json"
    path.write_text(json.dumps(pairs))
    lines, results = [], {"e2h": [], "prm800k": []}
    verdicts = {}
    for _ in range(rounds):
        for who in ("e2h", "prm800k"):
            out = tmp / f"{name}-{who}.verdicts.json"
            wall, cpu = _run_grader(who, path, out, args)
            results[who].append((wall, cpu, os.getloadavg()[0]))
            verdicts[who] = json.loads(out.read_text())
    agree = sum(a == b for a, b in zip(verdicts["e2h"], verdicts["prm800k"]))
    for who, runs in results.items():
        rates = ", ".join(f"{len(pairs) / cpu:,.0f}/CPU-s ({cpu:.2f} CPU-s, {wall:.2f} s wall, load {load:.1f})"
                          for wall, cpu, load in runs)
        lines.append(f"  - {who}: {rates}")
    lines.append(f"  - verdicts agree on {agree:,} of {len(pairs):,} ({100 * agree / len(pairs):.2f} %); "
                 f"correct: e2h {sum(verdicts['e2h']):,}, PRM800K {sum(verdicts['prm800k']):,}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.environ.get("E2H_DATA_DIR", str(ROOT.parent / "shared" / "data")))
    parser.add_argument("--samples", type=int, default=1024)
    parser.add_argument("--problems", type=int, default=500)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--pairwise", type=int, default=5, help="problems on which to run the pairwise grouping")
    parser.add_argument("--pool-pairs", type=int, default=10_000, help="pool pairs graded by both graders")
    parser.add_argument("--rounds", type=int, default=2, help="alternating runs of each grader per pair set")
    parser.add_argument("--prm800k", default=None, help="PRM800K's prm800k/ folder (holding grading/grader.py)")
    parser.add_argument("--prm800k-deps", default=None, help="a folder on PYTHONPATH for its pylatexenc")
    parser.add_argument("--append", default=None, help="markdown file to append the results to")
    for hidden in ("stage", "pool", "out-keys"):
        parser.add_argument(f"--{hidden}", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stage:
        print(json.dumps(STAGES[args.stage](args)))
        return

    load_at_start = os.getloadavg()[0]
    rows = [json.loads(line) for line in (Path(args.data_dir) / "prm800k_math_splits" / "test.jsonl")
            .read_text().splitlines() if line.strip()][:args.problems]
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        df = build_pool(rows, args.samples)
        pool_path, keys_path = tmp / "pool.parquet", tmp / "keys.parquet"
        df.to_parquet(pool_path)
        per_problem = df.dropna(subset=["answer"]).groupby("problem_id")["answer"].nunique()
        stage_args = dict(pool=pool_path, out_keys=keys_path)
        res, wall, cpu = _run_stage("pool", args, **stage_args)
        load_after_pool = os.getloadavg()[0]
        g = res["grouping"]
        lines = [
            f"- pool: {len(rows)} problems x {args.samples} samples = {len(df):,} answers; distinct raw answers per "
            f"problem {per_problem.min()}-{per_problem.max()} (median {per_problem.median():.0f}); "
            f"{res['distinct_pairs']:,} distinct (gold, answer) pairs; accuracy {res['accuracy']:.3f}",
            f"- grading the pool cold (`grade_many`, fresh process): {res['grading_s']:.1f} s; sympy calls "
            f"{res['grading_stats'].get('symbolic_calls', 0):,}, told apart in-process "
            f"{res['grading_stats'].get('numeric_verdicts', 0):,}",
            f"- answer grouping (`add_answer_keys`, cold, same process after grading): {res['grouping_s']:.1f} s wall; "
            f"the whole process {wall:.1f} s wall, {cpu:.1f} CPU-s (children included); load after it "
            f"{load_after_pool:.1f}",
            f"  - {g['answers']:,} distinct wrong answers grouped, {g['keyless']:,} without a key, "
            f"{g['calls']:,} grader calls ({g['calls'] / max(1, g['answers']):.2f} per answer), "
            f"{g['unmerged']} left unmerged, {g['problems_at_bound']} problems at the bound; "
            f"fingerprints in children {res['grouping_stats'].get('fingerprints', 0):,}, sympy calls "
            f"{res['grouping_stats'].get('symbolic_calls', 0):,}",
        ]
        print("\n".join(lines), flush=True)
        if args.pairwise:
            pw, pw_wall, _ = _run_stage("pairwise", args, **stage_args)
            lines.append(f"- pairwise grouping (every cluster compared) on the first {pw['problems']} problems "
                         f"({pw['wrong_distinct']:,} distinct wrong answers, {pw['merged']:,} merged into another): "
                         f"{pw['pairwise_s']:.1f} s; clusters differing from the keyed grouping: {pw['mismatches']}")
            print(lines[-1], flush=True)
        if args.prm800k:
            rng = random.Random(1)
            pool_pairs = list(df[["gold", "answer"]].dropna().drop_duplicates().itertuples(index=False, name=None))
            pool_pairs = rng.sample(pool_pairs, min(args.pool_pairs, len(pool_pairs)))
            for name, pairs in (("MATH500-derived pairs", math500_pairs(rows)), ("pool pairs", pool_pairs)):
                start = len(lines)
                lines.append(f"- cold grading of {len(pairs):,} distinct {name}, each run in a fresh process "
                             f"(e2h's children included), alternately:")
                lines += _side_by_side(name.split()[0], pairs, args, tmp, args.rounds)
                print("\n".join(lines[start:]), flush=True)
    if args.append:
        header = (f"\n## Grading at paper scale\n\nMachine: {os.cpu_count()}-core CPU ({platform.machine()}), "
                  f"python {platform.python_version()}. Date: {datetime.date.today().isoformat()}. Command: "
                  f"`python benchmarks/grading_scale.py --prm800k <copy>/prm800k --prm800k-deps <deps> "
                  f"--append {args.append}` (workers: {args.workers or os.cpu_count()}; "
                  f"OMP_NUM_THREADS=1). Load average (1 min) at the start: {load_at_start:.1f}, at the end: "
                  f"{os.getloadavg()[0]:.1f}.\n\n")
        with open(args.append, "a", encoding="utf-8") as f:
            f.write(header + "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
