"""The tables of docs/protocol.md's results: per test seed and across seeds, from the committed seed summaries.

    python scripts/protocol_report.py [--runs-dir runs]   # prints Markdown

Reads ``docs/results/protocol/protocol-seed*.csv`` (each test seed's ``run_summary``, committed as it landed) and
prints, for hard problems at N = 32, one row per seed and one row per metric across seeds (the seed as the unit:
mean, 95% t-interval, 95% bootstrap-over-seeds interval, seeds above zero), with the words the protocol allows for
it, and the pooled interval (the problems of all seeds together, which treats the trained models as fixed, shown
for comparison only). A seed's run folder does not outlive the machine it ran on, so the pooled interval is
combined from the summaries (``pooled_from_summaries``). With run folders at hand (``--runs-dir``), it also
resamples the pooled problems of those seeds themselves (``pooled_differences``, written to
``docs/results/protocol/pooled_differences.csv``) and prints both over the same seeds, the check of that
approximation. It also sets each seed's gain beside its reward models' within-problem AUROC on easy problems (a
descriptive reading added after the seeds ran, not one of the protocol's analyses) and draws it, with the dev seeds'
runs at the protocol's target beside them, in ``figures/protocol_gain_vs_easy_auroc.png``.
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


def across(runs: pd.DataFrame, group: str = "hard") -> str:
    from e2h.stages.s06_rerank import across_seeds, pooled_from_summaries

    t = across_seeds(runs.drop(columns="seed"))
    t = t[t["group"] == group]
    pooled = pooled_from_summaries(runs)
    head = ["metric", "seeds", "mean", "95% t-interval", "95% bootstrap over seeds", "seeds above zero",
            "pooled problems, 95%", "words allowed"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for metric, rm, agg, label in METRICS:
        row, p = (x[(x["metric"] == metric) & (x["rm"] == rm) & (x["agg"] == agg) & (x["group"] == group)]
                  for x in (t, pooled))
        if row.empty:
            continue
        row = row.iloc[0]
        k = int(row["runs"])
        cells = [label, str(k), signed(row["mean"]), interval(row["t_lo"], row["t_hi"]),
                 interval(row["boot_lo"], row["boot_hi"]), f"{row['above_zero']} of {k}",
                 points(*p[["mean", "lo", "hi"]].iloc[0])]
        lines.append("| " + " | ".join(cells + [words(row, k)]) + " |")
    for metric in ("majority accuracy", "single accuracy", "pass@n accuracy"):
        row = t[t["metric"] == metric]
        if len(row):  # an accuracy is bounded: its range and bootstrap interval, not a t-interval that leaves [0, 1]
            row, x = row.iloc[0], runs[(runs["metric"] == metric) & (runs["group"] == group)]["mean"]
            lines.append(f"\n{metric} on {group} problems over {int(row['runs'])} seeds: mean {percent(row['mean'])}%, "
                         f"range {percent(x.min())}-{percent(x.max())}%, 95% bootstrap over seeds "
                         f"[{percent(row['boot_lo'])}, {percent(row['boot_hi'])}]")
    return "\n".join(lines)


def auroc_beside_gain(runs: pd.DataFrame) -> str:
    """Per seed, each PRM's weighted-vote gain on hard problems beside its within-problem AUROC (min) on easy and
    hard problems: does the PRM that fails to lift hard problems already fail to rank its own easy ones?"""
    head = ["seed"] + [f"{label}: {what}" for label in ("PRM (1-3)", "PRM (all levels)")
                       for what in ("gain, hard", "AUROC, easy", "AUROC, hard")]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for seed, r in runs.groupby("seed"):  # a summary holds its run's largest N only
        cells = [str(seed)]
        for rm in ("prm", "prm_all"):
            gain = r[(r["metric"] == "weighted − majority") & (r["rm"] == rm) & (r["agg"] == "prod")
                     & (r["group"] == "hard")]
            cells.append(points(*gain[["mean", "lo", "hi"]].iloc[0]) if len(gain) else "—")
            for group in ("easy", "hard"):
                a = r[(r["metric"] == "within-problem AUROC") & (r["rm"] == rm) & (r["group"] == group)]
                cells.append(f"{a['mean'].iloc[0]:.2f} [{a['lo'].iloc[0]:.2f}, {a['hi'].iloc[0]:.2f}]" if len(a)
                             else "—")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def draw_gain_vs_easy_auroc(runs: pd.DataFrame, dev_folder: Path = ROOT / "docs" / "results" / "policy_strength",
                            figures: Path = ROOT / "figures") -> None:
    """``figures/protocol_gain_vs_easy_auroc.png``: the table above as a figure, the dev seeds' runs at the
    protocol's checkpoint target (0.5) beside the test seeds, each marked as what it is."""
    from e2h.plots import plot_gain_vs_easy_auroc, save_figure
    from e2h.seeds import read_summary

    parts = [runs.drop(columns="seed").assign(source="test seed (easy test problems)")]
    parts += [read_summary(f).assign(source="dev seed (easy dev problems)")
              for f in sorted(dev_folder.glob("dev-seed*-target0.5.csv"))]
    both = pd.concat(parts, ignore_index=True)
    k, dev = runs["seed"].nunique(), len(parts) - 1
    title = (f"Does the gain on hard problems follow ranking on easy ones? {k} test seeds, {dev} dev "
             f"seed{'s' if dev != 1 else ''}, N = {int(both['n'].max())}\nread after the seeds ran, not a "
             "planned analysis; 95% intervals per run: bootstrap over problems (x), with subset draws (y)")
    save_figure(plot_gain_vs_easy_auroc(both, title=title), figures, "protocol_gain_vs_easy_auroc")


