"""Stage 07's methods on two CPU processes (gloo), the multi-GPU path without GPUs: PPO's rollouts split over the
processes with whitening over both, and DPO's pairs through the shared training loop, both end in a saved policy."""

import json

import pytest
import yaml

from conftest import ROOT
from e2h.params import load_params
from e2h.stages import s07_rl
from e2h.stages.s00_data import build_splits
from e2h.training.launch import launch_command, run_streaming

TWO = {"num_processes": 2, "mixed_precision": "no"}


@pytest.mark.parametrize("method, section", [
    ("ppo_prm", {"steps": 2, "rollouts": 8, "batch_size": 4, "micro_batch_size": 2, "eval_every": 1, "lr": 1e-4}),
    ("dpo", {"n": 3, "max_steps": 2, "batch_size": 4, "micro_batch_size": 2, "eval_every": 1, "lr": 1e-4}),
])
def test_two_processes_train_a_method(tmp_path, method, section):
    raw = yaml.safe_load((ROOT / "params" / "default.yaml").read_text())
    raw.update(runs_dir=str(tmp_path / "runs"), weights=str(ROOT / "weights" / "default"), figures_dir=None)
    raw["data"].update(task_train=[20] * 5, task_val=[4] * 5, task_test=[2] * 5)
    key = "ppo" if method.startswith("ppo") else method
    raw["rl"].update(problems_per_level=4, val_max_problems=6, max_new_tokens=48)
    raw["rl"][key] = {**raw["rl"][key], **section, **TWO}
    path = tmp_path / "params" / "two.yaml"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump(raw))
    p = load_params(path)
    build_splits(p)
    cmd, env = launch_command("e2h.stages", [f"rl_{method}", str(path), "--overrides",
                                                  json.dumps({"rl": {"seeds": [0]}})], 2, cpu=True)
    run_streaming(cmd, env)
    out = s07_rl.layout(p).rl_policy(method, 0)
    assert s07_rl.is_trained(p, method, 0) and (out / "model.safetensors").is_file()
    losses = json.loads((out / "losses.json").read_text())
    assert losses["world_size"] == 2 and len(losses["step"]) == 2
