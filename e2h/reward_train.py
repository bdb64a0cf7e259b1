"""Stage 03: the data of each reward model and its training run.

- PRM: step-labelled solutions. For the embedded task, the policy's stage-02 samples on easy training problems
  labelled by the exact step checker (standing in for PRM800K's human labellers); for MATH, PRM800K's chosen paths
  (or Math-Shepherd). A seeded ``heldout_fraction`` of the problems is kept out of training for the step AUROC.
- ORM: the same stage-02 samples labelled by final-answer correctness, balanced per question (``e2h.reward``).
- OPRM: both sets together.
Each model starts from the base model (the paper), not the SFT policy, unless ``reward.init_from`` says otherwise,
and is written to ``<run_dir>/rm/<kind>`` with ``e2h_reward.json`` (kind, layout, data counts).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from e2h.data.splits import EASY_LEVELS, HARD_LEVELS
from e2h.format import STEP_SEP, split_steps
from e2h.reward import balance_per_question, orm_records, reward_examples
from e2h.scoring import META

KINDS = ("prm", "orm", "oprm")
# A kind with this suffix (``prm_all``, ...) is the full-supervision reference: the same model trained on labelled
# problems of every level. The plain kinds only ever see levels 1-3 (and PRM800K problems that are not in MATH).
FULL_SUFFIX = "_all"


def kind_levels(kind: str) -> tuple[str, tuple]:
    """(base kind, levels of its training problems); ``None`` stands for problems outside MATH's levels."""
    base = kind.removesuffix(FULL_SUFFIX)
    if base not in KINDS:
        raise ValueError(f"reward kind {kind!r}: expected one of {KINDS}, optionally with the suffix {FULL_SUFFIX!r}")
    return base, ((*EASY_LEVELS, *HARD_LEVELS, None) if kind.endswith(FULL_SUFFIX) else (*EASY_LEVELS, None))


def reward_samples(p):
    """Stage 02's policy samples on easy training problems (``<run_dir>/reward_data/samples.parquet``)."""
    import pandas as pd

    path = Path(p.run_dir) / "reward_data" / "samples.parquet"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no reward-model samples; run stage 02 (02_reward_data) first")
    return pd.read_parquet(path)


def train_problems(p) -> dict[str, str]:
    from e2h.data.splits import load_split

    return {str(r["unique_id"]): r["problem"] for r in load_split(p.run_dir, "train")}


def is_heldout(problem_key: str, fraction: float, seed: int) -> bool:
    """A seeded, order-free choice of held-out problems: a hash of the key against the fraction."""
    h = int(hashlib.sha256(f"{seed}/{problem_key}".encode()).hexdigest()[:8], 16)
    return h / 0xFFFFFFFF < fraction


def prm_records(p) -> list[dict]:
    """Step-labelled solutions ``{"problem_id", "problem", "solution", "labels", "level"}`` for the PRM."""
    source = p.reward.prm_source
    if source == "auto":
        source = "checker" if p.data.source == "embedded" else "prm800k"
    if source == "checker":
        from e2h.tasks import check_steps

        problems = train_problems(p)
        out = []
        for r in reward_samples(p).to_dict("records"):
            steps = split_steps(r["text"])
            if steps:
                problem = problems[str(r["problem_id"])]
                out.append({"problem_id": str(r["problem_id"]), "problem": problem, "solution": r["text"],
                            "labels": check_steps(problem, steps), "level": r.get("level")})
        return out
    if not p.reward.prm_files:
        raise ValueError(f"reward.prm_source {source!r} needs reward.prm_files (the downloaded label files)")
    data_dir = p.data.data_dir or os.environ.get("E2H_DATA_DIR")
    if source == "prm800k":
        from e2h.data.prm800k import load_prm800k_train

        raw = load_prm800k_train(p.reward.prm_files, data_dir)
    elif source == "shepherd":
        from e2h.data.shepherd import read_shepherd

        raw = [r for f in p.reward.prm_files for r in read_shepherd(f)]
    else:
        raise ValueError(f"reward.prm_source {source!r}: expected auto, checker, prm800k or shepherd")
    out = []
    for r in raw:
        if r["steps"] and any(y is not None for y in r["labels"]):
            out.append({"problem_id": str(r.get("unique_id") or r["problem"][:200]), "problem": r["problem"],
                        "solution": STEP_SEP.join(r["steps"]), "labels": list(r["labels"]),
                        "level": r.get("level")})
    return out


def corrupted_records(p, records: list[dict]) -> list[dict]:
    """``reward.prm_corrupt`` checker-labelled copies of each embedded-task record with one slip made on purpose
    (seeded by ``reward.seed``); training records only, so the held-out step AUROC stays on the policy's samples."""
    if not p.reward.prm_corrupt:
        return []
    if p.data.source != "embedded":
        raise ValueError("reward.prm_corrupt: only the embedded task has a checker to label corrupted solutions")
    import random

    from e2h.tasks import check_steps, corrupt_solution

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
    train = [r for r in records if not is_heldout(r["problem_id"], f, seed)]
    held = [r for r in records if is_heldout(r["problem_id"], f, seed)]
    return train, held


