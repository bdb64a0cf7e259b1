import os
import stat

import pytest

from e2h.io import _UMASK, atomic_path, read_jsonl, write_json, write_jsonl


def test_atomic_write_leaves_nothing_on_error(tmp_path):
    target = tmp_path / "out.json"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed mid-write")
    assert list(tmp_path.iterdir()) == []


def test_written_files_are_ordinary_readable_files(tmp_path):
    path = write_json(tmp_path / "a" / "b.json", {"x": 1})
    assert path.read_text().strip() == '{\n  "x": 1\n}'
    # Same permissions as open() would give, not mkstemp's owner-only 0600.
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o666 & ~_UMASK


def test_jsonl_roundtrip_and_bad_line_named(tmp_path):
    path = write_jsonl(tmp_path / "r.jsonl", [{"a": 1}, {"b": "é"}])
    assert read_jsonl(path) == [{"a": 1}, {"b": "é"}]
    path.write_text('{"a": 1}\n\n{"a": \n')
    with pytest.raises(ValueError, match=r"r.jsonl:3: not valid JSON"):
        read_jsonl(path)
