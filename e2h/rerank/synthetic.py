"""A synthetic scored pool, shaped like a real one, for benchmarks, tests and trying the re-ranking engine.

Levels 1-5; accuracy falls with the level while the number of distinct wrong answers grows (drawn Zipf-like, so a
few wrong answers are popular, as with real policies); 3 % of samples give no answer; 3-10 steps per sample.

Two reward models. ``prm`` scores each step: steps before a wrong sample's first error look like a correct
sample's steps, the rest score lower. Some wrong samples (10 % + 8 % per level) hide their error from the PRM: they
score like correct ones, which is what best-of-N over-selects as N grows. Scores get noisier on harder levels.
``orm`` gives one score per sample, higher for correct samples and for the hidden-error ones.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def synthetic_pool(problems: int, samples: int, seed: int = 0) -> pd.DataFrame:
    """A scored pool shaped like a real one: per-level accuracy, Zipf-distributed wrong answers, PRM-like scores."""
    rng = np.random.default_rng(seed)
    level = np.arange(problems) % 5 + 1
    p_right = np.clip(rng.beta(2, 2, problems) * (1.1 - 0.2 * level), 0.01, 0.95)
    n_wrong = 3 + 6 * level + rng.integers(0, 10, problems)
    P, S = problems, samples
    right = rng.random((P, S)) < p_right[:, None]
    zipf = np.minimum(rng.zipf(1.6, (P, S)), n_wrong[:, None])  # wrong answer ids 1..n_wrong
    none = rng.random((P, S)) < 0.03
    answer_id = np.where(right, 0, zipf)
    steps = rng.integers(3, 11, (P, S))
    hidden = ~right & (rng.random((P, S)) < (0.1 + 0.08 * level)[:, None])
    first_bad = np.where(right | hidden, 99, rng.integers(0, steps))  # wrong samples go astray at some step
    total = int(steps.sum())
    owner = np.repeat(np.arange(P * S), steps.ravel())
    pos = np.arange(total) - np.repeat(np.cumsum(steps.ravel()) - steps.ravel(), steps.ravel())
    good = pos < first_bad.ravel()[owner]
    noise = 0.15 * level.repeat(S)[owner]  # evaluators are less sure on harder problems
    score = np.where(good, rng.beta(5, 1.5, total), rng.beta(2, 3, total))
    score = np.clip(score + noise * (rng.random(total) - 0.5), 0, 1)
    looks_right = (right | hidden).ravel()
    orm = np.where(looks_right, rng.beta(4, 2, P * S), rng.beta(2, 4, P * S))
    pid = np.array([f"p{i:04d}" for i in range(P)])
    answers = np.where(answer_id == 0, "gold", np.char.add("w", answer_id.astype(str)))
    answers = np.where(none, None, answers.astype(object))
    return pd.DataFrame({
        "problem_id": pid.repeat(S), "level": level.repeat(S), "split": "test",
        "sample_idx": np.tile(np.arange(S), P), "text": "", "answer": answers.ravel(),
        "correct": (right & ~none).ravel(), "answer_key": answers.ravel(),
        "scores_prm": np.split(score, np.cumsum(steps.ravel())[:-1]),
        "scores_orm": np.split(orm, np.arange(1, P * S)),
    })
