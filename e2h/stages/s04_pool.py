"""Stage 04: ``sample.n`` samples per test problem from the policy, the pool that is scored and re-ranked
(``notebooks/04_sample``). Sharded and resumable (``e2h.sampling``)."""

from __future__ import annotations

import pandas as pd

from e2h.sampling import sample_pool
from e2h.stages.layout import layout
from e2h.stages.s00_data import load_split
from e2h.stages.s01_policy import policy_path


def sample_test_pool(p, progress: bool = True) -> pd.DataFrame:
    """Write the run's ``pool/samples.parquet`` and return it."""
    return sample_pool(load_split(p, "test"), policy_path(p), p.sample, layout(p).pool, split="test",
                       progress=progress)
