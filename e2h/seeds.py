"""Is the effect robust? The same params under other seeds (task, training, sampling, resampling), pooled.

``python -m e2h seeds params/default.yaml --seeds 1 2`` runs the params file as it is (its own seeds) and once per
extra seed, every ``seed`` key set to that seed, each into its own run folder ``runs/<name>-seed<k>/``. Then it
compares every re-ranking method with majority voting at the largest N, per seed and pooled: the pooled interval
resamples the problems of all runs together (the runs' test problems differ, so the pooled set is their union),
B = ``rerank.resamples``. It writes ``<runs_dir>/<name>-seeds/{differences,evaluator_auroc}.csv`` and the figure
``<figures_dir>/<name>_seeds.png``. A seed's params file also runs on its own, from the project root:
``python -m e2h run runs/<name>-seeds/<name>-seed<k>.yaml --notebooks notebooks`` (several seeds side by side).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml

from e2h.io import write_text
from e2h.params import load_params, project_root

SEED_KEYS = (("seed",), ("data", "seed"), ("sample", "seed"), ("sft", "seed"), ("reward", "seed"),
             ("rerank", "seed"))


def seed_params_file(params_file: str | Path, seed: int) -> Path:
    """Write ``<runs_dir>/<name>-seeds/<name>-seed<k>.yaml``: the resolved params with every seed set to ``seed``,
    its own run name, and its figures kept in its run folder (the main run's figures stay those of the file)."""
    params_file = Path(params_file)
    p = load_params(params_file)
    raw = p.to_dict()  # resolved: its paths are absolute, so the file works from any folder
    for path in SEED_KEYS:
        node = raw
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = seed
    name = f"{p.name}-seed{seed}"
    raw.update(name=name, figures_dir=str(Path(p.runs_dir) / name / "figures"))
    out = Path(p.runs_dir) / f"{p.name}-seeds" / f"{name}.yaml"
    header = f"# {params_file.name} with every seed set to {seed} (written by python -m e2h seeds)\n"
    write_text(out, header + yaml.safe_dump(raw, sort_keys=False))
    return out


def pooled(run_dirs: dict[str, Path], *, n: int | None = None, resamples: int = 1000, seed: int = 0,
           level: float = 0.95) -> pd.DataFrame:
    """Paired differences with majority voting at N (default: the largest), per run and pooled over runs.

    One row per (run, method, rm, agg, group) with mean, lo, hi (problems+subsets bootstrap); ``run`` is the
    run's name or ``pooled``. Per-run rows come from each run's ``rerank/differences.parquet``.
    """
    from e2h.pool import read_pool
    from e2h.rerank import BOOTSTRAP, resample

    frames, pools, at = [], [], n
    for name, run in run_dirs.items():
        d = pd.read_parquet(Path(run) / "rerank" / "differences.parquet")
        at = at or int(d["n"].max())  # the first run's largest N, unless given
        frames.append(d[(d["n"] == at) & (d["ci"] == BOOTSTRAP)].assign(run=name))
        pool = read_pool(Path(run) / "pool" / "scored.parquet")
        pools.append(pool.assign(problem_id=name + "/" + pool["problem_id"].astype(str)))
    pool = pd.concat(pools, ignore_index=True)
    diff = resample(pool, ns=[at], resamples=resamples, seed=seed).differences(level=level)
    frames.append(diff[diff["ci"] == BOOTSTRAP].assign(run="pooled"))
    cols = ["run", "method", "rm", "agg", "group", "n", "mean", "lo", "hi", "share_le_0"]
    return pd.concat(frames, ignore_index=True)[cols]


def evaluator_quality(run_dirs: dict[str, Path]) -> pd.DataFrame:
    """Step AUROC and within-problem AUROC (min score) per reward model and level group, per run (from each run's
    ``rerank/auroc.parquet``)."""
    rows = []
    for name, run in run_dirs.items():
        a = pd.read_parquet(Path(run) / "rerank" / "auroc.parquet")
        rows.append(a[(a["kind"] == "step") | ((a["kind"] == "within") & (a["agg"] == "min"))].assign(run=name))
    return pd.concat(rows, ignore_index=True)[["run", "rm", "kind", "group", "auroc", "lo", "hi"]]


def plot_seeds(diff: pd.DataFrame, *, group: str = "hard", title: str = ""):
    """Paired difference with majority voting, per run and pooled, for the paper's pairings (weighted voting with
    prod, best-of-N with min), with 95% intervals."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    keep = diff[(diff["group"] == group) & (((diff["method"] == "weighted") & (diff["agg"] == "prod"))
                                             | ((diff["method"] == "best_of_n") & (diff["agg"] == "min")))].copy()
    keep["curve"] = keep["method"].str.replace("_", "-") + " " + keep["rm"] + " (" + keep["agg"] + ")"
    order = sorted(keep["curve"].unique())
    runs = list(dict.fromkeys(keep["run"]))
    fig, ax = plt.subplots(figsize=(8, 0.18 * len(order) * len(runs) + 1.5))
    palette = dict(zip(runs, sns.color_palette("colorblind", len(runs))))
    step = 0.8 / max(len(runs), 1)
    for i, curve in enumerate(order):
        for j, run in enumerate(runs):
            row = keep[(keep["curve"] == curve) & (keep["run"] == run)]
            if row.empty:
                continue
            y = i + (j - (len(runs) - 1) / 2) * step
            m, lo, hi = (100 * float(row[c].iloc[0]) for c in ("mean", "lo", "hi"))
            ax.errorbar(m, y, xerr=[[m - lo], [hi - m]], fmt="o", color=palette[run], capsize=3,
                        label=run if i == 0 else None, mfc="white" if run == "pooled" else None)
    ax.axvline(0, color="grey", lw=1)
    ax.set_yticks(range(len(order)), order)
    n = int(keep["n"].iloc[0])
    ax.set_xlabel(f"accuracy − majority voting, points (levels {'4-5' if group == 'hard' else group}, N = {n})")
    ax.set_title(title or "Re-ranking vs majority voting, per seed and pooled\n"
                          "95% interval: bootstrap over problems combined with subset draws")
    ax.legend(title="run", loc="best", fontsize=8)
    fig.tight_layout()
    return fig


def main(params_file: str, seeds: list[int]) -> int:
    from e2h.plots import save_figure
    from e2h.runner import run

    p = load_params(params_file)
    if any(s < 0 for s in seeds) or len(set(seeds)) != len(seeds):
        raise ValueError(f"--seeds {' '.join(map(str, seeds))}: expected distinct integers >= 0")
    files = {p.name: Path(params_file)}
    for s in seeds:
        files[f"{p.name}-seed{s}"] = seed_params_file(params_file, s)
    for name, f in files.items():
        print(f"[e2h] seeds: {name}", flush=True)
        run(f, notebooks_dir=project_root(params_file) / "notebooks")
    run_dirs = {name: load_params(f).run_dir for name, f in files.items()}
    out = Path(p.runs_dir) / f"{p.name}-seeds"
    diff = pooled(run_dirs, resamples=p.rerank.resamples, seed=p.rerank.seed, level=p.rerank.ci_level)
    write_text(out / "differences.csv", diff.to_csv(index=False))
    write_text(out / "evaluator_auroc.csv", evaluator_quality(run_dirs).to_csv(index=False))
    save_figure(plot_seeds(diff), p.figures_dir, f"{p.name}_seeds")
    hard = diff[(diff["group"] == "hard") & (diff["method"] == "weighted") & (diff["agg"] == "prod")]
    print(hard.round(3).to_string(index=False))
    return 0
