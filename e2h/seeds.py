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
from e2h.stages.layout import RunLayout, figures_folder, seeds_folder

SEED_KEYS = (("seed",), ("data", "seed"), ("sample", "seed"), ("sft", "seed"), ("reward", "seed"),
             ("rerank", "seed"))


def set_seeds(raw: dict, seed: int) -> dict:
    """``raw`` (a params dict) with every seed key set to ``seed``, in place; returned for chaining."""
    for path in SEED_KEYS:
        node = raw
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = seed
    return raw


def dev_seed_params(params_file: str | Path, seed: int, name: str) -> dict:
    """The resolved params of ``params_file`` (absolute paths) as dev seed ``seed`` on the dev split, named
    ``name``: what a study that chooses or describes something on dev data starts from. The dev problems
    (docs/protocol.md) are drawn like the test set (as many per level) from the validation bucket, disjoint from
    train, val and test; stages 04-06 read them instead of the test problems."""
    raw = set_seeds(load_params(params_file).to_dict(), seed)
    raw["data"].update(task_dev=list(raw["data"]["task_test"]), eval_split="dev")
    raw["name"] = name
    return raw


def seed_params_file(params_file: str | Path, seed: int, base_params: str | Path | None = None) -> Path:
    """Write ``<runs_dir>/<name>-seeds/<name>-seed<k>.yaml``: the resolved params with every seed set to ``seed``,
    its own run name, and its figures kept in its run folder (the main run's figures stay those of the file).
    With ``base_params`` (e.g. ``params/base.yaml``) the seed builds and pretrains its own base from that file's
    model section, under its own seed, instead of starting from the shared one."""
    params_file = Path(params_file)
    p = load_params(params_file)
    raw = p.to_dict()  # resolved: its paths are absolute, so the file works from any folder
    if base_params is not None:
        raw["model"] = load_params(base_params).to_dict()["model"]
    set_seeds(raw, seed)
    raw["rl"]["seeds"] = [seed]  # stage 07 trains each method once, under this seed
    name = f"{p.name}-seed{seed}"
    raw.update(name=name, figures_dir=str(RunLayout(Path(p.runs_dir) / name).figures))
    out = seeds_folder(p.runs_dir, p.name) / f"{name}.yaml"
    header = (f"# {params_file.name} with every seed set to {seed}"
              + (", its own base built from " + Path(base_params).name if base_params else "")
              + " (written by python -m e2h seeds)\n")
    write_text(out, header + yaml.safe_dump(raw, sort_keys=False))
    return out


def run_seeds(params_file: str, seeds: list[int], *, include_self: bool = True, retrain_base: int = 0,
              base_params: str | None = None, summaries: str | None = None) -> int:
    """Run the params file as it is (unless ``include_self`` is off) and once per extra seed, the first
    ``retrain_base`` seeds each building its own base from ``base_params``; after each run its summary
    (``e2h.stages.s06_rerank.run_summary``) is written to ``summaries/<run>.csv`` if given, as it lands. Then the
    pooled tables, the across-seeds table (the seed as the unit) and the figure."""
    from e2h.plots import plot_seeds, save_figure
    from e2h.runner import run
    from e2h.stages.s06_rerank import across_seeds, evaluator_quality, pooled_differences, run_summary

    p = load_params(params_file)
    if any(s < 0 for s in seeds) or len(set(seeds)) != len(seeds):
        raise ValueError(f"--seeds {' '.join(map(str, seeds))}: expected distinct integers >= 0")
    if retrain_base and not base_params:
        raise ValueError("--retrain-base needs --base-params (the params file whose model section builds a base)")
    files = {p.name: Path(params_file)} if include_self else {}
    for i, s in enumerate(seeds):
        files[f"{p.name}-seed{s}"] = seed_params_file(params_file, s, base_params if i < retrain_base else None)
    per_run = []
    for name, f in files.items():
        print(f"[e2h] seeds: {name}", flush=True)
        run(f, notebooks_dir=project_root(params_file) / "notebooks")
        per_run.append(run_summary(load_params(f).run_dir, name))
        if summaries:
            write_text(Path(summaries) / f"{name}.csv", per_run[-1].to_csv(index=False))
            summarize(summaries, p.name, figures_folder(p))
    run_dirs = {name: load_params(f).run_dir for name, f in files.items()}
    out = seeds_folder(p.runs_dir, p.name)
    diff = pooled_differences(run_dirs, ties=p.rerank.ties, resamples=p.rerank.resamples, seed=p.rerank.seed,
                              level=p.rerank.ci_level)
    write_text(out / "differences.csv", diff.to_csv(index=False))
    write_text(out / "evaluator_auroc.csv", evaluator_quality(run_dirs).to_csv(index=False))
    write_text(out / "across_seeds.csv", across_seeds(pd.concat(per_run), level=p.rerank.ci_level).to_csv(index=False))
    save_figure(plot_seeds(diff), figures_folder(p), f"{p.name}_seeds")
    hard = diff[(diff["group"] == "hard") & (diff["method"] == "weighted") & (diff["agg"] == "prod")]
    print(hard.round(3).to_string(index=False))
    return 0


def read_summary(path: str | Path) -> pd.DataFrame:
    """A run summary as ``run_seeds`` writes it (``run_summary`` rows), its empty ``rm`` / ``agg`` cells read as
    empty strings (a reference row has neither), not as NaN."""
    t = pd.read_csv(path, keep_default_na=False, na_values=[""], dtype={"rm": str, "agg": str})
    t[["rm", "agg"]] = t[["rm", "agg"]].fillna("")
    return t


def summarize(folder: str | Path, name: str, figures: str | Path | None = None) -> pd.DataFrame:
    """The seed as the unit over every run summary in ``folder`` (``<name>-seed*.csv``, those of earlier
    invocations included): writes ``<folder>/across_seeds.csv`` and, with ``figures``, the figures
    ``<name>_across_seeds`` (each re-ranker's difference with majority voting, per seed and its mean over seeds) and
    ``<name>_policy_strength`` (gain over majority voting against majority accuracy, one point per seed)."""
    from e2h.plots import plot_across_seeds, plot_policy_strength, save_figure
    from e2h.stages.s06_rerank import across_seeds

    files = sorted(Path(folder).glob(f"{name}-seed*.csv"))
    if not files:
        raise FileNotFoundError(f"{folder}: no run summaries {name}-seed*.csv")
    runs = pd.concat([read_summary(f) for f in files], ignore_index=True)
    table = across_seeds(runs)
    write_text(Path(folder) / "across_seeds.csv", table.to_csv(index=False))
    if figures is not None:
        n = int(runs["n"].max())
        title = (f"{name}: gain over majority voting vs policy strength, {len(files)} seeds (one point each), "
                 f"N = {n}, hard problems\n95% interval per seed: bootstrap over problems combined with subset draws")
        save_figure(plot_policy_strength(runs.assign(source="test seeds"), title=title), figures,
                    f"{name}_policy_strength")
        title = (f"{name}: re-ranking vs majority voting across {len(files)} seeds, the seed as the unit, N = {n}, "
                 "hard problems\ndots: each seed's point estimate; black: mean over seeds with its 95% t-interval")
        save_figure(plot_across_seeds(runs, table, title=title), figures, f"{name}_across_seeds")
    return table

