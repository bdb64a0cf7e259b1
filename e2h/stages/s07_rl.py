"""Stage 07: RL from the SFT policy with evaluators trained on easy problems (``notebooks/07_rl``).

Methods (``rl.methods``), each trained once per seed (``rl.seeds``) from the same SFT policy (the run's, or the
shipped weights'), each policy chosen by greedy accuracy on the *easy* validation problems:

- ``more_sft``: the SFT policy trained further on its easy SFT data, as many updates as PPO makes (the baseline
  RL must beat: more training, not only the early-stopped checkpoint);
- ``rest_em``: ReST-EM, accepted solutions by final answer (easy) and by the PRM (hard, threshold chosen on easy
  validation samples);
- ``dpo``: iterative DPO on pairs ranked by PRM + final answer;
- ``ppo_outcome``: PPO with the final-answer reward on easy questions only;
- ``ppo_prm``: PPO with the PRM's dense step rewards on easy and hard questions.
Hard training questions enter as questions only: their answers are dropped here, before any method sees them.
Then every policy and the SFT policy answer the test problems greedily (``rl/eval/``), and ``rl/accuracy.parquet``
holds accuracy by group with problem-bootstrap intervals over seeds (``e2h.rerank.greedy``).
"""

from __future__ import annotations

import dataclasses
import random
import time
from pathlib import Path

import pandas as pd

from e2h.data.splits import EASY_LEVELS
from e2h.io import read_json, write_json, write_parquet
from e2h.stages.layout import layout
from e2h.stages.s00_data import load_split

ORDER = ("sft", "more_sft", "rest_em", "dpo", "ppo_outcome", "ppo_prm")
RECORD = "e2h_rl.json"  # in each RL policy's folder: its digest, checkpoint history and choice


def start_policy(p) -> Path | str:
    from e2h.stages.s01_policy import policy_path

    return policy_path(p)


def prm_path(p) -> str:
    from e2h.stages.s05_scores import reward_model_paths

    paths = reward_model_paths(dataclasses.replace(p, score=dataclasses.replace(p.score, rms=[p.rl.prm])))
    return paths[p.rl.prm]


def training_questions(p, seed: int, levels) -> tuple[list[dict], dict[str, str | None]]:
    """The training questions of ``levels`` (``rl.problems_per_level`` of each, drawn with ``seed``) and their
    gold answers, None for hard ones: a hard question's answer goes no further than this function."""
    rng, out = random.Random(f"{seed}/rl-questions"), []
    train = load_split(p, "train")
    for level in sorted(set(levels)):
        rows = [r for r in train if r.get("level") == level]
        cap = p.rl.problems_per_level
        out += rng.sample(rows, cap) if cap is not None and cap < len(rows) else rows
    questions = [{"problem_id": str(r["unique_id"]), "problem": r["problem"], "level": r["level"]} for r in out]
    golds = {str(r["unique_id"]): (r["answer"] if r["level"] in EASY_LEVELS else None) for r in out}
    return questions, golds


def val_problems(p) -> list[dict]:
    """The easy validation problems that judge checkpoints (a fixed draw, the same for every method and seed)."""
    easy = [{**r, "split": "val"} for r in load_split(p, "val") if r.get("level") in EASY_LEVELS]
    if not easy:
        raise ValueError(f"{layout(p).split('val')}: no level 1-3 problems to choose RL checkpoints on")
    cap = p.rl.val_max_problems
    return random.Random(p.seed).sample(easy, cap) if cap is not None and cap < len(easy) else easy


def selector_factory(p):
    from e2h.training.rl.checkpoint import BestOnVal

    problems = val_problems(p)
    return lambda tok, every, total: BestOnVal(problems, tok, every=every, total=total,
                                               max_new_tokens=p.rl.max_new_tokens, batch_size=p.rl.eval_batch_size)


