"""Answer grouping: which of a problem's distinct answers vote together, as the grader decides, in near-linear time.

The grouping is greedy, as it always was: answers come most frequent first, and each joins the first cluster whose
representative (its first answer) the grader holds equal to it, either way round, or starts a cluster. Compared
with every representative that costs O(k^2) grader calls for k distinct answers: hours for a 500 x 1024 pool
whose hard problems have hundreds of distinct answers.

:func:`cluster` gives the same clusters with far fewer calls. Every answer has a key (:mod:`e2h.grading.keys`)
that any answer the grader calls equal to it shares, so a representative with another key cannot be the first
equal one and need not be asked; an answer without a key is compared with every representative, and every answer
with the representatives that have no key. The representatives that remain are asked in the order in which the
clusters were found, so the first one the grader accepts is the one the full comparison would have found, and the
clusters are the same. With ``keys={}`` it *is* the full comparison (:func:`cluster_pairwise`).

A bound on grader calls per problem keeps a pathological problem (many keyless answers) from taking hours: past
it, an answer that would need a call starts a cluster of its own, and is counted as ``unmerged``.
"""

from __future__ import annotations

import heapq
import math
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Hashable, Mapping, Sequence

from e2h.progress import tqdm

MAX_CALLS = 20_000  # grader calls per problem: far above what keyed grouping needs (a few per distinct answer)


def cluster(answers: Sequence[str], keys: Mapping[str, str | None], same: Callable[[str, str], bool],
            max_calls: float = math.inf) -> tuple[dict[str, str], dict[str, int]]:
    """Map each answer to the first answer of its cluster (answers given most frequent first).

    ``same(a, representative)`` is the grader's verdict; ``keys[a]`` (None or missing: no key) says which
    representatives can be equal to ``a``. Returns the mapping and ``{"calls", "unmerged"}``.
    """
    reps: list[str] = []
    by_key: dict[str, list[int]] = {}
    keyless: list[int] = []  # representatives without a key: candidates for every answer
    out: dict[str, str] = {}
    calls = unmerged = 0
    for a in answers:
        key = keys.get(a)
        candidates = range(len(reps)) if key is None else heapq.merge(by_key.get(key, ()), keyless)
        match = None
        for r in candidates:  # in the order the clusters were found
            if calls >= max_calls:
                unmerged += 1
                break
            calls += 1
            if same(a, reps[r]):
                match = r
                break
        if match is not None:
            out[a] = reps[match]
            continue
        (keyless if key is None else by_key.setdefault(key, [])).append(len(reps))
        reps.append(a)
        out[a] = a
    return out, {"calls": calls, "unmerged": unmerged}


def cluster_pairwise(answers: Sequence[str], same: Callable[[str, str], bool]) -> dict[str, str]:
    """The grouping without keys: each answer against every representative so far (the reference; O(k^2))."""
    return cluster(answers, {}, same)[0]


def group_answers(problems: Mapping[Hashable, Sequence[str]], *, timeout: float = 5.0, workers: int | None = None,
                  max_calls: int = MAX_CALLS, progress: bool = True) -> tuple[dict, dict[str, int]]:
    """Group each problem's normalized answers (given most frequent first): ``{problem: {answer: its cluster's
    first answer}}``, and counts: ``answers``, ``keyless`` (answers without a key), ``calls`` (grader calls),
    ``unmerged`` (answers left in a cluster of their own at the bound) and ``problems_at_bound``.

    Keys are computed once for all problems (sympy's share on ``workers`` grader children, default all cores);
    then the problems are clustered on as many threads, so that their sympy calls share the children.
    """
    from e2h.grading.core import grade
    from e2h.grading.keys import answer_keys

    for pid, answers in problems.items():
        if len(set(answers)) != len(answers):
            raise ValueError(f"group_answers: problem {pid!r} lists an answer twice; give distinct answers")
    keys = answer_keys([a for answers in problems.values() for a in answers], timeout=timeout, workers=workers,
                       progress=progress)

    def same(a: str, b: str) -> bool:
        return grade(a, b, timeout=timeout) or grade(b, a, timeout=timeout)

    def one(item):
        pid, answers = item
        return pid, cluster(answers, keys, same, max_calls)

    threads = max(1, int(workers or os.cpu_count() or 1))
    out, totals = {}, {"answers": 0, "keyless": 0, "calls": 0, "unmerged": 0, "problems_at_bound": 0}
    with ThreadPoolExecutor(max_workers=threads) as executor:
        for pid, (mapping, counts) in tqdm(executor.map(one, problems.items()), total=len(problems),
                                           desc="answer groups", unit="problem", disable=not progress):
            out[pid] = mapping
            totals["answers"] += len(mapping)
            totals["keyless"] += sum(keys.get(a) is None for a in mapping)
            totals["calls"] += counts["calls"]
            totals["unmerged"] += counts["unmerged"]
            totals["problems_at_bound"] += counts["calls"] >= max_calls
    return out, totals
