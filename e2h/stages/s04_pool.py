"""Stage 04: ``sample.n`` samples per test problem (or dev problem, ``data.eval_split: dev``) from the policy, the
pool that is scored and re-ranked (``notebooks/04_sample``). Sharded and resumable (``e2h.sampling``)."""

from __future__ import annotations

import pandas as pd

from e2h.sampling import pick_backend, sample_pool
from e2h.stages.jobs import run_parts
from e2h.stages.layout import layout
from e2h.stages.s00_data import load_split
from e2h.stages.s01_policy import policy_path


def sample_test_pool(p, progress: bool = True, part: tuple[int, int] | None = None) -> pd.DataFrame | None:
    """Write the run's ``pool/samples.parquet`` and return it; with ``workers`` > 1 the shards are sampled by that
    many processes side by side first. ``part``: sample one part's shards only (a worker)."""
    if part is None and p.workers > 1 and pick_backend(p.sample.backend) == "hf":
        run_parts("sample-test-pool", p)
    split = p.data.eval_split
    return sample_pool(load_split(p, split), policy_path(p), p.sample, layout(p).pool, split=split,
                       progress=progress, part=part)
