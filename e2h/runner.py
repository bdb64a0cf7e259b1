"""Run the numbered notebooks of a params file in order with papermill (``python -m e2h run params/x.yaml``).

Each stage's executed notebook lands in the run folder's ``notebooks/`` and a manifest in ``manifests/`` records
the params digest, package versions, git commit and wall time. A stage is skipped when its manifest says it
finished under the same digest of the params it reads (``e2h.stages.STAGES``) after the same runs of the stages
before it (their ``run_id``s), so a rerun after a failure starts at the failed stage, a new re-ranking setting
retrains nothing, and a retrained policy makes every later stage stale. The runner stops at the first failing
stage. The run folder is locked meanwhile (``e2h.io.run_lock``).
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

from e2h.io import ArtifactError, read_json, run_lock, write_json
from e2h.params import load_params, parse_stage_spec, project_root
from e2h.provenance import git_commit, package_versions
from e2h.stages import stage as stage_row
from e2h.stages.layout import RunLayout

NOTEBOOK = re.compile(r"^(\d\d)_\w+\.ipynb$")
KERNEL = "e2h"
# What the runner's kernels see besides the caller's environment: text progress bars that survive in the saved
# notebook (e2h.progress), and no widget bars of Hugging Face's loaders.
KERNEL_ENV = {"E2H_PROGRESS": "text", "HF_HUB_DISABLE_PROGRESS_BARS": "1"}


def _kernel_manager_class():
    """A kernel manager whose kernels talk over local sockets (IPC): nothing listens on a TCP port, so the kernel
    has nothing to warn about ("Kernel is running over TCP without encryption"), and that start with KERNEL_ENV."""
    import os
    import tempfile

    from jupyter_client.manager import AsyncKernelManager

    class LocalKernelManager(AsyncKernelManager):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.transport = "ipc"
            self.ip = os.path.join(tempfile.gettempdir(), f"e2h-kernel-{uuid.uuid4().hex[:8]}")

        async def start_kernel(self, **kwargs):
            kwargs["env"] = {**os.environ, **KERNEL_ENV, **kwargs.get("env", {})}
            return await super().start_kernel(**kwargs)

    return LocalKernelManager


def list_stages(notebooks_dir: Path) -> list[Path]:
    if not Path(notebooks_dir).is_dir():
        raise ValueError(f"{notebooks_dir}: no notebooks folder there (pass --notebooks)")
    return sorted(p for p in Path(notebooks_dir).iterdir() if NOTEBOOK.match(p.name))


def select_stages(stages: list[Path], spec: str | None) -> list[Path]:
    """``spec`` is e.g. ``"03-06"``, ``"04"`` or ``"00,04-06"``; None selects all (an empty string is an error)."""
    if spec is None:
        return stages
    wanted = parse_stage_spec(spec)
    chosen = [s for s in stages if int(s.name[:2]) in wanted]
    if not chosen:
        raise ValueError(f"--stages {spec!r} selects none of: {', '.join(s.name for s in stages)}")
    return chosen


def stage_digest(params, notebook: Path) -> str:
    """The digest of the params this stage reads (all of them for a notebook the stage table does not know)."""
    row = stage_row(int(notebook.name[:2]))
    return params.digest() if row is None else params.digest(list(row.reads), row.ignores)


def read_manifest(run_dir: Path, notebook: Path) -> dict | None:
    """A stage's manifest, or None when the stage has not run; an unreadable one raises naming the file."""
    path = RunLayout(run_dir).manifest(notebook.stem)
    if not path.exists():
        return None
    try:
        return read_json(path, what="stage manifest")
    except ArtifactError as e:
        raise ArtifactError(f"{e}; delete it to rerun stage {notebook.stem}") from None


