"""Re-examine one design choice on dev data: a finished dev run with some params keys changed, beside the run as it was.

    python scripts/dev_variant_study.py RUN_PARAMS KEY=VALUE [KEY=VALUE ...] --label NAME

RUN_PARAMS is the params file of a finished dev run (``data.eval_split: dev``, a dev seed 101-199; for instance
``runs/policy-strength/strength-seed102-target0.5.yaml``, which trained its own reward models). The variant starts
from a copy of that run's folder with the keys set (values read as YAML: ``reward.init_from=sft``,
``reward.epochs=4``); the runner then reruns only the stages that read a changed key and those after them
(``e2h.stages.STAGES``), so a reward-model choice retrains stage 03 and scores the same pool of samples again: both
runs re-rank the same samples of the same problems. Its summary (``run_summary``) goes to
``docs/results/dev_variants/<reference>-<label>.csv`` and the hard-problem rows of both runs are printed side by
side. Dev evidence only (docs/protocol.md, "Dev"): a test seed's run is refused.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "docs" / "results" / "dev_variants"
DEV_SEEDS = range(101, 200)  # docs/protocol.md
ROWS = [("majority accuracy", ""), ("weighted − majority", "prm"), ("weighted − majority", "orm"),
        ("weighted − majority", "oprm"), ("weighted − majority", "prm_all"), ("best_of_n − majority", "prm")]


def parse_sets(items: list[str]) -> dict[str, object]:
    """``["reward.init_from=sft"]`` -> ``{"reward.init_from": "sft"}``, each value read as YAML."""
    sets = {}
    for item in items:
        key, eq, value = item.partition("=")
        if not eq or not key:
            raise ValueError(f"{item!r}: expected KEY=VALUE with a dotted params key, e.g. reward.init_from=sft")
        sets[key] = yaml.safe_load(value)
    return sets


def variant_params(reference: Path, sets: dict[str, object], label: str) -> Path:
    """Write ``<runs_dir>/dev-variants/<reference name>-<label>.yaml``: the reference run's params with ``sets``."""
    from e2h.io import write_text
    from e2h.params import load_params

    ref = load_params(reference)
    if ref.data.eval_split != "dev" or ref.seed not in DEV_SEEDS:
        raise ValueError(f"{reference}: not a dev run (expected data.eval_split: dev and a seed in 101-199, found "
                         f"{ref.data.eval_split!r} and {ref.seed})")
    raw = ref.to_dict()
    for key, value in sets.items():
        *parents, last = key.split(".")
        node = raw
        for part in parents:
            node = node.get(part) if isinstance(node, dict) else None
        if not isinstance(node, dict) or last not in node:
            raise ValueError(f"{reference}: no params key {key!r} to change")
        if node[last] == value:
            raise ValueError(f"{reference}: {key} is already {value!r}; a variant changes something")
        node[last] = value
    raw["name"] = f"{ref.name}-{label}"
    path = Path(ref.runs_dir) / "dev-variants" / f"{raw['name']}.yaml"
    changed = ", ".join(f"{k}: {v!r}" for k, v in sets.items())
    write_text(path, f"# {reference.name} with {changed} (scripts/dev_variant_study.py)\n"
                     + yaml.safe_dump(raw, sort_keys=False))
    try:
        load_params(path)  # a value the params do not accept fails here, before any stage
    except Exception:
        path.unlink()
        raise
    return path


def side_by_side(reference: pd.DataFrame, variant: pd.DataFrame, group: str = "hard") -> pd.DataFrame:
    """The rows of ``ROWS`` on ``group`` for both runs, in points with each run's own interval."""
    cells = []
    for metric, rm in ROWS:
        row = {"metric": metric, "rm": rm}
        for name, t in (("reference", reference), ("variant", variant)):
            r = t[(t["group"] == group) & (t["metric"] == metric) & (t["rm"] == rm)
                  & t["agg"].isin(["", "prod", "min", "any"])]
            if len(r):
                m, lo, hi = (100 * r.iloc[0][c] for c in ("mean", "lo", "hi"))
                row[name] = f"{m:+.1f} [{lo:+.1f}, {hi:+.1f}]" if metric != "majority accuracy" else f"{m:.1f}%"
        cells.append(row)
    return pd.DataFrame(cells)


def main() -> None:
    from e2h.io import write_text
    from e2h.params import load_params
    from e2h.runner import run
    from e2h.stages.s06_rerank import run_summary

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("reference", type=Path, help="params file of a finished dev run")
    ap.add_argument("sets", nargs="+", metavar="KEY=VALUE")
    ap.add_argument("--label", required=True, help="names the variant: <reference>-<label>")
    args = ap.parse_args()
    try:
        params_file = variant_params(args.reference, parse_sets(args.sets), args.label)
    except ValueError as e:
        ap.error(str(e))
    ref, var = load_params(args.reference), load_params(params_file)
    if not ref.run_dir.is_dir():
        ap.error(f"{args.reference}: its run folder {ref.run_dir} does not exist (run the reference first)")
    if not var.run_dir.is_dir():  # a rerun of the study continues in its own copy
        shutil.copytree(ref.run_dir, var.run_dir)
    run(params_file, notebooks_dir=ROOT / "notebooks")
    summary = run_summary(var.run_dir, var.name)
    write_text(OUT / f"{var.name}.csv", summary.to_csv(index=False))
    print(f"Hard dev problems, N = {int(summary['n'].max())}: {ref.name} (reference) and {var.name} (variant); "
          "differences with majority voting in points, each run's 95% problems+subsets interval")
    print(side_by_side(run_summary(ref.run_dir, ref.name), summary).to_string(index=False))


if __name__ == "__main__":
    main()
