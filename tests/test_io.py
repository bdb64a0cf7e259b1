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


def test_atomic_dir_replaces_only_a_folder_it_recognizes(tmp_path):
    from e2h.io import FolderInUse, atomic_dir

    dest = tmp_path / "model"
    with atomic_dir(dest, marker="MARK") as tmp:
        (tmp / "MARK").write_text("1")
        (tmp / "a.txt").write_text("first")
    with atomic_dir(dest, marker="MARK") as tmp:  # an earlier version of itself: replaced whole
        (tmp / "MARK").write_text("2")
    assert sorted(p.name for p in dest.iterdir()) == ["MARK"]
    with pytest.raises(RuntimeError, match="boom"), atomic_dir(dest, marker="MARK") as tmp:
        (tmp / "MARK").write_text("3")
        raise RuntimeError("boom")
    assert (dest / "MARK").read_text() == "2"  # a failed write leaves the old folder as it was
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]  # and no temporary folder behind
    other = tmp_path / "thesis"
    other.mkdir()
    (other / "chapter1.tex").write_text("...")
    with pytest.raises(FolderInUse, match="no MARK in it"):
        with atomic_dir(other, marker="MARK"):
            pass
    assert (other / "chapter1.tex").exists()


def test_atomic_dir_temporary_folders_are_unique_per_call(tmp_path):
    from e2h.io import atomic_dir

    with atomic_dir(tmp_path / "m", marker="M") as a, atomic_dir(tmp_path / "m", marker="M") as b:
        assert a != b and a.parent == b.parent == tmp_path
        (a / "M").write_text("a")
        (b / "M").write_text("b")
    assert (tmp_path / "m" / "M").read_text() == "a"  # the last to finish wins, whole


def test_run_lock_nests_in_one_process(tmp_path):
    from e2h.io import run_lock

    with run_lock(tmp_path), run_lock(tmp_path):
        assert "process" in (tmp_path / ".lock").read_text()
    with run_lock(tmp_path):  # released after the outer block
        pass
