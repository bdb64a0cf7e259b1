"""Run the numbered notebooks of a params file in order with papermill: ``python -m e2h run params/default.yaml``.

Each stage's executed notebook lands in ``runs/<name>/notebooks/`` and a manifest beside it records the params hash,
package versions, git commit and wall time. A stage whose manifest says it finished under the same hash of the params
sections it depends on (its own and every earlier stage's, ``STAGE_SECTIONS``) is skipped, so a rerun after a
failure starts at the failed stage and a new re-ranking setting does not retrain anything. The runner stops at the
first failing stage and prints the failing cell and its error.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import platform
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

from e2h.io import ArtifactError, FolderInUse, read_json, run_lock, write_json
from e2h.params import ParamsError, load_params, parse_stage_spec, project_root

NOTEBOOK = re.compile(r"^(\d\d)_\w+\.ipynb$")
# The params sections each stage reads. A stage's outputs are reused while the sections of that stage and of every
# earlier one are unchanged, so a new rerank setting reruns 06 and 08, not the training. A stage not listed here
# (a notebook added later) counts every section.
STAGE_SECTIONS = {0: ["seed", "data"], 1: ["model", "sft", "weights"], 2: ["sample", "reward"], 3: [], 4: [],
                  5: ["score"], 6: ["rerank"], 8: ["figures_dir"]}
KERNEL = "e2h"
_VERSIONED = ("e2h", "torch", "transformers", "accelerate", "peft", "vllm", "numpy", "pandas", "sympy",
              "math-verify", "papermill")


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


def _versions() -> dict[str, str | None]:
    out = {"python": platform.python_version()}
    for name in _VERSIONED:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


def _git_commit(root: Path) -> str | None:
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True)
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=root, capture_output=True, text=True).stdout
        return sha.stdout.strip() + ("+dirty" if dirty.strip() else "")
    except (OSError, subprocess.CalledProcessError):
        return None


def manifest_path(run_dir: Path, stage: Path) -> Path:
    return Path(run_dir) / "manifests" / f"{stage.stem}.json"


def stage_digest(params, stage: Path) -> str:
    number = int(stage.name[:2])
    if number not in STAGE_SECTIONS:
        return params.digest()
    keys = [k for n, ks in STAGE_SECTIONS.items() if n <= number for k in ks]
    return params.digest(keys)


def read_manifest(run_dir: Path, stage: Path) -> dict | None:
    """A stage's manifest, or None when the stage has not run; an unreadable one raises naming the file."""
    path = manifest_path(run_dir, stage)
    if not path.exists():
        return None
    try:
        return read_json(path, what="stage manifest")
    except ArtifactError as e:
        raise ArtifactError(f"{e}; delete it to rerun stage {stage.stem}") from None


def upstream_runs(run_dir: Path, stage: Path, stages: list[Path]) -> dict[str, str | None]:
    """``run_id`` of every earlier stage that has run: what this stage's outputs were computed from."""
    out = {}
    for earlier in stages:
        if earlier.name < stage.name:
            m = read_manifest(run_dir, earlier)
            if m is not None:
                out[earlier.stem] = m.get("run_id")
    return out


def is_done(run_dir: Path, stage: Path, digest: str, upstream: dict[str, str | None] | None = None) -> bool:
    """Finished under the same params digest, after the earlier stages' current runs (a stage rerun upstream,
    e.g. a retrained policy, makes every later stage stale)."""
    manifest = read_manifest(run_dir, stage)
    if manifest is None or manifest.get("status") != "ok" or manifest.get("params_digest") != digest:
        return False
    inputs = manifest.get("inputs", {})
    return all(inputs.get(name) == run_id for name, run_id in (upstream or {}).items())


def run_stage(stage: Path, params_file: Path, run_dir: Path, digest: str, *, kernel: str = KERNEL,
              html: bool = False, upstream: dict[str, str | None] | None = None) -> float:
    """Execute one notebook; write its manifest; return wall seconds. Raises papermill's error on failure."""
    import papermill

    out = Path(run_dir) / "notebooks" / stage.name
    out.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    status = "failed"
    try:
        papermill.execute_notebook(str(stage), str(out), parameters={"params_file": str(params_file)},
                                   kernel_name=kernel, cwd=str(stage.parent), progress_bar=False)
        status = "ok"
    finally:
        wall = time.time() - t0
        write_json(manifest_path(run_dir, stage), {
            "stage": stage.stem, "status": status, "params_file": str(params_file), "params_digest": digest,
            "run_id": uuid.uuid4().hex[:12], "inputs": upstream or {},
            "wall_seconds": round(wall, 2), "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "git_commit": _git_commit(project_root(params_file)), "versions": _versions(),
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
        for stage in chosen:
            digest, upstream = stage_digest(params, stage), upstream_runs(params.run_dir, stage, every)
            if not force and is_done(params.run_dir, stage, digest, upstream):
                print(f"[e2h] {stage.stem}: done earlier under the same params, skipped", flush=True)
                walls[stage.stem] = 0.0
                continue
            print(f"[e2h] {stage.stem}: running", flush=True)
            walls[stage.stem] = run_stage(stage, params_file, params.run_dir, digest, kernel=kernel, html=html,
                                          upstream=upstream)
            print(f"[e2h] {stage.stem}: ok in {walls[stage.stem]:.1f} s", flush=True)
    return walls


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m e2h")
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="execute the numbered notebooks for a params file")
    r.add_argument("params", help="params YAML, e.g. params/default.yaml")
    r.add_argument("--stages", help="which stages, e.g. 03-06 or 00,04 (default: the params file's `stages`, else all)")
    r.add_argument("--force", action="store_true", help="rerun stages even if done under the same params")
    r.add_argument("--html", action="store_true", help="also export each executed notebook to HTML")
    r.add_argument("--notebooks", help="folder of the numbered notebooks (default: notebooks/ beside params/)")
    r.add_argument("--wait", action="store_true", help="if another process is running this params file's run "
                                                       "folder, wait for it instead of stopping")
    s = sub.add_parser("seeds", help="run a params file under more seeds and pool the differences with majority")
    s.add_argument("params", help="params YAML, e.g. params/default.yaml (run as it is, plus once per seed)")
    s.add_argument("--seeds", type=int, nargs="+", default=[1, 2], help="the extra seeds (default: 1 2)")
    w = sub.add_parser("weights", help="train a params file's policy and reward models (stages 00-03) and ship them")
    w.add_argument("params", help="params YAML, e.g. params/default-train.yaml")
    w.add_argument("folder", help="where the weights and their MANIFEST.json go, e.g. weights/default")
    args = parser.parse_args(argv)
    try:
        if args.command == "seeds":
            from e2h import seeds

            return seeds.main(args.params, args.seeds)
        if args.command == "weights":
            from e2h import weights

            return weights.main(args.params, args.folder)
        walls = run(args.params, stages=args.stages, force=args.force, html=args.html, notebooks_dir=args.notebooks,
                    wait=args.wait)
    except (ParamsError, ArtifactError, FolderInUse, FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except Exception as e:  # papermill's PapermillExecutionError carries the failing cell and traceback
        if type(e).__name__ != "PapermillExecutionError":
            raise
        print(f"[e2h] stage failed in cell [{e.exec_count}]:\n{e.source}\n\n{e.ename}: {e.evalue}", file=sys.stderr)
        print("\n".join(e.traceback[-3:]), file=sys.stderr)
        return 1
    print(f"[e2h] all stages ok ({sum(walls.values()):.1f} s)")
    return 0