def pooled_check(runs: pd.DataFrame, pooled: pd.DataFrame, group: str = "hard") -> str:
    """The pooled interval resampled from the run folders beside the one combined from the same seeds' summaries."""
    from e2h.stages.s06_rerank import pooled_from_summaries

    seeds = set(pooled["run"]) - {"pooled"}
    approx = pooled_from_summaries(runs[runs["run"].isin(seeds)])
    lines = [f"Pooled over {', '.join(sorted(seeds))} ({group} problems): resampled | from the summaries", ""]
    for metric, rm, agg, label in METRICS:
        exact = pooled[(pooled["run"] == "pooled") & (pooled["method"] == metric.split(" ")[0])
                       & (pooled["rm"] == rm) & (pooled["agg"] == agg) & (pooled["group"] == group)]
        a = approx[(approx["metric"] == metric) & (approx["rm"] == rm) & (approx["agg"] == agg)
                   & (approx["group"] == group)]
        if len(exact) and len(a):
            lines.append(f"- {label}: {points(*exact[['mean', 'lo', 'hi']].iloc[0])} | "
                         f"{points(*a[['mean', 'lo', 'hi']].iloc[0])}")
    return "\n".join(lines)


def pooled_table(runs_dir: Path) -> pd.DataFrame:
    """``pooled_differences`` over the test seeds whose run folders are in ``runs_dir``."""
    from e2h.io import write_text
    from e2h.params import load_params
    from e2h.stages.s06_rerank import pooled_differences

    dirs = {d.name: d for d in sorted(runs_dir.glob("protocol-seed*")) if (d / "rerank").is_dir()}
    if not dirs:
        raise FileNotFoundError(f"--runs-dir {runs_dir}: no finished test seed run protocol-seed*/rerank")
    p = load_params(ROOT / "params" / "protocol.yaml")
    table = pooled_differences(dirs, ties=p.rerank.ties, resamples=p.rerank.resamples, seed=p.rerank.seed,
                               level=p.rerank.ci_level)
    write_text(FOLDER / "pooled_differences.csv", table.to_csv(index=False))
    return table


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs-dir", type=Path, default=None,
                    help="folder of test seed runs: resample their pooled problems too, beside the approximation")
    args = ap.parse_args()
    runs = load_summaries()
    n = int(runs["n"].max())
    print(f"Hard problems (levels 4-5), N = {n}, per seed (differences with majority voting in points, 95% "
          "interval: problems bootstrap combined with subset draws):\n")
    print(per_seed(runs))
    print(f"\nAcross seeds, the seed as the unit (hard problems, N = {n}; pooled: combined from the summaries):\n")
    print(across(runs))
    print(f"\nWeighted voting's gain on hard problems beside within-problem AUROC (min), N = {n}, 95% intervals "
          "(descriptive, read after the seeds ran):\n")
    print(auroc_beside_gain(runs))
    draw_gain_vs_easy_auroc(runs)
    if args.runs_dir:
        print("\n" + pooled_check(runs, pooled_table(args.runs_dir)))


if __name__ == "__main__":
    main()
