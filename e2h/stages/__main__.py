"""One job of a stage in a process of its own: ``python -m e2h.stages <job> PARAMS [--part i/k]``.

What ``e2h.stages.jobs`` starts: training jobs (``sft``, ``prm`` ...; also each rank of an accelerate launch),
parts of a sampling stage, one reward model's scoring. The stage that started it assembles the results.
"""

from __future__ import annotations

import argparse
import json

from e2h.stages.jobs import SCORE_PREFIX, TRAINING, check_job


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m e2h.stages", description=__doc__.split("\n\n")[0])
    ap.add_argument("job")
    ap.add_argument("params_file")
    ap.add_argument("--part", default=None, help="i/k: this process samples every k-th shard from shard i")
    ap.add_argument("--overrides", default=None, help="JSON object merged over the params file")
    args = ap.parse_args(argv)
    check_job(args.job)
    overrides = json.loads(args.overrides) if args.overrides else None
    if args.job in TRAINING:
        from e2h.stages.jobs import run_training_here

        run_training_here(args.job, args.params_file, overrides)
        return
    from e2h.params import load_params

    p = load_params(args.params_file, overrides)
    part = tuple(int(x) for x in args.part.split("/")) if args.part else None
    if args.job == "sample-reward-data":
        from e2h.stages.s02_reward_data import sample_reward_data

        sample_reward_data(p, part=part)
    elif args.job == "sample-test-pool":
        from e2h.stages.s04_pool import sample_test_pool

        sample_test_pool(p, part=part)
    else:
        from e2h.stages.s05_scores import score_with

        score_with(p, args.job.removeprefix(SCORE_PREFIX))


if __name__ == "__main__":
    main()
