"""Math-Shepherd (Wang et al. 2024): automatically step-labelled solutions to GSM8K and MATH questions.

Each JSON Lines record has ``input`` = question, then ``Step 1: ... ки\\nStep 2: ... ки ...``, with the step tag
``ки`` closing every step, and ``label`` = the same text with ``+`` (step leads to the right answer) or ``-`` in
place of each tag; ``task`` is ``GSM8K`` or ``MATH``. The last step ends ``The answer is: <answer>``.

Each record becomes ``{"source", "problem", "task", "steps", "labels", "answer"}``: the ``Step k:`` prefixes are
removed, ``+`` -> 1 and ``-`` -> 0, and the last step carries the answer section of ``e2h.format``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from e2h.data._json import DataFormatError, iter_json_records, require
from e2h.data._steps import normalize_steps
from e2h.format import ANSWER_SEP, parse_answer

STEP_TAG = "ки"
_STEP_PREFIX = re.compile(r"^\s*Step \d+:\s*")
_FIRST_STEP = re.compile(r"\s*Step 1:")


def parse_shepherd_record(raw, where: str) -> dict:
    require(raw, {"input": str, "label": str}, where)
    text, marked = raw["input"], raw["label"]
    tags = [m.start() for m in re.finditer(STEP_TAG, text)]
    if not tags:
        raise DataFormatError(f"{where}: input has no step tag {STEP_TAG!r}")
    # Each tag (2 characters) is one "+"/"-" in the label, so the k-th tag sits k characters earlier there.
    labels = []
    for k, pos in enumerate(tags):
        mark = marked[pos - k] if pos - k < len(marked) else ""
        if mark not in ("+", "-"):
            raise DataFormatError(f"{where}: step {k + 1}: label has {mark!r} where the input has {STEP_TAG!r}, "
                                  f"expected '+' or '-'")
        labels.append(int(mark == "+"))
    at_tags = {pos - k for k, pos in enumerate(tags)}
    if text.replace(STEP_TAG, "") != "".join(c for i, c in enumerate(marked) if i not in at_tags):
        raise DataFormatError(f"{where}: label is not the input with '+'/'-' in place of each {STEP_TAG!r}")
    chunks = text.split(STEP_TAG)
    if chunks[-1].strip():
        raise DataFormatError(f"{where}: text after the last step tag is not labelled: {chunks[-1][:60]!r}")
    first = _FIRST_STEP.search(chunks[0])
    if first is None:
        raise DataFormatError(f"{where}: no 'Step 1:' after the question")
    problem = chunks[0][:first.start()].strip()
    chunks[0] = chunks[0][first.start():]
    texts = [_STEP_PREFIX.sub("", c).strip() for c in chunks[:-1]]
    if not all(texts):
        raise DataFormatError(f"{where}: step {texts.index('') + 1} is empty")
    body, sep, answer = texts[-1].rpartition("The answer is:")
    if sep:  # an answer-only last step is joined to the step before it, with the worse label
        texts[-1] = body.strip() + ANSWER_SEP + answer.strip()
    steps, step_labels = normalize_steps(texts, labels)
    return {"source": where, "problem": problem, "task": raw.get("task"), "steps": steps, "labels": step_labels,
            "answer": parse_answer(steps[-1])}


def read_shepherd(path: str | os.PathLike) -> list[dict]:
    path = Path(path)
    return [parse_shepherd_record(raw, f"{path}:{line}") for line, raw in iter_json_records(path)]
