"""Where an artifact came from: fingerprints of what it was computed from, the git commit, the package versions.

A shard or cache is reused only when its fingerprint equals the one of the inputs at hand, so a retrained model, a
resampled pool or an edited problem is recomputed, never served from an old result. Manifests record the commit
and the versions of the packages that made them.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import platform
import subprocess
from pathlib import Path
from typing import Iterable

_VERSIONED = ("e2h", "torch", "transformers", "accelerate", "peft", "vllm", "numpy", "pandas", "sympy",
              "math-verify", "papermill")


def model_fingerprint(model_path) -> str:
    """Hash of a model folder's files (name, size, first and last MiB of each): cheap at 7b scale, unchanged by
    copying the folder, different after any retraining. A hub id (nothing on disk yet) is hashed by its name."""
    root = Path(model_path)
    h = hashlib.sha256()
    if not root.is_dir():
        h.update(str(model_path).encode())
        return h.hexdigest()[:16]
    for f in sorted(root.iterdir()):
        if not f.is_file() or f.name.startswith("."):
            continue
        h.update(f.name.encode())
        size = f.stat().st_size
        h.update(str(size).encode())
        with open(f, "rb") as fh:
            h.update(fh.read(1 << 20))
            if size > 2 << 20:
                fh.seek(-(1 << 20), os.SEEK_END)
                h.update(fh.read())
    return h.hexdigest()[:16]


def row_digests(*columns: Iterable) -> list[str]:
    """One short hash per row of the given columns (strings or None), e.g. (problem text, solution text)."""
    return [hashlib.sha256(json.dumps(list(row)).encode()).hexdigest()[:16] for row in zip(*columns)]


def digest(obj) -> str:
    """Short hash of a JSON-serialisable record (sorted keys)."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


def git_commit(root: str | os.PathLike) -> str | None:
    """The commit checked out at ``root``, with ``+dirty`` when the tree has changes; None outside git."""
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True)
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=root, capture_output=True, text=True).stdout
        return sha.stdout.strip() + ("+dirty" if dirty.strip() else "")
    except (OSError, subprocess.CalledProcessError):
        return None


def package_versions() -> dict[str, str | None]:
    out = {"python": platform.python_version()}
    for name in _VERSIONED:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out
