"""The independent jobs of a stage, run in this process, on several processes through ``accelerate``, or side by
side on the cores (``workers`` in the params file).

- training jobs of stages 01 and 03: ``sft`` (the policy), ``prm`` / ``orm`` / ``oprm`` and the all-levels
  references ``prm_all`` ...; ``train_job`` runs one (with ``num_processes`` > 1 under accelerate, every rank
  rebuilding the same params from the file), ``train_jobs`` runs several, ``workers`` at a time;
- sampling and scoring parts: ``sample-reward-data`` and ``sample-test-pool`` with ``--part i/k`` (every k-th
  shard), ``score-<rm>`` (one reward model's score shards). A stage starts its parts side by side, then assembles
  their shards (``e2h.sampling``, ``e2h.models.scorer``: shards on disk are reused, not recomputed).

Each job is a command, ``python -m e2h.stages <job> PARAMS [--part i/k] [--overrides JSON]``; a job run side by
side gets an even share of the cores (``OMP_NUM_THREADS``) and gives the same result as run alone at that many
threads.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

TRAINING = ("sft", "prm", "orm", "oprm", "prm_all", "orm_all", "oprm_all")  # *_all: the all-levels references
SAMPLING = ("sample-reward-data", "sample-test-pool")
SCORE_PREFIX = "score-"


def check_job(job: str) -> None:
    if job not in TRAINING + SAMPLING and not job.startswith(SCORE_PREFIX):
        raise ValueError(f"job {job!r}: expected one of {', '.join(TRAINING + SAMPLING)} or score-<rm>")


def command(job: str, params_file: str | os.PathLike, *, part: tuple[int, int] | None = None,
            overrides: dict | None = None) -> list[str]:
    """The command line that runs one job in a process of its own."""
    check_job(job)
    cmd = [sys.executable, "-m", "e2h.stages", job, str(Path(params_file).resolve())]
    if part is not None:
        cmd += ["--part", f"{part[0]}/{part[1]}"]
    return cmd + (["--overrides", json.dumps(overrides)] if overrides else [])


def run_training_here(job: str, params_file: str | os.PathLike, overrides: dict | None = None) -> Path:
    """Train ``job`` in this process (each rank of a multi-process launch calls this)."""
    from e2h.params import load_params

    if job not in TRAINING:
        raise ValueError(f"training job {job!r}: expected one of {', '.join(TRAINING)}")
    p = load_params(params_file, overrides)
    if job == "sft":
        from e2h.stages.s01_policy import train_policy

        return train_policy(p)
    from e2h.stages.s03_reward_models import train_reward

    return train_reward(p, job)


def job_command(job: str, params_file: str | os.PathLike, overrides: dict | None = None,
                cpu: bool | None = None) -> tuple[list[str], dict]:
    """The multi-process command of a training job, from its section's ``num_processes`` and ``accelerate_config``."""
    from e2h.params import load_params
    from e2h.training.launch import launch_command

    p = load_params(params_file, overrides)
    cfg = p.sft if job == "sft" else p.reward
    args = command(job, params_file, overrides=overrides)[3:]
    return launch_command("e2h.stages", args, cfg.num_processes, cfg.accelerate_config, cpu=cpu)


def _model_folder(p, job: str) -> Path:
    from e2h.stages.layout import layout

    return layout(p).policy if job == "sft" else layout(p).reward_model(job)


def train_job(job: str, params_file: str | os.PathLike, overrides: dict | None = None) -> Path:
    """Train one job here or on several processes, as its params section says; returns the model folder."""
    from e2h.params import load_params
    from e2h.training.launch import run_streaming

    p = load_params(params_file, overrides)
    if (p.sft if job == "sft" else p.reward).num_processes <= 1:
        return run_training_here(job, params_file, overrides)
    run_streaming(*job_command(job, params_file, overrides))
    return _model_folder(p, job)


def train_jobs(jobs: list[str], params_file: str | os.PathLike, overrides: dict | None = None) -> dict[str, Path]:
    """Train several jobs: ``workers`` at a time side by side (one process each, the cores shared out), or one
    after another (in this process, or under accelerate when a job uses several processes)."""
    from e2h.params import load_params
    from e2h.training.launch import run_parallel

    p = load_params(params_file, overrides)
    single = all((p.sft if j == "sft" else p.reward).num_processes <= 1 for j in jobs)
    if p.workers <= 1 or len(jobs) <= 1 or not single:
        return {job: train_job(job, params_file, overrides) for job in jobs}
    run_parallel({job: command(job, params_file, overrides=overrides) for job in jobs}, p.workers)
    return {job: _model_folder(p, job) for job in jobs}


def run_parts(job: str, p) -> None:
    """Run ``job`` of params ``p`` as ``p.workers`` parts side by side (``--part i/k``), each filling its share of
    the shards."""
    from e2h.training.launch import run_parallel

    k = p.workers
    run_parallel({f"{job} {i + 1}/{k}": command(job, p.params_file, part=(i, k), overrides=p.overrides)
                  for i in range(k)}, k)


def run_each(jobs: list[str], p) -> None:
    """Run independent jobs of params ``p`` (``score-<rm>`` ...), ``p.workers`` at a time side by side."""
    from e2h.training.launch import run_parallel

    run_parallel({job: command(job, p.params_file, overrides=p.overrides) for job in jobs}, p.workers)
