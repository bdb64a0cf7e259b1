"""Counters of what the grader did (fast verdicts, sympy calls, timeouts, child restarts), safe across threads."""

from __future__ import annotations

import threading
from collections import Counter

_lock = threading.Lock()
_counts: Counter = Counter()


def bump(name: str, n: int = 1) -> None:
    with _lock:
        _counts[name] += n


def grading_stats() -> dict[str, int]:
    """A snapshot of the counters: ``symbolic_calls``, ``timeouts``, ``child_starts``, ``cache_hits``, ..."""
    with _lock:
        return dict(_counts)


def reset_grading_stats() -> None:
    with _lock:
        _counts.clear()
