"""Where do easy-trained evaluators help as the policy gets stronger? The dev panel of docs/protocol.md's figure.

    python scripts/policy_strength_study.py SEED [SEED ...] [--targets 0.3 0.5 0.7] [--reference 0.5]

For each dev seed (101-199, never a test seed) it runs ``params/protocol.yaml`` on the dev split (problems drawn
like the test set from the validation bucket; the test problems are never read) with every seed set to SEED:
once in full at the reference checkpoint target (``sft.select_target`` 0.5, the protocol's), which trains the four
reward models, then once per other target with that target's policy and its own pool of dev samples, scored by
the reference run's reward models. The evaluators stay fixed while the policy changes, as in the paper, where one
PRM re-ranks the 7b and the 34b policy's samples. Each run's summary (``e2h.stages.s06_rerank.run_summary``) goes
to ``docs/results/policy_strength/dev-seed<S>-target<t>.csv`` as it lands, and the figure
``figures/policy_strength_dev.png`` is redrawn from all of them. Dev evidence: never mixed into the test seeds'.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "docs" / "results" / "policy_strength"
DEV_SEEDS = range(101, 200)  # docs/protocol.md: dev seeds; its test seeds (1000-1009) never choose or describe


def run_name(seed: int, target: float) -> str:
    return f"strength-seed{seed}-target{target:g}"


def study_params(seed: int, target: float, reference: float, runs_dir: Path) -> Path:
    """The params file of one run: the protocol as dev seed ``seed`` at checkpoint target ``target``; a run at
    another target than ``reference`` skips stages 02-03 and scores with the reference run's reward models."""
    from e2h.io import write_text
    from e2h.params import load_params
    from e2h.seeds import dev_seed_params
    from e2h.stages.layout import RunLayout

    raw = dev_seed_params(ROOT / "params" / "protocol.yaml", seed, run_name(seed, target))
    raw.update(runs_dir=str(runs_dir), figures_dir=None)
    raw["sft"]["select_target"] = target
    if target == reference:
        raw["stages"] = "00-06"
    else:
        ref = RunLayout(runs_dir / run_name(seed, reference))
        raw["stages"] = "00-01,04-06"
        kinds = raw["score"]["rms"]
        raw["score"].update(rms=[], released={kind: str(ref.reward_model(kind)) for kind in kinds})
    path = runs_dir / "policy-strength" / f"{raw['name']}.yaml"
    write_text(path, f"# params/protocol.yaml as dev seed {seed}, checkpoint target {target:g} "
                     "(scripts/policy_strength_study.py)\n" + yaml.safe_dump(raw, sort_keys=False))
    load_params(path)  # a file that does not load fails here, before any stage
    return path


def rescore_if_retrained(params_file: Path, reference: Path) -> None:
    """Stages 05-06 again when the reference run's reward models are not those the target run scored with: the
    runner sees only their paths, which stay the same when stage 03 reruns."""
    from e2h.io import read_json, write_json
    from e2h.params import load_params
    from e2h.runner import run
    from e2h.stages.layout import RunLayout

    trained = read_json(RunLayout(reference).manifest("03_reward_models"), what="stage manifest")["run_id"]
    stamp = load_params(params_file).run_dir / "reference_reward_models.json"
    if stamp.is_file() and read_json(stamp, what="reference stamp")["run_id"] == trained:
        return
    if stamp.is_file():  # scored with earlier reward models of the reference
        run(params_file, stages="05-06", force=True, notebooks_dir=ROOT / "notebooks")
    write_json(stamp, {"reference": str(reference), "run_id": trained})


def summaries(folder: Path = OUT) -> pd.DataFrame:
    """Every dev run's summary in ``folder``, with its seed and target as columns and ``source`` for the figure."""
    files = sorted(folder.glob("dev-seed*-target*.csv"))
    if not files:
        raise FileNotFoundError(f"{folder}: no dev run summaries dev-seed*-target*.csv")
    from e2h.seeds import read_summary

    parts = []
    for f in files:
        seed, target = f.stem.removeprefix("dev-seed").split("-target")
        parts.append(read_summary(f).assign(seed=int(seed), target=float(target), source=f"target {float(target):g}"))
    return pd.concat(parts, ignore_index=True)


def draw(runs: pd.DataFrame, reference: float, folder: Path = ROOT / "figures") -> None:
    """``<folder>/policy_strength_dev.png``: each dev run's gain over majority voting against its majority accuracy."""
    from e2h.plots import plot_policy_strength, save_figure

    seeds, targets = sorted(runs["seed"].unique()), sorted(runs["target"].unique())
    fig = plot_policy_strength(runs, title=(
        f"Dev seeds {', '.join(map(str, seeds))} (not test seeds): gain over majority voting vs policy strength, "
        f"checkpoint targets {', '.join(f'{t:g}' for t in targets)}\neach seed's reward models fixed (trained at "
        f"target {reference:g}); N = {runs['n'].max()}, hard dev problems; 95% interval per run: bootstrap over "
        "problems combined with subset draws"))
    save_figure(fig, folder, "policy_strength_dev")


def main() -> None:
    from e2h.io import write_text
    from e2h.runner import run
    from e2h.stages.s06_rerank import run_summary

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("seeds", type=int, nargs="+")
    ap.add_argument("--targets", type=float, nargs="+", default=[0.3, 0.5, 0.7])
    ap.add_argument("--reference", type=float, default=0.5, help="the target whose run trains the reward models")
    ap.add_argument("--runs-dir", type=Path, default=ROOT / "runs")
    args = ap.parse_args()
    if not set(args.seeds) <= set(DEV_SEEDS):
        ap.error(f"seeds {sorted(set(args.seeds) - set(DEV_SEEDS))}: expected dev seeds 101-199 (docs/protocol.md)")
    if args.reference not in args.targets:
        ap.error(f"--reference {args.reference:g} is not among --targets")
    targets = [args.reference] + [t for t in args.targets if t != args.reference]  # its reward models come first
    for seed in args.seeds:
        for target in targets:
            params_file = study_params(seed, target, args.reference, args.runs_dir.resolve())
            print(f"[strength] dev seed {seed}, target {target:g}", flush=True)
            run(params_file, notebooks_dir=ROOT / "notebooks")
            if target != args.reference:
                rescore_if_retrained(params_file, args.runs_dir / run_name(seed, args.reference))
            name = run_name(seed, target)
            table = run_summary(args.runs_dir / name, name)
            write_text(OUT / f"dev-seed{seed}-target{target:g}.csv", table.to_csv(index=False))
            draw(summaries(), args.reference)


if __name__ == "__main__":
    main()