def upstream_runs(run_dir: Path, notebook: Path, notebooks: list[Path]) -> dict[str, str | None]:
    """``run_id`` of each earlier stage this one reads (``Stage.after``; every earlier one for a notebook the table
    does not know) that has run: what this stage's outputs were computed from."""
    row = stage_row(int(notebook.name[:2]))
    out = {}
    for earlier in notebooks:
        number = int(earlier.name[:2])
        if number < int(notebook.name[:2]) and (row is None or number in row.after):
            m = read_manifest(run_dir, earlier)
            if m is not None:
                out[earlier.stem] = m.get("run_id")
    return out


def is_done(run_dir: Path, notebook: Path, digest: str, upstream: dict[str, str | None] | None = None) -> bool:
    """Finished under the same params digest, after the earlier stages' current runs."""
    manifest = read_manifest(run_dir, notebook)
    if manifest is None or manifest.get("status") != "ok" or manifest.get("params_digest") != digest:
        return False
    inputs = manifest.get("inputs", {})
    return all(inputs.get(name) == run_id for name, run_id in (upstream or {}).items())


def run_stage(notebook: Path, params_file: Path, run_dir: Path, digest: str, *, kernel: str = KERNEL,
              html: bool = False, upstream: dict[str, str | None] | None = None) -> float:
    """Execute one notebook; write its manifest; return wall seconds. Raises papermill's error on failure."""
    import papermill

    where = RunLayout(run_dir)
    out = where.executed_notebook(notebook.name)
    out.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    status = "failed"
    try:
        papermill.execute_notebook(str(notebook), str(out), parameters={"params_file": str(params_file)},
                                   kernel_name=kernel, cwd=str(notebook.parent), progress_bar=False,
                                   kernel_manager_class=_kernel_manager_class(),
                                   # The notebook is saved by then; a graceful stop of a busy machine's kernel
                                   # ends in an interrupt that the kernel reports as an error line.
                                   shutdown_kernel="immediate")
        status = "ok"
    finally:
        wall = time.time() - t0
        write_json(where.manifest(notebook.stem), {
            "stage": notebook.stem, "status": status, "params_file": str(params_file), "params_digest": digest,
            "run_id": uuid.uuid4().hex[:12], "inputs": upstream or {},
            "wall_seconds": round(wall, 2), "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "git_commit": git_commit(project_root(params_file)), "versions": package_versions(),
            "executed_notebook": str(out)})
    if html:
        subprocess.run([sys.executable, "-m", "jupyter", "nbconvert", "--to", "html", str(out)],
                       check=False, capture_output=True)
    return wall


def run(params_file: str | Path, *, stages: str | None = None, force: bool = False, html: bool = False,
        notebooks_dir: str | Path | None = None, kernel: str = KERNEL, wait: bool = False) -> dict[str, float]:
    """Run the selected stages; returns {stage name: wall seconds (0.0 when skipped)}. The run folder is locked
    meanwhile: a second run of it stops at once naming this one (or, with ``wait``, queues behind it)."""
    params_file = Path(params_file).resolve()
    params = load_params(params_file)
    notebooks_dir = Path(notebooks_dir or project_root(params_file) / "notebooks")
    every = list_stages(notebooks_dir)
    chosen = select_stages(every, params.stages if stages is None else stages)
    if params.weights:  # shipped weights are checked before any stage, not in the middle of stage 04
        from e2h.weights import verify

        verify(params.weights)
    walls = {}
    with run_lock(params.run_dir, wait=wait):
        for notebook in chosen:
            digest, upstream = stage_digest(params, notebook), upstream_runs(params.run_dir, notebook, every)
            if not force and is_done(params.run_dir, notebook, digest, upstream):
                print(f"[e2h] {notebook.stem}: done earlier under the same params, skipped", flush=True)
                walls[notebook.stem] = 0.0
                continue
            print(f"[e2h] {notebook.stem}: running", flush=True)
            walls[notebook.stem] = run_stage(notebook, params_file, params.run_dir, digest, kernel=kernel,
                                             html=html, upstream=upstream)
            print(f"[e2h] {notebook.stem}: ok in {walls[notebook.stem]:.1f} s", flush=True)
    return walls
