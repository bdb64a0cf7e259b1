"""The sample pool: one row per (problem, sample), shared by sampling, scoring and re-ranking.

Columns (guide §3):

- ``problem_id`` (str), ``level`` (int, nullable), ``split`` (str), ``sample_idx`` (int), ``text`` (str),
  ``answer`` (str or None when the sample gave no final answer), ``correct`` (bool);
- ``answer_key`` (str or None): the canonical answer; samples whose answers the grader holds equivalent share a key,
  so they vote together. :func:`add_answer_keys` fills it;
- ``scores_<rm>``, one per reward model: the sample's step scores as a list of probabilities in [0, 1] (an ORM has
  one score), so every aggregator is computed later without re-scoring;
- optional ``step_labels``: per-step labels (1 good, 0 bad, -1 unlabelled) for evaluator-quality checks.

Stages call :func:`validate_pool` before writing; errors name the file, the row and the column.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from e2h.io import write_parquet

REQUIRED = ("problem_id", "level", "split", "sample_idx", "text", "answer", "correct")
SCORE_PREFIX = "scores_"


class PoolError(ValueError):
    """A pool that breaks the contract; the message names the file, row and column."""


def score_columns(df: pd.DataFrame) -> list[str]:
    """The ``scores_<rm>`` columns, in column order."""
    return [c for c in df.columns if c.startswith(SCORE_PREFIX)]


def reward_models(df: pd.DataFrame) -> list[str]:
    """The reward-model names ``rm`` of the pool's ``scores_<rm>`` columns."""
    return [c[len(SCORE_PREFIX):] for c in score_columns(df)]


