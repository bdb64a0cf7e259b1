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
    from e2h.stages.layout import reward_model_paths

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
        from e2h.stages.s01_policy import sft_records
        from e2h.training.rl.baseline import train_more_sft

        record = train_more_sft(start_policy(p), sft_records(p), cfg, out, selector_factory=kw["selector_factory"],
                                accelerator=acc)
    elif method == "rest_em":
        from e2h.training.rl.rest import train_rest

        questions, golds = training_questions(p, seed, (1, 2, 3, 4, 5) if cfg.hard else EASY_LEVELS)
        record = train_rest(start_policy(p), prm_path(p), questions, golds, cfg, out, work,
                            val_problems=val_problems(p), **kw)
    elif method == "dpo":
        from e2h.training.rl.dpo import train_dpo

        questions, golds = training_questions(p, seed, (1, 2, 3, 4, 5))
        record = train_dpo(start_policy(p), prm_path(p), questions, golds, cfg, out, work, **kw)
    elif method in ("ppo_outcome", "ppo_prm"):
        from e2h.training.rl.ppo import train_ppo

        dense = method == "ppo_prm"
        questions, golds = training_questions(p, seed, cfg.prm_levels if dense else cfg.outcome_levels)
        ppo = train_ppo(start_policy(p), prm_path(p), questions, golds, cfg, out, dense=dense, desc=method, **kw)
        record = {**ppo["selection"], "updates_per_step": ppo["updates_per_step"]}
    else:
        raise ValueError(f"rl method {method!r}: expected one of {', '.join(ORDER[1:])}")
    if acc.is_main_process:  # written last: a unit without it (killed midway) is trained again
        write_json(out / RECORD, {**record, **meta})
    acc.wait_for_everyone()
    return out


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
    """Training curves of every trained policy, long: ``method, seed, iteration, update, metric, value``
    (``e2h.training.rl.records``); written to ``rl/curves.parquet``."""
    from e2h.training.rl.records import curve_rows

    rows = []
    for (method, seed), path in policies(p).items():
        if method != "sft":
            rows += curve_rows(method, seed, read_json(Path(path) / RECORD, what="RL record"),
                               read_json(Path(path) / "losses.json", what="training record"))
    table = pd.DataFrame(rows)
    write_parquet(layout(p).rl_table("curves"), table)
    return table


def chosen_checkpoints(p) -> pd.DataFrame:
    """Per trained policy, the checkpoint it kept and what its iterations trained on."""
    from e2h.training.rl.records import chosen_row

    return pd.DataFrame([chosen_row(m, s, read_json(Path(path) / RECORD, what="RL record"))
                         for (m, s), path in policies(p).items() if m != "sft"])


def rerank_policies(p, progress: bool = False) -> pd.DataFrame:
    """With ``rl.rerank``: ``sample.n`` samples per test problem from each RL policy (its first seed), scored by
    every ``score.rms`` model, re-ranked as stage 06 does; one row per (policy, method, rm, agg, group) at the
    largest N (problems+subsets interval), written to ``rl/rerank.parquet``."""
    from e2h.models.scorer import RewardScorer, score_pool
    from e2h.pool import add_answer_keys
    from e2h.rerank import BOOTSTRAP, resample
    from e2h.sampling import sample_pool
    from e2h.stages.layout import reward_model_paths

    test = load_split(p, "test")
    problems, frames = {str(r["unique_id"]): r["problem"] for r in test}, []
    for method in [m for m in ORDER[1:] if m in p.rl.methods]:
        name = f"{method}-seed{p.rl.seeds[0]}"
        pool = sample_pool(test, layout(p).rl_policy(method, p.rl.seeds[0]), p.sample, layout(p).rl_pool(name),
                           split="test", progress=progress)
        for rm, path in reward_model_paths(p).items():
            pool = score_pool(pool, RewardScorer(path, dtype=p.score.dtype), rm, problems,
                              shard_dir=layout(p).rl_pool(name).parent / "scored.shards",
                              shard_size=p.score.shard_size, batch_size=p.score.batch_size)
        pool = add_answer_keys(pool)
        write_parquet(layout(p).rl_pool(name, scored=True), pool)
        res = resample(pool, methods=["majority", "weighted", "best_of_n", "single"], aggs=["prod", "min"],
                       ns=[int(pool.groupby("problem_id").size().min())], resamples=p.rerank.resamples,
                       seed=p.rerank.seed, groups=["all", "easy", "hard"], progress=progress)
        t = res.table(p.rerank.ci_level)
        frames.append(t[t["ci"] == BOOTSTRAP].assign(policy=method))
    table = pd.concat(frames, ignore_index=True)
    write_parquet(layout(p).rl_table("rerank"), table)
    return table
