"""Iterative DPO's pairs: how sampled solutions of one question become (chosen, rejected) pairs.

The paper: 8 samples per question, score = PRM score + final-answer score (1 / 0), a pair when the gap exceeds
1.0, at most 3 pairs per question. Its code does not build the pairs, and the rule is ambiguous: with the PRM score
a probability in [0, 1], a gap above 1.0 needs a final-answer difference, so a hard question (whose answer is
never read) never gives a pair; with the PRM score as a logit it can.

e2h's choice (``rl.dpo.prm_scale``): ``logit`` by default, the log-odds of the solution's aggregated step
probability (``min``, the paper's best-of-N aggregator): so the easy-trained PRM also orders the samples of hard
questions, which is the point of training on them. ``probability`` is the other reading: hard questions give no
pairs and the PRM only filters easy pairs (a correct sample must also score higher). The pairs of a question are
every (i, j) with score_i - score_j > gap, strictly, the largest gaps first, each sample rejected at most once (a
good sample may be chosen against several bad ones: on a hard question good samples are the scarce ones), two
identical texts never paired, at most ``max_pairs``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Callable, Literal

Scale = Literal["logit", "probability"]
AGGREGATORS = {"min": min, "prod": math.prod, "mean": lambda s: sum(s) / len(s), "last": lambda s: s[-1]}
_EPS = 1e-6


def solution_score(step_probs: list[float], correct: bool | None, *, scale: Scale = "logit",
                   aggregator: str = "min") -> float:
    """PRM score (aggregated, as a probability or its logit) + final-answer score (1 / 0; 0 when the verdict is
    unknown, a hard question). A solution without a step scores as probability 0."""
    p = AGGREGATORS[aggregator](step_probs) if step_probs else 0.0
    if scale == "logit":
        p = min(max(p, _EPS), 1 - _EPS)
        prm = math.log(p / (1 - p))
    elif scale == "probability":
        prm = p
    else:
        raise ValueError(f"PRM scale {scale!r}: expected logit or probability")
    return prm + (1.0 if correct else 0.0)


def make_pairs(scores: list[float], *, gap: float = 1.0, max_pairs: int = 3,
               texts: list[str] | None = None) -> list[tuple[int, int]]:
    """(chosen, rejected) sample indices of one question: the rule in the module doc."""
    candidates = sorted(((scores[i] - scores[j], i, j) for i in range(len(scores)) for j in range(len(scores))
                         if scores[i] - scores[j] > gap and (texts is None or texts[i] != texts[j])),
                        key=lambda c: (-c[0], c[1], c[2]))
    pairs, rejected = [], set()
    for _, i, j in candidates:
        if len(pairs) == max_pairs:
            break
        if j in rejected:
            continue
        pairs.append((i, j))
        rejected.add(j)
    return pairs


def pair_examples(rollouts, pairs: list[tuple[int, int]], ref_logps: list[float]) -> list[dict]:
    """``e2h.training.rl.preference.PairObjective`` examples from rollouts (their own ids) and the reference
    model's summed log-probs of each rollout's response."""
    out = []
    for i, j in pairs:
        out.append({"chosen_ids": rollouts[i].ids, "chosen_start": len(rollouts[i].prompt_ids),
                    "rejected_ids": rollouts[j].ids, "rejected_start": len(rollouts[j].prompt_ids),
                    "ref_chosen": ref_logps[i], "ref_rejected": ref_logps[j]})
    return out


def question_pairs(rollouts, verdicts, probs, cfg) -> tuple[list[tuple[int, int]], list[float]]:
    """Every question's pairs (indices into ``rollouts``) and each rollout's score, by ``cfg``'s rule."""
    scores = [solution_score(s, v, scale=cfg.prm_scale, aggregator=cfg.aggregator) for v, s in zip(verdicts, probs)]
    by_problem: dict[str, list[int]] = {}
    for i, r in enumerate(rollouts):
        by_problem.setdefault(r.problem_id, []).append(i)
    pairs = []
    for pid in sorted(by_problem):
        idx = by_problem[pid]
        local = make_pairs([scores[i] for i in idx], gap=cfg.gap, max_pairs=cfg.max_pairs,
                           texts=[rollouts[i].text for i in idx])
        pairs += [(idx[a], idx[b]) for a, b in local]
    return pairs, scores


