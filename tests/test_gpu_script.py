"""The GPU check (``scripts/gpu_check.sh``, ``benchmarks/gpu.py``) runs its parts with small shapes on any device,
so the command is ready when a GPU is lent: every number it reports is finite and its bound is above it."""

import json
import subprocess
import sys

import pytest

from conftest import ROOT


@pytest.mark.parametrize("part", ["peak", "sample", "score"])
def test_each_part_runs_with_small_shapes(part):
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpu.py"), part, "--tiny", "--batch", "2"],
                         capture_output=True, text=True, timeout=300, check=True).stdout
    result = json.loads(out[out.index("{") if part != "sample" else out.index("["):])
    if part == "peak":
        assert result["matmul_flops"] > 0 and result["bandwidth"] > 0
    elif part == "sample":
        assert all(0 < r["tokens_per_s"] <= r["bound_tokens_per_s"] for r in result)
    else:
        assert result["solutions_per_s"] > 0 and 0 < result["mfu"] <= 1.5
