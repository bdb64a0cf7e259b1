"""PPO on e2h's models with the paper's rewards: small and explicit, one rollout batch per step.

Per step: ``cfg.rollouts`` questions drawn from the training questions (one sample each) are rolled out with the
policy at ``cfg.temperature`` (ids kept, ``e2h.training.rl.rollout``); the final answers of easy questions are
graded; the PRM reads every step on the rollout's own ids; ``e2h.training.rl.rewards`` turns that into a reward per
response token (dense PRM step rewards when ``dense``, the terminal table always, -kl_coef x clamped k1 KL on every
token); rewards are whitened (std only), GAE (gamma, lam) gives advantages (standardised) and returns; then one
epoch of clipped policy and value updates over minibatches of ``cfg.batch_size`` rollouts.

The value model is the full reward model, head included: its value of the state before response token t is its
head read at position t - 1, so at step 0 the value of each step's next token is the PRM's score of that step
(a logit). Log-probs of the policy and the frozen reference are both taken at ``cfg.temperature``. Every
``cfg.eval_every`` steps (and at the last) the policy's greedy accuracy on the easy validation problems is measured
(``e2h.training.rl.checkpoint.BestOnVal``); the best checkpoint is the one saved.

Several processes (``accelerate``): each rolls out its share of the step's questions; the whitening statistics are
taken over every process's batch, and gradients are averaged by DDP as in ``e2h.training.loop``.
"""

from __future__ import annotations

import contextlib
import math
import random
import time
from pathlib import Path

import torch

from e2h.progress import tqdm
from e2h.training.rl import rewards as R
from e2h.training.rl.rollout import Rollout, action_logprobs, generate, grade, pack, step_probs


@contextlib.contextmanager
def whole(acc, model):
    """The model with its full weights, for generation and greedy checks: unwrapped from DDP, and under FSDP
    with its shards gathered (``summon_full_params``; written for GPUs, not run on this project's CPUs)."""
    from accelerate.utils import DistributedType

    if acc.distributed_type == DistributedType.FSDP:
        from torch.distributed.fsdp import FullyShardedDataParallel as FSDP

        with FSDP.summon_full_params(model, writeback=False, recurse=True):
            yield acc.unwrap_model(model)
    else:
        yield acc.unwrap_model(model)


def token_rewards(rollouts: list[Rollout], verdicts: list[bool | None], probs: list[list[float]], *, dense: bool,
                  cfg) -> tuple[list[list[float]], list[dict]]:
    """Per rollout, the reward of each response token before the KL term, and what made it up (for the curves):
    the PRM step rewards on the step read-out tokens (when ``dense``) and the terminal reward on the last token."""
    out, parts = [], []
    for r, v, s in zip(rollouts, verdicts, probs):
        rew = [0.0] * len(r.response_ids)
        shaped = R.shape_step_rewards(s, start_min=cfg.start_min, bonus=cfg.step_bonus) if dense else []
        for pos, x in zip(r.read_positions, shaped):
            rew[pos] += x
        kind = R.format_kind(r.text, r.finished)
        term = R.terminal_reward(hard=v is None, correct=v, factor=R.FORMAT_FACTORS[kind], penalty=cfg.penalty,
                                 hard_value=cfg.hard_terminal)
        if rew:
            rew[-1] += term
        out.append(rew)
        parts.append({"step_reward": sum(shaped), "terminal": term, "format": kind})
    return out, parts


def to_actions(values: list[list[float]], batch, like: torch.Tensor) -> torch.Tensor:
    """Per-response-token numbers laid out on the batch's actions ([B, L - 1])."""
    out = torch.zeros_like(like)
    for i, v in enumerate(values):
        if v:
            out[i, batch.starts[i]:batch.starts[i] + len(v)] = torch.tensor(v, dtype=like.dtype)
    return out


def values_of(value_model, batch) -> torch.Tensor:
    """The value model's value of each action ([B, L - 1]): its head read at the position before the token."""
    out = value_model(input_ids=batch.input_ids, attention_mask=batch.attention_mask, use_cache=False)
    return out.logits[..., 0][:, :-1].float() * batch.action_mask


