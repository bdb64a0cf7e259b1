"""One plain PyTorch training loop for the policy (next-token loss) and the reward models (per-token BCE), run under
``accelerate`` so the same code trains on a CPU, one GPU, or several GPUs with DDP / FSDP.

Why not ``Trainer``: the reward loss is a masked BCE on a scalar head, the paper normalises by the tokens of the
whole effective batch, and the multi-process run must reproduce the single-process one. Owning the loop (80 lines)
makes all three explicit:

- the effective batch (``batch_size``, 128 in the paper) is a fixed, seeded set of examples per optimizer step, dealt
  round-robin to the processes and cut into micro-batches; every process runs the same number of micro-batches
  (padding with zero-weight ones), so collective calls line up;
- each micro-batch's summed loss is divided by the number of labelled tokens in the whole effective batch (all
  micro-batches, all processes) and multiplied by the world size, because DDP/FSDP average gradients over processes.
  Hence 1 process × 4 micro-batches and 2 processes × 2 give the same update up to float rounding.

Besides the two built-in kinds, ``kind`` may be an *objective* object with ``count(example)`` (its labelled units),
``collate(examples, pad_id)`` and ``loss_sum(model, batch) -> (summed loss, units)``: DPO's pairs
(``e2h.training.rl.preference.PairObjective``) train through the same loop, normalised by the pairs of the batch.
"""

from __future__ import annotations

import contextlib
import math
import random
import time
from pathlib import Path
from typing import Literal

import torch
import torch.nn.functional as F
from e2h.progress import tqdm

IGNORE = -100
LOSSES = "losses.json"  # every model folder this loop writes has one; only such a folder is ever replaced


def _pad(rows: list[list], value) -> list[list]:
    width = max(len(r) for r in rows)
    return [r + [value] * (width - len(r)) for r in rows]


def collate(examples: list[dict], pad_id: int, label_dtype=torch.long) -> dict:
    """Right-pad ``input_ids`` (with ``pad_id``) and ``labels`` (with -100) into tensors."""
    ids = [e["input_ids"] for e in examples]
    return {"input_ids": torch.tensor(_pad(ids, pad_id)),
            "attention_mask": torch.tensor(_pad([[1] * len(i) for i in ids], 0)),
            "labels": torch.tensor(_pad([e["labels"] for e in examples], IGNORE), dtype=label_dtype)}


def loss_sum(model, batch: dict, kind: Literal["lm", "reward"]) -> tuple[torch.Tensor, int]:
    """Summed loss over labelled tokens of a batch, and how many tokens that is.

    No attention mask: ``collate`` pads on the right and attention is causal, so no real token ever attends to a
    padding token (they all come after it) and positions count from 0 either way; the padding's own outputs carry
    no label. The result is the masked one's, and the kernels take their faster causal path.
    """
    out = model(input_ids=batch["input_ids"])
    labels = batch["labels"]
    if kind == "lm":  # token t predicts token t+1
        logits, target = out.logits[:, :-1].float(), labels[:, 1:]
        mask = target != IGNORE
        loss = F.cross_entropy(logits[mask], target[mask], reduction="sum")
    else:  # the scalar head at token t is trained towards that token's label
        logits, mask = out.logits[..., 0].float(), labels != IGNORE
        loss = F.binary_cross_entropy_with_logits(logits[mask], labels[mask].float(), reduction="sum")
    return loss, int(mask.sum())


def label_count(example: dict, kind) -> int:
    if not isinstance(kind, str):
        return kind.count(example)
    labels = example["labels"][1:] if kind == "lm" else example["labels"]
    return sum(1 for x in labels if x != IGNORE)


def step_plan(n: int, batch_size: int, epochs: int, seed: int, max_steps: int | None) -> list[list[int]]:
    """Example indices of every optimizer step: a seeded shuffle per epoch cut into effective batches."""
    steps = []
    for epoch in range(epochs):
        order = list(range(n))
        random.Random(f"{seed}/{epoch}").shuffle(order)
        steps += [order[i:i + batch_size] for i in range(0, n, batch_size)]
    return steps[:max_steps] if max_steps else steps


