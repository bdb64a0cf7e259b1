"""How many epochs do the reward models need? Held-out easy step AUROC and the dev-set effect per epoch.

    python scripts/epoch_study.py SEED [--kinds prm prm_all] [--epochs 8] [--evaluate 2 3 4 6 8]

On a dev seed of the default (``params/default-train.yaml`` with every seed set to SEED, a dev split drawn like the
test set from val's problems, stages 04-06 on it; the test problems are never read), it runs stages 00-02, trains
each reward model for ``--epochs`` epochs saving a checkpoint at the end of every epoch (the schedule is constant
and each epoch's shuffle is seeded by its number, so the epoch-k checkpoint is exactly a k-epoch run), samples the
dev pool (stage 04), and for each evaluated epoch reports the step AUROC on the held-out easy PRM problems and,
on hard dev problems at N = 32, weighted voting (prod) and best-of-N (min) against majority voting. Results go to
``docs/results/epochs/seed<SEED>.csv``.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "docs" / "results" / "epochs"


def study_params(seed: int) -> Path:
    from e2h.io import write_text
    from e2h.seeds import dev_seed_params

    path = ROOT / "runs" / "epoch-study" / f"seed{seed}.yaml"
    if path.is_file():  # the workers of a study read the file its stages ran with
        return path
    raw = dev_seed_params(ROOT / "params" / "default-train.yaml", seed, f"epochs-seed{seed}")
    raw.update(workers=2, runs_dir=str(ROOT / "runs"))
    write_text(path, yaml.safe_dump(raw, sort_keys=False))
    return path


def train_with_checkpoints(params_file: Path, kind: str, epochs: int) -> None:
    """One reward model, a checkpoint at the end of each epoch under ``<run>/epoch-study/epoch<k>/<kind>``."""
    from e2h.io import write_json
    from e2h.models import load_tokenizer
    from e2h.models.scorer import META
    from e2h.params import load_params
    from e2h.stages.layout import layout
    from e2h.stages.s03_reward_models import init_path, reward_data, train_reward
    from e2h.training.reward_data import reward_examples

    p = load_params(params_file, {"reward": {"epochs": epochs}})
    records, _ = reward_data(p, kind)
    examples = reward_examples(load_tokenizer(init_path(p)), records, layout=p.reward.label_layout,
                               max_length=p.reward.max_length)
    per_epoch = math.ceil(len(examples) / p.reward.batch_size)
    tok = load_tokenizer(init_path(p))

    def save(step: int, model) -> bool:
        if step % per_epoch == 0:
            out = layout(p).root / "epoch-study" / f"epoch{step // per_epoch}" / kind
            model.save_pretrained(out)
            tok.save_pretrained(out)
            write_json(out / META, {"kind": kind, "scores": "outcome" if kind == "orm" else "steps"})
        return False

    train_reward(p, kind, callback=save, callback_every=1)


def evaluate(params_file: Path, kinds: list[str], epochs: list[int]) -> pd.DataFrame:
    from e2h.models.scorer import RewardScorer, score_pool
    from e2h.params import load_params
    from e2h.pool import add_answer_keys, read_pool
    from e2h.rerank import BOOTSTRAP, resample
    from e2h.rerank.quality import step_auroc
    from e2h.stages.layout import layout
    from e2h.stages.s00_data import load_split
    from e2h.stages.s03_reward_models import prm_records, split_heldout

    p = load_params(params_file)
    run = layout(p)
    pool = add_answer_keys(read_pool(run.pool))
    problems = {str(r["unique_id"]): r["problem"] for r in load_split(p, "dev")}
    held = split_heldout(p, prm_records(p))[1]
    rows = []
    for k in epochs:
        scored = pool
        for kind in kinds:
            scorer = RewardScorer(run.root / "epoch-study" / f"epoch{k}" / kind)
            scored = score_pool(scored, scorer, kind, problems, shard_dir=run.root / "epoch-study" / "shards")
            aur = step_auroc([r["labels"] for r in held],
                             RewardScorer(run.root / "epoch-study" / f"epoch{k}" / kind, kind="prm").score(
                                 [r["problem"] for r in held], [r["solution"] for r in held]))
            rows.append({"seed": p.seed, "epoch": k, "rm": kind, "metric": "heldout easy step AUROC",
                         "group": "easy (held out)", "mean": aur["auroc"], "lo": None, "hi": None})
        res = resample(scored, ns=[32], resamples=p.rerank.resamples, seed=p.rerank.seed, progress=False)
        d = res.differences(level=p.rerank.ci_level)
        d = d[(d.ci == BOOTSTRAP) & (((d.method == "weighted") & (d["agg"] == "prod"))
                                     | ((d.method == "best_of_n") & (d["agg"] == "min")))]
        for r in d.itertuples():
            if r.group in ("all", "hard"):
                rows.append({"seed": p.seed, "epoch": k, "rm": r.rm, "metric": f"{r.method} − majority",
                             "group": r.group, "mean": r.mean, "lo": r.lo, "hi": r.hi})
        print(pd.DataFrame(rows).tail(12).to_string(index=False), flush=True)
    return pd.DataFrame(rows)


def main() -> None:
    from e2h.io import write_text
    from e2h.runner import run
    from e2h.training.launch import run_parallel

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("seed", type=int)
    ap.add_argument("--kinds", nargs="+", default=["prm", "prm_all"])
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--evaluate", type=int, nargs="+", default=[2, 3, 4, 6, 8])
    ap.add_argument("--train-one", default=None, help=argparse.SUPPRESS)  # a worker: train this kind
    args = ap.parse_args()
    params_file = study_params(args.seed)
    if args.train_one:
        train_with_checkpoints(params_file, args.train_one, args.epochs)
        return
    run(params_file, stages="00-02", notebooks_dir=ROOT / "notebooks")
    run_parallel({kind: [sys.executable, __file__, str(args.seed), "--epochs", str(args.epochs),
                         "--train-one", kind] for kind in args.kinds}, 2)
    run(params_file, stages="04", notebooks_dir=ROOT / "notebooks")
    table = evaluate(params_file, args.kinds, args.evaluate)
    write_text(OUT / f"seed{args.seed}.csv", table.to_csv(index=False))
    print(f"wrote {OUT / f'seed{args.seed}.csv'}")


if __name__ == "__main__":
    main()