def ppo_updates(p) -> int:
    c = p.rl.ppo
    return c.steps * -(-c.rollouts // c.batch_size) * c.ppo_epochs


def section(p, method: str, seed: int):
    """The method's params section with the seed set (and more_sft's updates resolved)."""
    cfg = getattr(p.rl, "ppo" if method.startswith("ppo") else method)
    cfg = dataclasses.replace(cfg, seed=seed)
    if method == "more_sft" and cfg.max_steps is None:
        cfg = dataclasses.replace(cfg, max_steps=ppo_updates(p))
    return cfg


def unit_digest(p, method: str) -> str:
    """What one method's policies depend on: its section (more_sft: PPO's too), the shared RL settings, the data,
    the weights; not the other methods, nor the list of seeds."""
    own = "rl.ppo" if method.startswith("ppo") else f"rl.{method}"
    keys = [own, "rl.prm", "rl.problems_per_level", "rl.val_max_problems", "rl.max_new_tokens", "seed", "data",
            "weights", "sft.source", "sft.levels", "sft.max_length"] + (["rl.ppo"] if method == "more_sft" else [])
    return p.digest(keys) + f"/{method}"


def is_trained(p, method: str, seed: int) -> bool:
    record = layout(p).rl_policy(method, seed) / RECORD
    return record.is_file() and read_json(record, what="RL record").get("digest") == unit_digest(p, method)


def train_method(p, method: str, seed: int, accelerator=None) -> Path:
    """Train one method under one seed into ``rl/<method>/seed<k>/`` (skipped when done under the same params)."""
    from e2h.training.loop import make_accelerator

    out, cfg = layout(p).rl_policy(method, seed), section(p, method, seed)
    if is_trained(p, method, seed):
        return out
    acc = accelerator or make_accelerator(cfg)
    meta = {"digest": unit_digest(p, method), "method": method, "seed": seed, "start": str(start_policy(p)),
            "prm": prm_path(p)}
    kw = dict(selector_factory=selector_factory(p), max_new_tokens=p.rl.max_new_tokens,
              batch_size=p.rl.generate_batch_size, accelerator=acc)
    work = lambda i: layout(p).rl_iteration(method, seed, i)  # noqa: E731
    if method == "more_sft":
        record = _more_sft(p, cfg, out, kw["selector_factory"], acc)
    elif method == "rest_em":
        from e2h.training.rl.rest import hard_threshold_on_val, train_rest

        threshold, chosen = None, None
        if cfg.hard:
            chosen = ({"threshold": cfg.hard_threshold} if cfg.hard_threshold is not None else hard_threshold_on_val(
                start_policy(p), prm_path(p), val_problems(p), cfg, max_new_tokens=p.rl.max_new_tokens,
                batch_size=p.rl.generate_batch_size))
            threshold = chosen["threshold"]
        questions, golds = training_questions(p, seed, (1, 2, 3, 4, 5) if cfg.hard else EASY_LEVELS)
        record = train_rest(start_policy(p), prm_path(p), questions, golds, cfg, out, work, hard_threshold=threshold,
                            **kw)
        record["threshold_choice"] = chosen
    elif method == "dpo":
        from e2h.training.rl.dpo import train_dpo

        questions, golds = training_questions(p, seed, (1, 2, 3, 4, 5))
        record = train_dpo(start_policy(p), prm_path(p), questions, golds, cfg, out, work, **kw)
    elif method in ("ppo_outcome", "ppo_prm"):
        from e2h.training.rl.ppo import train_ppo

        dense = method == "ppo_prm"
        questions, golds = training_questions(p, seed, cfg.prm_levels if dense else cfg.outcome_levels)
        ppo = train_ppo(start_policy(p), prm_path(p), questions, golds, cfg, out, dense=dense, desc=method,
                        **kw)
        record = {**ppo["selection"], "updates_per_step": ppo["updates_per_step"]}
    else:
        raise ValueError(f"rl method {method!r}: expected one of {', '.join(ORDER[1:])}")
    if acc.is_main_process:  # written last: a unit without it (killed midway) is trained again
        write_json(out / RECORD, {**record, **meta})
    acc.wait_for_everyone()
    return out


def _more_sft(p, cfg, out, factory, acc) -> dict:
    from e2h.models import load_model
    from e2h.stages.s01_policy import sft_records
    from e2h.training.loop import step_plan, train
    from e2h.training.sft_data import sft_example

    model, tok = load_model(start_policy(p), dtype=cfg.dtype, device="cpu")
    examples = [sft_example(tok, r, cfg.max_length) for r in sft_records(p)]
    selector = factory(tok, cfg.eval_every, len(step_plan(len(examples), cfg.batch_size, cfg.epochs, cfg.seed,
                                                          cfg.max_steps)))
    train(model, tok, examples, cfg, out, kind="lm", desc="more SFT", accelerator=acc, callback=selector,
          callback_every=1)
    return {"history": selector.history, "chosen": selector.chosen}


def train_all(p, params_file) -> pd.DataFrame:
    """Every method under every seed, here or on ``num_processes`` processes (the job ``rl_<method>`` of
    ``e2h.stages.jobs``, started by name: that module imports this one); one row per unit with its wall time (0
    when it was done already)."""
    import json

    from e2h.training.launch import launch_command, run_streaming

    rows = []
    for method in [m for m in ORDER if m in p.rl.methods]:
        for seed in p.rl.seeds:
            done, t0 = is_trained(p, method, seed), time.perf_counter()
            if not done:
                cfg = section(p, method, seed)
                if cfg.num_processes > 1:
                    args = [f"rl_{method}", str(Path(params_file).resolve()), "--overrides",
                            json.dumps({"rl": {"seeds": [seed]}})]
                    run_streaming(*launch_command("e2h.stages.jobs", args, cfg.num_processes, cfg.accelerate_config))
                else:
                    train_method(p, method, seed)
            rows.append({"method": method, "seed": seed, "seconds": 0.0 if done else time.perf_counter() - t0})
    return pd.DataFrame(rows)


def policies(p) -> dict[tuple[str, int], Path | str]:
    """(method, seed) -> policy folder: the SFT policy (seed 0: greedy decoding is deterministic) and every
    trained RL policy."""
    out = {("sft", 0): start_policy(p)}
    for method in [m for m in ORDER[1:] if m in p.rl.methods]:
        for seed in p.rl.seeds:
            out[(method, seed)] = layout(p).rl_policy(method, seed)
    return out


def greedy_test(p, progress: bool = False) -> pd.DataFrame:
    """Every policy's greedy answer to every test problem (``rl/eval/<policy>.parquet``, resumable) as
    ``method, seed, problem_id, level, correct, text``; written to ``rl/results.parquet``."""
    from e2h.sampling import sample_pool

    greedy = dataclasses.replace(p.sample, n=1, temperature=0.0, top_k=0, top_p=1.0,
                                 max_new_tokens=p.rl.max_new_tokens, batch_size=p.rl.eval_batch_size)
    test, frames = load_split(p, "test"), []
    for (method, seed), path in policies(p).items():
        name = "sft" if method == "sft" else f"{method}-seed{seed}"
        pool = sample_pool(test, path, greedy, layout(p).rl_eval(name), split="test", progress=progress)
        frames.append(pool[["problem_id", "level", "correct", "text"]].assign(method=method, seed=seed))
    results = pd.concat(frames, ignore_index=True)
    write_parquet(layout(p).rl_table("results"), results)
    return results


def accuracy(p, results: pd.DataFrame | None = None) -> pd.DataFrame:
    """Accuracy by group (all / easy / hard / level) per method, mean over seeds with problem-bootstrap intervals
    and paired differences with the SFT policy and with more SFT; written to ``rl/accuracy.parquet``."""
    from e2h.rerank.greedy import accuracy_table

    results = results if results is not None else pd.read_parquet(layout(p).rl_table("results"))
    table = accuracy_table(results, resamples=p.rl.resamples, seed=p.seed)
    write_parquet(layout(p).rl_table("accuracy"), table)
    return table


def curves(p) -> pd.DataFrame:
    """Training curves of every trained policy, long: ``method, seed, iteration, update, metric, value``, with
    ``update`` counted in optimizer updates from the start of the method (PPO: steps x updates per step);
    written to ``rl/curves.parquet``."""
    rows = []
    for (method, seed), path in policies(p).items():
        if method == "sft":
            continue
        rec = read_json(Path(path) / RECORD, what="RL record")
        rows += _curve_rows(method, seed, rec, read_json(Path(path) / "losses.json", what="training record"))
    table = pd.DataFrame(rows)
    write_parquet(layout(p).rl_table("curves"), table)
    return table


def _curve_rows(method: str, seed: int, rec: dict, losses: dict) -> list[dict]:
    row = lambda it, u, metric, v: {"method": method, "seed": seed, "iteration": it, "update": u,  # noqa: E731
                                    "metric": metric, "value": v}
    out = []
    if method.startswith("ppo"):
        k = rec["updates_per_step"]
        for metric in ("reward", "kl", "value_loss", "loss", "train_accuracy"):
            out += [row(1, s * k, metric, v) for s, v in zip(losses["step"], losses[metric]) if v is not None]
        return out + [row(1, h["update"] * k, "val_accuracy", h["val_accuracy"]) for h in rec["history"]]
    iterations = rec.get("iterations") or [{"iteration": 1, "loss": losses["loss"], "history": rec["history"]}]
    offset = 0
    for it in iterations:
        out += [row(it["iteration"], offset + i + 1, "loss", v) for i, v in enumerate(it["loss"])]
        out += [row(it["iteration"], offset + h["update"], "val_accuracy", h["val_accuracy"]) for h in it["history"]]
        offset += len(it["loss"])
    return out


def chosen_checkpoints(p) -> pd.DataFrame:
    """Per trained policy: the update its checkpoint was taken at, its easy-val accuracy, and (ReST-EM, DPO) the
    iteration and what the iterations trained on."""
    rows = []
    for (method, seed), path in policies(p).items():
        if method == "sft":
            continue
        rec = read_json(Path(path) / RECORD, what="RL record")
        its = rec.get("iterations")
        chosen = its[rec["chosen_iteration"] - 1]["chosen"] if its else rec["chosen"]
        row = {"method": method, "seed": seed, "easy val accuracy": chosen["val_accuracy"],
               "update": chosen["update"] * rec.get("updates_per_step", 1),
               "iteration": rec.get("chosen_iteration")}
        for key in ("accepted_easy", "accepted_hard", "pairs_easy", "pairs_hard"):
            if its and key in its[0]:
                row[key] = "/".join(str(i[key]) for i in its)
        if rec.get("hard_threshold") is not None:
            row["hard threshold"] = round(rec["hard_threshold"], 3)
        rows.append(row)
    return pd.DataFrame(rows)
