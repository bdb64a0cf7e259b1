"""Shipped weights: a run's trained policy and reward models, copied into the project with a manifest.

Training the embedded task's policy and four reward models takes longer on a 2-core CPU than the default run may
(15 minutes), so ``params/default.yaml`` samples and scores with weights that the project's own pipeline produced,
and ``params/default-train.yaml`` is the same run trained from scratch. One command regenerates the weights::

    python -m e2h weights params/default-train.yaml weights/default

It runs the training stages (00-03) of the params file, then copies ``<run_dir>/sft`` and ``<run_dir>/rm/<kind>``
into the folder (tensors in float16: half the size; the scorer and sampler load them back in float32 on a CPU)
and writes ``MANIFEST.json``: where they came from (params file and digest, git commit, each stage's wall time and
commit) and the SHA-256 of every file, which ``verify`` checks before a run uses them.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from datetime import datetime, timezone
from pathlib import Path

from e2h.io import ArtifactError, atomic_dir, check_replaceable, read_json, run_lock

MANIFEST = "MANIFEST.json"
TRAINING_STAGES = "00-03"
# What a model folder needs to load; training curves and logs stay in the run folder.
MODEL_FILES = ("config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
               "e2h_train.json", "e2h_reward.json", "e2h_pretrain.json")


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _copy_model(src: Path, dest: Path) -> None:
    """The loadable files of one model folder, its tensors cast to float16."""
    import torch
    from safetensors.torch import load_file, save_file

    if not (src / "model.safetensors").is_file():
        raise FileNotFoundError(f"{src}: no model.safetensors; has the stage that trains it run?")
    dest.mkdir(parents=True)
    tensors = {k: v.to(torch.float16) if v.is_floating_point() else v
               for k, v in load_file(src / "model.safetensors").items()}
    save_file(tensors, dest / "model.safetensors", metadata={"format": "pt"})
    for name in MODEL_FILES:
        if (src / name).is_file():
            shutil.copy2(src / name, dest / name)


def export(params_file: str | Path, dest: str | Path) -> Path:
    """Copy the trained models of ``params_file``'s run into ``dest`` (replaced as a whole) with ``MANIFEST.json``."""
    from e2h.params import load_params, project_root
    from e2h.runner import _git_commit

    params_file, dest = Path(params_file).resolve(), Path(dest).resolve()
    p = load_params(params_file)
    run, root = Path(p.run_dir), project_root(params_file)
    models = {"sft": run / "sft", **{f"rm/{k}": run / "rm" / k for k in p.reward.kinds}}
    stages = {m.stem: {k: read_json(m, what="stage manifest").get(k) for k in ("wall_seconds", "git_commit")}
              for m in sorted((run / "manifests").glob("0[0-3]_*.json"))}
    missing = sorted({"00", "01", "02", "03"} - {name[:2] for name in stages})
    if missing:
        raise FileNotFoundError(f"{run}: stage(s) {', '.join(missing)} have not run for {params_file}")
    commit = _git_commit(root)  # before the new folder makes the tree dirty
    with atomic_dir(dest, marker=MANIFEST) as tmp:  # only ever replaces an earlier weights folder
        for name, src in models.items():
            _copy_model(src, tmp / name)
        files = {str(f.relative_to(tmp)): {"sha256": sha256(f), "bytes": f.stat().st_size}
                 for f in sorted(tmp.rglob("*")) if f.is_file()}
        manifest = {
            "made_by": f"python -m e2h weights {_relative(params_file, root)} {_relative(dest, root)}",
            "params_file": _relative(params_file, root), "params_digest": p.digest(), "run_dir": _relative(run, root),
            "git_commit": commit, "exported_at": datetime.now(timezone.utc).isoformat(),
            "stages": stages, "models": sorted(models), "dtype": "float16", "files": files,
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return dest


def verify(folder: str | Path) -> dict:
    """Check every file of a shipped-weights folder against its manifest; returns the manifest."""
    folder = Path(folder)
    path = folder / MANIFEST
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no manifest; regenerate the weights (e2h.weights)")
    manifest = read_json(path, what="weights manifest")
    files = manifest.get("files")
    if not isinstance(files, dict) or not files or not all(isinstance(m, dict) and "sha256" in m
                                                           for m in files.values()):
        raise ArtifactError(f"{path}: weights manifest has no 'files' table of {{name: {{sha256, bytes}}}}; "
                            f"regenerate the weights with: {manifest.get('made_by', 'python -m e2h weights ...')}")
    for name, meta in files.items():
        f = folder / name
        if not f.is_file():
            raise FileNotFoundError(f"{f}: listed in {path} but missing; regenerate with: {manifest['made_by']}")
        if sha256(f) != meta["sha256"]:
            raise ValueError(f"{f}: SHA-256 differs from {path}; regenerate with: {manifest['made_by']}")
    return manifest


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def main(params_file: str, dest: str) -> int:
    from e2h.params import load_params
    from e2h.runner import run

    check_replaceable(dest, MANIFEST)  # before an hour of training, not after
    with run_lock(load_params(params_file).run_dir):
        run(params_file, stages=TRAINING_STAGES)
        out = export(params_file, dest)
    total = sum(m["bytes"] for m in verify(out)["files"].values())
    print(f"[e2h] weights of {params_file} in {out} ({total / 1e6:.1f} MB)")
    return 0
