"""Two CPU processes (gloo) train the same SFT update as one process: the multi-GPU path, tested without GPUs."""

import pytest
import torch
import yaml
from transformers import AutoModelForCausalLM

from e2h import embedded_task as tasks
from e2h.format import format_prompt
from e2h.io import write_jsonl
from e2h.stages.jobs import job_command, train_job
from e2h.training.launch import launch_command
from e2h.models import make_tiny_model

LR = 3e-3


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("mp")
    records = tasks.generate(4, split="train", seed=0)
    base = make_tiny_model(root / "base", [format_prompt(r["problem"]) + r["solution"] for r in records], seed=0)
    for name in ("two", "one"):
        write_jsonl(root / "runs" / name / "data" / "train.jsonl", records)
    params = {"data": {"source": "embedded"}, "runs_dir": str(root / "runs"), "model": {"base": str(base)},
              "sft": {"batch_size": 6, "micro_batch_size": 2, "epochs": 2, "max_steps": 3, "lr": LR,
                      "warmup_ratio": 0.0, "lr_schedule": "constant", "mixed_precision": "no", "num_processes": 2}}
    path = root / "two.yaml"
    path.write_text(yaml.safe_dump(params))
    return path, root


def test_cpu_launch_uses_torchrun_with_gloo_env(run):
    cmd, env = job_command("sft", run[0], cpu=True)
    assert cmd[1:4] == ["-m", "torch.distributed.run", "--nproc_per_node"] and env["ACCELERATE_USE_CPU"] == "1"
    assert cmd[4] == "2" and cmd[-4:] == ["-m", "e2h.stages", "sft", str(run[0].resolve())]
    cmd, env = launch_command("e2h.stages", ["prm", str(run[0])], 8, "params/accelerate/fsdp_7b_8gpu.yaml",
                              cpu=False)
    assert cmd[1] == "launch" and "--config_file" in cmd and cmd[-2:] == ["prm", str(run[0])]


def test_two_processes_match_one(run):
    path, root = run
    two = train_job("sft", path)
    one = train_job("sft", path, overrides={"name": "one", "sft": {"num_processes": 1}})
    assert two == root / "runs" / "two" / "sft" and one == root / "runs" / "one" / "sft"
    import json

    rec2, rec1 = (json.loads((d / "losses.json").read_text()) for d in (two, one))
    assert rec2["world_size"] == 2 and rec1["world_size"] == 1
    assert rec2["loss"] == pytest.approx(rec1["loss"], rel=1e-5)
    a = AutoModelForCausalLM.from_pretrained(two).state_dict()
    b = AutoModelForCausalLM.from_pretrained(one).state_dict()
    base = AutoModelForCausalLM.from_pretrained(root / "base").state_dict()
    for k in a:
        diff = (a[k] - b[k]).abs()
        # Adam turns rounding-level gradient differences into at most a fraction of lr on single weights.
        assert diff.max() <= LR / 20 and diff.mean() <= LR / 1000, (k, diff.max().item())
        assert not torch.equal(a[k], base[k]), k  # and the weights did move
