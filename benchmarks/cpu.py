"""The CPU path against what the CPU can do: matmul bound, then the default's training step, scoring and sampling.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/cpu.py [--append docs/benchmarks.md]

One thread (the default runs its jobs side by side, one thread each). First the machine's matmul bound, fp32 and
(where the CPU has it) bf16, on 1024³; then, with the shipped default's models (``weights/default``) on embedded-task
problems written as the default writes them:

- training step: a reward model, 64 solutions per optimizer step, micro-batches of ``--micro``; model FLOPs
  6 × matmul parameters × padded tokens + 12 × layers × hidden × length per token;
- scoring: ``RewardScorer`` at ``--score-batch``; 2 × body parameters × tokens per solution;
- sampling: the HF sampler, 512 prompts × 64 new tokens at T 0.8 (the default's settings); 2 × parameters ×
  (prompt + new) tokens per sample.

Each is printed as throughput and as a ratio to the fp32 bound (the share of the CPU's matmul rate the stage runs
at), with the machine's load before and after.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
WEIGHTS = ROOT / "weights" / "default"


def matmul_bound(dtype, size: int = 1024, reps: int = 20) -> float:
    import torch

    a, b = torch.randn(size, size, dtype=dtype), torch.randn(size, size, dtype=dtype)
    for _ in range(3):
        a @ b
    t = time.perf_counter()
    for _ in range(reps):
        a @ b
    return 2 * size**3 * reps / (time.perf_counter() - t)


def problems(count: int, seed: int = 0) -> list[dict]:
    from e2h import embedded_task
    from e2h.params import load_params

    width = load_params(ROOT / "params" / "default.yaml").data.task_width
    per = -(-count // 5)
    return embedded_task.generate({lv: per for lv in embedded_task.LEVELS}, split="train", seed=seed,
                                  width=width)[:count]


def body_params(model) -> int:
    """Parameters that take part in matmuls (2-D weights), the embedding lookup excluded."""
    return sum(p.numel() for n, p in model.named_parameters() if p.dim() == 2 and "embed_tokens" not in n)


def training_step(args) -> dict:
    import torch

    from e2h.models import load_model
    from e2h.params import RewardParams
    from e2h.training.loop import train
    from e2h.training.reward_data import reward_example

    model, tok = load_model(WEIGHTS / "rm" / "prm", dtype="float32", device="cpu", for_reward=True)
    rng = random.Random(0)
    records = problems(64 * (args.steps + args.warmup))
    examples = [reward_example(tok, {**r, "labels": [rng.random() < 0.7 for _ in range(4)]}, layout="every_token")
                for r in records]
    cfg = RewardParams(batch_size=64, micro_batch_size=args.micro, epochs=1, lr=1e-4, warmup_ratio=0.0,
                       mixed_precision="no", lr_schedule="constant")
    cfg_model = model.config
    with tempfile.TemporaryDirectory() as out:
        rec = train(model, tok, examples, cfg, Path(out) / "m", kind="reward", desc="bench step")
    secs = rec["step_seconds"][args.warmup:]
    step = statistics.median(secs)
    # padded tokens per step: each micro-batch pads to its longest example
    plan_tokens = []
    order = list(range(len(examples)))
    random.Random("0/0").shuffle(order)
    for s in range(args.warmup, args.warmup + args.steps):
        idx = order[s * 64:(s + 1) * 64]
        for m in range(0, 64, args.micro):
            chunk = [len(examples[i]["input_ids"]) for i in idx[m:m + args.micro]]
            plan_tokens.append((max(chunk) * len(chunk), max(chunk)))
    padded = sum(t for t, _ in plan_tokens) / args.steps
    length = statistics.mean(L for _, L in plan_tokens)
    flops = padded * (6 * body_params(model) + 12 * cfg_model.num_hidden_layers * cfg_model.hidden_size * length)
    del torch
    return {"step_s": step, "padded_tokens": padded, "flops": flops / step}


def scoring(args) -> dict:
    from e2h.format import format_prompt
    from e2h.models.scorer import RewardScorer
    from e2h.models.spans import encode

    scorer = RewardScorer(WEIGHTS / "rm" / "prm", dtype="float32", device="cpu")
    recs = problems(args.score_n, seed=1)
    qs, sols = [r["problem"] for r in recs], [r["solution"] for r in recs]
    scorer.score(qs[:64], sols[:64], batch_size=args.score_batch)  # load and warm up
    t = time.perf_counter()
    scorer.score(qs, sols, batch_size=args.score_batch)
    dt = time.perf_counter() - t
    base, _, _ = scorer._weights()
    tokens = sum(len(encode(scorer.tokenizer, format_prompt(q), s).input_ids) for q, s in zip(qs, sols))
    cfg = base.config
    flops = tokens * (2 * body_params(base) + 4 * cfg.num_hidden_layers * cfg.hidden_size * tokens / len(qs))
    return {"solutions_per_s": len(qs) / dt, "flops": flops / dt, "flops_per_solution": flops / len(qs)}


def sampling(args) -> dict:
    from e2h.format import format_prompt
    from e2h.models import load_model
    from e2h.sampling import SamplingConfig, derive_seed, load_sampler

    config = SamplingConfig(n=1, temperature=0.8, max_new_tokens=64, batch_size=args.sample_batch,
                            hf_cache=args.cache)
    sampler = load_sampler(WEIGHTS / "sft", config, "hf", device="cpu")
    prompts = [format_prompt(r["problem"]) for r in problems(args.sample_n, seed=2)]
    seeds = [derive_seed(0, 0, i) for i in range(len(prompts))]
    sampler.generate(prompts[:args.sample_batch], config, seeds[:args.sample_batch])  # warm up
    t = time.perf_counter()
    out = sampler.generate(prompts, config, seeds)
    dt = time.perf_counter() - t
    model, tok = load_model(WEIGHTS / "sft", device="cpu")
    new = sum(s[0].num_tokens for s in out)
    prompt = sum(len(tok(p).input_ids) for p in prompts)
    cfg = model.config
    per_token = 2 * body_params(model) + 4 * cfg.num_hidden_layers * cfg.hidden_size * (prompt + new) / len(prompts)
    flops = (prompt + new) * per_token
    return {"samples_per_s": len(prompts) / dt, "tokens_per_s": new / dt, "flops": flops / dt,
            "flops_per_sample": flops / len(prompts)}


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main() -> None:
    import torch

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--micro", type=int, default=16, help="micro-batch of the training step (default 16)")
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--score-n", type=int, default=1024)
    ap.add_argument("--score-batch", type=int, default=32)
    ap.add_argument("--sample-n", type=int, default=512)
    ap.add_argument("--sample-batch", type=int, default=512)
    ap.add_argument("--cache", default="dynamic", choices=["dynamic", "static"])
    ap.add_argument("--append", default=None, help="markdown file to append the results to")
    args = ap.parse_args()
    torch.set_num_threads(1)
    load0 = os.getloadavg()
    fp32 = matmul_bound(torch.float32)
    try:
        bf16 = matmul_bound(torch.bfloat16)
    except RuntimeError:
        bf16 = None
    step, score, sample = training_step(args), scoring(args), sampling(args)
    load1 = os.getloadavg()
    lines = [
        f"- matmul bound, one thread, 1024³: fp32 {fp32 / 1e9:.0f} GFLOP/s"
        + (f", bf16 {bf16 / 1e9:.0f} GFLOP/s" if bf16 else ", bf16: not available"),
        f"- training step (reward model, 64 solutions, micro-batch {args.micro}): {step['step_s']:.3f} s, "
        f"{step['padded_tokens']:.0f} padded tokens, {step['flops'] / 1e9:.1f} GFLOP/s = "
        f"**{step['flops'] / fp32:.0%} of the fp32 bound**",
        f"- scoring ({args.score_n} solutions, batch {args.score_batch}): {score['solutions_per_s']:.0f} solutions/s "
        f"(bound {fp32 / score['flops_per_solution']:.0f}/s) = **{score['flops'] / fp32:.0%} of the fp32 bound**",
        f"- sampling ({args.sample_n} prompts × 64 new tokens, batch {args.sample_batch}, {args.cache} cache): "
        f"{sample['samples_per_s']:.0f} samples/s, {sample['tokens_per_s']:.0f} tok/s "
        f"(bound {fp32 / sample['flops_per_sample']:.0f} samples/s) = **{sample['flops'] / fp32:.0%} of the fp32 "
        f"bound**",
    ]
    report = "\n".join(lines)
    print(report)
    if args.append:
        now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        head = (f"\n### CPU path against the matmul bound ({now})\n\n"
                f"Machine: {cpu_name()}, {os.cpu_count()} cores; load average {load0[0]:.2f} before, "
                f"{load1[0]:.2f} after. Command: `OMP_NUM_THREADS=1 .venv/bin/python benchmarks/cpu.py "
                f"--micro {args.micro} --score-batch {args.score_batch} --sample-batch {args.sample_batch} "
                f"--cache {args.cache}`.\n\n")
        with open(args.append, "a") as f:
            f.write(head + report + "\n")


if __name__ == "__main__":
    main()
