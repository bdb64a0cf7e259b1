"""The vLLM backend passes the same contract as the transformers one (sampling_contract.py).

vLLM is not in the main venv (its CPU build pins an older transformers): these tests skip there and run in the
second venv that scripts/setup_vllm_venv.sh builds:

    bash scripts/setup_vllm_venv.sh && .venv-vllm/bin/python -m pytest -q tests/test_sampling_vllm.py

One engine is started for the module (~20-60 s on two cores, eager mode: no compile).
"""

from __future__ import annotations

import os

import pandas as pd
import pytest

from e2h.sampling.backend import vllm_available

if not vllm_available():
    pytest.skip("vllm is not installed in this venv; build .venv-vllm with scripts/setup_vllm_venv.sh and run "
                "this file with .venv-vllm/bin/python -m pytest", allow_module_level=True)

from e2h.sampling import SamplingConfig, load_sampler, sample_pool  # noqa: E402
from sampling_contract import *  # noqa: E402,F401,F403  (the shared backend tests run here for vLLM)
from sampling_contract import _params  # noqa: E402


@pytest.fixture(scope="module")
def sampler(policy):
    # On the CPU build, gpu_memory_utilization is the share of RAM vLLM reserves; keep it small on a shared
    # machine, and the KV cache (GiB) too.
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
    s = load_sampler(policy, SamplingConfig(dtype="float32", gpu_memory_utilization=0.25), backend="vllm",
                     enforce_eager=True)
    yield s
    s.close()


def test_backend_is_vllm(sampler):
    assert sampler.backend == "vllm"


def test_same_pool_schema_as_the_transformers_backend(sampler, policy, problems, tmp_path):
    """Column names, order and dtypes of the pool file agree across backends; greedy text agrees too."""
    hf = load_sampler(policy, SamplingConfig(), backend="hf", device="cpu")
    kw = dict(temperature=0.0, n=2)
    a = sample_pool(problems, policy, _params(backend="vllm", **kw), tmp_path / "v.parquet", sampler=sampler,
                    progress=False)
    b = sample_pool(problems, policy, _params(backend="hf", **kw), tmp_path / "h.parquet", sampler=hf,
                    progress=False)
    assert list(a.columns) == list(b.columns)
    assert dict(a.dtypes) == dict(b.dtypes)
    pd.testing.assert_frame_equal(a, b)
