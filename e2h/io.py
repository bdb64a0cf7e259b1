"""Safe work on the file system: an artifact exists whole or not at all, a folder is only ever replaced by a newer
version of itself, and one run folder has one writer at a time.

- ``atomic_path`` / ``write_*``: a temporary file beside the target, renamed onto it on success;
- ``atomic_dir``: the same for a folder, replacing an existing folder only when it carries the given marker file
  (a weights folder its ``MANIFEST.json``, a trained model its ``losses.json``), never a folder of anything else;
- ``run_lock``: an exclusive lock on a run folder, released when the process ends however it ends.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path


_UMASK = os.umask(0)
os.umask(_UMASK)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike):
    """Yield a temporary path beside ``path``; on success it is renamed onto ``path``, on error removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes owner-only files; artifacts are ordinary files
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_text(path: str | os.PathLike, text: str) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return Path(path)


def write_json(path: str | os.PathLike, obj) -> Path:
    return write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def write_jsonl(path: str | os.PathLike, records) -> Path:
    with atomic_path(path) as tmp, open(tmp, "w") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    return Path(path)


def read_jsonl(path: str | os.PathLike) -> list[dict]:
    """Read JSON Lines; a bad line raises naming the file and line number."""
    out = []
    with open(path) as f:
        for i, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise ValueError(f"{path}:{i}: not valid JSON ({e.msg})") from None
    return out


class ArtifactError(ValueError):
    """A file the project wrote (or was given) that cannot be read as what it should be; names the file."""


def read_json(path: str | os.PathLike, *, what: str = "JSON file", expect: type = dict):
    """Read a JSON file that must hold a ``expect`` (an object by default); raise naming the file otherwise."""
    path = Path(path)
    try:
        value = json.loads(path.read_text())
    except FileNotFoundError:
        raise ArtifactError(f"{path}: {what} not found") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        where = f" at line {e.lineno}" if isinstance(e, json.JSONDecodeError) else ""
        raise ArtifactError(f"{path}: {what} is not valid JSON{where} ({getattr(e, 'msg', e)}); "
                            "it may be truncated") from None
    if not isinstance(value, expect):
        raise ArtifactError(f"{path}: {what} should hold a JSON {expect.__name__}, got {type(value).__name__}")
    return value


def write_parquet(path: str | os.PathLike, df) -> Path:
    with atomic_path(path) as tmp:
        df.to_parquet(tmp, index=False)
    return Path(path)


class FolderInUse(RuntimeError):
    """A folder that another process is writing (``run_lock``), or that is not ours to replace."""


def check_replaceable(dest: str | os.PathLike, marker: str) -> None:
    """Refuse to let ``atomic_dir`` replace ``dest`` unless it is absent, empty, or holds ``marker``."""
    dest = Path(dest)
    if not dest.exists() and not dest.is_symlink():
        return
    if not dest.is_dir() or dest.is_symlink():
        raise FolderInUse(f"{dest}: exists and is not a folder; refusing to replace it (remove it yourself or "
                          "choose another path)")
    if any(dest.iterdir()) and not (dest / marker).is_file():
        raise FolderInUse(f"{dest}: is not a folder this command wrote (no {marker} in it); refusing to replace "
                          "what it holds (remove it yourself or choose another path)")


@contextlib.contextmanager
def atomic_dir(dest: str | os.PathLike, *, marker: str):
    """Yield a fresh folder beside ``dest`` (its name unique to this call); on success it takes ``dest``'s place.

    ``dest`` is checked before any work and again before the swap (``check_replaceable``), so only a folder that
    holds ``marker`` (or an empty one) is ever replaced. The old folder is renamed aside, the new one renamed in,
    then the old one removed: at no point is ``dest`` half written. The caller must write ``marker`` into the new
    folder. On error the new folder is removed and ``dest`` is left as it was.
    """
    dest = Path(dest)
    check_replaceable(dest, marker)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".partial", dir=dest.parent))
    try:
        yield tmp
        if not (tmp / marker).is_file():
            raise RuntimeError(f"{tmp}: the new folder has no {marker}; not replacing {dest} with it")
        check_replaceable(dest, marker)
        old = None
        if dest.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".old", dir=dest.parent))
            os.replace(dest, old / dest.name)
        os.replace(tmp, dest)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


_held: dict[Path, list] = {}  # lock path -> [open file, depth]: one process may nest run_lock on a folder


@contextlib.contextmanager
def run_lock(run_dir: str | os.PathLike, *, wait: bool = False):
    """Hold the exclusive lock of a run folder (``<run_dir>/.lock``) for the duration of the block.

    A second process asking for a held lock gets :class:`FolderInUse` naming the holder (pid, command, start
    time), or with ``wait=True`` blocks until the holder is done. The operating system releases the lock when
    the holder exits, killed or not, so a stale lock file never blocks a later run. Nested use in one process is
    allowed (``weights`` runs stages, then exports, under one lock).
    """
    import fcntl

    path = (Path(run_dir) / ".lock").resolve()  # the lock is the folder's, whatever else lives there
    if path in _held:
        _held[path][1] += 1
        try:
            yield
        finally:
            _held[path][1] -= 1
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    f = open(path, "a+")
    try:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            holder = f.read().strip() or "another process"
            if not wait:
                raise FolderInUse(f"{path.parent}: in use by {holder}; wait for it to finish, or pass --wait "
                                  "to queue behind it") from None
            print(f"[e2h] {path.parent}: waiting for {holder}", file=sys.stderr, flush=True)
            fcntl.flock(f, fcntl.LOCK_EX)
        f.seek(0)
        f.truncate()
        f.write(f"process {os.getpid()} ({' '.join(sys.argv)[:200]}), since {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
        f.flush()
        _held[path] = [f, 1]
        try:
            yield
        finally:
            del _held[path]
    finally:
        f.close()  # closing releases the lock