def orm_data(p, levels=(*EASY_LEVELS, None)) -> tuple[list[dict], dict]:
    """ORM labelled solutions from stage-02 samples of problems at ``levels`` (balanced per question) and the
    balancing counts."""
    rows = [r for r in reward_samples(p).to_dict("records") if _level(r) in levels]
    for r in rows:
        r["problem_id"] = str(r["problem_id"])
    kept, stats = balance_per_question(rows, max_ratio=p.reward.orm_max_ratio, seed=p.reward.seed)
    return orm_records(kept, train_problems(p)), stats


def reward_data(p, kind: str) -> tuple[list[dict], dict]:
    """Training records of one reward model (PRM held-out problems excluded) and a summary of the data."""
    base, levels = kind_levels(kind)
    info: dict = {"levels": [lv for lv in levels if lv is not None]}
    records: list[dict] = []
    if base in ("prm", "oprm"):
        prm_train, held = split_heldout(p, [r for r in prm_records(p) if _level(r) in levels])
        corrupted = corrupted_records(p, prm_train)
        records += prm_train + corrupted
        info.update(prm_solutions=len(prm_train), prm_heldout=len(held), prm_corrupted=len(corrupted))
    if base in ("orm", "oprm"):
        orm, stats = orm_data(p, levels)
        records += orm
        info.update(orm_solutions=len(orm), orm_balance=stats)
    return records, info


def _level(record: dict):
    """A record's level as an int, or None (pandas reads a missing level as NaN)."""
    level = record.get("level")
    return None if level is None or level != level else int(level)


def init_path(p) -> str:
    """Where a reward model starts: the base model unless ``reward.init_from`` names ``sft`` or a model."""
    from e2h.sft import base_model_path

    init = p.reward.init_from
    if init is None:
        return base_model_path(p)
    if init == "sft":
        return str(Path(p.run_dir) / "sft")
    return init


def train_reward(p, kind: str, *, out_dir: str | Path | None = None, accelerator=None) -> Path:
    """Train one reward model (``prm``, ``orm`` or ``oprm``) and write it to ``<run_dir>/rm/<kind>``."""
    from e2h.models import load_model
    from e2h.train import make_accelerator, train

    acc = accelerator or make_accelerator(p.reward)
    records, info = reward_data(p, kind)
    if not records:
        raise ValueError(f"{kind}: no training data ({info})")
    init = init_path(p)
    model, tok = load_model(init, dtype=p.reward.dtype, device="cpu", for_reward=True)
    examples = reward_examples(tok, records, layout=p.reward.label_layout, max_length=p.reward.max_length)
    out = Path(out_dir or Path(p.run_dir) / "rm" / kind)
    meta = {"kind": kind, "label_layout": p.reward.label_layout, "init_from": init, "examples": len(examples),
            "params_digest": p.digest(), **info}
    train(model, tok, examples, p.reward, out, kind="reward", desc=kind.upper(), accelerator=acc,
          extra_json={META: meta})
    return out


def step_auroc(scorer, records: list[dict], *, batch_size: int = 16) -> dict:
    """AUROC of step probabilities against held-out step labels (all steps, and per level)."""
    from sklearn.metrics import roc_auc_score

    scores = scorer.score([r["problem"] for r in records], [r["solution"] for r in records], batch_size=batch_size)
    ys, ps, levels = [], [], []
    for r, s in zip(records, scores):
        for y, prob in zip(r["labels"], s):
            if y is not None:
                ys.append(int(y))
                ps.append(prob)
                levels.append(r.get("level"))
    out = {"steps": len(ys), "positives": sum(ys)}
    out["auroc"] = roc_auc_score(ys, ps) if 0 < sum(ys) < len(ys) else None
    for lvl in sorted({x for x in levels if x is not None}):
        yl = [y for y, l in zip(ys, levels) if l == lvl]
        pl = [q for q, l in zip(ps, levels) if l == lvl]
        out[f"auroc_level_{lvl}"] = roc_auc_score(yl, pl) if 0 < sum(yl) < len(yl) else None
    return out


def heldout_report(p, *, examples: int = 3):
    """Step AUROC of every trained reward model on the held-out PRM problems, and a few held-out solutions with
    each model's step probabilities beside the labels. Returns two DataFrames (AUROC is None with one class)."""
    import pandas as pd

    from e2h.scoring import RewardScorer

    held = split_heldout(p, prm_records(p))[1]
    rows, shown = [], held[:examples]
    table = [{"record": i, "step": k, "text": s[:80], "label": r["labels"][k] if k < len(r["labels"]) else None}
             for i, r in enumerate(shown) for k, s in enumerate(split_steps(r["solution"]))]
    for kind in p.reward.kinds:
        # Every step's score, the ORM's too: how well does an outcome model judge steps?
        scorer = RewardScorer(Path(p.run_dir) / "rm" / kind, kind="prm")
        rows.append({"rm": kind, **(step_auroc(scorer, held) if held else {"steps": 0, "auroc": None})})
        scores = scorer.score([r["problem"] for r in shown], [r["solution"] for r in shown])
        for row in table:
            s = scores[row["record"]]
            row[f"p_{kind}"] = s[row["step"]] if row["step"] < len(s) else None
    return pd.DataFrame(rows), pd.DataFrame(table)
