"""What ReST-EM and iterative DPO share: sample from the latest policy, build data, train, keep the best iteration.

Each iteration's policy is written to its own folder (an iteration without data trains nothing, and the next
samples from the same policy); the method's policy is the iteration whose best checkpoint
scored highest on the easy validation problems (ties: the earlier), copied to the method's folder with
``e2h_rl.json`` (every iteration's data counts and checkpoint history). Sampling, which every process would
otherwise repeat (and, on GPUs, not bit for bit), runs on the main process; the others read its data.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Callable

RECORD = "e2h_rl.json"


def on_main(acc, path: Path, make: Callable[[], object]):
    """``make()`` on the main process, shared with the others through a JSON file at ``path``."""
    from e2h.io import write_json

    if acc is None or acc.num_processes == 1:
        return make()
    if acc.is_main_process:
        write_json(path, make())
    acc.wait_for_everyone()
    return json.loads(Path(path).read_text())


def keep_best(iterations: list[dict], folders: list[Path], out_dir: Path, summary: dict, acc=None) -> dict:
    """Copy the best iteration's folder to ``out_dir`` (atomically) with ``e2h_rl.json``; returns the record."""
    from e2h.io import atomic_dir, check_replaceable, write_json
    from e2h.training.loop import LOSSES

    if not iterations:
        raise ValueError(f"{summary.get('method')}: no iteration had data to train on (no accepted solution or pair "
                         "in any iteration's samples); see the messages above")
    best = max(range(len(iterations)), key=lambda i: (iterations[i]["chosen"].get("val_accuracy", -1.0), -i))
    record = {**summary, "iterations": iterations, "chosen_iteration": iterations[best]["iteration"]}
    if acc is None or acc.is_main_process:
        check_replaceable(out_dir, LOSSES)
        with atomic_dir(out_dir, marker=LOSSES) as tmp:
            shutil.copytree(folders[best], tmp, dirs_exist_ok=True)
            write_json(tmp / RECORD, record)
    if acc is not None:
        acc.wait_for_everyone()
    return record
