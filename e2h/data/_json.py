"""Read the JSON layouts public datasets ship in, one record at a time, with file:line for every error.

Handled: JSON Lines, a top-level JSON array (MetaMathQA's ``MetaMathQA-395K.json``), and pretty-printed objects
written one after another (the PRM800K ``*example.json`` files).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Iterator

_DECODER = json.JSONDecoder()
_WS = " \t\r\n"


class DataFormatError(ValueError):
    """A data file that does not match its documented format; the message starts with ``file:line``."""


def _skip_ws(text: str, i: int) -> int:
    while i < len(text) and text[i] in _WS:
        i += 1
    return i


def iter_json_records(path: str | os.PathLike) -> Iterator[tuple[int, object]]:
    """Yield ``(line, value)`` for each record of ``path``; ``line`` is 1-based, where the record starts."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    i = _skip_ws(text, 0)
    in_array = text.startswith("[", i)
    if in_array:
        i = _skip_ws(text, i + 1)
    line, counted = 1, 0  # newlines are counted lazily up to the current offset

    def line_at(offset: int) -> int:
        nonlocal line, counted
        line += text.count("\n", counted, offset)
        counted = offset
        return line

    while i < len(text):
        if in_array and text[i] == "]":
            if _skip_ws(text, i + 1) != len(text):
                raise DataFormatError(f"{path}:{line_at(i)}: text after the closing ']' of the JSON array")
            return
        try:
            value, end = _DECODER.raw_decode(text, i)
        except json.JSONDecodeError as e:
            # Named by the line where the record starts: a missing closing brace is only noticed on a later line.
            start = line_at(i)
            seen = text.count("\n", 0, e.pos) + 1
            later = f", noticed at line {seen}" if seen != start else ""
            raise DataFormatError(f"{path}:{start}: not valid JSON in the record that starts here ({e.msg}{later})") \
                from None
        yield line_at(i), value
        i = _skip_ws(text, end)
        if in_array:
            if i < len(text) and text[i] == ",":
                i = _skip_ws(text, i + 1)
            elif i >= len(text) or text[i] != "]":
                raise DataFormatError(f"{path}:{line_at(min(i, len(text)))}: expected ',' or ']' in the JSON array")
    if in_array:
        raise DataFormatError(f"{path}:{line_at(len(text))}: the JSON array is never closed")


def require(record: object, keys: dict[str, type | tuple], where: str) -> dict:
    """Check that ``record`` is an object holding ``keys`` with the given types; raise naming ``where``."""
    if not isinstance(record, dict):
        raise DataFormatError(f"{where}: expected a JSON object, got {type(record).__name__}")
    for key, tp in keys.items():
        if key not in record:
            raise DataFormatError(f"{where}: missing key {key!r} (keys present: {', '.join(sorted(record))})")
        if not isinstance(record[key], tp):
            want = " or ".join(t.__name__ for t in (tp if isinstance(tp, tuple) else (tp,)))
            raise DataFormatError(f"{where}: key {key!r} should be {want}, got {type(record[key]).__name__} "
                                  f"{str(record[key])[:60]!r}")
    return record