def _global_stats(acc, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(mean, var) of the masked entries over every process's batch."""
    sums = torch.stack([(x * mask).sum(), (x * x * mask).sum(), mask.sum()]).double()
    s, s2, n = acc.reduce(sums, reduction="sum").tolist()
    mean = s / max(n, 1)
    return torch.tensor(mean, dtype=x.dtype), torch.tensor(max(s2 / max(n, 1) - mean * mean, 0.0), dtype=x.dtype)


def policy_loss(logp, old_logp, adv, mask, clip: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Summed clipped surrogate over the masked actions, and the number clipped."""
    ratio = torch.exp(logp - old_logp)
    loss1, loss2 = -adv * ratio, -adv * torch.clamp(ratio, 1 - clip, 1 + clip)
    return (torch.maximum(loss1, loss2) * mask).sum(), ((loss2 > loss1).float() * mask).sum()


def value_loss(v, old_v, returns, mask, clip: float) -> torch.Tensor:
    """Summed clipped value loss 0.5 max((v - R)^2, (clip(v, v_old +- clip) - R)^2) over the masked actions."""
    clipped = old_v + torch.clamp(v - old_v, -clip, clip)
    return (0.5 * torch.maximum((v - returns) ** 2, (clipped - returns) ** 2) * mask).sum()


def _schedule(optim, cfg, total: int):
    from transformers import get_scheduler

    return get_scheduler(cfg.lr_schedule, optim, num_warmup_steps=min(cfg.warmup_steps, total),
                         num_training_steps=total)


def train_ppo(policy_path, prm_path, questions: list[dict], golds: dict[str, str | None], cfg, out_dir, *,
              dense: bool, selector_factory, max_new_tokens: int, batch_size: int, desc: str = "PPO",
              accelerator=None) -> dict:
    """Train the policy at ``policy_path`` with PPO and save its best checkpoint (easy val) to ``out_dir``.

    ``questions`` are the training questions (``problem_id``, ``problem``, ``level``), ``golds`` their answers
    (None for hard ones: never read); ``cfg`` a ``PPOParams``; ``dense`` adds the PRM's step rewards;
    ``selector_factory(tokenizer, every, total)`` gives the ``BestOnVal`` that picks the checkpoint;
    ``max_new_tokens`` and ``batch_size`` are the rollouts' length limit and generation batch.
    Returns the training record (also ``losses.json`` in the folder)."""
    from e2h.models import load_model
    from e2h.models.scorer import RewardScorer
    from e2h.training.loop import make_accelerator, prepare_model, save_model

    acc = accelerator or make_accelerator(cfg)
    if cfg.rollouts % cfg.batch_size or cfg.batch_size % acc.num_processes:
        raise ValueError(f"PPO: rollouts ({cfg.rollouts}) must be a multiple of batch_size ({cfg.batch_size}), and "
                         f"batch_size of the number of processes ({acc.num_processes}): every process must run the "
                         "same number of micro-batches")
    torch.manual_seed(cfg.seed)
    policy, tok = load_model(policy_path, dtype=cfg.dtype, device="cpu")
    ref, _ = load_model(policy_path, dtype=cfg.dtype, device=acc.device)
    value, _ = load_model(prm_path, dtype=cfg.dtype, device="cpu", for_reward=True)
    scorer = RewardScorer(prm_path, kind="prm", device=str(acc.device)) if dense else None
    ref.requires_grad_(False)
    policy, value = prepare_model(policy, cfg), prepare_model(value, cfg)
    policy, value = acc.prepare(policy), acc.prepare(value)
    opts = [torch.optim.AdamW([q for q in m.parameters() if q.requires_grad], lr=cfg.lr, betas=(0.9, 0.95),
                              eps=1e-5, weight_decay=cfg.weight_decay) for m in (policy, value)]
    per_step = math.ceil(cfg.rollouts / cfg.batch_size) * cfg.ppo_epochs
    scheds = [_schedule(o, cfg, cfg.steps * per_step) for o in opts]
    opts = [acc.prepare(o) for o in opts]
    selector = selector_factory(tok, cfg.eval_every, cfg.steps)
    rng = random.Random(f"{cfg.seed}/ppo")
    order: list[dict] = []
    record = {"step": [], "loss": [], "value_loss": [], "reward": [], "step_reward": [], "terminal": [], "kl": [],
              "clipfrac": [], "train_accuracy": [], "finished": [], "lr": [], "step_seconds": [],
              "examples": len(questions), "world_size": acc.num_processes, "updates_per_step": per_step}
    t0 = time.perf_counter()
    for step in tqdm(range(1, cfg.steps + 1), desc=desc, disable=not acc.is_local_main_process, unit="step"):
        t_step = time.perf_counter()
        while len(order) < cfg.rollouts:  # questions in seeded passes over the set
            block = list(questions)
            rng.shuffle(block)
            order += block
        drawn, order = order[:cfg.rollouts], order[cfg.rollouts:]
        mine = drawn[acc.process_index::acc.num_processes]
        with whole(acc, policy) as gen_model:
            rolls = generate(gen_model, tok, mine, temperature=cfg.temperature, top_k=cfg.top_k,
                             max_new_tokens=max_new_tokens, batch_size=batch_size,
                             seed=cfg.seed * 100_003 + step * 97 + acc.process_index)
        verdicts = grade(rolls, golds)
        probs = step_probs(scorer, rolls, tok.pad_token_id) if dense else [[] for _ in rolls]
        rew, parts = token_rewards(rolls, verdicts, probs, dense=dense, cfg=cfg)
        batch = pack(rolls, tok.pad_token_id, acc.device)
        mask = batch.action_mask
        with torch.no_grad():
            old_logp = _by_rows(lambda b: action_logprobs(policy, b, cfg.temperature), batch, cfg)
            ref_logp = _by_rows(lambda b: action_logprobs(ref, b, cfg.temperature), batch, cfg)
            old_v = _by_rows(lambda b: values_of(value, b), batch, cfg)
        kl_reward, kl = R.kl_penalty(old_logp, ref_logp, cfg.kl_coef)
        score = to_actions(rew, batch, old_logp)
        total = (score + kl_reward) * mask
        if cfg.whiten_rewards:
            total = R.whiten(total, mask, shift_mean=False, stats=_global_stats(acc, total, mask))
        adv, returns = R.gae(total, old_v, mask, gamma=cfg.gamma, lam=cfg.lam)
        adv = R.whiten(adv, mask, shift_mean=True, stats=_global_stats(acc, adv, mask))
        losses, vlosses, clipped = [], [], 0.0
        for _ in range(cfg.ppo_epochs):
            perm = torch.randperm(len(rolls), generator=torch.Generator().manual_seed(cfg.seed * 7919 + step))
            local_mb = max(1, cfg.batch_size // acc.num_processes)
            for m0 in range(0, len(rolls), local_mb):
                rows = perm[m0:m0 + local_mb].tolist()
                pl, vl, cf = _update(policy, value, opts, batch, rows, old_logp, old_v, adv, returns, acc, cfg)
                for s in scheds:
                    s.step()
                losses.append(pl)
                vlosses.append(vl)
                clipped += cf
        sums = [clipped, float(mask.sum()), sum(sum(r) for r in rew), sum(x["step_reward"] for x in parts),
                sum(x["terminal"] for x in parts), float((kl * mask).sum()), sum(1 for v in verdicts if v),
                sum(1 for v in verdicts if v is not None), sum(r.finished for r in rolls), len(rolls)]
        stats = acc.reduce(torch.tensor(sums, device=acc.device, dtype=torch.float64), reduction="sum").tolist()
        clipped, n_act, stats = stats[0], stats[1], stats[2:]
        n = max(stats[7], 1)
        record["step"].append(step)
        record["loss"].append(sum(losses) / max(len(losses), 1))
        record["value_loss"].append(sum(vlosses) / max(len(vlosses), 1))
        record["reward"].append(stats[0] / n)  # before the KL term, summed over a rollout's tokens
        record["step_reward"].append(stats[1] / n)
        record["terminal"].append(stats[2] / n)
        record["kl"].append(stats[3] / n)  # summed over a rollout's tokens, mean over rollouts
        record["clipfrac"].append(clipped / max(n_act * cfg.ppo_epochs, 1))
        record["train_accuracy"].append(stats[4] / stats[5] if stats[5] else None)
        record["finished"].append(stats[6] / n)
        record["lr"].append(scheds[0].get_last_lr()[0])
        record["step_seconds"].append(time.perf_counter() - t_step)
        if selector.due(step):
            with whole(acc, policy) as m:
                selector.check(step, m)
    selector.restore(acc.unwrap_model(policy))
    record["seconds"] = time.perf_counter() - t0
    record["selection"] = {"history": selector.history, "chosen": selector.chosen}
    save_model(acc, policy, tok, Path(out_dir), record, {})
    return record


def _sub(batch, rows: list[int]):
    """The rows of a packed batch, cut to their own width (and that width in actions)."""
    from e2h.training.rl.rollout import Batch

    width = int(batch.attention_mask[rows].sum(-1).max())
    return Batch(batch.input_ids[rows, :width], batch.attention_mask[rows, :width],
                 batch.action_mask[rows, :width - 1], [batch.starts[i] for i in rows],
                 [batch.lengths[i] for i in rows]), width - 1


def _by_rows(fn, batch, cfg) -> torch.Tensor:
    """``fn`` (a per-action forward pass) over the batch in micro-batches of rows, padded back to its width."""
    parts = []
    for r0 in range(0, batch.input_ids.shape[0], cfg.micro_batch_size):
        sub, w = _sub(batch, list(range(r0, min(r0 + cfg.micro_batch_size, batch.input_ids.shape[0]))))
        parts.append(torch.nn.functional.pad(fn(sub), (0, batch.action_mask.shape[1] - w)))
    return torch.cat(parts)


def _update(policy, value, opts, batch, rows, old_logp, old_v, adv, returns, acc, cfg) -> tuple[float, float, float]:
    """One policy and one value update on a minibatch (cut into micro-batches); losses are means over the
    minibatch's actions on every process."""
    local = float(batch.action_mask[rows].sum())
    total = max(float(acc.reduce(torch.tensor(local, device=acc.device), reduction="sum")), 1.0)
    scale = acc.num_processes / total
    p_sum = v_sum = clipped = 0.0
    for model, opt, is_policy in ((policy, opts[0], True), (value, opts[1], False)):
        model.train()
        for c0 in range(0, len(rows), cfg.micro_batch_size):
            part = rows[c0:c0 + cfg.micro_batch_size]
            sub, w = _sub(batch, part)
            m = sub.action_mask
            if is_policy:
                logp = action_logprobs(model, sub, cfg.temperature)
                loss, cf = policy_loss(logp, old_logp[part, :w], adv[part, :w], m, cfg.clip)
                clipped += float(cf)
                p_sum += float(loss.detach())
            else:
                loss = cfg.vf_coef * value_loss(values_of(model, sub), old_v[part, :w], returns[part, :w], m,
                                                cfg.value_clip)
                v_sum += float(loss.detach()) / cfg.vf_coef
            acc.backward(loss * scale)
        if cfg.max_grad_norm:
            acc.clip_grad_norm_(model.parameters(), cfg.max_grad_norm)
        opt.step()
        opt.zero_grad(set_to_none=True)
        model.eval()
    reduced = acc.reduce(torch.tensor([p_sum, v_sum], device=acc.device, dtype=torch.float64), reduction="sum")
    return float(reduced[0]) / total, float(reduced[1]) / total, clipped
