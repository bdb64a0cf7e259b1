"""Ship a run's trained models as a weights folder (``python -m e2h weights PARAMS FOLDER``, ``e2h.weights``).

``export`` copies the run's policy and reward models into the folder (float16), with ``MANIFEST.json``: the params
file and digest, the git commit, each training stage's wall time and commit, the SHA-256 of every file. The folder
is replaced whole, and only if it is an earlier weights folder (it has a ``MANIFEST.json``).
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from e2h.io import atomic_dir, read_json
from e2h.params import load_params, project_root
from e2h.provenance import git_commit
from e2h.stages import STAGES
from e2h.stages.layout import layout
from e2h.weights import MANIFEST, copy_model, sha256


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def export(params_file: str | Path, dest: str | Path) -> Path:
    """Copy the trained models of ``params_file``'s run into ``dest`` with ``MANIFEST.json``; returns ``dest``."""
    params_file, dest = Path(params_file).resolve(), Path(dest).resolve()
    p = load_params(params_file)
    run, root = layout(p), project_root(params_file)
    models = {"sft": run.policy, **{f"rm/{k}": run.reward_model(k) for k in p.reward.kinds}}
    wanted = [s.stem for s in STAGES if s.number <= max(t.number for t in STAGES if t.training)]
    missing = [stem for stem in wanted if not run.manifest(stem).is_file()]
    if missing:
        raise FileNotFoundError(f"{run.root}: stage(s) {', '.join(missing)} have not run for {params_file}")
    stages = {stem: {k: read_json(run.manifest(stem), what="stage manifest").get(k)
                     for k in ("wall_seconds", "git_commit")} for stem in wanted}
    commit = git_commit(root)  # before the new folder makes the tree dirty
    with atomic_dir(dest, marker=MANIFEST) as tmp:  # only ever replaces an earlier weights folder
        for name, src in models.items():
            copy_model(src, tmp / name)
        files = {str(f.relative_to(tmp)): {"sha256": sha256(f), "bytes": f.stat().st_size}
                 for f in sorted(tmp.rglob("*")) if f.is_file()}
        manifest = {
            "made_by": f"python -m e2h weights {_relative(params_file, root)} {_relative(dest, root)}",
            "params_file": _relative(params_file, root), "params_digest": p.digest(),
            "run_dir": _relative(run.root, root), "git_commit": commit,
            "exported_at": datetime.now(timezone.utc).isoformat(), "stages": stages, "models": sorted(models),
            "dtype": "float16", "files": files,
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return dest