def flatten_lists(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """A column of lists → (all values as float64, length of each row's list). None counts as length 0."""
    items = column.to_numpy()
    if not any(x is None for x in items):  # the common case, kept to C-level loops
        lengths = np.fromiter(map(len, items), dtype=np.int64, count=len(items))
        values = np.concatenate(items).astype(np.float64) if len(items) and lengths.sum() else np.zeros(0)
        return values, lengths
    lengths = np.fromiter((0 if x is None else len(x) for x in items), dtype=np.int64, count=len(items))
    parts = [np.asarray(x, dtype=np.float64) for x in items if x is not None and len(x)]
    values = np.concatenate(parts) if parts else np.zeros(0)
    return values, lengths


def _where(path, df: pd.DataFrame, i: int) -> str:
    row = df.iloc[i]
    head = f"{path}: " if path else ""
    return f"{head}row {i} (problem_id={row['problem_id']!r}, sample_idx={row['sample_idx']})"


def _check_scores(df: pd.DataFrame, col: str, path) -> None:
    values, lengths = flatten_lists(df[col])
    if (lengths == 0).any():
        i = int(np.flatnonzero(lengths == 0)[0])
        raise PoolError(f"{_where(path, df, i)}: {col} is an empty step list; expected at least one score")
    bad = ~np.isfinite(values) | (values < 0) | (values > 1)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        row = int(np.searchsorted(np.cumsum(lengths), k, side="right"))
        step = k - (int(np.cumsum(lengths)[row - 1]) if row else 0)
        what = "a NaN" if np.isnan(values[k]) else f"{float(values[k])!r}, outside [0, 1],"
        raise PoolError(f"{_where(path, df, row)}: {col} has {what} at step {step}; "
                        "expected probabilities in [0, 1]")


def validate_pool(df: pd.DataFrame, path: str | os.PathLike | None = None) -> pd.DataFrame:
    """Check ``df`` against the pool contract and return it; raise :class:`PoolError` naming what is wrong."""
    head = f"{path}: " if path else ""
    if not isinstance(df, pd.DataFrame):
        raise PoolError(f"{head}expected a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise PoolError(f"{head}missing column(s) {', '.join(missing)}; a pool needs {', '.join(REQUIRED)}")
    for col in ("problem_id", "sample_idx", "correct", "split", "text"):
        if df[col].isna().any():
            i = int(np.flatnonzero(df[col].isna().to_numpy())[0])
            raise PoolError(f"{head}row {i}: {col} is missing; only answer, answer_key and level may be null")
    if not pd.api.types.is_integer_dtype(df["sample_idx"]):
        raise PoolError(f"{head}sample_idx has dtype {df['sample_idx'].dtype}; expected integers")
    if not pd.api.types.is_bool_dtype(df["correct"]):
        raise PoolError(f"{head}correct has dtype {df['correct'].dtype}; expected bool")
    levels = pd.to_numeric(df["level"], errors="coerce")
    if (levels.isna() != df["level"].isna()).any() or (levels.dropna() % 1 != 0).any():
        i = int(np.flatnonzero((levels.isna() != df["level"].isna()).to_numpy() | (levels.fillna(0) % 1 != 0))[0])
        raise PoolError(f"{head}row {i}: level {df['level'].iloc[i]} is not an integer (null is allowed)")
    dup = df.duplicated(["problem_id", "sample_idx"]).to_numpy()
    if dup.any():
        raise PoolError(f"{_where(path, df, int(np.flatnonzero(dup)[0]))}: duplicated (problem_id, sample_idx)")
    no_answer = df["answer"].isna().to_numpy()
    if (no_answer & df["correct"].to_numpy()).any():
        i = int(np.flatnonzero(no_answer & df["correct"].to_numpy())[0])
        raise PoolError(f"{_where(path, df, i)}: correct is True but the sample has no answer")
    if "answer_key" in df.columns:
        mismatch = df["answer_key"].isna().to_numpy() != no_answer
        if mismatch.any():
            i = int(np.flatnonzero(mismatch)[0])
            raise PoolError(f"{_where(path, df, i)}: answer_key must be null exactly when answer is null "
                            f"(answer={df['answer'].iloc[i]!r}, answer_key={df['answer_key'].iloc[i]!r})")
    for col in score_columns(df):
        _check_scores(df, col, path)
    if "step_labels" in df.columns:
        values, lengths = flatten_lists(df["step_labels"])
        bad = ~np.isin(values, (-1, 0, 1))
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            row = int(np.searchsorted(np.cumsum(lengths), k, side="right"))
            raise PoolError(f"{_where(path, df, row)}: step_labels holds {float(values[k]):g}; "
                            "expected 1 (good), 0 (bad) or -1 (unlabelled)")
    return df


def read_pool(path: str | os.PathLike) -> pd.DataFrame:
    """Read and validate a pool Parquet file."""
    path = Path(path)
    if not path.is_file():
        raise PoolError(f"{path}: pool file not found")
    return validate_pool(pd.read_parquet(path), path)


def write_pool(df: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Validate, then write atomically (a killed writer leaves no half file)."""
    validate_pool(df, path)
    return write_parquet(path, df)


def _answer_order(df: pd.DataFrame, norm: pd.Series) -> pd.DataFrame:
    """One row per (problem, normalized answer): its count, whether any of its samples is correct, in each
    problem's order of most frequent first (ties: the answer that came first)."""
    frame = pd.DataFrame({"problem_id": df["problem_id"].to_numpy(), "norm": norm.to_numpy(),
                          "correct": df["correct"].to_numpy(), "pos": np.arange(len(df))})
    frame = frame[norm.notna().to_numpy()]
    agg = frame.groupby(["problem_id", "norm"], sort=False).agg(
        count=("pos", "size"), first=("pos", "min"), correct=("correct", "any")).reset_index()
    problem_first = agg.groupby("problem_id", sort=False)["first"].transform("min")
    return agg.assign(problem_first=problem_first).sort_values(
        ["problem_first", "count", "first"], ascending=[True, False, True], kind="stable")


def add_answer_keys(df: pd.DataFrame, *, equivalence: bool = True, timeout: float = 5.0,
                    max_calls: int | None = None, workers: int | None = None, progress: bool = True,
                    report: dict | None = None) -> pd.DataFrame:
    """Return a copy of ``df`` with ``answer_key``: the normalized answer, merged across grader-equivalent answers.

    Within a problem, every answer graded correct is equivalent to the reference answer, so those share one key
    (the most frequent of them). The remaining distinct normalized answers, most frequent first (ties: the first
    seen), are grouped as the grader decides (:func:`e2h.grading.group.group_answers`): each joins the first
    cluster whose first answer the grader holds equal to it, either way round; keys of the answers spare the
    comparisons that cannot succeed, so the clusters are those of comparing with every cluster, in near-linear
    time, on ``workers`` grader children (default all cores). ``max_calls`` bounds the grader calls per problem
    (default ``group.MAX_CALLS``); answers it leaves unmerged are counted in ``report`` (a dict, filled with the
    counts of :func:`group_answers`) and warned about. ``equivalence=False`` keeps the normalized strings only.
    """
    from e2h.grading import normalize_answer  # the string work needs no sympy; the grader's children do
    from e2h.grading.group import MAX_CALLS, group_answers

    out = df.copy()
    norm = pd.Series([None if a is None or (isinstance(a, float) and np.isnan(a)) else normalize_answer(a)
                      for a in out["answer"]], index=out.index, dtype=object)
    order = _answer_order(out, norm)
    right_key: dict = {}  # problem -> its most frequent correct answer
    wrong: dict = {}  # problem -> its other answers, most frequent first
    for pid, answer, correct in zip(order["problem_id"], order["norm"], order["correct"]):
        if correct:  # all equivalent to the reference answer, hence to each other
            right_key.setdefault(pid, answer)
        else:
            wrong.setdefault(pid, []).append(answer)
    clusters: dict = {}
    counts: dict = {}
    if equivalence:
        bound = MAX_CALLS if max_calls is None else max_calls
        clusters, counts = group_answers(wrong, timeout=timeout, workers=workers, max_calls=bound,
                                         progress=progress)
        if counts["unmerged"]:
            warnings.warn(f"add_answer_keys: {counts['unmerged']} answer(s) in {counts['problems_at_bound']} "
                          f"problem(s) were left unmerged at the bound of {bound} grader calls per problem",
                          RuntimeWarning, stacklevel=2)
    if report is not None:
        report.update(counts)
    correct = dict(zip(zip(order["problem_id"], order["norm"]), order["correct"]))

    def key(pid, answer):
        if answer is None:
            return None
        return right_key[pid] if correct[(pid, answer)] else clusters.get(pid, {}).get(answer, answer)
    out["answer_key"] = pd.Series([key(pid, a) for pid, a in zip(out["problem_id"], norm)], index=out.index,
                                  dtype=object)
    return out
