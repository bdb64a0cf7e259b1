"""Run a Python module on several processes under ``accelerate launch`` (one process needs none of this).

``launch_command(module, args, n, config)`` is the command that starts ``python -m <module> <args>`` on ``n``
processes: ``accelerate launch --config_file <config> --num_processes n -m <module> ...`` on a CUDA machine, and
``torch.distributed.run`` on a CPU-only one (accelerate's own launcher needs MPI for CPU processes; accelerate then
runs the processes as MULTI_CPU over gloo). ``run_streaming`` runs it, printing its output as it comes, so a
notebook cell shows the training progress.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch_command(module: str, args: list[str], num_processes: int, accelerate_config: str | None = None,
                   cpu: bool | None = None) -> tuple[list[str], dict]:
    """The command (and extra environment) that runs ``python -m module *args`` on ``num_processes`` processes."""
    import torch

    cpu = not torch.cuda.is_available() if cpu is None else cpu
    target = ["-m", module, *args]
    if cpu:
        return ([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(num_processes),
                 "--master_addr", "127.0.0.1", "--master_port", str(free_port())] + target,
                {"ACCELERATE_USE_CPU": "1", "OMP_NUM_THREADS": "1"})
    accelerate = shutil.which("accelerate", path=str(Path(sys.executable).parent)) or shutil.which("accelerate")
    if accelerate is None:
        raise FileNotFoundError("the `accelerate` command is not installed next to this Python")
    cmd = [accelerate, "launch", "--num_processes", str(num_processes), "--main_process_port", str(free_port())]
    if accelerate_config:
        cmd += ["--config_file", str(accelerate_config)]
    return cmd + target, {}


def run_streaming(cmd: list[str], extra_env: dict | None = None) -> None:
    """Run ``cmd``, streaming its output; raise with its last lines when it fails."""
    env = dict(os.environ, PYTHONUNBUFFERED="1", **(extra_env or {}))
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    tail: list[str] = []
    for line in proc.stdout:  # into the notebook / terminal as it comes
        print(line, end="")
        tail = (tail + [line])[-40:]
    if proc.wait() != 0:
        raise RuntimeError(f"`{' '.join(cmd)}` failed with exit code {proc.returncode}; last lines:\n" + "".join(tail))


def threads_per_job(jobs_at_once: int) -> int:
    """The cores shared out evenly: oversubscribed threads (two jobs of two threads on two cores) made a stage
    twenty times slower here."""
    return max(1, (os.cpu_count() or 1) // max(1, jobs_at_once))


def run_parallel(commands: dict[str, list[str]], jobs_at_once: int, extra_env: dict | None = None) -> None:
    """Run independent commands, at most ``jobs_at_once`` side by side, each with an even share of the cores
    (``OMP_NUM_THREADS``); their output is streamed with a ``[name]`` prefix. Raises naming every failed one."""
    import threading
    from collections import deque

    threads = str(threads_per_job(min(jobs_at_once, len(commands))))
    env = dict(os.environ, PYTHONUNBUFFERED="1", OMP_NUM_THREADS=threads, MKL_NUM_THREADS=threads,
               **(extra_env or {}))
    queue, running, failed, lock = deque(commands.items()), [], [], threading.Lock()

    def pump(name: str, proc: subprocess.Popen, tail: list) -> None:
        buf = ""
        for chunk in iter(lambda: proc.stdout.read(256), ""):
            buf += chunk
            *lines, buf = buf.replace("\r", "\n").split("\n")  # a progress frame is a line of its own
            with lock:
                for line in lines:
                    if line.strip():
                        print(f"[{name}] {line}", flush=True)
                        tail[:] = (tail + [line])[-20:]

    while queue or running:
        while queue and len(running) < jobs_at_once:
            name, cmd = queue.popleft()
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
            tail: list = []
            reader = threading.Thread(target=pump, args=(name, proc, tail), daemon=True)
            reader.start()
            running.append((name, proc, reader, tail))
        finished = [job for job in running if job[1].poll() is not None]
        if not finished:
            time.sleep(0.2)
            continue
        for job in finished:
            name, proc, reader, tail = job
            reader.join()
            running.remove(job)
            if proc.returncode != 0:
                failed.append(f"{name} (exit code {proc.returncode}):\n" + "\n".join(tail))
    if failed:
        raise RuntimeError("parallel jobs failed: " + "\n\n".join(failed))
