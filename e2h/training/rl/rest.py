"""ReST-EM's E-step filter: which sampled solutions become SFT data of the next M-step.

Not in the paper's code; its settings are 32 samples per question, top-k 40, temperature 1.0, at most 10 accepted
per question, 2 iterations. e2h pins what it leaves open:

- **easy questions** (levels 1-3): a solution is accepted when its final answer is right (the easy supervision);
- **hard questions** (levels 4-5): the answer is never read; a solution is accepted when the easy-trained PRM's
  ``min`` step probability reaches a threshold. The threshold is chosen on the *easy validation* problems, from
  the SFT policy's samples there: the lowest threshold at which the accepted samples are right at least
  ``min_precision`` of the time (the hard filter should be about as trustworthy as the easy one), else the one of
  highest precision. The easy-to-hard assumption is then that the PRM means the same on hard questions;
- **caps**: exact duplicates count once, an unfinished solution (no EOS) is never accepted, and at most
  ``max_per_problem`` are kept, a seeded random subset;
- **iterations** sample from the latest policy, and each M-step fine-tunes the SFT weights again, as ReST-EM
  (Singh et al., 2023) does to avoid drifting over iterations.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Callable


def accepted(rollouts, verdicts: list[bool | None], step_probs: list[list[float]], *, hard_threshold: float | None,
             max_per_problem: int, seed: int) -> list[int]:
    """Indices of the rollouts kept as SFT data: right answers on easy questions (a verdict), a PRM min at or
    above ``hard_threshold`` on hard ones (verdict None; ``hard_threshold`` None keeps no hard solution),
    duplicates once, finished only, at most ``max_per_problem`` per question."""
    by_problem: dict[str, list[int]] = {}
    seen: set[tuple[str, str]] = set()
    for i, (r, v, s) in enumerate(zip(rollouts, verdicts, step_probs)):
        if not r.finished or (r.problem_id, r.text) in seen:
            continue
        ok = bool(v) if v is not None else (hard_threshold is not None and bool(s) and min(s) >= hard_threshold)
        if ok:
            seen.add((r.problem_id, r.text))
            by_problem.setdefault(r.problem_id, []).append(i)
    rng, keep = random.Random(seed), []
    for pid in sorted(by_problem):
        idx = by_problem[pid]
        keep += sorted(rng.sample(idx, max_per_problem)) if len(idx) > max_per_problem else idx
    return sorted(keep)


def choose_threshold(min_probs: list[float], correct: list[bool], *, min_precision: float) -> dict:
    """The lowest threshold t (among the observed scores) such that samples with min step probability >= t are
    right at least ``min_precision`` of the time; when none is, the one of highest precision (the higher t on a
    tie). Returns ``{"threshold", "precision", "accepted_share", "samples"}``."""
    if not min_probs:
        raise ValueError("choosing the hard threshold needs scored validation samples")
    pairs = sorted(zip(min_probs, correct), reverse=True)
    best, rows, right = None, [], 0
    for k, (t, c) in enumerate(pairs, 1):
        right += bool(c)
        if k < len(pairs) and pairs[k][0] == t:
            continue  # all samples scoring t are accepted together
        rows.append((t, right / k, k / len(pairs)))
    meeting = [r for r in rows if r[1] >= min_precision]
    if meeting:
        best = min(meeting, key=lambda r: r[0])
    else:
        best = max(rows, key=lambda r: (r[1], r[0]))
    return {"threshold": best[0], "precision": best[1], "accepted_share": best[2], "samples": len(pairs)}


def hard_threshold_on_val(policy_path, prm_path, val_problems: list[dict], cfg, *, max_new_tokens: int,
                          batch_size: int) -> dict:
    """``choose_threshold`` on ``cfg.threshold_samples`` samples per easy validation problem from the policy at
    ``policy_path`` (the SFT policy), at ReST-EM's sampling settings, scored by the PRM."""
    from e2h.training.rl.rollout import sample_and_judge

    golds = {str(r.get("problem_id", r.get("unique_id"))): r["answer"] for r in val_problems}
    rolls, verdicts, probs, _ = sample_and_judge(policy_path, prm_path, val_problems, golds, cfg,
                                                 n=cfg.threshold_samples, seed=cfg.seed + 17,
                                                 max_new_tokens=max_new_tokens, batch_size=batch_size)
    finished = [i for i, r in enumerate(rolls) if r.finished and probs[i]]
    return choose_threshold([min(probs[i]) for i in finished], [bool(verdicts[i]) for i in finished],
                            min_precision=cfg.min_precision)


