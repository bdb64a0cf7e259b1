"""Shipped weights: a folder holding a trained policy (``sft/``) and reward models (``rm/<kind>/``) with a manifest.

Training the embedded task's policy and four reward models takes longer on a 2-core CPU than the default run may,
so ``params/default.yaml`` samples and scores with weights that the project's own pipeline produced
(``python -m e2h weights params/default-train.yaml weights/default``, ``e2h.stages.shipping``). ``MANIFEST.json``
says where they came from (params file and digest, git commit, each training stage's wall time and commit) and
holds the SHA-256 of every file, which ``verify`` checks before a run uses them. Tensors are float16 (half the
size); the scorer and sampler load them back in float32 on a CPU.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

from e2h.io import ArtifactError, read_json

MANIFEST = "MANIFEST.json"
# What a model folder needs to load; training curves and logs stay in the run folder.
MODEL_FILES = ("config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
               "e2h_train.json", "e2h_reward.json", "e2h_pretrain.json", "e2h_base.json")


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def copy_model(src: Path, dest: Path) -> None:
    """The loadable files of one model folder, its tensors cast to float16."""
    import torch
    from safetensors.torch import load_file, save_file

    if not (src / "model.safetensors").is_file():
        raise FileNotFoundError(f"{src}: no model.safetensors; has the stage that trains it run?")
    dest.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.to(torch.float16) if v.is_floating_point() else v
               for k, v in load_file(src / "model.safetensors").items()}
    save_file(tensors, dest / "model.safetensors", metadata={"format": "pt"})
    for name in MODEL_FILES:
        if (src / name).is_file():
            shutil.copy2(src / name, dest / name)


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


def shipped_model(folder: str | os.PathLike, name: str) -> Path:
    """The folder of one shipped model: ``sft`` (the policy) or ``rm/<kind>`` (a reward model)."""
    return Path(folder) / name
