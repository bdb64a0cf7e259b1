"""Stage 01: the policy, trained by SFT on easy solutions from the base model (``notebooks/01_sft``).

Data sources (``sft.source``): ``math`` (MATH reference solutions of the run's training split, cut into steps),
``prm800k`` (PRM800K's chosen paths, the paper's setting), ``metamath`` (MetaMathQA responses of easy MATH
problems), or ``auto``: the embedded task's own solutions when ``data.source`` is ``embedded``, else ``math``.
With ``model.base: tiny`` the base is built here first (and pretrained on arithmetic facts when asked).
Checkpoint selection reads the *easy* validation problems only (``sft.select_target``).
"""

from __future__ import annotations

import os
from pathlib import Path

from e2h.data.splits import EASY_LEVELS
from e2h.format import format_prompt
from e2h.stages.layout import layout
from e2h.stages.s00_data import load_split

BASE_META = "e2h_base.json"  # what a tiny base was built from: its settings and the texts of its tokenizer


def resolve_source(p) -> str:
    if p.sft.source != "auto":
        return p.sft.source
    return "embedded" if p.data.source == "embedded" else "math"


def sft_records(p) -> list[dict]:
    """Training solutions as ``{"problem", "solution", "eos"}`` (solution = text after the prompt)."""
    from e2h.training import sft_data

    source, levels = resolve_source(p), set(p.sft.levels)
    if source == "embedded":
        return [{"problem": r["problem"], "solution": r["solution"], "eos": True}
                for r in load_split(p, "train") if r.get("level") in levels]
    if source == "math":
        return [x for r in load_split(p, "train") if r.get("level") in levels if (x := sft_data.from_math(r))]
    if not p.sft.source_files:
        raise ValueError(f"sft.source {source!r} needs sft.source_files (the downloaded data files)")
    data_dir = p.data.data_dir or os.environ.get("E2H_DATA_DIR")
    if not data_dir:
        raise ValueError("data.data_dir (or $E2H_DATA_DIR) is needed to filter the training data against MATH")
    if source == "prm800k":
        from e2h.data.prm800k import load_prm800k_train

        rows = load_prm800k_train(p.sft.source_files, data_dir, levels=sorted(levels))
        return [x for r in rows if (x := sft_data.from_prm800k(r))]
    if source == "metamath":
        from e2h.data.metamath import load_metamath_easy

        return [sft_data.from_metamath(r) for f in p.sft.source_files
                for r in load_metamath_easy(f, data_dir, levels=sorted(levels))]
    raise ValueError(f"sft.source {source!r}: expected auto, math, prm800k or metamath")


def base_settings(p) -> dict:
    """Everything that decides the tiny base besides its texts: the seed, the model section and, when it is
    pretrained, the training settings pretraining takes from the sft section."""
    import dataclasses

    from e2h.training.pretrain import pretrain_config

    cfg = pretrain_config(p) if p.model.tiny_pretrain_docs else None
    return {"seed": p.seed, "task_width": p.data.task_width, "model": dataclasses.asdict(p.model),
            "pretrain": dataclasses.asdict(cfg) if cfg else None}


def base_model_path(p, texts: list[str] | None = None) -> str:
    """``model.base``, or for ``tiny`` the run's tiny Llama, built from ``texts`` (and pretrained on arithmetic
    facts when ``model.tiny_pretrain_docs`` asks, ``e2h.training.pretrain``).

    An existing base is reused only if it was built from the same settings (and, when ``texts`` are given, the
    same texts); otherwise it is rebuilt, or, without texts to rebuild it from (stage 03), refused.
    """
    from e2h.provenance import digest
    from e2h.io import atomic_dir, read_json, write_json

    if p.model.base != "tiny":
        if (Path(p.model.base) / "MANIFEST.json").is_file():  # a shipped base: checked before anything trains on it
            from e2h.weights import verify

            verify(p.model.base)
        return p.model.base
    path = layout(p).base
    want = {"settings": digest(base_settings(p)), "texts": digest(texts) if texts else None}
    if (path / "config.json").is_file():
        have = read_json(path / BASE_META, what="base record") if (path / BASE_META).is_file() else None
        if have is None and texts is None:
            return str(path)  # built before bases recorded their settings: nothing to compare
        if have is not None and (have == want or (texts is None and have["settings"] == want["settings"])):
            return str(path)
    if not texts:
        raise FileNotFoundError(f"{path}: no tiny base built for these params; stage 01 builds it from the "
                                "training text (run notebooks/01_sft)")
    with atomic_dir(path, marker="config.json") as tmp:
        if p.model.tiny_pretrain_docs:
            from e2h.plots import save_loss_curve
            from e2h.training.pretrain import pretrain_tiny_base

            record = pretrain_tiny_base(p, texts, tmp)
            save_loss_curve(record, tmp / "loss_curve.png", title="pretrain")
        else:
            from e2h.models import make_tiny_base

            make_tiny_base(p.model, p.seed, texts, tmp)
        write_json(tmp / BASE_META, want)
    return str(path)