def train_rest(policy_path, prm_path, questions: list[dict], golds: dict, cfg, out_dir, work_dir: Callable, *,
               val_problems: list[dict], selector_factory: Callable, max_new_tokens: int, batch_size: int,
               accelerator=None) -> dict:
    """ReST-EM from the SFT policy at ``policy_path``: ``cfg.iterations`` rounds of sampling ``cfg.n`` solutions
    per question from the latest policy, keeping the accepted ones (``accepted``; the hard threshold is
    ``cfg.hard_threshold`` or chosen on ``val_problems``, easy ones, by ``hard_threshold_on_val``), and fine-tuning
    the SFT weights on them (``cfg.max_steps`` updates, checkpoint chosen by ``selector_factory(tokenizer, every,
    total)``). ``work_dir(i)`` is iteration i's folder; the best iteration is copied to ``out_dir``. Returns its
    record."""
    import pandas as pd

    from e2h.io import write_parquet
    from e2h.models import load_model
    from e2h.training.loop import make_accelerator, step_plan, train
    from e2h.training.rl.iterate import keep_best, on_main
    from e2h.training.rl.rollout import lm_example, sample_and_judge, to_records

    acc = accelerator or make_accelerator(cfg)
    choice = None
    if any(v is None for v in golds.values()):  # hard questions: accepted by the PRM above a threshold
        choice = ({"threshold": cfg.hard_threshold} if cfg.hard_threshold is not None else on_main(
            acc, Path(work_dir(0)).parent / "threshold.json", lambda: hard_threshold_on_val(
                policy_path, prm_path, val_problems, cfg, max_new_tokens=max_new_tokens, batch_size=batch_size)))
    hard_threshold = choice["threshold"] if choice else None
    current, iterations, folders = str(policy_path), [], []
    for it in range(1, cfg.iterations + 1):
        folder = Path(work_dir(it))

        def sample():
            rolls, verdicts, probs, _ = sample_and_judge(
                current, None if hard_threshold is None else prm_path, questions, golds, cfg, n=cfg.n,
                seed=cfg.seed * 1000 + it, max_new_tokens=max_new_tokens, batch_size=batch_size, device=acc.device)
            keep = accepted(rolls, verdicts, probs, hard_threshold=hard_threshold,
                            max_per_problem=cfg.max_per_problem, seed=cfg.seed * 1000 + it)
            kept = set(keep)
            rows = to_records(rolls, correct=verdicts, accepted=[i in kept for i in range(len(rolls))],
                              min_step=[min(s) if s else None for s in probs])
            write_parquet(folder.parent / f"{folder.name}_samples.parquet", pd.DataFrame(rows))
            hard = sum(1 for i in keep if verdicts[i] is None)
            return {"examples": [lm_example(rolls[i], cfg.max_length) for i in keep], "samples": len(rolls),
                    "accepted_easy": len(keep) - hard, "accepted_hard": hard}

        data = on_main(acc, folder.parent / f"{folder.name}_data.json", sample)
        if not data["examples"]:  # nothing to learn from: the next iteration samples from the same policy
            print(f"ReST-EM iteration {it}: no sampled solution was accepted ({data['samples']} samples)", flush=True)
            continue
        model, tok = load_model(policy_path, dtype=cfg.dtype, device="cpu")  # every M-step starts from SFT
        total = len(step_plan(len(data["examples"]), cfg.batch_size, cfg.epochs, cfg.seed, cfg.max_steps))
        selector = selector_factory(tok, cfg.eval_every, total)
        rec = train(model, tok, data["examples"], cfg, folder, kind="lm", desc=f"ReST-EM {it}", accelerator=acc,
                    callback=selector, callback_every=1)
        iterations.append({"iteration": it, "samples": data["samples"], "accepted_easy": data["accepted_easy"],
                           "accepted_hard": data["accepted_hard"], "updates": len(rec["step"]),
                           "loss": rec["loss"], "history": selector.history, "chosen": selector.chosen})
        folders.append(folder)
        current = str(folder)
    return keep_best(iterations, folders, Path(out_dir), {"method": "rest_em", "hard_threshold": hard_threshold,
                                                         "threshold_choice": choice}, acc)
