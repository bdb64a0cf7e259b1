"""``grade`` and ``grade_many``: normalize, look the verdict up in a cache keyed by the normalized pair, else decide.

A pool of 1024 samples per problem repeats its answers, so ``grade_many`` first reduces the pool to distinct
(normalized gold, normalized pred) pairs, decides the ones that need no sympy in-process, and sends the rest to
the child processes on all cores.

What is cached, for the life of the process: every verdict reached; a timeout (a ready child worked the whole
budget on the pair) as "False for this budget or less", so that a later call with a larger ``timeout`` tries
again; never a False given for want of a ready child or of CPU (no verdict at all: see :mod:`e2h.grading.bounded`).
``grade_many`` retries such pairs once its own work is done and the children are free.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Iterable, Sequence

from e2h.progress import tqdm

from e2h.grading import bounded
from e2h.grading.audit import bump
from e2h.grading.compare import grade_normalized
from e2h.grading.normalize import normalize_answer

_MAX_CACHE = 4_000_000
_cache: dict[tuple[str, str], bool] = {}  # verdicts reached
_timeouts: dict[tuple[str, str], float] = {}  # pairs sympy could not decide within this many seconds
_cache_lock = threading.Lock()


def clear_cache() -> None:
    """Forget every cached verdict, timeout and answer key, and the memo of normalization."""
    from e2h.grading import keys

    with _cache_lock:
        _cache.clear()
        _timeouts.clear()
    keys.clear()
    normalize_answer.cache_clear()


def _lookup(key: tuple[str, str], timeout: float) -> bool | None:
    """The cached verdict for ``key`` under this ``timeout``, or None when it must be decided."""
    verdict = _cache.get(key)
    if verdict is None and _timeouts.get(key, -1.0) >= timeout:
        return False
    return verdict


def _settle(key: tuple[str, str], verdict: bool, budget: bounded.Budget | None) -> None:
    """Cache what was decided: a verdict, or a timeout for its budget; nothing for a verdict not reached."""
    if budget is not None and not verdict and budget.unreached:
        bump("unreached")
        return
    with _cache_lock:
        if len(_cache) + len(_timeouts) >= _MAX_CACHE:
            _cache.clear()
            _timeouts.clear()
        if budget is not None and not verdict and budget.timed_out:
            _timeouts[key] = max(budget.timeout, _timeouts.get(key, 0.0))
        else:  # a True is proven whatever else ran out of time
            _cache[key] = verdict


def _check_timeout(timeout: float) -> float:
    if not isinstance(timeout, (int, float)) or timeout != timeout or timeout < 0 or timeout == float("inf"):
        raise ValueError(f"timeout must be a finite non-negative number of seconds, got {timeout!r}")
    return float(timeout)


def _key(pred: str | None, gold: str) -> tuple[str, str] | None:
    if not isinstance(gold, str):
        raise TypeError(f"gold answer must be a str, got {type(gold).__name__}: {gold!r}")
    if pred is None:
        return None
    if not isinstance(pred, str):
        raise TypeError(f"predicted answer must be a str or None, got {type(pred).__name__}: {pred!r}")
    return normalize_answer(gold), normalize_answer(pred)


def _decide(key: tuple[str, str], timeout: float) -> tuple[bool, bounded.Budget]:
    budget = bounded.Budget(timeout)
    return grade_normalized(key[0], key[1], budget.symbolic), budget


def grade(pred: str | None, gold: str, *, timeout: float = 5.0) -> bool:
    """True when ``pred`` is a correct answer for ``gold`` (see the package docstring for the rules).

    ``timeout`` is the sympy work the pair may cost (seconds of a ready child's CPU time); waiting for a child to
    start or become free is not counted, but is capped (``bounded.LOAD_ALLOWANCE``), so a call returns within
    ``timeout + bounded.STARVE_GRACE`` plus a small constant once a child is ready, whatever the input and the
    load, and within ``LOAD_ALLOWANCE`` more in any case. Safe to call from several threads at once.
    """
    timeout = _check_timeout(timeout)
    key = _key(pred, gold)
    if key is None or not key[1]:
        return False
    verdict = _lookup(key, timeout)
    if verdict is not None:
        bump("cache_hits")
        return verdict
    verdict, budget = _decide(key, timeout)
    _settle(key, verdict, budget)
    return verdict


class _NeedsSymbolic(Exception):
    """Raised by the first pass of grade_many to defer a pair to the child processes."""


def _defer(gold: str, pred: str) -> bool:
    raise _NeedsSymbolic


def grade_many(preds: Sequence[str | None] | Iterable[str | None], golds: Sequence[str] | Iterable[str], *,
               workers: int | None = None, timeout: float = 5.0, progress: bool = True) -> list[bool]:
    """``[grade(p, g) for p, g in zip(preds, golds)]``, on all cores, each distinct pair decided once.

    ``workers`` child processes (default: the CPU count) run the sympy step in parallel; ``timeout`` bounds the
    sympy work of each distinct pair as in :func:`grade`. A pair that got no verdict for want of a child or of CPU
    is retried once the others are done. Shows a tqdm bar over the distinct pairs that need deciding.
    """
    timeout = _check_timeout(timeout)
    preds, golds = list(preds), list(golds)
    if len(preds) != len(golds):
        raise ValueError(f"grade_many: {len(preds)} predictions but {len(golds)} gold answers")
    workers = max(1, int(workers or os.cpu_count() or 1))
    keys = [_key(p, g) for p, g in zip(preds, golds)]
    verdicts: dict[tuple[str, str], bool] = {}
    for key in set(keys):
        if key is not None and key[1] and (cached := _lookup(key, timeout)) is not None:
            verdicts[key] = cached
    todo = {k for k in keys if k is not None and k[1] and k not in verdicts}
    bump("cache_hits", sum(1 for k in keys if k is not None and k[1]) - len(todo))
    bar = tqdm(total=len(todo), desc="grading", unit="pair", disable=not progress or not todo)
    budgets: dict[tuple[str, str], bounded.Budget | None] = {}
    deferred = []
    for key in todo:  # pass 1, in-process: string, numeric and shape rules
        try:
            verdicts[key], budgets[key] = grade_normalized(key[0], key[1], _defer), None
            bar.update()
        except _NeedsSymbolic:
            deferred.append(key)
    if deferred:
        _decide_in_children(deferred, workers, timeout, verdicts, budgets, bar)
    bar.close()
    for key in todo:
        _settle(key, verdicts[key], budgets[key])
    return [False if k is None or not k[1] else verdicts[k] for k in keys]


def _decide_in_children(keys: list, workers: int, timeout: float, verdicts: dict, budgets: dict, bar) -> None:
    """Pass 2: the pairs that need sympy, one thread per child, each thread taking all the pairs of one gold in a
    row (its child parses the gold once); then, with the children free, one retry each for the pairs that got no
    verdict (a machine too busy to give them a child or CPU in time). Fewer children than ``workers`` start for a
    small job: a child's start-up costs more than a few hundred questions (``bounded.children_for``)."""
    children = bounded.children_for(len(keys), workers)
    pool = bounded.get_pool(min_size=children)
    pool.warm(children)
    by_gold: dict[str, list] = {}
    for key in keys:
        by_gold.setdefault(key[0], []).append(key)
    lock = threading.Lock()

    def run(group: list) -> None:
        for key in group:
            verdict, budget = _decide(key, timeout)
            with lock:
                verdicts[key], budgets[key] = verdict, budget
                bar.update()

    with ThreadPoolExecutor(max_workers=children) as executor:
        for future in [executor.submit(run, g) for g in sorted(by_gold.values(), key=len, reverse=True)]:
            future.result()
    for key in [k for k in keys if budgets[k].unreached and not verdicts[k]]:
        bump("retries")
        verdicts[key], budgets[key] = _decide(key, timeout)
        if budgets[key].unreached and not verdicts[key]:
            break  # still no child or CPU after a full allowance: the others would wait as long in vain
