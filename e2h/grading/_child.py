"""The grader's child process: reads one JSON request per line on stdin, answers one JSON line on stdout.

A request is ``{"id", "g", "p"}`` (is ``p`` equivalent to ``g``? answered ``{"id", "ok", "err"}``) or ``{"id", "k"}``
(the fingerprint of ``k`` for answer grouping, answered ``{"id", "key", "err"}``).

Started by :mod:`e2h.grading.bounded` as ``python -m e2h.grading._child``; it says it is ready only once sympy is
imported and warmed up. The parent enforces the time budget by killing this process; here we only cap memory (a
runaway power raises MemoryError instead of swapping the host), ignore Ctrl-C (the parent decides), and exit when
the parent is gone.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time

_MEMORY_LIMIT = 4 << 30


def _limit_memory() -> None:
    try:
        import resource
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        limit = _MEMORY_LIMIT if hard == resource.RLIM_INFINITY else min(_MEMORY_LIMIT, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ImportError, ValueError, OSError):
        pass


def _exit_with_parent(parent: int) -> None:
    def watch():
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)
    threading.Thread(target=watch, daemon=True).start()


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = os.getppid()
    proto = os.fdopen(os.dup(1), "wb")  # the protocol gets its own fd; stray prints go to stderr
    os.dup2(2, 1)
    _limit_memory()
    _exit_with_parent(parent)
    from e2h.grading.symbolic import equivalent, fingerprint  # the slow import (sympy, antlr): once per child

    # The first comparison also builds the parser and sympy's caches (0.1 s alone, seconds on a loaded machine):
    # start-up, which must not be charged to the first question's budget.
    equivalent("2\\sqrt{2}", "\\sqrt{8}")
    equivalent("x+y=5", "5=y+x")
    proto.write(b'{"ready": true}\n')
    proto.flush()
    for line in sys.stdin.buffer:
        reply = {"id": None, "err": None}
        try:
            req = json.loads(line)
            reply["id"] = req["id"]
            if "k" in req:
                reply["key"] = None
                reply["key"] = fingerprint(req["k"])
            else:
                reply["ok"] = False
                reply["ok"] = bool(equivalent(req["g"], req["p"]))
        except Exception as exc:  # any parse or sympy failure (MemoryError, RecursionError too): not shown equal,
            reply["err"] = type(exc).__name__  # and no fingerprint
        proto.write(json.dumps(reply).encode() + b"\n")
        proto.flush()


if __name__ == "__main__":
    main()
