"""Throughput of e2h's training loop (SFT and reward model) and of reward-model scoring.

    python benchmarks/training.py [--append docs/benchmarks.md]          # CPU: a tiny Llama
    python benchmarks/training.py --gpu [--append docs/benchmarks.md]    # CUDA: a ~1.1B-shaped Llama in bf16

The GPU mode is the issue's target: a random Llama shaped like TinyLlama-1.1B (hidden 2048, 22 layers, 32 heads of
64, MLP 5632, vocabulary 32000), 8 sequences of 1024 tokens per optimizer step, bf16 autocast over fp32 weights
(``--dtype bfloat16`` for bf16 weights), fused AdamW, sdpa attention, through ``e2h.training.loop.train`` itself. It reports
tokens/s and MFU = model FLOPs per token (6 × matmul parameters + 12 × layers × hidden × sequence length, forward
and backward) × tokens/s ÷ 790 TFLOP/s (the dense bf16 rate measured on an H200). Plain HF reached 45%; target 50%.
Step times are medians over the steps after ``--warmup``; model saving is not timed.
"""

from __future__ import annotations

import argparse
import datetime
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

import torch

PEAK_FLOPS = 790e12


def shapes(gpu: bool) -> dict:
    if gpu:
        return dict(hidden_size=2048, num_hidden_layers=22, num_attention_heads=32, num_key_value_heads=4,
                    intermediate_size=5632, vocab_size=32000, seq=1024, batch=8)
    return dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=1, num_key_value_heads=1,
                intermediate_size=256, vocab_size=512, seq=256, batch=16)


def build(shape: dict, folder: Path, dtype: str):
    from transformers import LlamaConfig, LlamaForCausalLM

    from e2h.models import train_tokenizer

    cfg = LlamaConfig(**{k: v for k, v in shape.items() if k not in ("seq", "batch")}, head_dim=64,
                      max_position_embeddings=shape["seq"], tie_word_embeddings=False)
    torch.manual_seed(0)
    LlamaForCausalLM(cfg).save_pretrained(folder)
    train_tokenizer(["# Question\n\nx\n\n# Solution\n\ny"], 300).save_pretrained(folder)
    return folder


def flops_per_token(model, shape: dict) -> float:
    matmul = sum(p.numel() for n, p in model.named_parameters() if "embed_tokens" not in n and p.dim() == 2)
    return 6 * matmul + 12 * shape["num_hidden_layers"] * shape["hidden_size"] * shape["seq"]


def run(kind: str, shape: dict, folder: Path, args) -> dict:
    from e2h.models import load_model
    from e2h.params import RewardParams, SFTParams
    from e2h.training.loop import train

    model, tok = load_model(folder, dtype=args.dtype, device="cpu", for_reward=kind == "reward")
    rng = random.Random(0)
    n = shape["batch"] * (args.steps + args.warmup)
    examples = []
    for _ in range(n):
        ids = [rng.randrange(3, shape["vocab_size"]) for _ in range(shape["seq"])]
        labels = ids if kind == "lm" else [float(rng.random() < 0.7) for _ in ids]
        examples.append({"input_ids": ids, "labels": labels})
    cls = SFTParams if kind == "lm" else RewardParams
    cfg = cls(batch_size=shape["batch"], micro_batch_size=args.micro or shape["batch"], epochs=1, lr=1e-5,
              warmup_ratio=0.0, mixed_precision="bf16" if args.gpu else "no", dtype=args.dtype,
              freeze_embeddings_and_norms=True, gradient_checkpointing=args.checkpointing)
    fpt = flops_per_token(model, shape)
    with tempfile.TemporaryDirectory() as out:
        rec = train(model, tok, examples, cfg, Path(out) / "m", kind=kind, desc=f"bench {kind}")
    secs, toks = rec["step_seconds"][args.warmup:], rec["step_tokens"][args.warmup:]
    tps = statistics.median(t / s for t, s in zip(toks, secs))
    return {"kind": kind, "tokens_per_s": tps, "median_step_s": statistics.median(secs),
            "mfu": tps * fpt / PEAK_FLOPS, "flops_per_token": fpt}


def score_speed(folder: Path, n: int) -> float:
    from e2h.models import load_model
    from e2h.models.scorer import RewardScorer

    model, tok = load_model(folder, for_reward=True)
    model.save_pretrained(folder / "rm")
    tok.save_pretrained(folder / "rm")
    scorer = RewardScorer(folder / "rm")
    sol = "\n\n".join(f"step {i}: {i} + {i} = {2 * i}" for i in range(8)) + "\n\n# Answer\n\n14"
    t = time.perf_counter()
    scorer.score(["What is 7 + 7?"] * n, [sol] * n, batch_size=32)
    return n / (time.perf_counter() - t)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--gpu", action="store_true", help="the ~1.1B bf16 benchmark on CUDA")
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--micro", type=int, default=0, help="micro-batch (default: the whole batch)")
    ap.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    ap.add_argument("--checkpointing", action="store_true")
    ap.add_argument("--append", default=None, help="append the results to this markdown file")
    args = ap.parse_args()
    if args.gpu and not torch.cuda.is_available():
        raise SystemExit("--gpu: no CUDA device")
    shape = shapes(args.gpu)
    with tempfile.TemporaryDirectory() as tmp:
        folder = build(shape, Path(tmp) / "base", args.dtype)
        results = [run(kind, shape, folder, args) for kind in ("lm", "reward")]
        scored = None if args.gpu else score_speed(folder, 256)
    device = torch.cuda.get_device_name() if args.gpu else "2-core CPU, 24 GiB"
    cmd = "python benchmarks/training.py " + " ".join(
        a for a in ["--gpu" if args.gpu else "", f"--dtype {args.dtype}" if args.dtype != "float32" else "",
                    "--checkpointing" if args.checkpointing else ""] if a)
    lines = [f"## Training loop ({'~1.1B Llama, bf16, CUDA' if args.gpu else 'tiny Llama, CPU'})", "",
             f"Machine: {device}. Date: {datetime.date.today()}. Command: `{cmd.strip()}`.", "",
             f"- shape: hidden {shape['hidden_size']}, {shape['num_hidden_layers']} layers, vocab "
             f"{shape['vocab_size']}, {shape['batch']} x {shape['seq']} tokens per step, median of {args.steps} "
             f"steps after {args.warmup} warm-up",
             f"- host load average (1 min) at the end: {os.getloadavg()[0]:.1f} (the machine may be shared)"]
    for r in results:
        mfu = f", MFU {100 * r['mfu']:.1f}% of 790 TFLOP/s" if args.gpu else ""
        lines.append(f"- {'SFT' if r['kind'] == 'lm' else 'reward model'}: {r['tokens_per_s']:,.0f} tokens/s "
                     f"(median step {r['median_step_s']:.3f} s){mfu}")
    if scored is not None:
        lines.append(f"- scoring (RewardScorer, 256 solutions of 9 steps, batch 32): {scored:,.0f} solutions/s")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.append:
        with open(args.append, "a") as f:
            f.write("\n" + text)


if __name__ == "__main__":
    main()