def micro_batches(indices: list[int], rank: int, world: int, micro: int) -> list[tuple[list[int], float]]:
    """This process's share of one effective batch as (indices, weight) micro-batches; weight 0 marks padding so
    every process runs ``ceil(ceil(len/world)/micro)`` of them."""
    mine = indices[rank::world]
    n_micro = max(1, math.ceil(math.ceil(len(indices) / world) / micro))
    out = [(mine[i * micro:(i + 1) * micro], 1.0) for i in range(n_micro)]
    return [(m, w) if m else ([indices[0]], 0.0) for m, w in out]


def prepare_model(model, cfg) -> object:
    """Freeze embeddings and norms, add LoRA, turn on gradient checkpointing, as ``cfg`` asks."""
    if cfg.freeze_embeddings_and_norms:
        for name, param in model.named_parameters():
            if "embed_tokens" in name or "norm" in name:
                param.requires_grad_(False)
    if cfg.gradient_checkpointing:
        # Renamed in transformers 5.2x; older 5.x (the GPU image's 5.17) only has the first name.
        if hasattr(model, "activation_checkpointing_enable"):
            model.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": False})
        else:
            model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model.config.use_cache = False
    if cfg.lora_r > 0:
        from peft import LoraConfig, get_peft_model

        head = ["score"] if hasattr(model, "score") else None  # a reward head is trained in full
        model = get_peft_model(model, LoraConfig(r=cfg.lora_r, lora_alpha=cfg.lora_alpha,
                                                 lora_dropout=cfg.lora_dropout, target_modules="all-linear",
                                                 modules_to_save=head))
    return model


