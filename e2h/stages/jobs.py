"""The independent jobs of a stage, run in this process, on several processes through ``accelerate``, or side by
side on the cores (``workers`` in the params file).

- training jobs of stages 01 and 03: ``sft`` (the policy), ``prm`` / ``orm`` / ``oprm`` and the all-levels
  references ``prm_all`` ...; ``train_job`` runs one (with ``num_processes`` > 1 under accelerate, every rank
  rebuilding the same params from the file), ``train_jobs`` runs several, ``workers`` at a time;
- sampling and scoring parts: ``sample-reward-data`` and ``sample-test-pool`` with ``--part i/k`` (every k-th
  shard), ``score-<rm>`` (one reward model's score shards). A stage starts its parts side by side, then assembles
  their shards (``e2h.sampling``, ``e2h.models.scorer``: shards on disk are reused, not recomputed);
- stage 07's methods: ``rl_ppo_prm`` ... each trains the first seed of ``rl.seeds`` (the stage passes one seed per
  job through ``overrides``) on the processes of the method's section.

Each job is a command, ``python -m e2h.stages <job> PARAMS [--part i/k] [--overrides JSON]``; a job run side by
side gets an even share of the cores (``OMP_NUM_THREADS``) and gives the same result as run alone at that many
threads.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

REWARD_MODELS = ("prm", "orm", "oprm", "prm_all", "orm_all", "oprm_all")  # *_all: the all-levels references
RL_JOBS = ("rl_more_sft", "rl_rest_em", "rl_dpo", "rl_ppo_outcome", "rl_ppo_prm")  # stage 07, one per method
TRAINING = ("sft",) + REWARD_MODELS + RL_JOBS
SAMPLING = ("sample-reward-data", "sample-test-pool")
SCORE_PREFIX = "score-"


def check_job(job: str) -> None:
    if job not in TRAINING + SAMPLING and not job.startswith(SCORE_PREFIX):
        raise ValueError(f"job {job!r}: expected one of {', '.join(TRAINING + SAMPLING)} or score-<rm>")


def section(p, job: str):
    """The params section whose ``num_processes`` / ``accelerate_config`` a training job runs under."""
    if job.startswith("rl_"):
        from e2h.stages.s07_rl import section as rl_section

        return rl_section(p, job[3:], p.rl.seeds[0])
    return p.sft if job == "sft" else p.reward


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
    if job.startswith("rl_"):
        from e2h.stages.s07_rl import train_method

        return train_method(p, job[3:], p.rl.seeds[0])
    from e2h.stages.s03_reward_models import train_reward

    return train_reward(p, job)


def job_command(job: str, params_file: str | os.PathLike, overrides: dict | None = None,
                cpu: bool | None = None) -> tuple[list[str], dict]:
    """The multi-process command of a training job, from its section's ``num_processes`` and ``accelerate_config``."""
    from e2h.params import load_params
    from e2h.training.launch import launch_command

    p = load_params(params_file, overrides)
    cfg = section(p, job)
    args = command(job, params_file, overrides=overrides)[3:]
    return launch_command("e2h.stages", args, cfg.num_processes, cfg.accelerate_config, cpu=cpu)


def _model_folder(p, job: str) -> Path:
    from e2h.stages.layout import layout

    if job.startswith("rl_"):
        return layout(p).rl_policy(job[3:], p.rl.seeds[0])
    return layout(p).policy if job == "sft" else layout(p).reward_model(job)


def train_job(job: str, params_file: str | os.PathLike, overrides: dict | None = None) -> Path:
    """Train one job here or on several processes, as its params section says; returns the model folder."""
    from e2h.params import load_params
    from e2h.training.launch import run_streaming

    p = load_params(params_file, overrides)
    if section(p, job).num_processes <= 1:
        return run_training_here(job, params_file, overrides)
    run_streaming(*job_command(job, params_file, overrides))
    return _model_folder(p, job)


def train_jobs(jobs: list[str], params_file: str | os.PathLike, overrides: dict | None = None) -> dict[str, Path]:
    """Train several jobs: ``workers`` at a time side by side (one process each, the cores shared out), or one
    after another (in this process, or under accelerate when a job uses several processes)."""
    from e2h.params import load_params
    from e2h.training.launch import run_parallel

    p = load_params(params_file, overrides)
    single = all(section(p, j).num_processes <= 1 for j in jobs)
    if p.workers <= 1 or len(jobs) <= 1 or not single:
        return {job: train_job(job, params_file, overrides) for job in jobs}
    run_parallel({job: command(job, params_file, overrides=overrides) for job in jobs}, p.workers)
    return {job: _model_folder(p, job) for job in jobs}


def train_rl(p, params_file):
    """Stage 07's trainings, every method under every seed: ``workers`` units side by side (one process each), or
    one after another here or on ``num_processes`` processes. One row per unit with its wall time (0 when it was
    done already; side by side, the wall time of them all)."""
    import time

    import pandas as pd

    from e2h.stages.s07_rl import ORDER, is_trained, section as rl_section, train_method
    from e2h.training.launch import run_parallel, run_streaming

    units = [(m, s) for m in ORDER if m in p.rl.methods for s in p.rl.seeds]
    todo = [(m, s) for m, s in units if not is_trained(p, m, s)]

    def one_seed(seed: int) -> dict:
        overrides = dict(p.overrides or {})
        overrides["rl"] = {**overrides.get("rl", {}), "seeds": [seed]}
        return overrides

    seconds = {}
    if p.workers > 1 and len(todo) > 1 and all(rl_section(p, m, s).num_processes <= 1 for m, s in todo):
        t0 = time.perf_counter()
        run_parallel({f"{m} seed {s}": command(f"rl_{m}", params_file, overrides=one_seed(s)) for m, s in todo},
                     p.workers)
        seconds = {unit: time.perf_counter() - t0 for unit in todo}
    else:
        for m, s in todo:
            t0 = time.perf_counter()
            if rl_section(p, m, s).num_processes > 1:
                run_streaming(*job_command(f"rl_{m}", params_file, one_seed(s)))
            else:
                train_method(p, m, s)
            seconds[(m, s)] = time.perf_counter() - t0
    return pd.DataFrame([{"method": m, "seed": s, "seconds": seconds.get((m, s), 0.0)} for m, s in units])


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
