"""Training jobs of stages 01 and 03, run in this process or on several through ``accelerate``.

``train_job("sft", params_file)`` trains the policy; ``train_job("prm", params_file)`` (or ``orm``, ``oprm``, and
the all-levels references ``prm_all`` ...) a reward model. With ``num_processes`` 1 in the job's params section
the work runs here, so a notebook sees progress bars and errors directly; with more, the processes are started by
``e2h.training.launch`` and each rebuilds the same params from the file (and the same ``overrides``), so every rank
trains the same configuration.

Command line (what each process runs): ``python -m e2h.stages.jobs sft params/7b.yaml [--overrides JSON]``.
Stage 07's methods are jobs too (``rl_ppo_prm`` ...): each trains the first seed of ``rl.seeds`` (the stage passes
one seed per job through ``overrides``) on the processes of the method's section.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

JOBS = ("sft", "prm", "orm", "oprm", "prm_all", "orm_all", "oprm_all")  # *_all: the all-levels references
RL_JOBS = ("rl_more_sft", "rl_rest_em", "rl_dpo", "rl_ppo_outcome", "rl_ppo_prm")  # stage 07, one per method


def _check(job: str) -> None:
    if job not in JOBS + RL_JOBS:
        raise ValueError(f"training job {job!r}: expected one of {', '.join(JOBS + RL_JOBS)}")


def _section(p, job: str):
    """The params section whose num_processes / accelerate_config the job runs under."""
    if job.startswith("rl_"):
        from e2h.stages.s07_rl import section

        return section(p, job[3:], p.rl.seeds[0])
    return p.sft if job == "sft" else p.reward


def run_job_here(job: str, params_file: str | os.PathLike, overrides: dict | None = None) -> Path:
    """Train ``job`` in this process (each rank of a multi-process launch calls this)."""
    from e2h.params import load_params

    _check(job)
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
    """The multi-process command of a job, from its params section's ``num_processes`` and ``accelerate_config``."""
    from e2h.params import load_params
    from e2h.training.launch import launch_command

    _check(job)
    p = load_params(params_file, overrides)
    cfg = _section(p, job)
    args = [job, str(Path(params_file).resolve())] + (["--overrides", json.dumps(overrides)] if overrides else [])
    return launch_command(__name__, args, cfg.num_processes, cfg.accelerate_config, cpu=cpu)


def train_job(job: str, params_file: str | os.PathLike, overrides: dict | None = None) -> Path:
    """Train one job here or on several processes, as its params section says; returns the model folder."""
    from e2h.params import load_params
    from e2h.stages.layout import layout
    from e2h.training.launch import run_streaming

    _check(job)
    p = load_params(params_file, overrides)
    if _section(p, job).num_processes <= 1:
        return run_job_here(job, params_file, overrides)
    run_streaming(*job_command(job, params_file, overrides))
    if job.startswith("rl_"):
        return layout(p).rl_policy(job[3:], p.rl.seeds[0])
    return layout(p).policy if job == "sft" else layout(p).reward_model(job)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m e2h.stages.jobs", description=__doc__.split("\n\n")[0])
    ap.add_argument("job", choices=JOBS + RL_JOBS)
    ap.add_argument("params_file")
    ap.add_argument("--overrides", default=None, help="JSON object merged over the params file")
    args = ap.parse_args(argv)
    run_job_here(args.job, args.params_file, json.loads(args.overrides) if args.overrides else None)


if __name__ == "__main__":
    main()
