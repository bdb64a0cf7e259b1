"""PRM800K step labels (Lightman et al. 2023): the ``phase{1,2}_{train,test}.jsonl`` files of openai/prm800k.

One record per labelled solution. At each step the labeller rated one or more completions (-1 bad, 0 neutral,
+1 good) and the solution went on with one of them. ``read_prm800k`` follows that CHOSEN path:

- ``chosen_completion`` set: that completion;
- else a ``human_completion`` (the labeller wrote the step): its text, unrated (rating None, label None: a
  reward-model loss must mask it);
- else exactly one completion (phase 2 stops at the first bad step this way): that completion;
- else (several completions, none chosen, or ``completions`` null): the path ends here.

Each record becomes a dict::

    source                "file:line"
    problem, ground_truth_answer, generation (None in phase 1), finish_reason
    steps                 texts of the chosen path in the step format of e2h.format (answer section on the last step)
    ratings               the raw rating of each step (-1/0/+1, None for a human-written step)
    labels                1 if rating >= 0 (neutral counts as good), 0 if -1, None if unrated
    sft_steps             the leading steps rated > 0 (the path up to, not including, the first step that is not)
    alternatives          the other rated completions: {"prefix": i, "text", "rating", "label"} means the completion
                          ``text`` was rated after ``steps[:i]``
    unique_id, level, subject   the matching MATH problem (set by ``easy_prm800k``; None before or if none)

Quality-control and initial-screening questions (``is_quality_control_question``/``is_initial_screening_question``)
are skipped unless ``include_screening``: they test labellers, their problems are mostly not MATH, and the paper's
data has no use for them.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Iterable

from e2h.data._json import DataFormatError, iter_json_records, require
from e2h.data._steps import normalize_steps
from e2h.data.math import normalize_problem, problem_index, read_math500, read_math_all
from e2h.data.splits import EASY_LEVELS, assert_no_test_leak

_RATINGS = (-1, 0, 1, None)


def label_of(rating: int | None) -> int | None:
    return None if rating is None else int(rating >= 0)


def _completion(c, where: str) -> tuple[str, int | None]:
    require(c, {"text": str}, where)
    if c.get("rating") not in _RATINGS:
        raise DataFormatError(f"{where}: rating {c.get('rating')!r} is not -1, 0, 1 or null")
    return c["text"], c.get("rating")


def _walk(steps: list, where: str) -> tuple[list, list, list]:
    """The chosen path as (texts, ratings) and the other rated completions as (raw position, text, rating)."""
    texts, ratings, others = [], [], []
    for i, step in enumerate(steps):
        w = f"{where}: label.steps[{i}]"
        if not isinstance(step, dict):
            raise DataFormatError(f"{w}: expected an object, got {type(step).__name__}")
        comps = step.get("completions")
        if comps is None:
            break
        if not isinstance(comps, list):
            raise DataFormatError(f"{w}.completions: expected a list or null, got {type(comps).__name__}")
        comps = [_completion(c, f"{w}.completions[{j}]") for j, c in enumerate(comps)]
        chosen, human = step.get("chosen_completion"), step.get("human_completion")
        pick = None
        if chosen is not None:
            if not isinstance(chosen, int) or not 0 <= chosen < len(comps):
                raise DataFormatError(f"{w}: chosen_completion {chosen!r} is not an index into its "
                                      f"{len(comps)} completions")
            pick, rest = comps[chosen], comps[:chosen] + comps[chosen + 1:]
        elif human is not None:
            pick, rest = (_completion(human, f"{w}.human_completion")[0], None), comps
        elif len(comps) == 1:
            pick, rest = comps[0], []
        else:
            rest = comps
        others += [(len(texts), t, r) for t, r in rest if r is not None]
        if pick is None:
            break
        texts.append(pick[0])
        ratings.append(pick[1])
    return texts, ratings, others


def _alternatives(texts, ratings, others, steps) -> list[dict]:
    out, seen = [], set()
    for pos, text, rating in others:
        prefix, _ = normalize_steps(texts[:pos], ratings[:pos])
        seq, seq_r = normalize_steps(texts[:pos] + [text], ratings[:pos] + [rating])
        if len(seq) == len(prefix) + 1 and seq[:-1] == prefix:
            at = len(prefix)
        elif prefix and len(seq) == len(prefix) and seq[:-1] == prefix[:-1] and seq[-1] != prefix[-1]:
            at = len(prefix) - 1  # an answer-only completion, joined to the step before it
        else:
            continue  # rated after the point where the path ended
        if (at < len(steps) and seq[-1] == steps[at]) or (at, seq[-1]) in seen:
            continue
        seen.add((at, seq[-1]))
        out.append({"prefix": at, "text": seq[-1], "rating": seq_r[-1], "label": label_of(seq_r[-1])})
    return out


def parse_prm800k_record(raw, where: str) -> dict:
    require(raw, {"question": dict, "label": dict}, where)
    q, lab = raw["question"], raw["label"]
    require(q, {"problem": str}, f"{where}: question")
    steps_raw = lab.get("steps")
    if not isinstance(steps_raw, list):
        raise DataFormatError(f"{where}: label.steps should be a list, got {type(steps_raw).__name__}")
    texts, ratings, others = _walk(steps_raw, where)
    steps, step_ratings = normalize_steps(texts, ratings)
    sft = 0
    while sft < len(steps) and step_ratings[sft] is not None and step_ratings[sft] > 0:
        sft += 1
    return {"source": where, "problem": q["problem"], "ground_truth_answer": q.get("ground_truth_answer"),
            "generation": raw.get("generation"), "finish_reason": lab.get("finish_reason"),
            "steps": steps, "ratings": step_ratings, "labels": [label_of(r) for r in step_ratings],
            "sft_steps": steps[:sft], "alternatives": _alternatives(texts, ratings, others, steps),
            "unique_id": None, "level": None, "subject": None}


def is_screening(raw: dict) -> bool:
    return bool(raw.get("is_quality_control_question") or raw.get("is_initial_screening_question"))


def read_prm800k(path: str | os.PathLike, include_screening: bool = False) -> list[dict]:
    """Records of one PRM800K file (JSON Lines, or pretty-printed objects one after another)."""
    path = Path(path)
    out = []
    for line, raw in iter_json_records(path):
        where = f"{path}:{line}"
        if not isinstance(raw, dict):
            raise DataFormatError(f"{where}: expected a JSON object, got {type(raw).__name__}")
        if include_screening or not is_screening(raw):
            out.append(parse_prm800k_record(raw, where))
    return out


def easy_prm800k(records: Iterable[dict], math_records: Iterable[dict], test_records: Iterable[dict],
                 levels: Iterable[int] = EASY_LEVELS, stats: Counter | None = None) -> list[dict]:
    """The paper's filter: keep a record whose problem is a MATH problem outside ``test_records`` at one of
    ``levels``, or is not a MATH problem at all; drop test problems always. Matching is on normalised text.

    ``math_records`` must be all of MATH (12,500) so that "not in MATH" means it. Kept records get the MATH
    ``unique_id``, ``level`` and ``subject``. ``stats`` (a Counter) receives the count of each decision.
    """
    test = list(test_records)
    levels = set(levels)
    test_text = {normalize_problem(r["problem"]) for r in test}
    test_ids = {r["unique_id"] for r in test}
    by_text = problem_index(math_records)
    stats = Counter() if stats is None else stats
    kept = []
    for r in records:
        key = normalize_problem(r["problem"])
        m = by_text.get(key)
        if key in test_text or (m is not None and m["unique_id"] in test_ids):
            stats["dropped: test problem"] += 1
        elif m is None:
            stats["kept: not in MATH"] += 1
            kept.append(dict(r, unique_id=None, level=None, subject=None))
        elif m["level"] in levels:
            stats["kept: MATH at kept levels"] += 1
            kept.append(dict(r, unique_id=m["unique_id"], level=m["level"], subject=m["subject"]))
        else:
            stats["dropped: MATH at other levels"] += 1
    assert_no_test_leak(kept, test, "PRM800K training set")
    return kept


def load_prm800k_train(paths: Iterable[str | os.PathLike], data_dir: str | os.PathLike,
                       levels: Iterable[int] = EASY_LEVELS, stats: Counter | None = None) -> list[dict]:
    """Read PRM800K files (the paper uses ``phase1_train.jsonl`` and ``phase2_train.jsonl``) and filter them
    against MATH and MATH500 under ``data_dir``."""
    records = [r for p in paths for r in read_prm800k(p)]
    return easy_prm800k(records, read_math_all(data_dir), read_math500(data_dir), levels, stats)
