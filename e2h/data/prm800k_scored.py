"""Reader for OpenAI's PRM800K best-of-N samples (``scored-test-samples.jsonl``), as a pool.

One record per sample of OpenAI's generator on a MATH500 problem (see
``$E2H_DATA_DIR/reward-by-prm800k/PROVENANCE.md`` for one record and its schema): ``problem``, ``answer`` (or
``given_answer``; null when the sample gave none), ``is_correct``, ``level``, ``unique_id``, ``steps``,
``rating_probs`` (per step, probabilities of the ratings -1 / 0 / 1), ``prm_score``, ``orm_score``.

The pool gets two reward models: ``scores_prm``, one score per step, P(rating 1) + P(rating 0) (a neutral step
counts as good), so that the ``prod`` aggregator gives back OpenAI's ``prm_score`` (checked per record); and
``scores_orm``, OpenAI's single ORM score. PRM800K's evaluation pads every problem to 1,860 samples, shuffles,
keeps the first N and picks the highest ``prm_score``; ``python -m e2h.rerank scored-test-samples.jsonl --methods
best_of_n --rms prm --aggs prod --size 1860 --ns 10 25 … 1860`` redraws that curve (0.782 at N = 1,860).
"""

from __future__ import annotations

import hashlib
import math
import os
from pathlib import Path

import pandas as pd
from e2h.progress import tqdm

from e2h.data._json import iter_json_records

PRM800K_POOL_SIZE = 1860  # samples per problem in OpenAI's evaluation (problems with fewer are padded)
_TOLERANCE = 1e-6


def _unit(x: float, where: str, what: str) -> float:
    """A probability, allowing float rounding just outside [0, 1]."""
    if not isinstance(x, (int, float)) or math.isnan(x) or not -_TOLERANCE <= x <= 1 + _TOLERANCE:
        raise ValueError(f"{where}: {what} is {x!r}; expected a probability in [0, 1]")
    return min(max(float(x), 0.0), 1.0)


def _row(rec: dict, where: str) -> dict:
    if not isinstance(rec, dict):
        raise ValueError(f"{where}: expected a JSON object (one scored sample), got {type(rec).__name__}")
    for key in ("problem", "is_correct", "steps"):
        if key not in rec:
            raise ValueError(f"{where}: missing key {key!r}; a scored sample has problem, answer, is_correct, "
                             "level, unique_id, steps, rating_probs, prm_score, orm_score")
    steps = rec["steps"] or []
    probs = rec.get("rating_probs")
    if probs is not None:
        if len(probs) != len(steps):
            raise ValueError(f"{where}: {len(probs)} rating_probs for {len(steps)} steps")
        prm = [_unit(p.get("1", 0.0) + p.get("0", 0.0), where, f"P(1) + P(0) at step {i}")
               for i, p in enumerate(probs)]
        if rec.get("prm_score") is not None and abs(math.prod(prm) - rec["prm_score"]) > _TOLERANCE:
            raise ValueError(f"{where}: prm_score {rec['prm_score']} is not the product over steps of "
                             f"P(1) + P(0) ({math.prod(prm)})")
    elif rec.get("prm_score") is not None:
        prm = [_unit(rec["prm_score"], where, "prm_score")]
    else:
        raise ValueError(f"{where}: neither rating_probs nor prm_score")
    answer = rec.get("answer", rec.get("given_answer"))
    pid = rec.get("unique_id") or "problem/" + hashlib.sha256(rec["problem"].encode()).hexdigest()[:16]
    row = {"problem_id": pid, "level": rec.get("level"), "split": "test", "text": "\n\n".join(steps),
           "answer": None if answer is None else str(answer), "correct": bool(rec["is_correct"]) and answer is not None,
           "scores_prm": prm, "problem": rec["problem"], "ground_truth_answer": rec.get("ground_truth_answer")}
    if rec.get("orm_score") is not None:
        row["scores_orm"] = [_unit(rec["orm_score"], where, "orm_score")]
    return row


def read_scored_samples(path: str | os.PathLike, *, progress: bool = True) -> pd.DataFrame:
    """OpenAI's scored samples as a pool (validated; no ``answer_key`` yet — see ``e2h.pool.add_answer_keys``)."""
    from e2h.pool import validate_pool

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: file not found")
    rows = [_row(rec, f"{path}:{i}") for i, rec in tqdm(iter_json_records(path), desc=f"reading {path.name}",
                                                         disable=not progress, unit=" samples")]
    if not rows:
        raise ValueError(f"{path}: no records")
    if any("scores_orm" in r for r in rows) and not all("scores_orm" in r for r in rows):
        raise ValueError(f"{path}: orm_score is present on some records only")
    df = pd.DataFrame(rows)
    df["sample_idx"] = df.groupby("problem_id", sort=False).cumcount()
    df["level"] = pd.array(df["level"], dtype="Int64")
    return validate_pool(df, path)
