"""Sampling N solutions per problem into the sample pool, with a transformers or a vLLM backend.

    pool = sample_pool(problems, p.run_dir / "sft", p.sample, p.run_dir / "pool" / "samples.parquet")
    pool = sample_test_pool(p)        # stage 04; sample_reward_data(p) is stage 02

``load_sampler(model_path, config, backend)`` gives the backend alone (``generate(prompts, config, seeds)`` →
``n`` ``Sample``s per prompt). Importing this package loads neither torch nor vLLM; a backend loads its library
when it is built. ``e2h.sampling.stats`` summarises a pool (pass@k, accuracy per level) without either.
"""

from e2h.sampling.base import (FINISH_REASONS, Sample, Sampler, SamplingConfig, config_from_params, load_sampler,
                               pick_backend)
from e2h.sampling.shards import POOL_COLUMNS, derive_seed, prepare_problems, sample_pool
from e2h.sampling.stages import (easy_training_problems, reward_data_settings, reward_training_problems,
                                 sample_reward_data, sample_test_pool)

__all__ = ["FINISH_REASONS", "POOL_COLUMNS", "Sample", "Sampler", "SamplingConfig", "config_from_params",
           "derive_seed", "easy_training_problems", "load_sampler", "pick_backend", "prepare_problems",
           "reward_data_settings", "reward_training_problems", "sample_pool", "sample_reward_data", "sample_test_pool"]
