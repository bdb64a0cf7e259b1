"""Ship a run's trained models as a weights folder (``python -m e2h weights PARAMS FOLDER``, ``e2h.weights``), or
its pretrained tiny base alone (``python -m e2h base PARAMS FOLDER``).

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


def _write(dest: Path, models: dict[str, Path], manifest: dict) -> Path:
    """``models`` (name -> model folder) copied into ``dest`` in float16 beside ``MANIFEST.json``."""
    with atomic_dir(dest, marker=MANIFEST) as tmp:  # only ever replaces an earlier weights folder
        for name, src in models.items():
            copy_model(src, tmp / name)
        files = {str(f.relative_to(tmp)): {"sha256": sha256(f), "bytes": f.stat().st_size}
                 for f in sorted(tmp.rglob("*")) if f.is_file()}
        (tmp / MANIFEST).write_text(json.dumps({**manifest, "files": files}, indent=2) + "\n")
    return dest


def export_base(params_file: str | Path, dest: str | Path) -> Path:
    """Build the params file's tiny base (stage 00's splits first, then ``base_model_path``: the pretrained tiny
    Llama and its tokenizer) and ship it alone as ``dest`` (an HF folder with ``MANIFEST.json``): the fixed
    pretrained model that runs of the embedded task start from (``model.base: weights/base``), as the paper's start
    from Llemma."""
    import time

    from e2h.format import format_prompt
    from e2h.stages.s00_data import build_splits, have_splits
    from e2h.stages.s01_policy import base_model_path, sft_records

    params_file, dest = Path(params_file).resolve(), Path(dest).resolve()
    p, root = load_params(params_file), project_root(params_file)
    if p.model.base != "tiny":
        raise ValueError(f"{params_file}: model.base is {p.model.base!r}; only a tiny base is built and shipped")
    if not have_splits(p.run_dir):
        build_splits(p)
    commit, t = git_commit(root), time.perf_counter()
    base = base_model_path(p, [format_prompt(r["problem"]) + r["solution"] for r in sft_records(p)])
    return _write(dest, {".": Path(base)}, {
        "made_by": f"python -m e2h base {_relative(params_file, root)} {_relative(dest, root)}",
        "params_file": _relative(params_file, root), "params_digest": p.digest(["seed", "data", "model", "sft"]),
        "run_dir": _relative(layout(p).root, root), "git_commit": commit,
        "exported_at": datetime.now(timezone.utc).isoformat(), "build_seconds": round(time.perf_counter() - t, 1),
        "models": ["."], "dtype": "float16"})


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
    return _write(dest, models, {
        "made_by": f"python -m e2h weights {_relative(params_file, root)} {_relative(dest, root)}",
        "params_file": _relative(params_file, root), "params_digest": p.digest(),
        "run_dir": _relative(run.root, root), "git_commit": commit,
        "exported_at": datetime.now(timezone.utc).isoformat(), "stages": stages, "models": sorted(models),
        "dtype": "float16"})
