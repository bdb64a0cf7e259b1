"""MetaMathQA (Yu et al. 2023): augmented MATH and GSM8K questions with model-written solutions.

The public file (``MetaMathQA-395K.json``, a JSON array; JSON Lines also read) has per record ``query``,
``response``, ``type`` (``MATH_AnsAug``, ``MATH_Rephrased``, ``MATH_SV``, ``MATH_FOBAR``, ``GSM_*``) and
``original_question``. The final answer follows the last ``"The answer is: "`` of the response; GSM8K-derived
responses also carry a ``#### <answer>`` line before it, which is dropped.

Each record becomes ``{"source", "problem" (= query), "original_question", "type", "steps", "answer",
"unique_id", "level", "subject"}``, steps in the format of ``e2h.format`` (one step per line of the response,
longer lines cut at sentence ends), the answer NOT appended to the last step (``format_solution`` does it).
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Iterable

from e2h.data._json import DataFormatError, iter_json_records, require
from e2h.data.math import normalize_problem, problem_index, read_math500, read_math_all
from e2h.data.splits import EASY_LEVELS, assert_no_test_leak
from e2h.format import text_to_steps

ANSWER_MARK = "The answer is: "


def metamath_to_steps(response: str, where: str) -> tuple[list[str], str]:
    body, mark, answer = response.rpartition(ANSWER_MARK)
    if not mark:
        raise DataFormatError(f"{where}: response has no {ANSWER_MARK!r}: {response[-80:]!r}")
    body = body.split("####")[0]
    answer = answer.strip()
    if not answer:
        raise DataFormatError(f"{where}: empty answer after {ANSWER_MARK!r}")
    return text_to_steps(body, cut_at_newlines=True), answer


def read_metamath(path: str | os.PathLike) -> list[dict]:
    path = Path(path)
    out = []
    for line, raw in iter_json_records(path):
        where = f"{path}:{line}"
        require(raw, {"query": str, "response": str, "type": str, "original_question": str}, where)
        steps, answer = metamath_to_steps(raw["response"], where)
        out.append({"source": where, "problem": raw["query"], "original_question": raw["original_question"],
                    "type": raw["type"], "steps": steps, "answer": answer,
                    "unique_id": None, "level": None, "subject": None})
    return out


def is_math_derived(record: dict) -> bool:
    return record["type"].startswith("MATH")


def easy_metamath(records: Iterable[dict], math_records: Iterable[dict], test_records: Iterable[dict],
                  levels: Iterable[int] = EASY_LEVELS, keep_gsm: bool = True,
                  stats: Counter | None = None) -> list[dict]:
    """The paper's easy subset: a MATH-derived record is kept when its ``original_question`` is a MATH problem
    outside ``test_records`` at one of ``levels`` (matched on normalised text; unmatched ones are dropped);
    GSM8K-derived records are kept when ``keep_gsm`` (the paper keeps them: GSM8K is all easy).
    """
    test = list(test_records)
    levels = set(levels)
    test_ids = {r["unique_id"] for r in test}
    by_text = problem_index(math_records)
    stats = Counter() if stats is None else stats
    kept = []
    for r in records:
        if not is_math_derived(r):
            stats["kept: GSM8K" if keep_gsm else "dropped: GSM8K"] += 1
            if keep_gsm:
                kept.append(r)
            continue
        m = by_text.get(normalize_problem(r["original_question"]))
        if m is None:
            stats["dropped: original question not found in MATH"] += 1
        elif m["unique_id"] in test_ids:
            stats["dropped: test problem"] += 1
        elif m["level"] in levels:
            stats["kept: MATH at kept levels"] += 1
            kept.append(dict(r, unique_id=m["unique_id"], level=m["level"], subject=m["subject"]))
        else:
            stats["dropped: MATH at other levels"] += 1
    assert_no_test_leak(kept, test, "MetaMath training set")
    assert_no_test_leak([{"problem": r["original_question"]} for r in kept], test, "MetaMath training set")
    return kept


def load_metamath_easy(path: str | os.PathLike, data_dir: str | os.PathLike, levels: Iterable[int] = EASY_LEVELS,
                       keep_gsm: bool = True, stats: Counter | None = None) -> list[dict]:
    return easy_metamath(read_metamath(path), read_math_all(data_dir), read_math500(data_dir), levels, keep_gsm,
                         stats)
