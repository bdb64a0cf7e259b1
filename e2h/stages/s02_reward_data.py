"""Stage 02: the policy's samples on training problems, the data of the ORM (``notebooks/02_reward_data``).

Paper: 32 samples per easy training question, top-k 20, temperature 0.7 (``sample.reward_*``); the embedded task's
step checker also labels them for the PRM in stage 03. Hard training problems are sampled only when an all-levels
reference reward model (``prm_all`` ...) is to be trained.
"""

from __future__ import annotations

import dataclasses
import random

import pandas as pd

from e2h.data.splits import EASY_LEVELS, HARD_LEVELS
from e2h.sampling import pick_backend, sample_pool
from e2h.stages.jobs import run_parts
from e2h.stages.layout import layout
from e2h.stages.s00_data import load_split
from e2h.stages.s01_policy import policy_path
from e2h.training.reward_data import needs_hard_problems


def reward_data_settings(sample_params):
    """The ``sample`` section with the reward-data overrides (n, top-k, temperature) applied."""
    return dataclasses.replace(sample_params, n=sample_params.reward_n, top_k=sample_params.reward_top_k,
                               temperature=sample_params.reward_temperature)


def _capped(p, records: list[dict]) -> list[dict]:
    cap = p.sample.reward_max_problems
    return random.Random(p.sample.seed).sample(records, cap) if cap is not None and cap < len(records) else records


def reward_training_problems(p) -> list[dict]:
    """Levels 1-3 of stage 00's train split, and levels 4-5 too when an all-levels reference is trained;
    ``sample.reward_max_problems`` keeps a seeded subset of each group."""
    train = load_split(p, "train")
    easy = _capped(p, [r for r in train if r.get("level") in EASY_LEVELS])
    if not easy:
        raise ValueError(f"{layout(p).split('train')}: no level 1-3 problems to sample reward data from")
    if not needs_hard_problems(p.reward.kinds):
        return easy
    hard = _capped(p, [r for r in train if r.get("level") in HARD_LEVELS])
    if not hard:
        raise ValueError(f"reward.kinds {p.reward.kinds} asks for reward models trained on all levels, but "
                         f"{layout(p).split('train')} has no level 4-5 problems (data.task_train)")
    return easy + hard


def sample_reward_data(p, progress: bool = True, part: tuple[int, int] | None = None) -> pd.DataFrame | None:
    """Write the run's ``reward_data/samples.parquet`` (pool schema) and return it; with ``workers`` > 1 the shards
    are sampled by that many processes side by side first. ``part``: sample one part's shards only (a worker)."""
    if part is None and p.workers > 1 and pick_backend(p.sample.backend) == "hf":
        run_parts("sample-reward-data", p)
    return sample_pool(reward_training_problems(p), policy_path(p), reward_data_settings(p.sample),
                       layout(p).reward_samples, split="train", progress=progress, part=part)
