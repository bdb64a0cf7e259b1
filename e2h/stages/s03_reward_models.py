"""Stage 03: the reward models, PRM / ORM / OPRM trained on easy problems (``notebooks/03_reward_models``).

- PRM: step-labelled solutions. For the embedded task, the policy's stage-02 samples on easy training problems
  labelled by the exact step checker (standing in for PRM800K's human labellers); for MATH, PRM800K's chosen paths
  (or Math-Shepherd). A seeded ``reward.heldout_fraction`` of the problems is kept out of training for the step
  AUROC.
- ORM: the same stage-02 samples labelled by final-answer correctness, balanced per question.
- OPRM: both sets together. A kind ending in ``_all`` is the same model trained on every level (the reference).
Each starts from the base model (the paper), not the SFT policy, unless ``reward.init_from`` says otherwise, and is
written to the run's ``rm/<kind>/`` with ``e2h_reward.json`` (kind, what it scores, layout, data counts).
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from e2h.format import STEP_SEP, split_steps
from e2h.models.scorer import META, RewardScorer
from e2h.stages.layout import layout
from e2h.stages.s00_data import load_split
from e2h.training.reward_data import balance_per_question, is_heldout, kind_levels, orm_records, reward_examples


def reward_samples(p) -> pd.DataFrame:
    """Stage 02's policy samples on training problems."""
    path = layout(p).reward_samples
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no reward-model samples; run stage 02 (02_reward_data) first")
    return pd.read_parquet(path)


def train_problems(p) -> dict[str, str]:
    return {str(r["unique_id"]): r["problem"] for r in load_split(p, "train")}


def _level(record: dict):
    """A record's level as an int, or None (pandas reads a missing level as NaN)."""
    level = record.get("level")
    return None if level is None or level != level else int(level)


def prm_records(p) -> list[dict]:
    """Step-labelled solutions ``{"problem_id", "problem", "solution", "labels", "level"}`` for the PRM."""
    source = p.reward.prm_source
    if source == "auto":
        source = "checker" if p.data.source == "embedded" else "prm800k"
    if source == "checker":
        from e2h.embedded_task import check_steps

        problems = train_problems(p)
        return [{"problem_id": str(r["problem_id"]), "problem": problems[str(r["problem_id"])],
                 "solution": r["text"], "labels": check_steps(problems[str(r["problem_id"])], steps),
                 "level": r.get("level")}
                for r in reward_samples(p).to_dict("records") if (steps := split_steps(r["text"]))]
    if not p.reward.prm_files:
        raise ValueError(f"reward.prm_source {source!r} needs reward.prm_files (the downloaded label files)")
    if source == "prm800k":
        from e2h.data.prm800k import load_prm800k_train

        raw = load_prm800k_train(p.reward.prm_files, p.data.data_dir or os.environ.get("E2H_DATA_DIR"))
    elif source == "shepherd":
        from e2h.data.shepherd import read_shepherd

        raw = [r for f in p.reward.prm_files for r in read_shepherd(f)]
    else:
        raise ValueError(f"reward.prm_source {source!r}: expected auto, checker, prm800k or shepherd")
    return [{"problem_id": str(r.get("unique_id") or r["problem"][:200]), "problem": r["problem"],
             "solution": STEP_SEP.join(r["steps"]), "labels": list(r["labels"]), "level": r.get("level")}
            for r in raw if r["steps"] and any(y is not None for y in r["labels"])]


def corrupted_records(p, records: list[dict]) -> list[dict]:
    """``reward.prm_corrupt`` checker-labelled copies of each embedded-task record with one slip made on purpose
    (seeded by ``reward.seed``); training records only, so the held-out step AUROC stays on the policy's samples."""
    if not p.reward.prm_corrupt:
        return []
    if p.data.source != "embedded":
        raise ValueError("reward.prm_corrupt: only the embedded task has a checker to label corrupted solutions")
    import random

    from e2h.embedded_task import check_steps, corrupt_solution

    rng, out = random.Random(p.reward.seed), []
    for r in records:
        for _ in range(p.reward.prm_corrupt):
            text = corrupt_solution(r["solution"], rng)
            if text is not None:
                out.append({**r, "solution": text, "labels": check_steps(r["problem"], split_steps(text))})
    return out


def split_heldout(p, records: list[dict]) -> tuple[list[dict], list[dict]]:
    """(train, held out) by problem, ``reward.heldout_fraction`` of the problems held out."""
    f, seed = p.reward.heldout_fraction, p.reward.seed
    held = [is_heldout(r["problem_id"], f, seed) for r in records]
    return [r for r, h in zip(records, held) if not h], [r for r, h in zip(records, held) if h]


