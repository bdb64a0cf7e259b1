"""The independent jobs of a stage side by side (``workers``): the same models, samples and scores as one after
another at the same threads per job."""

import os
import shutil
import subprocess
import sys

import pandas as pd
import pytest

from conftest import ROOT
from e2h.params import load_params
from e2h.stages import jobs
from e2h.stages.s00_data import build_splits
from e2h.stages.s01_policy import train_policy
from e2h.stages.s02_reward_data import sample_reward_data


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The smoke run up to its reward data (stage 02), shared by the tests below."""
    root = tmp_path_factory.mktemp("jobs")
    over = {"runs_dir": str(root / "runs"), "name": "a",
            "reward": {"kinds": ["prm", "orm"], "max_steps": 6}}
    p = load_params(ROOT / "params" / "smoke.yaml", over)
    build_splits(p)
    train_policy(p)
    sample_reward_data(p, progress=False)
    return root, over


def _copy_run(root, name):
    shutil.copytree(root / "runs" / "a", root / "runs" / name, ignore=shutil.ignore_patterns("rm"))
    return name


def test_reward_models_side_by_side_equal_one_after_another(trained):
    root, over = trained
    side = {**over, "name": _copy_run(root, "side"), "workers": 2}
    paths = jobs.train_jobs(["prm", "orm"], ROOT / "params" / "smoke.yaml", side)
    one = {**over, "name": _copy_run(root, "one")}
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    for job in ("prm", "orm"):  # one after another, at the one thread each job had side by side
        subprocess.run(jobs.command(job, ROOT / "params" / "smoke.yaml", overrides=one), check=True, env=env,
                       capture_output=True)
    for job in ("prm", "orm"):
        a = (paths[job] / "model.safetensors").read_bytes()
        b = (root / "runs" / "one" / "rm" / job / "model.safetensors").read_bytes()
        assert a == b, job


def test_sampling_in_parts_equals_sampling_whole(trained):
    root, over = trained
    whole = load_params(ROOT / "params" / "smoke.yaml", {**over, "name": _copy_run(root, "whole")})
    shutil.rmtree(root / "runs" / "whole" / "reward_data")
    ref = sample_reward_data(whole, progress=False)
    parts = load_params(ROOT / "params" / "smoke.yaml", {**over, "name": _copy_run(root, "parts"), "workers": 2})
    shutil.rmtree(root / "runs" / "parts" / "reward_data")
    got = sample_reward_data(parts, progress=False)  # two processes fill the shards, this one assembles them
    shards = list((root / "runs" / "parts" / "reward_data").rglob("shard-*.parquet"))
    assert len(shards) > 2
    pd.testing.assert_frame_equal(got.reset_index(drop=True), ref.reset_index(drop=True))


def test_a_failing_job_is_named(tmp_path):
    from e2h.training.launch import run_parallel

    ok = [sys.executable, "-c", "print('fine')"]
    bad = [sys.executable, "-c", "import sys; print('it broke here'); sys.exit(3)"]
    with pytest.raises(RuntimeError, match=r"bad \(exit code 3\):\nit broke here"):
        run_parallel({"ok": ok, "bad": bad}, 2)