def train(model, tokenizer, examples: list[dict], cfg, out_dir: str | Path, *, kind: Literal["lm", "reward"] | object,
          desc: str = "train", accelerator=None, extra_json: dict[str, dict] | None = None,
          callback=None, callback_every: int = 0) -> dict:
    """Train ``model`` on ``examples`` (dicts of ``input_ids`` and ``labels``) and save it to ``out_dir``.

    ``cfg`` is a ``TrainParams`` (lr, epochs, batch_size, micro_batch_size, schedule, seed, ...). The folder gets
    the model and tokenizer in HF format, ``losses.json`` and ``extra_json`` (file name -> object); it appears only
    when complete (``e2h.plots.save_loss_curve`` draws the record).
    ``callback(step, model)`` runs every ``callback_every`` optimizer steps with the unwrapped model in eval mode;
    it returns True to stop training there (checkpoint selection on validation data).
    Returns the training record (losses per step, tokens/s, and ``stopped_at`` when a callback stopped it).
    """
    from accelerate.utils import DistributedType
    from transformers import get_scheduler

    if not examples:
        raise ValueError(f"{desc}: no training examples")
    acc = accelerator or make_accelerator(cfg)
    torch.manual_seed(cfg.seed)
    model = prepare_model(model, cfg)
    # The model is wrapped (DDP / FSDP) before the optimizer sees its parameters: FSDP replaces them.
    model = acc.prepare(model)
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    optim = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay, fused=acc.device.type == "cuda")
    plan = step_plan(len(examples), cfg.batch_size, cfg.epochs, cfg.seed, cfg.max_steps)
    sched = get_scheduler(cfg.lr_schedule, optim, num_warmup_steps=int(cfg.warmup_ratio * len(plan)),
                          num_training_steps=len(plan))
    optim = acc.prepare(optim)
    label_dtype = torch.long if kind == "lm" else torch.float
    record = {"step": [], "loss": [], "lr": [], "step_seconds": [], "step_tokens": [], "examples": len(examples),
              "world_size": acc.num_processes}
    tokens, t0 = 0, time.perf_counter()
    bar = tqdm(plan, desc=desc, disable=not acc.is_local_main_process, unit="step")
    for step, indices in enumerate(bar):
        chunks = micro_batches(indices, acc.process_index, acc.num_processes, cfg.micro_batch_size)
        local = sum(label_count(examples[i], kind) for m, w in chunks if w for i in m)
        total = int(acc.reduce(torch.tensor(local, device=acc.device), reduction="sum"))
        step_loss, t_step, tokens_before = torch.zeros((), device=acc.device), time.perf_counter(), tokens
        for j, (idx, weight) in enumerate(chunks):
            chunk = [examples[i] for i in idx]
            raw = (collate(chunk, tokenizer.pad_token_id, label_dtype) if isinstance(kind, str)
                   else kind.collate(chunk, tokenizer.pad_token_id))
            batch = {k: v.to(acc.device) for k, v in raw.items()}
            # DDP: all-reduce only after the last micro-batch. FSDP: no no_sync, which would hold full unsharded
            # gradients; its reduce-scatter per micro-batch sums to the same result.
            ddp = acc.distributed_type in (DistributedType.MULTI_GPU, DistributedType.MULTI_CPU)
            sync = acc.no_sync(model) if ddp and j < len(chunks) - 1 else contextlib.nullcontext()
            with sync:
                loss, _ = loss_sum(model, batch, kind) if isinstance(kind, str) else kind.loss_sum(model, batch)
                acc.backward(loss * weight * acc.num_processes / max(total, 1))
            step_loss += loss.detach() * weight
            tokens += int(batch["attention_mask"].sum()) if weight else 0
        if cfg.max_grad_norm:
            acc.clip_grad_norm_(model.parameters(), cfg.max_grad_norm)  # all of them: FSDP needs its own
        optim.step()
        sched.step()
        optim.zero_grad(set_to_none=True)
        mean_loss = float(acc.reduce(step_loss, reduction="sum")) / max(total, 1)
        record["step"].append(step + 1)
        record["loss"].append(mean_loss)
        record["lr"].append(sched.get_last_lr()[0])
        record["step_seconds"].append(time.perf_counter() - t_step)  # the loss reduce above synchronises
        record["step_tokens"].append(tokens - tokens_before)  # this process's non-padding tokens
        bar.set_postfix(loss=f"{mean_loss:.4f}")
        if callback is not None and callback_every and (step + 1) % callback_every == 0:
            model.eval()
            stop = callback(step + 1, acc.unwrap_model(model))
            model.train()
            if stop:
                record["stopped_at"] = step + 1
                break
    record["seconds"] = time.perf_counter() - t0
    record["tokens_per_s"] = float(acc.reduce(torch.tensor(tokens, device=acc.device), reduction="sum")) / max(
        record["seconds"], 1e-9)
    save_model(acc, model, tokenizer, out_dir, record, extra_json or {})
    return record


def make_accelerator(cfg):
    """The ``Accelerator`` of a training run; create it before loading the model so that FSDP's RAM-efficient
    loading (weights read on rank 0 only) applies."""
    from accelerate import Accelerator

    mp = cfg.mixed_precision
    if mp == "auto":
        mp = "bf16" if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else "no"
    return Accelerator(mixed_precision=mp)


def save_model(acc, model, tokenizer, out_dir: str | Path, record: dict, extra_json: dict[str, dict]) -> Path:
    """Gather the full weights (FSDP shards them), merge LoRA, and write an HF folder atomically (main process)."""
    from e2h.io import atomic_dir, check_replaceable, write_json

    out = Path(out_dir)
    if acc.is_main_process:
        check_replaceable(out, LOSSES)  # before gathering weights: a folder that is not a trained model stays
    acc.wait_for_everyone()
    state = acc.get_state_dict(model)
    unwrapped = acc.unwrap_model(model)
    if acc.is_main_process:
        with atomic_dir(out, marker=LOSSES) as partial:
            if hasattr(unwrapped, "merge_and_unload"):  # LoRA: write plain weights so any loader reads them
                unwrapped = unwrapped.merge_and_unload()
                state = None
            unwrapped.config.use_cache = True
            unwrapped.save_pretrained(partial, state_dict=state, safe_serialization=True)
            tokenizer.save_pretrained(partial)
            for name, obj in extra_json.items():
                write_json(partial / name, obj)
            write_json(partial / LOSSES, record)
    acc.wait_for_everyone()
    return out