def train_dpo(policy_path, prm_path, questions: list[dict], golds: dict, cfg, out_dir, work_dir: Callable, *,
              selector_factory: Callable, max_new_tokens: int, batch_size: int, accelerator=None) -> dict:
    """Iterative DPO from the SFT policy at ``policy_path`` against that policy as the frozen reference:
    ``cfg.iterations`` rounds of sampling ``cfg.n`` solutions per question from the latest policy, pairing them
    (``question_pairs``) and training on the pairs (``PairObjective``, ``cfg.max_steps`` updates, checkpoint by
    ``selector_factory``). ``work_dir(i)`` is iteration i's folder; the best iteration is copied to ``out_dir``."""
    import pandas as pd

    from e2h.io import write_parquet
    from e2h.models import load_model
    from e2h.training.loop import make_accelerator, step_plan, train
    from e2h.training.rl.iterate import keep_best, on_main
    from e2h.training.rl.preference import PairObjective
    from e2h.training.rl.rollout import response_logprobs, sample_and_judge, to_records

    acc = accelerator or make_accelerator(cfg)
    current, iterations, folders = str(policy_path), [], []
    for it in range(1, cfg.iterations + 1):
        folder = Path(work_dir(it))

        def sample():
            rolls, verdicts, probs, tok = sample_and_judge(
                current, prm_path, questions, golds, cfg, n=cfg.n, seed=cfg.seed * 1000 + it,
                max_new_tokens=max_new_tokens, batch_size=batch_size, device=acc.device)
            pairs, scores = question_pairs(rolls, verdicts, probs, cfg)
            reference, _ = load_model(policy_path, dtype=cfg.dtype, device=acc.device)
            used = sorted({i for pair in pairs for i in pair})
            ref = dict(zip(used, response_logprobs(reference, [rolls[i] for i in used], tok.pad_token_id)))
            write_parquet(folder.parent / f"{folder.name}_samples.parquet",
                          pd.DataFrame(to_records(rolls, correct=verdicts, score=scores)))
            hard = {r.problem_id for r, v in zip(rolls, verdicts) if v is None}
            return {"examples": pair_examples(rolls, pairs, [ref.get(i, 0.0) for i in range(len(rolls))]),
                    "samples": len(rolls), "pairs_hard": sum(1 for i, _ in pairs if rolls[i].problem_id in hard),
                    "pairs_easy": sum(1 for i, _ in pairs if rolls[i].problem_id not in hard)}

        data = on_main(acc, folder.parent / f"{folder.name}_data.json", sample)
        if not data["examples"]:  # nothing to learn from: the next iteration samples from the same policy
            print(f"DPO iteration {it}: no pair in {data['samples']} samples (gap {cfg.gap}, prm_scale "
                  f"{cfg.prm_scale})", flush=True)
            continue
        model, tok = load_model(current, dtype=cfg.dtype, device="cpu")  # DPO iterations continue
        total = len(step_plan(len(data["examples"]), cfg.batch_size, cfg.epochs, cfg.seed, cfg.max_steps))
        selector = selector_factory(tok, cfg.eval_every, total)
        objective = PairObjective(beta=cfg.beta, loss=cfg.loss, label_smoothing=cfg.label_smoothing)
        rec = train(model, tok, data["examples"], cfg, folder, kind=objective, desc=f"DPO {it}", accelerator=acc,
                    callback=selector, callback_every=1)
        iterations.append({"iteration": it, "samples": data["samples"], "pairs_easy": data["pairs_easy"],
                           "pairs_hard": data["pairs_hard"], "updates": len(rec["step"]), "loss": rec["loss"],
                           "history": selector.history, "chosen": selector.chosen})
        folders.append(folder)
        current = str(folder)
    return keep_best(iterations, folders, Path(out_dir), {"method": "dpo", "prm_scale": cfg.prm_scale}, acc)
