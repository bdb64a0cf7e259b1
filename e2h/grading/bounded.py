"""A hard time limit on the sympy step: persistent child processes, each killed when its call's deadline passes.

Why child processes: sympy can run for hours or eat all memory on a short input (``9^{9^{9^9}}``), and nothing
inside one Python process can stop it. SIGALRM (math-verify's approach) works only in the main thread of the main
interpreter, so it fails in thread pools, and turning it off lets calls hang. Why ``subprocess`` and not
``multiprocessing``: a daemonic ``multiprocessing.Pool`` worker may not start children, and a forkserver or spawn
context is shared state that other libraries configure too; a plain ``python -m e2h.grading._child`` with a
line-based JSON protocol works the same in a script, a thread, a Jupyter kernel or a pool worker.

Each call checks a child out of a small lazy pool, writes one request and waits (``select``) until its deadline;
a late child is killed and replaced at once (the replacement imports sympy while the caller moves on), and the
call answers False. Children exit at interpreter exit (atexit) or when their parent disappears.
"""

from __future__ import annotations

import atexit
import json
import os
import select
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from e2h.grading.audit import bump

_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])
CHILD_COMMAND = [sys.executable, "-m", "e2h.grading._child"]
_local = threading.local()  # per thread: did the last verdict fail for want of a started child (not cacheable)?


class ChildStartError(RuntimeError):
    """The child process exited before it was ready: a broken installation, not a hard input."""


class _Child:
    """One child process and its half of the line protocol."""

    def __init__(self) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (_PACKAGE_ROOT, env.get("PYTHONPATH")) if p)
        self._stderr = tempfile.TemporaryFile()  # a file, not a pipe: a chatty child can never block on it
        self.proc = subprocess.Popen(CHILD_COMMAND, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self._stderr, env=env,
                                     start_new_session=True)  # a Ctrl-C meant for the caller is not for us
        self._buf = b""
        self._ready = False
        self._next_id = 0
        bump("child_starts")

    def _readline(self, deadline: float) -> bytes | None:
        fd = self.proc.stdout.fileno()
        while b"\n" not in self._buf:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                return None
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                raise EOFError("grader child exited")
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return line

    def wait_ready(self, deadline: float) -> bool:
        """True once the child has imported sympy; False if still starting at ``deadline``."""
        if not self._ready:
            try:
                line = self._readline(deadline)
            except EOFError:
                self._stderr.seek(0)
                tail = self._stderr.read()[-2000:].decode(errors="replace")
                raise ChildStartError(f"grader child {' '.join(CHILD_COMMAND)!r} exited while starting "
                                      f"(code {self.proc.wait()}): {tail}") from None
            if line is None:
                return False
            if json.loads(line).get("ready") is not True:
                raise ChildStartError(f"grader child sent {line[:200]!r} instead of its ready line")
            self._ready = True
        return True

    def ask(self, gold: str, pred: str, deadline: float) -> bool | None:
        """The ready child's verdict, or None when the deadline passed first (the child must then be killed)."""
        self._next_id += 1
        self.proc.stdin.write(json.dumps({"id": self._next_id, "g": gold, "p": pred}).encode() + b"\n")
        self.proc.stdin.flush()
        line = self._readline(deadline)
        if line is None:
            return None
        reply = json.loads(line)
        if reply.get("id") != self._next_id:
            raise RuntimeError(f"grader child answered request {reply.get('id')}, expected {self._next_id}")
        if reply.get("err"):
            bump("symbolic_errors")
        return bool(reply.get("ok"))

    def kill(self) -> None:
        try:
            self.proc.kill()
            self.proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            pass
        for stream in (self.proc.stdin, self.proc.stdout, self._stderr):
            try:
                stream.close()
            except OSError:
                pass


