"""Sampling N solutions per problem into the sample pool, with a transformers or a vLLM backend.

    pool = sample_pool(problems, model_path, p.sample, "out/samples.parquet")   # graded, sharded, resumable

``load_sampler(model_path, config, backend)`` gives the backend alone (``generate(prompts, config, seeds)`` →
``n`` ``Sample``s per prompt). Importing this package loads neither torch nor vLLM; a backend loads its library
when it is built; ``e2h.rerank.stats`` summarises a pool (pass@k, accuracy per level).
"""

from e2h.sampling.backend import load_sampler, pick_backend
from e2h.sampling.base import FINISH_REASONS, Sample, Sampler, SamplingConfig, config_from_params
from e2h.sampling.shards import POOL_COLUMNS, derive_seed, prepare_problems, sample_pool

__all__ = ["FINISH_REASONS", "POOL_COLUMNS", "Sample", "Sampler", "SamplingConfig", "config_from_params",
           "derive_seed", "load_sampler", "pick_backend", "prepare_problems", "sample_pool"]
