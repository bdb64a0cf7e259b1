"""Stage 00: the run's problem splits (``notebooks/00_data``).

``build_splits(p)`` writes ``data/{train,val,test}.jsonl`` and ``data/summary.json`` from the ``data`` section: the
embedded task's five levels, or MATH with MATH500 as test (``e2h.data.splits``); every later stage reads them back
with ``load_split``.
"""

from __future__ import annotations

import os

import pandas as pd

from e2h.data.splits import SPLITS, make_splits, summarize
from e2h.format import format_prompt, format_solution, math_solution_to_steps
from e2h.io import read_jsonl, write_json, write_jsonl
from e2h.stages.layout import RunLayout

MATH500_LEVELS = {"1": 43, "2": 90, "3": 105, "4": 128, "5": 134}  # the paper's test set, per level


def _layout(run) -> RunLayout:
    return RunLayout(run.run_dir if hasattr(run, "run_dir") else run)


def build_splits(p) -> dict:
    """Build, check and write the splits of ``p.data``; returns (and writes) their summary: counts per split,
    level and subject."""
    splits = make_splits(p.data)
    where = _layout(p)
    for name in splits:
        write_jsonl(where.split(name), splits[name])
    summary = summarize(splits)
    write_json(where.splits_summary, summary)
    return summary


def load_split(run, name: str) -> list[dict]:
    """Read back a split written by ``build_splits``; ``run`` is a params object or a run folder."""
    if name not in SPLITS + ("dev",):
        raise ValueError(f"split {name!r}: expected one of {', '.join(SPLITS)} or dev")
    path = _layout(run).split(name)
    if not path.is_file():
        if name == "dev" and _layout(run).split("test").is_file():
            raise FileNotFoundError(f"{path}: no dev split in this run: data.task_dev asks for none")
        raise FileNotFoundError(f"{path}: no such split; run stage 00 (build_splits) first")
    return read_jsonl(path)


def have_splits(run: str | os.PathLike) -> bool:
    return all(_layout(run).split(name).is_file() for name in SPLITS)


def level_table(summary: dict) -> pd.DataFrame:
    """Problems per level (rows) and split (columns), beside MATH500's counts."""
    levels = pd.DataFrame(summary["levels"]).fillna(0).astype(int)
    levels["paper MATH500"] = pd.Series(MATH500_LEVELS).astype("Int64")
    return levels


def level_shares(p) -> pd.DataFrame:
    """Share of each level within each split, in percent: ``split, level, percent`` ("?" for "Level ?")."""
    rows = pd.DataFrame([{"split": s, "level": str(r["level"] or "?")} for s in SPLITS for r in load_split(p, s)])
    return rows.groupby("split")["level"].value_counts(normalize=True).mul(100).rename("percent").reset_index()


def example_text(p, split: str = "test", index: int = 0) -> tuple[dict, str]:
    """A problem of a split and the text the policy is trained to write for it: the prompt, then the reference
    solution in the paper's format (the embedded task's solutions are written so already; a MATH solution is cut
    into sentence-level steps, its answer the last ``\\boxed{}``)."""
    record = load_split(p, split)[index]
    solution = record["solution"]
    if p.data.source != "embedded":
        solution = format_solution(*math_solution_to_steps(solution))
    return record, format_prompt(record["problem"]) + solution


def subject_table(summary: dict) -> pd.DataFrame:
    """Problems per subject (rows) and split (columns)."""
    return pd.DataFrame(summary["subjects"]).fillna(0).astype(int)
