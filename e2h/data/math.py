"""MATH (Hendrycks et al. 2021) and MATH500 readers.

Every reader returns plain dicts (``MathRecord``) so that records go to JSONL and back unchanged::

    unique_id  "test/precalculus/807.json" (the path in the original MATH tree)
    problem, solution
    answer     the last \\boxed{} of the solution, or the file's own "answer" field where it has one
    level      1..5, or None for MATH's two "Level ?" problems
    subject    "Algebra", "Counting & Probability", ... (MATH's "type")
"""

from __future__ import annotations

import os
import re
import unicodedata
import warnings
from pathlib import Path
from typing import Iterable, Optional, TypedDict

from e2h.progress import tqdm

from e2h.data._json import DataFormatError, iter_json_records, require
from e2h.format import last_boxed

MATH_DIR = "hendrycks_math"
MATH500_FILE = "prm800k_math_splits/test.jsonl"


class MathRecord(TypedDict):
    unique_id: str
    problem: str
    solution: str
    answer: Optional[str]
    level: Optional[int]
    subject: str


_LEVEL = re.compile(r"^Level ([1-5]|\?)$")


def parse_level(value, where: str) -> int | None:
    """"Level 3" or 3 -> 3; "Level ?" -> None; anything else raises naming ``where``."""
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 5:
        return value
    if isinstance(value, str) and (m := _LEVEL.match(value.strip())):
        return None if m.group(1) == "?" else int(m.group(1))
    raise DataFormatError(f"{where}: level {value!r} is not 'Level 1'..'Level 5', 'Level ?' or an int 1..5")


def normalize_problem(text: str) -> str:
    """The form used to match problems across datasets: Unicode NFKC, whitespace collapsed, stripped."""
    return " ".join(unicodedata.normalize("NFKC", text).split())


def _record(raw: dict, unique_id: str, where: str) -> MathRecord:
    require(raw, {"problem": str, "solution": str}, where)
    subject = raw.get("subject", raw.get("type"))
    if not isinstance(subject, str):
        raise DataFormatError(f"{where}: missing key 'type' (or 'subject'), the problem's subject")
    if "level" not in raw:
        raise DataFormatError(f"{where}: missing key 'level'")
    answer = raw.get("answer")
    if answer is not None and not isinstance(answer, str):
        raise DataFormatError(f"{where}: key 'answer' should be a string, got {answer!r}")
    return MathRecord(unique_id=unique_id, problem=raw["problem"], solution=raw["solution"],
                      answer=answer if answer is not None else last_boxed(raw["solution"]),
                      level=parse_level(raw["level"], where), subject=subject)


def read_math_dir(root: str | os.PathLike, splits: Iterable[str] = ("train", "test")) -> list[MathRecord]:
    """MATH in its original layout ``root/{train,test}/<subject>/<n>.json``, sorted by unique_id."""
    root = Path(root)
    files = []
    for split in splits:
        if not (root / split).is_dir():
            raise FileNotFoundError(f"{root / split}: not a folder; expected MATH's original layout "
                                    f"{root}/{{train,test}}/<subject>/<n>.json")
        files += sorted((root / split).glob("*/*.json"))
    out = []
    for f in tqdm(files, desc=f"reading {root.name}", leave=False, mininterval=1.0):
        records = list(iter_json_records(f))
        if len(records) != 1:
            raise DataFormatError(f"{f}:1: expected one JSON object, found {len(records)}")
        line, raw = records[0]
        out.append(_record(raw, f.relative_to(root).as_posix(), f"{f}:{line}"))
    return sorted(out, key=lambda r: r["unique_id"])


def read_math_jsonl(path: str | os.PathLike) -> list[MathRecord]:
    """MATH as JSON Lines: PRM800K's ``math_splits/*.jsonl`` or a Hugging Face export.

    A record without ``unique_id`` (HF exports have none) gets ``"<file name>:<line>"``. When the file has an
    ``answer`` field it is kept; answers that differ from the solution's last box are reported in one warning.
    """
    path = Path(path)
    out, differ = [], []
    for line, raw in iter_json_records(path):
        where = f"{path}:{line}"
        uid = raw.get("unique_id") if isinstance(raw, dict) else None
        rec = _record(raw, uid if isinstance(uid, str) else f"{path.name}:{line}", where)
        if isinstance(raw.get("answer"), str) and raw["answer"] != last_boxed(raw["solution"]):
            differ.append(rec["unique_id"])
        out.append(rec)
    if differ:
        warnings.warn(f"{path}: {len(differ)} records keep an 'answer' that differs from the solution's last "
                      f"\\boxed{{}}, e.g. {differ[:3]}", stacklevel=2)
    return out


def read_math500(data_dir: str | os.PathLike) -> list[MathRecord]:
    """MATH500 (``prm800k_math_splits/test.jsonl``), in file order; its answers must equal the last box."""
    path = Path(data_dir) / MATH500_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path}: MATH500 not found (expected OpenAI's prm800k math_splits/test.jsonl)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        records = read_math_jsonl(path)
    bad = [r["unique_id"] for r in records if r["answer"] != last_boxed(r["solution"])]
    if bad:
        raise DataFormatError(f"{path}: {len(bad)} answers differ from the solution's last \\boxed{{}} "
                              f"({bad[:5]}); the file is not OpenAI's MATH500")
    if len(records) != 500 or len({r["unique_id"] for r in records}) != 500:
        raise DataFormatError(f"{path}: expected 500 distinct problems, got {len(records)}")
    return records


def read_math_all(data_dir: str | os.PathLike) -> list[MathRecord]:
    """All 12,500 MATH problems from ``<data_dir>/hendrycks_math``."""
    root = Path(data_dir) / MATH_DIR
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: MATH not found; data_dir must hold hendrycks_math/")
    return read_math_dir(root)


def problem_index(records: Iterable[dict]) -> dict[str, dict]:
    """Normalised problem text -> record, for matching other datasets' questions to MATH."""
    return {normalize_problem(r["problem"]): r for r in records}
