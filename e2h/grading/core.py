"""``grade`` and ``grade_many``: normalize, look the verdict up in a cache keyed by the normalized pair, else decide.

A pool of 1024 samples per problem repeats its answers, so ``grade_many`` first reduces the pool to distinct
(normalized gold, normalized pred) pairs, decides the ones that need no sympy in-process, and sends the rest to
the child processes on all cores. Every verdict, timeouts included (as False), is cached for the process; only a
False given because no child was ready in time (a busy machine, not a hard answer) is not cached.
"""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Iterable, Sequence

from tqdm.auto import tqdm

from e2h.grading import bounded
from e2h.grading.audit import bump
from e2h.grading.compare import grade_normalized
from e2h.grading.normalize import normalize_answer

_MAX_CACHE = 4_000_000
_cache: dict[tuple[str, str], bool] = {}
_cache_lock = threading.Lock()


def _remember(key: tuple[str, str], verdict: bool) -> None:
    with _cache_lock:
        if len(_cache) >= _MAX_CACHE:
            _cache.clear()
        _cache[key] = verdict


def clear_cache() -> None:
    """Forget every cached verdict (normalization stays memoized)."""
    with _cache_lock:
        _cache.clear()
    normalize_answer.cache_clear()


def _check_timeout(timeout: float) -> float:
    if not isinstance(timeout, (int, float)) or timeout != timeout or timeout < 0:
        raise ValueError(f"timeout must be a non-negative number of seconds, got {timeout!r}")
    return float(timeout)


def _key(pred: str | None, gold: str) -> tuple[str, str] | None:
    if not isinstance(gold, str):
        raise TypeError(f"gold answer must be a str, got {type(gold).__name__}: {gold!r}")
    if pred is None:
        return None
    if not isinstance(pred, str):
        raise TypeError(f"predicted answer must be a str or None, got {type(pred).__name__}: {pred!r}")
    return normalize_answer(gold), normalize_answer(pred)


def grade(pred: str | None, gold: str, *, timeout: float = 5.0) -> bool:
    """True when ``pred`` is a correct answer for ``gold`` (see the package docstring for the rules).

    Returns within about ``timeout`` seconds whatever the input (the sympy step runs in a child process that is
    killed at the deadline; a timeout counts as wrong). Safe to call from several threads at once.
    """
    deadline = time.monotonic() + _check_timeout(timeout)
    key = _key(pred, gold)
    if key is None or not key[1]:
        return False
    verdict = _cache.get(key)
    if verdict is not None:
        bump("cache_hits")
        return verdict
    bounded.take_uncacheable()
    verdict = grade_normalized(key[0], key[1], lambda g, p: bounded.symbolic_equal(g, p, deadline))
    if not bounded.take_uncacheable():
        _remember(key, verdict)
    return verdict


class _NeedsSymbolic(Exception):
    """Raised by the first pass of grade_many to defer a pair to the child processes."""


def _defer(gold: str, pred: str) -> bool:
    raise _NeedsSymbolic


def grade_many(preds: Sequence[str | None] | Iterable[str | None], golds: Sequence[str] | Iterable[str], *,
               workers: int | None = None, timeout: float = 5.0, progress: bool = True) -> list[bool]:
    """``[grade(p, g) for p, g in zip(preds, golds)]``, on all cores, each distinct pair decided once.

    ``workers`` child processes (default: the CPU count) run the sympy step in parallel; ``timeout`` bounds each
    distinct pair (the children are started, and their sympy import awaited, before any deadline runs). Shows a tqdm
    bar over the distinct pairs that need deciding.
    """
    timeout = _check_timeout(timeout)
    preds, golds = list(preds), list(golds)
    if len(preds) != len(golds):
        raise ValueError(f"grade_many: {len(preds)} predictions but {len(golds)} gold answers")
    workers = max(1, int(workers or os.cpu_count() or 1))
    keys = [_key(p, g) for p, g in zip(preds, golds)]
    verdicts: dict[tuple[str, str], bool] = {}
    for key in set(keys):
        if key is not None and key[1] and key in _cache:
            verdicts[key] = _cache[key]
    todo = {k for k in keys if k is not None and k[1] and k not in verdicts}
    bump("cache_hits", sum(1 for k in keys if k is not None and k[1]) - len(todo))
    bar = tqdm(total=len(todo), desc="grading", unit="pair", disable=not progress or not todo)
    deferred, uncacheable = [], set()
    for key in todo:  # pass 1, in-process: string, numeric and shape rules
        try:
            verdicts[key] = grade_normalized(key[0], key[1], _defer)
            bar.update()
        except _NeedsSymbolic:
            deferred.append(key)
    if deferred:  # pass 2: pairs that need sympy, one thread per child process
        pool = bounded.get_pool(min_size=workers)
        pool.warm(min(workers, len(deferred)))

        def decide(key: tuple[str, str]) -> None:
            deadline = time.monotonic() + timeout
            bounded.take_uncacheable()
            verdicts[key] = grade_normalized(key[0], key[1], lambda g, p: bounded.symbolic_equal(g, p, deadline))
            if bounded.take_uncacheable():
                uncacheable.add(key)

        with ThreadPoolExecutor(max_workers=min(workers, len(deferred))) as executor:
            for future in as_completed([executor.submit(decide, k) for k in deferred]):
                future.result()
                bar.update()
    bar.close()
    for key in todo - uncacheable:
        _remember(key, verdicts[key])
    return [False if k is None or not k[1] else verdicts[k] for k in keys]