def easy_val_selector(p, tokenizer):
    """The checkpoint rule of ``sft.select_target``: greedy accuracy on the easy validation problems only."""
    from e2h.training.selection import TargetSelector

    easy = [r for r in load_split(p, "val") if r.get("level") in EASY_LEVELS]
    if not easy:
        raise ValueError(f"sft.select_target needs level 1-3 problems in {layout(p).split('val')}")
    return TargetSelector(easy, tokenizer, p.sft.select_target, max_new_tokens=p.sft.eval_max_new_tokens,
                          batch_size=p.sample.batch_size)


def train_policy(p, *, out_dir: str | Path | None = None, accelerator=None) -> Path:
    """Train the policy from the base model on ``sft_records(p)``; writes the run's ``sft/`` folder (HF format,
    ``losses.json``, ``loss_curve.png``) and returns its path."""
    from e2h.models import load_model
    from e2h.plots import save_loss_curve
    from e2h.training.loop import make_accelerator, train
    from e2h.training.sft_data import sft_example

    acc = accelerator or make_accelerator(p.sft)
    records = sft_records(p)
    if not records:
        raise ValueError(f"no SFT data: source {resolve_source(p)!r} at levels {p.sft.levels} gave no solutions")
    with acc.main_process_first():  # one process builds a tiny base model, the others then read it
        base = base_model_path(p, [format_prompt(r["problem"]) + r["solution"] for r in records])
    # Loaded on the CPU: accelerate moves (or, under FSDP, shards) it onto the devices.
    model, tok = load_model(base, dtype=p.sft.dtype, device="cpu")
    examples = [sft_example(tok, r, p.sft.max_length) for r in records]
    out = Path(out_dir or layout(p).policy)
    selection = easy_val_selector(p, tok) if p.sft.select_target is not None else None
    record = train(model, tok, examples, p.sft, out, kind="lm", desc="SFT", accelerator=acc,
                   callback=selection, callback_every=p.sft.select_every,
                   extra_json={"e2h_train.json": {"stage": "sft", "source": resolve_source(p), "base": base,
                                                  "examples": len(examples), "params_digest": p.digest(),
                                                  "selection": selection.history if selection else None}})
    if acc.is_main_process:
        save_loss_curve(record, out / "loss_curve.png", title="SFT")
    return out


def policy_path(p) -> Path | str:
    """The policy that stages 02 and 04 sample from: ``sample.policy`` when set (a released model, say), else the
    shipped weights' policy when ``weights`` is set, else the run's own."""
    if p.sample.policy:
        return p.sample.policy
    if p.weights:
        from e2h.weights import shipped_model, verify

        verify(p.weights)
        return shipped_model(p.weights, "sft")
    path = layout(p).policy
    if not (path / "config.json").is_file():
        raise FileNotFoundError(f"{path}: no SFT policy there (no config.json); run stage 01 (notebooks/01_sft) "
                                "first, or save a model there with save_pretrained")
    return path


def greedy_eval(p, split: str = "val", *, progress: bool = True):
    """Greedy accuracy of the run's policy on a split: one greedy sample per problem, graded, written to the
    run's ``sft_eval/<split>_greedy.parquet`` (pool schema) and returned. ``sft.eval_max_problems`` keeps a seeded
    subset."""
    import dataclasses
    import random

    from e2h.sampling import sample_pool

    problems = load_split(p, split)
    cap = p.sft.eval_max_problems
    if cap is not None and cap < len(problems):
        problems = random.Random(p.seed).sample(problems, cap)
    greedy = dataclasses.replace(p.sample, n=1, temperature=0.0, top_k=0, top_p=1.0,
                                 max_new_tokens=p.sft.eval_max_new_tokens)
    return sample_pool(problems, layout(p).policy, greedy, layout(p).greedy_eval(split), split=split,
                       progress=progress)
