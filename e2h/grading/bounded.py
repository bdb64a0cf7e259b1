"""A hard time limit on the sympy step: persistent child processes, each killed when its question runs out of time.

Why child processes: sympy can run for hours or eat all memory on a short input (``9^{9^{9^9}}``), and nothing
inside one Python process can stop it. SIGALRM (math-verify's approach) works only in the main thread of the main
interpreter, so it fails in thread pools, and turning it off lets calls hang. Why ``subprocess`` and not
``multiprocessing``: a daemonic ``multiprocessing.Pool`` worker may not start children, and a forkserver or spawn
context is shared state that other libraries configure too; a plain ``python -m e2h.grading._child`` with a
line-based JSON protocol works the same in a script, a thread, a Jupyter kernel or a pool worker.

What a call's ``timeout`` buys (:class:`Budget`): that many seconds of work by a ready child on this call's
questions, measured in the child's CPU time where the system reports it (Linux), so a loaded machine shrinks
no budget. Waiting for a child (to start and import sympy, or to become free) is not the question's fault: it comes
out of a separate wall-clock allowance, :data:`LOAD_ALLOWANCE`. So:

- a child that works ``timeout`` seconds on a question without an answer is killed and replaced: a **timeout**,
  a real verdict (False for this budget);
- a call that gets no ready child within the allowance, or whose questions take :data:`STARVE_GRACE` seconds of
  wall time more than its budget without using it up (a child starved of CPU by other load), gives up: **no
  verdict** (False, which callers must not cache);
- so a call returns within ``timeout + STARVE_GRACE`` plus process-kill slack once it has a ready child, and
  within ``LOAD_ALLOWANCE`` more whatever happens.

Children exit at interpreter exit (atexit) or when their parent disappears.
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
LOAD_ALLOWANCE = 60.0  # seconds a call may spend, beyond its timeout, on a busy machine: a generous start-up
STARVE_GRACE = 2.0  # wall seconds a call's questions may take beyond the budget (round trips, a starved child)
_CLOCK_TICK = 0.02  # the CPU clock of /proc advances in 10 ms ticks; re-read it no more often than this
try:
    _TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")
except (AttributeError, ValueError, OSError):
    _TICKS_PER_SECOND = 100


class ChildStartError(RuntimeError):
    """The child process exited before it was ready: a broken installation, not a hard input."""


def _cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system) of process ``pid`` from /proc, or None where the system does not report it."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()  # the command name, in parentheses, may hold spaces
        return (int(fields[11]) + int(fields[12])) / _TICKS_PER_SECOND
    except (OSError, IndexError, ValueError):
        return None


class _WorkClock:
    """Seconds a child has worked since this clock started: its CPU time if readable, else wall time."""

    def __init__(self, pid: int) -> None:
        self._pid = pid
        self._cpu0 = _cpu_seconds(pid)
        self._wall0 = time.monotonic()

    def used(self) -> float:
        cpu = _cpu_seconds(self._pid) if self._cpu0 is not None else None
        return time.monotonic() - self._wall0 if cpu is None else cpu - self._cpu0


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
        """True once the child has imported sympy and warmed up; False if still starting at ``deadline``."""
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

    def ask(self, request: dict, budget: float, deadline: float) -> tuple[dict | None, float]:
        """``(reply, seconds worked)`` from the ready child; reply None when it worked ``budget`` seconds, or the
        wall clock reached ``deadline``, without answering (the child must then be killed)."""
        self._next_id += 1
        self.proc.stdin.write(json.dumps({"id": self._next_id, **request}).encode() + b"\n")
        self.proc.stdin.flush()
        clock = _WorkClock(self.proc.pid)
        while True:
            used, now = clock.used(), time.monotonic()
            if used >= budget or now >= deadline:
                return None, used
            # The child cannot work faster than the wall clock runs, so it cannot use up its budget before then.
            line = self._readline(min(now + budget - used + _CLOCK_TICK, deadline))
            if line is not None:
                return self._reply(line), clock.used()

    def _reply(self, line: bytes) -> dict:
        reply = json.loads(line)
        if reply.get("id") != self._next_id:
            raise RuntimeError(f"grader child answered request {reply.get('id')}, expected {self._next_id}")
        if reply.get("err"):
            bump("symbolic_errors")
        return reply

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

    def acquire(self, deadline: float, prefer: _Child | None = None) -> _Child | None:
        """A free child, ``prefer`` if it is free (its parse cache may already hold this caller's gold)."""
        with self._cond:
            while not self._idle and self._live >= self.size:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._cond.wait(remaining)
            if prefer is not None and prefer in self._idle:
                self._idle.remove(prefer)
                return prefer
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
        """Start up to ``n`` children and wait until they have imported sympy, so that they start together."""
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


# A child costs about 0.6 CPU-seconds before its first answer (sympy's import, ANTLR's tables), about the sympy work
# of a few hundred questions: a job of fewer questions than this per child is done sooner, all told, by fewer.
QUESTIONS_PER_CHILD = 200


def children_for(questions: int, workers: int | None = None) -> int:
    """How many children a job of ``questions`` sympy questions should use: one per QUESTIONS_PER_CHILD
    questions, at least one, at most ``workers`` (default: the CPU count)."""
    workers = max(1, int(workers or os.cpu_count() or 1))
    return max(1, min(workers, -(-questions // QUESTIONS_PER_CHILD)))


def shutdown() -> None:
    """Kill the idle children now (also runs at exit); a later call starts fresh ones."""
    global _pool
    with _pool_lock:
        pool, _pool = (_pool, None) if _pool_pid == os.getpid() else (None, None)
    if pool is not None:
        pool.shutdown()


atexit.register(shutdown)


class Budget:
    """The time of one call: ``timeout`` seconds of sympy work (a ready child's CPU time) shared by the call's
    questions; ``timeout + STARVE_GRACE`` seconds of wall time spent on them (round trips included, so that many
    small questions, or a starved child, cannot stretch the call); and ``LOAD_ALLOWANCE`` more for waiting.

    After the call, ``timed_out`` says a question used up the budget (the verdict holds for this budget only) and
    ``unreached`` that a question got no answer for want of a child or of CPU (no verdict: never cache it).
    """

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.work_left = timeout
        self.wall_left = timeout + STARVE_GRACE
        self.deadline = time.monotonic() + self.wall_left + LOAD_ALLOWANCE
        self.timed_out = False
        self.unreached = False

    def symbolic(self, gold: str, pred: str) -> bool:
        """The sympy callback of :func:`e2h.grading.compare.grade_normalized`, on this budget."""
        return symbolic_equal(gold, pred, self)


_last = threading.local()  # the child this thread asked last: successive questions of a thread share a gold


def _ready_child(pool: ChildPool, budget: Budget) -> _Child | None:
    """A free child that has imported sympy, waiting no longer than leaves the question its wall time."""
    wait_until = budget.deadline - budget.wall_left
    child = pool.acquire(wait_until, prefer=getattr(_last, "child", None))
    if child is None:
        return None
    try:
        ready = child.wait_ready(wait_until)
    except BaseException:
        pool.release(child, healthy=False, replace=False)
        raise
    if not ready:  # still importing sympy: keep it (it is not stuck) for the next caller
        pool.release(child, healthy=True)
        return None
    _last.child = child
    return child


def _ask(request: dict, budget: Budget, counter: str) -> dict | None:
    """The child's reply to ``request`` on ``budget``, or None when it cannot finish (see Budget); ``counter``
    counts the questions asked."""
    if budget.unreached:  # the call gave up on an earlier question: its verdict is no verdict anyway
        return None
    if budget.work_left <= 0:  # spent by an earlier question of this call: do not start (and kill) a child
        budget.timed_out = True
        bump("timeouts")
        return None
    if budget.wall_left <= 0:  # the earlier questions' round trips took the wall time: the machine is starved
        budget.unreached = True
        bump("timeouts_starved")
        return None
    pool = get_pool()
    child = _ready_child(pool, budget)
    if child is None:
        budget.unreached = True
        bump("timeouts_waiting")
        return None
    bump(counter)
    start = time.monotonic()
    try:
        reply, used = child.ask(request, budget.work_left, min(budget.deadline, start + budget.wall_left))
    except (EOFError, OSError, ValueError, RuntimeError):  # crashed (segfault, OOM kill) or garbled reply
        bump("child_crashes")
        pool.release(child, healthy=False)
        return {}  # an answer of sorts: the child died on this question, which is no "not reached"
    except BaseException:  # interrupted mid-call: the child's state is unknown
        pool.release(child, healthy=False)
        raise
    budget.work_left -= used
    budget.wall_left -= time.monotonic() - start
    if reply is None:
        pool.release(child, healthy=False)
        if budget.work_left <= 0:
            budget.timed_out = True
            bump("timeouts")
        else:  # the wall clock ran out first: other load starved the child, the question is not at fault
            budget.unreached = True
            bump("timeouts_starved")
        return None
    pool.release(child, healthy=True)
    return reply


def symbolic_equal(gold: str, pred: str, budget: Budget) -> bool:
    """``symbolic.equivalent(gold, pred)`` run in a child on ``budget``; False when it cannot finish (see Budget)."""
    reply = _ask({"g": gold, "p": pred}, budget, "symbolic_calls")
    return bool(reply and reply.get("ok"))


def symbolic_fingerprint(text: str, budget: Budget) -> list | None:
    """``symbolic.fingerprint(text)`` run in a child on ``budget``; None when it has none or cannot finish."""
    reply = _ask({"k": text}, budget, "fingerprints")
    return reply.get("key") if reply else None