class ChildPool:
    """At most ``size`` children, started on first need; callers wait (up to their deadline) for a free one."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._cond = threading.Condition()
        self._idle: list[_Child] = []
        self._live = 0
        self._closed = False

    def acquire(self, deadline: float) -> _Child | None:
        with self._cond:
            while not self._idle and self._live >= self.size:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._cond.wait(remaining)
            if self._idle:
                return self._idle.pop()
            self._live += 1
        try:
            return _Child()
        except BaseException:
            self._forget()
            raise

    def _forget(self) -> None:
        with self._cond:
            self._live -= 1
            self._cond.notify()

    def release(self, child: _Child, healthy: bool, replace: bool = True) -> None:
        """Return a child after a call; an unhealthy one (late, crashed) is killed and replaced right away."""
        if healthy and not self._closed:
            with self._cond:
                self._idle.append(child)
                self._cond.notify()
            return
        child.kill()
        if self._closed or not replace:
            self._forget()
            return
        bump("child_restarts")
        try:
            fresh = _Child()
        except OSError:
            self._forget()
            return
        with self._cond:
            self._idle.append(fresh)
            self._cond.notify()

    def warm(self, n: int, limit: float = 120.0) -> None:
        """Start up to ``n`` children and wait until they have imported sympy, so later deadlines time sympy only."""
        deadline = time.monotonic() + limit
        children = []
        for _ in range(min(n, self.size)):
            child = self.acquire(deadline)
            if child is None:
                break
            children.append(child)
        for child in children:
            try:
                ok = child.wait_ready(deadline)
            except BaseException:
                self.release(child, healthy=False, replace=False)
                raise
            self.release(child, healthy=ok)

    def shutdown(self) -> None:
        with self._cond:
            self._closed = True
            idle, self._idle = self._idle, []
            self._live -= len(idle)
        for child in idle:
            child.kill()


_pool: ChildPool | None = None
_pool_pid = -1
_pool_lock = threading.Lock()


def get_pool(min_size: int = 0) -> ChildPool:
    """The process-wide pool (a forked copy of this process gets its own: pipes cannot be shared)."""
    global _pool, _pool_pid
    with _pool_lock:
        if _pool is None or _pool_pid != os.getpid():
            _pool = ChildPool(max(2, os.cpu_count() or 2))
            _pool_pid = os.getpid()
        _pool.size = max(_pool.size, min_size)
        return _pool


def shutdown() -> None:
    """Kill the idle children now (also runs at exit); a later call starts fresh ones."""
    global _pool
    with _pool_lock:
        pool, _pool = (_pool, None) if _pool_pid == os.getpid() else (None, None)
    if pool is not None:
        pool.shutdown()


atexit.register(shutdown)


def take_uncacheable() -> bool:
    """Whether this thread's last ``symbolic_equal`` gave up for want of a ready child (then reset the flag).

    Such a False says nothing about the answer (the machine was busy starting processes), so callers do not cache it;
    a False from a child that was working on the question when time ran out is a real verdict and is cached.
    """
    flag, _local.uncacheable = getattr(_local, "uncacheable", False), False
    return flag


def symbolic_equal(gold: str, pred: str, deadline: float) -> bool:
    """``symbolic.equivalent(gold, pred)`` run in a child, False when it cannot finish by ``deadline``."""
    if time.monotonic() >= deadline:  # out of time already: do not spend (and then kill) a healthy child
        bump("timeouts")
        return False
    pool = get_pool()
    child = pool.acquire(deadline)
    if child is None:
        bump("timeouts_waiting")
        _local.uncacheable = True
        return False
    try:
        ready = child.wait_ready(deadline)
    except BaseException:
        pool.release(child, healthy=False, replace=False)
        raise
    if not ready:  # still importing sympy: keep it (it is not stuck), but this verdict is no verdict
        pool.release(child, healthy=True)
        bump("timeouts_waiting")
        _local.uncacheable = True
        return False
    bump("symbolic_calls")
    try:
        verdict = child.ask(gold, pred, deadline)
    except (EOFError, OSError, ValueError, RuntimeError):  # crashed (segfault, OOM kill) or garbled reply
        bump("child_crashes")
        pool.release(child, healthy=False)
        return False
    except BaseException:  # interrupted mid-call: the child's state is unknown
        pool.release(child, healthy=False)
        raise
    if verdict is None:
        bump("timeouts")
        pool.release(child, healthy=False)
        return False
    pool.release(child, healthy=True)
    return verdict
