"""The run's problem splits, difficulty levels, and the guard that keeps test problems out of training.

Splits (``math_splits``):
- ``test``  = MATH500, the 500 problems of Lightman et al., in file order;
- ``val``   = ``val_size`` problems from MATH's test files outside MATH500, drawn stratum by stratum with MATH500's
  per-(subject, level) counts (a seeded shuffle; the same seed gives the same draw);
- ``train`` = the other 12,000 - val_size problems (all 7,500 train files and the rest of the test files).
"""

from __future__ import annotations

import os
import random
from collections import Counter
from typing import Iterable

from e2h.data.math import MathRecord, normalize_problem, read_math500, read_math_all

EASY_LEVELS = (1, 2, 3)
HARD_LEVELS = (4, 5)
SPLITS = ("train", "val", "test")  # and "dev", when data.task_dev asks for one


def is_easy(level: int | None) -> bool:
    """Levels 1-3: the problems with human supervision. "Level ?" (None) is neither easy nor hard."""
    return level in EASY_LEVELS


def is_hard(level: int | None) -> bool:
    return level in HARD_LEVELS


def filter_levels(records: Iterable[dict], levels: Iterable[int]) -> list[dict]:
    levels = set(levels)
    return [r for r in records if r.get("level") in levels]


class DataLeakError(AssertionError):
    """A test problem found in a training set."""


def assert_no_test_leak(train_records: Iterable[dict], test_records: Iterable[dict], what: str = "training set"):
    """Raise DataLeakError naming every test problem that appears in ``train_records``.

    A match is a shared ``unique_id`` or the same problem text after ``normalize_problem``; records from other
    datasets (PRM800K, MetaMath) carry no MATH unique_id and are caught by their text.
    """
    test = list(test_records)
    test_ids = {r["unique_id"]: r for r in test if r.get("unique_id")}
    test_text = {normalize_problem(r["problem"]): r for r in test}
    leaked = {}
    for r in train_records:
        hit = test_ids.get(r.get("unique_id")) if r.get("unique_id") else None
        hit = hit or test_text.get(normalize_problem(r["problem"]))
        if hit is not None:
            leaked.setdefault(hit.get("unique_id") or hit["problem"][:60], r.get("unique_id"))
    if leaked:
        names = ", ".join(f"{t} (as {s})" if s and s != t else str(t) for t, s in list(leaked.items())[:20])
        more = f" and {len(leaked) - 20} more" if len(leaked) > 20 else ""
        raise DataLeakError(f"{len(leaked)} test problems leaked into the {what}: {names}{more}")


def _allocate(counts: Counter, total: int) -> dict:
    """Scale stratum counts to sum to ``total`` (largest remainder; ties broken by stratum order)."""
    whole = sum(counts.values())
    if total == whole:
        return dict(counts)
    exact = {k: counts[k] * total / whole for k in counts}
    out = {k: int(v) for k, v in exact.items()}
    for k in sorted(counts, key=lambda k: (-(exact[k] - out[k]), str(k)))[:total - sum(out.values())]:
        out[k] += 1
    return out


def draw_stratified(pool: list[dict], reference: list[dict], size: int, seed: int) -> list[dict]:
    """``size`` records of ``pool`` whose (subject, level) counts follow ``reference``'s; sorted by unique_id."""
    if not 0 <= size <= len(pool):
        raise ValueError(f"val_size {size}: must be between 0 and the pool's {len(pool)} problems")
    target = _allocate(Counter((r["subject"], r["level"]) for r in reference), size)
    strata: dict = {}
    for r in sorted(pool, key=lambda r: r["unique_id"]):
        strata.setdefault((r["subject"], r["level"]), []).append(r)
    rng = random.Random(seed)
    drawn = []
    for key in sorted(target, key=str):
        have = strata.get(key, [])
        if len(have) < target[key]:
            raise ValueError(f"stratum {key}: {target[key]} problems wanted, only {len(have)} in the pool")
        have = list(have)
        rng.shuffle(have)
        drawn += have[:target[key]]
    return sorted(drawn, key=lambda r: r["unique_id"])


