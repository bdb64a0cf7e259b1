"""The two sampling stages as one call each, so notebooks 02 and 04 stay narrative.

- stage 02, ``sample_reward_data``: the SFT policy's samples on EASY TRAINING problems, the ORM's training data
  (paper: 32 per question, top-k 20, temperature 0.7; ``sample.reward_*`` in params);
- stage 04, ``sample_test_pool``: ``sample.n`` samples per TEST problem, the pool that is scored and re-ranked.

Both read the splits stage 00 wrote and the policy at ``run_dir/sft``, and write under the run folder.
"""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path

import pandas as pd

from e2h.data.splits import EASY_LEVELS, HARD_LEVELS
from e2h.sampling.shards import sample_pool


def policy_path(p) -> Path | str:
    """``sample.policy`` when set (a released model, say), else the shipped weights' policy when ``weights`` is
    set, else the run's SFT policy."""
    if p.sample.policy:
        return p.sample.policy
    if p.weights:
        from e2h.weights import verify

        verify(p.weights)
        return Path(p.weights) / "sft"
    path = Path(p.run_dir) / "sft"
    if not (path / "config.json").is_file():
        raise FileNotFoundError(f"{path}: no SFT policy there (no config.json); run stage 01 (notebooks/01_sft) "
                                "first, or save a model there with save_pretrained")
    return path


def reward_data_settings(sample_params):
    """The ``sample`` section with the reward-data overrides (n, top-k, temperature) applied."""
    return dataclasses.replace(sample_params, n=sample_params.reward_n, top_k=sample_params.reward_top_k,
                               temperature=sample_params.reward_temperature)


def easy_training_problems(p) -> list[dict]:
    """Levels 1-3 of stage 00's train split; ``sample.reward_max_problems`` keeps a seeded subset."""
    from e2h.data import load_split

    easy = [r for r in load_split(p.run_dir, "train") if r.get("level") in EASY_LEVELS]
    cap = p.sample.reward_max_problems
    if cap is not None and cap < len(easy):
        easy = random.Random(p.sample.seed).sample(easy, cap)
    if not easy:
        raise ValueError(f"{p.run_dir}/data/train.jsonl: no level 1-3 problems to sample reward data from")
    return easy


def reward_training_problems(p) -> list[dict]:
    """The easy training problems, and also the hard ones when a full-supervision reference reward model (a kind
    ending in ``_all``) is to be trained; ``sample.reward_max_problems`` caps each of the two groups."""
    from e2h.data import load_split
    from e2h.reward_train import FULL_SUFFIX

    problems = easy_training_problems(p)
    if any(kind.endswith(FULL_SUFFIX) for kind in p.reward.kinds):
        hard = [r for r in load_split(p.run_dir, "train") if r.get("level") in HARD_LEVELS]
        cap = p.sample.reward_max_problems
        if cap is not None and cap < len(hard):
            hard = random.Random(p.sample.seed).sample(hard, cap)
        if not hard:
            raise ValueError(f"reward.kinds {p.reward.kinds} asks for reward models trained on all levels, but "
                             f"{p.run_dir}/data/train.jsonl has no level 4-5 problems (data.task_train)")
        problems += hard
    return problems


def sample_reward_data(p, progress: bool = True) -> pd.DataFrame:
    """Stage 02: write ``run_dir/reward_data/samples.parquet`` (pool schema) and return it."""
    return sample_pool(reward_training_problems(p), policy_path(p), reward_data_settings(p.sample),
                       Path(p.run_dir) / "reward_data" / "samples.parquet", split="train", progress=progress)


def sample_test_pool(p, progress: bool = True) -> pd.DataFrame:
    """Stage 04: write ``run_dir/pool/samples.parquet`` with ``sample.n`` samples per test problem and return it."""
    from e2h.data import load_split

    return sample_pool(load_split(p.run_dir, "test"), policy_path(p), p.sample,
                       Path(p.run_dir) / "pool" / "samples.parquet", split="test", progress=progress)
