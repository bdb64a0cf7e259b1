"""Run a training stage in this process (one device) or under ``accelerate launch`` (several), from a notebook.

``train_stage("sft", params_file)`` trains the policy; ``train_stage("prm", params_file)`` (or ``orm``, ``oprm``)
a reward model. With ``num_processes`` 1 in the stage's params section the work runs here, so a notebook sees
progress bars and errors directly. With more, it starts ``accelerate launch --config_file <accelerate_config>
--num_processes N -m e2h.launch <stage> <params_file>`` and streams its output; the processes rebuild the same
params from the file (and the same ``overrides``), so every rank trains the same configuration. On a machine
without CUDA the processes are started by ``torch.distributed.run`` instead (accelerate's own launcher needs MPI
for CPU processes); ``accelerate`` then runs them as MULTI_CPU over gloo.

Command line (what the subprocess runs): ``python -m e2h.launch sft params/7b.yaml [--overrides JSON]``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

STAGES = ("sft", "prm", "orm", "oprm", "prm_all", "orm_all", "oprm_all")  # *_all: the all-levels references


def _section(p, stage: str):
    return p.sft if stage == "sft" else p.reward


def run_here(stage: str, params_file: str | os.PathLike, overrides: dict | None = None) -> Path:
    """Train ``stage`` in this process (each rank of an ``accelerate launch`` calls this)."""
    from e2h.params import load_params

    if stage not in STAGES:
        raise ValueError(f"stage {stage!r}: expected one of {', '.join(STAGES)}")
    p = load_params(params_file, overrides)
    if stage == "sft":
        from e2h.sft import train_sft

        return train_sft(p)
    from e2h.reward_train import train_reward

    return train_reward(p, stage)


def launch_command(stage: str, params_file: str | os.PathLike, num_processes: int,
                   accelerate_config: str | None, overrides: dict | None = None,
                   cpu: bool | None = None) -> tuple[list[str], dict]:
    """The command (and extra environment) that runs ``stage`` on ``num_processes`` processes."""
    import torch

    cpu = not torch.cuda.is_available() if cpu is None else cpu
    args = ["-m", "e2h.launch", stage, str(Path(params_file).resolve())]
    if overrides:
        args += ["--overrides", json.dumps(overrides)]
    if cpu:
        return ([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(num_processes),
                 "--master_addr", "127.0.0.1", "--master_port", str(_free_port())] + args,
                {"ACCELERATE_USE_CPU": "1", "OMP_NUM_THREADS": "1"})
    accelerate = shutil.which("accelerate", path=str(Path(sys.executable).parent)) or shutil.which("accelerate")
    if accelerate is None:
        raise FileNotFoundError("the `accelerate` command is not installed next to this Python")
    cmd = [accelerate, "launch", "--num_processes", str(num_processes), "--main_process_port", str(_free_port())]
    if accelerate_config:
        cmd += ["--config_file", str(accelerate_config)]
    return cmd + args, {}


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def train_stage(stage: str, params_file: str | os.PathLike, overrides: dict | None = None) -> Path:
    """Train one stage here or on several processes, as the stage's params section says; returns the model
    folder (``<run_dir>/sft`` or ``<run_dir>/rm/<kind>``)."""
    from e2h.params import load_params

    p = load_params(params_file, overrides)
    cfg = _section(p, stage)
    if cfg.num_processes <= 1:
        return run_here(stage, params_file, overrides)
    cmd, extra_env = launch_command(stage, params_file, cfg.num_processes, cfg.accelerate_config, overrides)
    env = dict(os.environ, PYTHONUNBUFFERED="1", **extra_env)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    tail: list[str] = []
    for line in proc.stdout:  # stream into the notebook / terminal as it comes
        print(line, end="")
        tail = (tail + [line])[-40:]
    if proc.wait() != 0:
        raise RuntimeError(f"`{' '.join(cmd)}` failed with exit code {proc.returncode}; last lines:\n"
                           + "".join(tail))
    return Path(p.run_dir) / ("sft" if stage == "sft" else f"rm/{stage}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m e2h.launch", description=__doc__.split("\n\n")[0])
    ap.add_argument("stage", choices=STAGES)
    ap.add_argument("params_file")
    ap.add_argument("--overrides", default=None, help="JSON object merged over the params file")
    args = ap.parse_args(argv)
    run_here(args.stage, args.params_file, json.loads(args.overrides) if args.overrides else None)


if __name__ == "__main__":
    main()