def orm_data(p, levels) -> tuple[list[dict], dict]:
    """ORM labelled solutions from stage-02 samples of problems at ``levels`` (balanced per question) and the
    balancing counts."""
    rows = [{**r, "problem_id": str(r["problem_id"])} for r in reward_samples(p).to_dict("records")
            if _level(r) in levels]
    kept, stats = balance_per_question(rows, max_ratio=p.reward.orm_max_ratio, seed=p.reward.seed)
    return orm_records(kept, train_problems(p)), stats


def reward_data(p, kind: str) -> tuple[list[dict], dict]:
    """Training records of one reward model (PRM held-out problems excluded) and a summary of the data."""
    base, levels = kind_levels(kind)
    info: dict = {"levels": [lv for lv in levels if lv is not None]}
    records: list[dict] = []
    easy = reward_data(p, base)[1] if base != kind and p.reward.match_full_size else None
    if base in ("prm", "oprm"):
        prm_train, held = split_heldout(p, [r for r in prm_records(p) if _level(r) in levels])
        if easy:
            prm_train = _subsample(prm_train, easy["prm_solutions"], p.reward.seed)
        corrupted = corrupted_records(p, prm_train)
        records += prm_train + corrupted
        info.update(prm_solutions=len(prm_train), prm_heldout=len(held), prm_corrupted=len(corrupted))
    if base in ("orm", "oprm"):
        orm, stats = orm_data(p, levels)
        if easy:
            orm = _subsample(orm, easy["orm_solutions"], p.reward.seed)
        records += orm
        info.update(orm_solutions=len(orm), orm_balance=stats)
    if easy:
        info["size_matched_to"] = base
    return records, info


def _subsample(records: list[dict], n: int, seed: int) -> list[dict]:
    """At most ``n`` records, a seeded sample in the original order: an all-levels reference as big as its easy
    counterpart, so that it differs in the levels it saw and not in how much it saw."""
    import random

    if len(records) <= n:
        return records
    keep = set(random.Random(f"{seed}/match").sample(range(len(records)), n))
    return [r for i, r in enumerate(records) if i in keep]


def init_path(p) -> str:
    """Where a reward model starts: the base model unless ``reward.init_from`` names ``sft`` or a model."""
    from e2h.stages.s01_policy import base_model_path

    init = p.reward.init_from
    if init is None:
        return base_model_path(p)
    return str(layout(p).policy) if init == "sft" else init


def train_reward(p, kind: str, *, out_dir: str | Path | None = None, accelerator=None, callback=None,
                 callback_every: int = 0) -> Path:
    """Train one reward model (``prm``, ``orm``, ``oprm`` or an ``*_all`` reference) into ``rm/<kind>/``;
    ``callback(step, model)`` every ``callback_every`` steps (``e2h.training.loop.train``: studies save checkpoints
    with it)."""
    from e2h.models import load_model
    from e2h.plots import save_loss_curve
    from e2h.training.loop import make_accelerator, train

    acc = accelerator or make_accelerator(p.reward)
    records, info = reward_data(p, kind)
    if not records:
        raise ValueError(f"{kind}: no training data ({info})")
    init = init_path(p)
    model, tok = load_model(init, dtype=p.reward.dtype, device="cpu", for_reward=True)
    examples = reward_examples(tok, records, layout=p.reward.label_layout, max_length=p.reward.max_length)
    out = Path(out_dir or layout(p).reward_model(kind))
    base = kind_levels(kind)[0]
    meta = {"kind": kind, "scores": "outcome" if base == "orm" else "steps", "label_layout": p.reward.label_layout,
            "init_from": init, "examples": len(examples), "params_digest": p.digest(), **info}
    record = train(model, tok, examples, p.reward, out, kind="reward", desc=kind.upper(), accelerator=acc,
                   extra_json={META: meta}, callback=callback, callback_every=callback_every)
    if acc.is_main_process:
        save_loss_curve(record, out / "loss_curve.png", title=kind.upper())
    return out


def heldout_report(p, *, examples: int = 3) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Step AUROC of every trained reward model on the held-out PRM problems (every step's score, the ORM's too:
    how well does an outcome model judge steps?), and a few held-out solutions with each model's step
    probabilities beside the labels. An AUROC is None when a class is absent."""
    from e2h.rerank.quality import step_auroc

    held = split_heldout(p, prm_records(p))[1]
    rows, shown = [], held[:examples]
    table = [{"record": i, "step": k, "text": s[:80], "label": r["labels"][k] if k < len(r["labels"]) else None}
             for i, r in enumerate(shown) for k, s in enumerate(split_steps(r["solution"]))]
    for kind in p.reward.kinds:
        scorer = RewardScorer(layout(p).reward_model(kind), kind="prm")
        scores = scorer.score([r["problem"] for r in held], [r["solution"] for r in held])
        rows.append({"rm": kind, **step_auroc([r["labels"] for r in held], scores, [r.get("level") for r in held])})
        for row in table:
            s = scores[row["record"]]
            row[f"p_{kind}"] = s[row["step"]] if row["step"] < len(s) else None
    return pd.DataFrame(rows), pd.DataFrame(table)