def math_splits(data_dir: str | os.PathLike, seed: int = 0, val_size: int = 500) -> dict[str, list[MathRecord]]:
    """train / val / test of MATH as described in the module docstring; checked for leaks before returning."""
    everything = read_math_all(data_dir)
    test = read_math500(data_dir)
    by_id = {r["unique_id"]: r for r in everything}
    missing = [r["unique_id"] for r in test if r["unique_id"] not in by_id]
    if missing:
        raise ValueError(f"{data_dir}: MATH500 problems missing from hendrycks_math: {missing[:5]}")
    test_ids = {r["unique_id"] for r in test}
    rest = [r for r in everything if r["unique_id"] not in test_ids]
    val = draw_stratified([r for r in rest if r["unique_id"].startswith("test/")], test, val_size, seed)
    val_ids = {r["unique_id"] for r in val}
    train = [r for r in rest if r["unique_id"] not in val_ids]
    assert_no_test_leak(train, test, "train split")
    assert_no_test_leak(val, test, "validation split")
    return {"train": train, "val": val, "test": test}


def embedded_splits(train: list[int], val: list[int], test: list[int], seed: int,
                    width: int = 0, dev: list[int] | None = None) -> dict[str, list[dict]]:
    """The embedded task's splits; each list gives the problems per level 1..5 (disjoint by construction);
    numbers ``width`` digits wide (``tasks.number_text``). ``dev``, when it asks for problems, is drawn like the
    test set but from the val split's problems (a second stream, none of val's): the problems design choices are
    judged on, so that test is only ever reported."""
    from e2h import embedded_task as tasks

    if width and width < len(str(tasks.MAX_VALUE)):
        raise ValueError(f"data.task_width: expected 0 (numbers as is) or at least {len(str(tasks.MAX_VALUE))} "
                         f"digits, got {width}")
    splits = {}
    for name, counts in (("train", train), ("val", val), ("test", test)):
        if len(counts) != len(tasks.LEVELS) or min(counts) < 0:
            raise ValueError(f"data.task_{name}: expected {len(tasks.LEVELS)} counts >= 0 (levels 1-5), got {counts}")
        splits[name] = tasks.generate(dict(zip(tasks.LEVELS, counts)), split=name, seed=seed, width=width)
    if dev and sum(dev):
        if len(dev) != len(tasks.LEVELS) or min(dev) < 0:
            raise ValueError(f"data.task_dev: expected {len(tasks.LEVELS)} counts >= 0 (levels 1-5), got {dev}")
        splits["dev"] = tasks.generate(dict(zip(tasks.LEVELS, dev)), split="val", seed=seed, width=width,
                                       stream="dev", exclude=[r["problem"] for r in splits["val"]])
    assert_no_test_leak(splits["train"] + splits["val"] + splits.get("dev", []), splits["test"],
                        "train, validation and dev splits")
    return splits


def _cap(records: list, n: int | None, seed: int) -> list:
    """At most ``n`` records, a seeded sample kept in the original order (None keeps all)."""
    if n is None or n >= len(records):
        return records
    keep = set(random.Random(seed).sample(range(len(records)), n))
    return [r for i, r in enumerate(records) if i in keep]


def level_counts(records: Iterable[dict]) -> dict:
    """Level -> count, keyed "1".."5" and "?" for "Level ?" (string keys survive a JSON round trip)."""
    c = Counter("?" if r.get("level") is None else str(r["level"]) for r in records)
    return {k: c[k] for k in sorted(c)}


def summarize(splits: dict[str, list[dict]]) -> dict:
    return {"counts": {k: len(v) for k, v in splits.items()},
            "levels": {k: level_counts(v) for k, v in splits.items()},
            "subjects": {k: dict(sorted(Counter(r["subject"] for r in v).items())) for k, v in splits.items()},
            "no_answer": {k: sum(r.get("answer") is None for r in v) for k, v in splits.items()}}


def make_splits(d) -> dict[str, list[dict]]:
    """The splits a params ``data`` section asks for, checked for test leakage: the embedded task's, or MATH's.

    ``max_train`` / ``max_test`` keep a seeded sample (seed ``data.seed``) for tiny runs.
    """
    if d.source == "embedded":
        splits = embedded_splits(d.task_train, d.task_val, d.task_test, seed=d.seed, width=d.task_width,
                                 dev=d.task_dev)
    elif d.source == "math":
        if sum(d.task_dev) or d.eval_split == "dev":
            raise ValueError("data.task_dev / data.eval_split dev: a dev split exists for the embedded task only")
        splits = math_splits(d.data_dir, seed=d.seed, val_size=d.val_size)
    else:
        raise ValueError(f"data.source {d.source!r}: expected 'math' or 'embedded'")
    splits["train"] = _cap(splits["train"], d.max_train, d.seed)
    splits["test"] = _cap(splits["test"], d.max_test, d.seed)
    assert_no_test_leak(splits["train"] + splits["val"], splits["test"], "train and validation splits")
    return splits
