"""Stage 05: every reward model's step scores on the test pool, computed once (``notebooks/05_score``).

Each reward model's scores are kept per step (``scores_<rm>``, a list per row) so that stage 06 computes any
aggregator without scoring again; equivalent answers get one ``answer_key`` here so they vote together.
"""

from __future__ import annotations

import gc

import pandas as pd

from e2h.models.scorer import RewardScorer, score_pool
from e2h.pool import add_answer_keys, read_pool, write_pool
from e2h.stages.jobs import SCORE_PREFIX, run_each
from e2h.stages.layout import layout, reward_model_paths
from e2h.stages.s00_data import load_split


def score_with(p, name: str, pool: pd.DataFrame | None = None) -> pd.DataFrame:
    """Stage 04's pool (or ``pool``) with ``scores_<name>`` from one reward model; its shards land in
    ``pool/scored.shards/`` (resumable, keyed by model and rows)."""
    paths = reward_model_paths(p)
    if name not in paths:
        raise ValueError(f"reward model {name!r}: this run scores with {', '.join(paths)}")
    where = layout(p)
    pool = read_pool(where.pool) if pool is None else pool
    problems = {str(r["unique_id"]): r["problem"] for r in load_split(p, p.data.eval_split)}
    scorer = RewardScorer(paths[name], dtype=p.score.dtype)
    out = score_pool(pool, scorer, name, problems, shard_dir=where.score_shards, shard_size=p.score.shard_size,
                     batch_size=p.score.batch_size)
    del scorer
    gc.collect()  # one 7b model at a time
    return out


def score_test_pool(p) -> pd.DataFrame:
    """Add ``scores_<rm>`` for every reward model to stage 04's pool and write the run's ``pool/scored.parquet``.
    With ``workers`` > 1 the reward models score side by side first (each into its shards), then the pool is
    put together from the shards."""
    names = list(reward_model_paths(p))
    if p.workers > 1 and len(names) > 1:
        run_each([SCORE_PREFIX + name for name in names], p)
    where = layout(p)
    pool = read_pool(where.pool)
    problems = {str(r["unique_id"]): r["problem"] for r in load_split(p, p.data.eval_split)}
    for name in names:
        pool = score_with(p, name, pool)
    if "answer_key" not in pool.columns:  # equivalent answers vote together in stage 06: decide it once, here
        pool = add_answer_keys(pool)
    if p.data.source == "embedded":
        # For the step AUROC of stage 06 only: no model is trained on, or selected by, test-set labels.
        from e2h.embedded_task import step_labels

        pool["step_labels"] = [step_labels(problems[str(r.problem_id)], r.text) for r in pool.itertuples()]
    write_pool(pool, where.scored_pool)
    return pool


def min_step_scores(pool: pd.DataFrame) -> pd.DataFrame:
    """Long table of each sample's minimum step score per reward model, beside its verdict: ``rm, min step score,
    answer`` (correct / wrong)."""
    rms = [c.removeprefix("scores_") for c in pool.columns if c.startswith("scores_")]
    verdict = pool["correct"].map({True: "correct", False: "wrong"})
    return pd.concat([pd.DataFrame({"rm": rm, "min step score": pool[f"scores_{rm}"].map(min), "answer": verdict})
                      for rm in rms], ignore_index=True)
