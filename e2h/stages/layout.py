"""Where every artifact of a run lives: the one module that knows the run folder's layout.

    runs/<name>/
      data/{train,val,test}.jsonl           00  the splits
      base/                                 01  the tiny base model (model.base: tiny), pretrained or random
      sft/                                  01  the policy (HF folder, losses.json, loss_curve.png)
      sft_eval/<split>_greedy.parquet       01  greedy samples of the policy on a split
      reward_data/samples.parquet           02  policy samples on training problems (ORM data, checker-labelled PRM)
      rm/<kind>/                            03  reward models (HF folder with e2h_reward.json)
      pool/samples.parquet                  04  N samples per test problem (+ samples.shards/, samples.json)
      pool/scored.parquet                   05  the pool with every reward model's step scores (+ scored.shards/)
      rerank/<table>.parquet                06  curves, differences, auroc, slips
      rl/<method>/seed<k>/                  07  an RL policy (HF folder; losses.json: its curves, checkpoint choice)
      rl/work/<method>/seed<k>/iter<i>/     07  the policy of each ReST-EM / DPO iteration
      rl/eval/<policy>.parquet              07  greedy test samples of the SFT policy and of each RL policy
      rl/<table>.parquet                    07  results (per problem), accuracy, differences, curves, rerank
      rl/pools/<policy>/                    07  with rl.rerank: N samples per test problem of an RL policy, scored
      figures/                              each stage's own figures (stage 08 writes here unless told otherwise)
      notebooks/, manifests/, .lock         the runner: executed notebooks, one manifest per stage, the run lock
    runs/<name>-seeds/                      python -m e2h seeds: each seed's params file, the pooled tables

A stage module asks this module for a path and never joins one itself, so the layout can be read (and changed)
in one place.
"""

from __future__ import annotations

import os
from pathlib import Path


class RunLayout:
    """The paths of one run folder (``params.run_dir``)."""

    def __init__(self, run_dir: str | os.PathLike):
        self.root = Path(run_dir)

    def split(self, name: str) -> Path:
        return self.root / "data" / f"{name}.jsonl"

    @property
    def splits_summary(self) -> Path:
        return self.root / "data" / "summary.json"

    @property
    def base(self) -> Path:
        return self.root / "base"

    @property
    def policy(self) -> Path:
        return self.root / "sft"

    def greedy_eval(self, split: str) -> Path:
        return self.root / "sft_eval" / f"{split}_greedy.parquet"

    @property
    def reward_samples(self) -> Path:
        return self.root / "reward_data" / "samples.parquet"

    @property
    def reward_models(self) -> Path:
        return self.root / "rm"

    def reward_model(self, kind: str) -> Path:
        return self.reward_models / kind

    @property
    def pool(self) -> Path:
        return self.root / "pool" / "samples.parquet"

    @property
    def scored_pool(self) -> Path:
        return self.root / "pool" / "scored.parquet"

    @property
    def score_shards(self) -> Path:
        return self.root / "pool" / "scored.shards"

    def rerank_table(self, name: str) -> Path:
        return self.root / "rerank" / f"{name}.parquet"

    @property
    def rl(self) -> Path:
        return self.root / "rl"

    def rl_policy(self, method: str, seed: int) -> Path:
        return self.rl / method / f"seed{seed}"

    def rl_iteration(self, method: str, seed: int, iteration: int) -> Path:
        return self.rl / "work" / method / f"seed{seed}" / f"iter{iteration}"

    def rl_eval(self, policy: str) -> Path:
        """Greedy test samples of a policy: ``sft`` or ``<method>-seed<k>``."""
        return self.rl / "eval" / f"{policy}.parquet"

    def rl_table(self, name: str) -> Path:
        return self.rl / f"{name}.parquet"

    def rl_pool(self, policy: str, scored: bool = False) -> Path:
        return self.rl / "pools" / policy / ("scored.parquet" if scored else "samples.parquet")

    @property
    def figures(self) -> Path:
        return self.root / "figures"

    def figure(self, name: str) -> Path:
        return self.figures / f"{name}.png"

    def manifest(self, stage_stem: str) -> Path:
        return self.root / "manifests" / f"{stage_stem}.json"

    @property
    def manifests(self) -> Path:
        return self.root / "manifests"

    def executed_notebook(self, notebook_name: str) -> Path:
        return self.root / "notebooks" / notebook_name


def layout(p) -> RunLayout:
    """The layout of a params object's run folder."""
    return RunLayout(p.run_dir)


def figures_folder(p) -> Path:
    """Where a run's stage-08 figures go: ``figures_dir`` when the params name one, else the run's ``figures/``."""
    return Path(p.figures_dir) if p.figures_dir else layout(p).figures


def seeds_folder(runs_dir: str | os.PathLike, name: str) -> Path:
    """Where ``python -m e2h seeds`` writes the seed params files and the pooled tables of run ``name``."""
    return Path(runs_dir) / f"{name}-seeds"


def reward_model_paths(p) -> dict[str, str]:
    """Every reward model stage 05 scores with: the run's own (``rm/<name>``, or the shipped weights' when the run
    uses them) and the released ones (``score.released``)."""
    if p.weights:
        from e2h.weights import shipped_model, verify

        verify(p.weights)
        out = {name: str(shipped_model(p.weights, f"rm/{name}")) for name in p.score.rms}
    else:
        out = {name: str(layout(p).reward_model(name)) for name in p.score.rms}
    for name, path in p.score.released.items():
        if name in out:
            raise ValueError(f"score.released: {name!r} is also in score.rms; give the released model another name")
        out[name] = path
    return out
