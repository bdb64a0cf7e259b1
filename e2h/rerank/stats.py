"""What a freshly sampled pool says before any reward model sees it: pass@k, single-sample accuracy per level,
and the correctness mix of the ORM training data. Pure pandas/numpy (no torch), so a laptop redraws it.

Intervals are percentile bootstraps over problems (samples of one problem are not independent draws of the
benchmark, problems are), 1,000 resamples, seeded.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from e2h.data.splits import EASY_LEVELS, HARD_LEVELS

BOOTSTRAP_RESAMPLES = 1000
CI_METHOD = f"95% percentile bootstrap over problems, {BOOTSTRAP_RESAMPLES} resamples"


def pass_at_k(n: np.ndarray, c: np.ndarray, k: int) -> np.ndarray:
    """Unbiased pass@k per problem from ``n`` samples with ``c`` correct: 1 - C(n-c, k) / C(n, k)."""
    n, c = np.asarray(n, dtype=np.int64), np.asarray(c, dtype=np.int64)
    if k < 1 or (n < k).any():
        raise ValueError(f"pass@{k} needs k >= 1 and at least k samples per problem; smallest n is {n.min()}")
    out = np.ones(len(n))
    for i, (ni, ci) in enumerate(zip(n, c)):
        if ni - ci >= k:  # product form of the binomial ratio: no overflow at n = 1024
            out[i] = 1.0 - np.prod(1.0 - k / np.arange(ni - ci + 1, ni + 1))
    return out


def _bootstrap_ci(values: np.ndarray, seed: int = 0) -> tuple[float, float]:
    if len(values) == 0:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), (BOOTSTRAP_RESAMPLES, len(values)))].mean(axis=1)
    lo, hi = np.percentile(means, [2.5, 97.5])
    return float(lo), float(hi)


def _groups(levels: pd.Series) -> dict[str, np.ndarray]:
    """all / easy / hard and each level present, as boolean masks over problems."""
    lv = levels.to_numpy(dtype=float, na_value=np.nan)
    groups = {"all": np.ones(len(lv), bool), "easy (1-3)": np.isin(lv, EASY_LEVELS),
              "hard (4-5)": np.isin(lv, HARD_LEVELS)}
    for level in sorted({int(x) for x in lv if not np.isnan(x)}):
        groups[f"level {level}"] = lv == level
    return {g: m for g, m in groups.items() if m.any()}


def per_problem(pool: pd.DataFrame) -> pd.DataFrame:
    """One row per problem: level, samples n, correct c."""
    return (pool.groupby("problem_id", sort=False)
            .agg(level=("level", "first"), n=("correct", "size"), c=("correct", "sum")).reset_index())


def pass_at_k_table(pool: pd.DataFrame, ks=None, seed: int = 0) -> pd.DataFrame:
    """pass@k for k = 1, 2, 4, ... up to the samples per problem, per group: ``group, k, pass_at_k, ci_low,
    ci_high, problems``. pass@1 is the accuracy of a single sample; pass@k is an upper bound for any re-ranker
    choosing among k samples."""
    probs = per_problem(pool)
    n_min = int(probs["n"].min())
    ks = ks or [k for k in (2 ** i for i in range(20)) if k <= n_min]
    rows = []
    for group, mask in _groups(probs["level"]).items():
        sub = probs[mask]
        for k in ks:
            v = pass_at_k(sub["n"], sub["c"], k)
            lo, hi = _bootstrap_ci(v, seed)
            rows.append({"group": group, "k": k, "pass_at_k": v.mean(), "ci_low": lo, "ci_high": hi,
                         "problems": len(sub)})
    return pd.DataFrame(rows)


def accuracy_by_level(pool: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Accuracy of single samples per group (each problem weighted equally): ``group, accuracy, ci_low, ci_high,
    problems, samples``."""
    probs = per_problem(pool)
    acc = (probs["c"] / probs["n"]).to_numpy()
    rows = []
    for group, mask in _groups(probs["level"]).items():
        lo, hi = _bootstrap_ci(acc[mask], seed)
        rows.append({"group": group, "accuracy": acc[mask].mean(), "ci_low": lo, "ci_high": hi,
                     "problems": int(mask.sum()), "samples": int(probs["n"][mask].sum())})
    return pd.DataFrame(rows)


def correctness_summary(pool: pd.DataFrame) -> pd.DataFrame:
    """Per level, the mix an ORM is trained on: sample accuracy, problems with no / some / all samples correct
    (only "some" give both labels), samples that stopped at EOS and that carry an answer, mean tokens."""
    df = pool.assign(level=pool["level"].astype("Int64"), has_answer=pool["answer"].notna(),
                     stopped=pool["finish_reason"] == "stop")
    probs = df.groupby("problem_id").agg(level=("level", "first"), n=("correct", "size"), c=("correct", "sum"))
    probs["none"], probs["all"] = probs["c"] == 0, probs["c"] == probs["n"]
    by_level = df.groupby("level", dropna=False).agg(
        samples=("correct", "size"), accuracy=("correct", "mean"), stopped=("stopped", "mean"),
        with_answer=("has_answer", "mean"), mean_tokens=("num_tokens", "mean"))
    p = probs.groupby("level", dropna=False).agg(problems=("n", "size"), none_correct=("none", "mean"),
                                                 all_correct=("all", "mean"))
    out = p.join(by_level)
    out["both_labels"] = 1 - out["none_correct"] - out["all_correct"]
    return out[["problems", "samples", "accuracy", "none_correct", "both_labels", "all_correct", "stopped",
                "with_answer", "mean_tokens"]]


def show_samples(pool: pd.DataFrame, count: int = 3, seed: int = 0) -> str:
    """A few samples as the model saw and wrote them (prompt, then completion), with answer and verdict."""
    rows = pool.sample(n=min(count, len(pool)), random_state=seed)
    parts = []
    for r in rows.itertuples():
        verdict = "correct" if r.correct else "wrong"
        answer = r.answer if isinstance(r.answer, str) else None  # parquet gives a missing answer back as NaN
        parts.append(f"=== {r.problem_id} · level {r.level} · sample {r.sample_idx} · {r.num_tokens} tokens, "
                     f"{r.finish_reason} · answer {answer!r} ({verdict})\n{r.prompt}{r.text}")
    return "\n\n".join(parts)
