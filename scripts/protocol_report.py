"""The tables of docs/protocol.md's results: per test seed and across seeds, from the committed seed summaries.

    python scripts/protocol_report.py [--runs-dir runs]   # prints Markdown; --runs-dir adds the pooled interval

Reads ``docs/results/protocol/protocol-seed*.csv`` (each test seed's ``run_summary``, committed as it landed) and
prints, for hard problems at N = 32, one row per seed and one row per metric across seeds (the seed as the unit:
mean, 95% t-interval, 95% bootstrap-over-seeds interval, seeds above zero), with the words the protocol allows for
it. With the seeds' run folders at hand (``--runs-dir``), it also writes
``docs/results/protocol/pooled_differences.csv``, the problems of all seeds resampled together, and adds its
interval (it treats the trained models as fixed, so it is shown for comparison only).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
FOLDER = ROOT / "docs" / "results" / "protocol"
OWN_BASE = {1000, 1001}  # docs/protocol.md: these two seeds pretrain their own base, the others share weights/base
SEEDS_PLANNED = 10
METRICS = [("weighted − majority", "prm", "prod", "weighted voting, PRM (levels 1-3), prod"),
           ("weighted − majority", "orm", "any", "weighted voting, ORM"),
           ("weighted − majority", "oprm", "prod", "weighted voting, OPRM, prod"),
           ("weighted − majority", "prm_all", "prod", "weighted voting, PRM (all levels, as much data), prod"),
           ("best_of_n − majority", "prm", "min", "best-of-N, PRM, min"),
           ("best_of_n − majority", "orm", "any", "best-of-N, ORM"),
           ("best_of_n − majority", "oprm", "min", "best-of-N, OPRM, min"),
           ("best_of_n − majority", "prm_all", "min", "best-of-N, PRM (all levels), min")]


def load_summaries(folder: Path = FOLDER) -> pd.DataFrame:
    files = sorted(folder.glob("protocol-seed*.csv"))
    if not files:
        raise FileNotFoundError(f"{folder}: no test seed summaries protocol-seed*.csv")
    from e2h.seeds import read_summary

    runs = pd.concat([read_summary(f) for f in files], ignore_index=True)
    runs["seed"] = runs["run"].str.removeprefix("protocol-seed").astype(int)
    return runs


def signed(x: float) -> str:
    return f"{100 * x:+.1f}".replace("-", "−")


def percent(x: float) -> str:
    return f"{100 * x:.1f}".replace("-", "−")


def interval(lo: float, hi: float) -> str:
    return "—" if pd.isna(lo) else f"[{signed(lo)}, {signed(hi)}]"


def points(mean: float, lo: float, hi: float) -> str:
    return f"{signed(mean)} {interval(lo, hi)}"


def words(row, seeds: int) -> str:
    """What docs/protocol.md allows the README to say of a metric."""
    if seeds < SEEDS_PLANNED:
        return f"no claim ({seeds} of {SEEDS_PLANNED} seeds)"
    if row["t_lo"] > 0:
        return "robust" if row["above_zero"] >= SEEDS_PLANNED - 1 else "helps across seeds"
    if row["t_hi"] < 0:
        return "below majority across seeds"
    return "not shown (the interval holds zero)"


def per_seed(runs: pd.DataFrame, group: str = "hard") -> str:
    g = runs[runs["group"] == group]
    head = ["seed", "base", "majority %", "single %", "pass@N %"] + [m[3] for m in METRICS[:5]]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for seed, r in g.groupby("seed"):
        def acc(metric):
            v = r[r["metric"] == metric]["mean"]
            return f"{100 * v.iloc[0]:.1f}" if len(v) else "—"

        cells = [str(seed), "own" if seed in OWN_BASE else "shared", acc("majority accuracy"),
                 acc("single accuracy"), acc("pass@n accuracy")]
        for metric, rm, agg, _ in METRICS[:5]:
            v = r[(r["metric"] == metric) & (r["rm"] == rm) & (r["agg"] == agg)]
            cells.append(points(*v[["mean", "lo", "hi"]].iloc[0]) if len(v) else "—")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def across(runs: pd.DataFrame, pooled: pd.DataFrame | None = None, group: str = "hard") -> str:
    from e2h.stages.s06_rerank import across_seeds

    t = across_seeds(runs.drop(columns="seed"))
    t = t[t["group"] == group]
    head = ["metric", "seeds", "mean", "95% t-interval", "95% bootstrap over seeds", "seeds above zero"]
    head += (["pooled problems, 95%"] if pooled is not None else []) + ["words allowed"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for metric, rm, agg, label in METRICS:
        row = t[(t["metric"] == metric) & (t["rm"] == rm) & (t["agg"] == agg)]
        if row.empty:
            continue
        row = row.iloc[0]
        k = int(row["runs"])
        cells = [label, str(k), signed(row["mean"]), interval(row["t_lo"], row["t_hi"]),
                 interval(row["boot_lo"], row["boot_hi"]), f"{row['above_zero']} of {k}"]
        if pooled is not None:
            method = metric.split(" ")[0]
            p = pooled[(pooled["run"] == "pooled") & (pooled["method"] == method) & (pooled["rm"] == rm)
                       & (pooled["agg"] == agg) & (pooled["group"] == group)]
            cells.append(points(*p[["mean", "lo", "hi"]].iloc[0]) if len(p) else "—")
        lines.append("| " + " | ".join(cells + [words(row, k)]) + " |")
    for metric in ("majority accuracy", "single accuracy", "pass@n accuracy"):
        row = t[t["metric"] == metric]
        if len(row):
            row = row.iloc[0]
            t_int = "" if pd.isna(row["t_lo"]) else f", 95% t-interval [{percent(row['t_lo'])}, {percent(row['t_hi'])}]"
            lines.append(f"\n{metric} on {group} problems, mean over {int(row['runs'])} seeds: "
                         f"{percent(row['mean'])}%{t_int}")
    return "\n".join(lines)


def pooled_table(runs: pd.DataFrame, runs_dir: Path) -> pd.DataFrame:
    from e2h.io import write_text
    from e2h.params import load_params
    from e2h.stages.s06_rerank import pooled_differences

    dirs = {name: runs_dir / name for name in sorted(runs["run"].unique())}
    missing = [str(d) for d in dirs.values() if not d.is_dir()]
    if missing:
        raise FileNotFoundError(f"--runs-dir {runs_dir}: no run folder {', '.join(missing)}")
    p = load_params(ROOT / "params" / "protocol.yaml")
    table = pooled_differences(dirs, ties=p.rerank.ties, resamples=p.rerank.resamples, seed=p.rerank.seed,
                               level=p.rerank.ci_level)
    write_text(FOLDER / "pooled_differences.csv", table.to_csv(index=False))
    return table


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs-dir", type=Path, default=None, help="the seeds' run folders: adds the pooled interval")
    args = ap.parse_args()
    runs = load_summaries()
    pooled = pooled_table(runs, args.runs_dir) if args.runs_dir else None
    if pooled is None and (FOLDER / "pooled_differences.csv").is_file():
        pooled = pd.read_csv(FOLDER / "pooled_differences.csv", keep_default_na=False, na_values=[""])
        if set(pooled["run"]) - {"pooled"} != set(runs["run"]):
            pooled = None  # computed over other seeds than the summaries now hold
    n = int(runs["n"].max())
    print(f"Hard problems (levels 4-5), N = {n}, per seed (differences with majority voting in points, 95% "
          "interval: problems bootstrap combined with subset draws):\n")
    print(per_seed(runs))
    print(f"\nAcross seeds, the seed as the unit (hard problems, N = {n}):\n")
    print(across(runs, pooled))


if __name__ == "__main__":
    main()
