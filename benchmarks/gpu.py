"""The GPU path measured on one lent GPU (``bash scripts/gpu_check.sh`` runs every part within ~8 minutes).

    python benchmarks/gpu.py peak                      # matmul peak (bf16) and memory bandwidth of the device
    python benchmarks/gpu.py sample --batch 64 256     # HF generate of a 7b-shaped random bf16 Llama, 128 + 256
    python benchmarks/gpu.py score                     # reward-model scoring at 7b shape
    python benchmarks/gpu.py pipeline PARAMS --seeds 0 1 2   # the default from scratch, seeds side by side

Sampling is compared with its memory-bandwidth bound: each decode step reads the weights and the KV cache written so
far, so tokens/s ≤ batch × bandwidth / (weight bytes + KV bytes at the mean length). Scoring and the fine-tune step
(``benchmarks/training.py --gpu``) are compared with the measured bf16 matmul peak (MFU). ``--tiny`` runs every part
with small shapes on any device (the CPU test of this script).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SEVEN_B = dict(hidden_size=4096, num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=32,
               intermediate_size=11008, vocab_size=32000)
TINY = dict(hidden_size=128, num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=2,
            intermediate_size=512, vocab_size=512)


def device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def peak(tiny: bool) -> dict:
    """bf16 matmul rate (8192³; 512³ with --tiny) and copy bandwidth of the device."""
    n, dev = (512 if tiny else 8192), device()
    dtype = torch.bfloat16 if dev.type == "cuda" else torch.float32
    a, b = torch.randn(n, n, device=dev, dtype=dtype), torch.randn(n, n, device=dev, dtype=dtype)
    for _ in range(3):
        a @ b
    sync()
    t, reps = time.perf_counter(), 20
    for _ in range(reps):
        a @ b
    sync()
    flops = 2 * n**3 * reps / (time.perf_counter() - t)
    x = torch.empty(int((64 if tiny else 2048) * 2**20), device=dev, dtype=torch.uint8)
    y = torch.empty_like(x)
    y.copy_(x)
    sync()
    t = time.perf_counter()
    for _ in range(10):
        y.copy_(x)
    sync()
    bandwidth = 2 * x.numel() * 10 / (time.perf_counter() - t)
    return {"device": torch.cuda.get_device_name() if dev.type == "cuda" else "cpu", "matmul_flops": flops,
            "bandwidth": bandwidth}


def random_llama(shape: dict, *, for_reward: bool = False):
    from transformers import LlamaConfig, LlamaForCausalLM, LlamaForTokenClassification

    cfg = LlamaConfig(**shape, head_dim=64 if shape["hidden_size"] // shape["num_attention_heads"] == 64 else None,
                      max_position_embeddings=2048, num_labels=1, pad_token_id=0, eos_token_id=2)
    dev = device()
    dtype = torch.bfloat16 if dev.type == "cuda" else torch.float32
    with torch.device(dev):
        model = (LlamaForTokenClassification if for_reward else LlamaForCausalLM)(cfg).to(dtype)
    return model.eval(), cfg


def sample(tiny: bool, batches: list[int], bandwidth: float, prompt: int = 128, new: int = 256) -> list[dict]:
    """HF generate tokens/s at each batch size (dynamic, and static cache on a GPU) against the bandwidth bound."""
    model, cfg = random_llama(TINY if tiny else SEVEN_B)
    weight_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
    kv_per_token = 2 * cfg.num_hidden_layers * cfg.num_key_value_heads * (cfg.hidden_size // cfg.num_attention_heads) \
        * next(model.parameters()).element_size()
    new = 16 if tiny else new
    out = []
    caches = ["dynamic"] + (["static"] if device().type == "cuda" and not tiny else [])
    for batch in batches:
        ids = torch.randint(3, cfg.vocab_size, (batch, prompt), device=device())
        for cache in caches:
            kw = dict(max_new_tokens=new, min_new_tokens=new, do_sample=True, temperature=0.7, pad_token_id=0)
            if cache == "static":
                kw["cache_implementation"] = "static"
            with torch.inference_mode():
                model.generate(ids, **{**kw, "max_new_tokens": 8, "min_new_tokens": 8})  # warm up / compile
                sync()
                t = time.perf_counter()
                model.generate(ids, **kw)
                sync()
            dt = time.perf_counter() - t
            step_bytes = weight_bytes + kv_per_token * batch * (prompt + new / 2)
            bound = batch * bandwidth / step_bytes
            out.append({"batch": batch, "cache": cache, "tokens_per_s": batch * new / dt, "bound_tokens_per_s": bound,
                        "share_of_bound": batch * new / dt / bound})
    return out


def score(tiny: bool, flops_peak: float, batch: int = 32, length: int = 512) -> dict:
    """Reward-model forward at 7b shape: solutions/s and MFU (2 × matmul parameters per token)."""
    model, cfg = random_llama(TINY if tiny else SEVEN_B, for_reward=True)
    length = 64 if tiny else length
    ids = torch.randint(3, cfg.vocab_size, (batch, length), device=device())
    matmul = sum(p.numel() for n, p in model.named_parameters() if p.dim() == 2 and "embed_tokens" not in n)
    with torch.inference_mode():
        model(input_ids=ids)
        sync()
        t, reps = time.perf_counter(), 3
        for _ in range(reps):
            model(input_ids=ids)
        sync()
    dt = (time.perf_counter() - t) / reps
    return {"solutions_per_s": batch / dt, "tokens_per_s": batch * length / dt,
            "mfu": 2 * matmul * batch * length / dt / flops_peak}


def pipeline(params_file: str, seeds: list[int]) -> dict:
    """The params file from scratch under each seed, the seeds side by side (one process each, one GPU): stages
    00-06 through their stage functions (the GPU image has no papermill), wall time per stage and in all."""
    from e2h.seeds import seed_params_file

    files = {s: seed_params_file(params_file, s) for s in seeds}
    t = time.perf_counter()
    procs = {s: subprocess.Popen([sys.executable, __file__, "_one", str(f)], stdout=subprocess.PIPE, text=True)
             for s, f in files.items()}
    walls = {s: json.loads(proc.communicate()[0].strip().splitlines()[-1]) for s, proc in procs.items()}
    return {"seeds": walls, "wall_s": time.perf_counter() - t}


def _one(params_file: str) -> dict:
    from e2h.params import load_params
    from e2h.stages import s00_data, s01_policy, s02_reward_data, s04_pool, s05_scores, s06_rerank
    from e2h.stages.jobs import train_jobs

    p, walls = load_params(params_file), {}
    steps = [("00", lambda: s00_data.build_splits(p)), ("01", lambda: s01_policy.train_policy(p)),
             ("02", lambda: s02_reward_data.sample_reward_data(p, progress=False)),
             ("03", lambda: train_jobs(p.reward.kinds, params_file)),
             ("04", lambda: s04_pool.sample_test_pool(p, progress=False)),
             ("05", lambda: s05_scores.score_test_pool(p)), ("06", lambda: s06_rerank.rerank_tables(p))]
    for name, fn in steps:
        t = time.perf_counter()
        fn()
        walls[name] = round(time.perf_counter() - t, 1)
    return walls


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("part", choices=["peak", "sample", "score", "pipeline", "_one"])
    ap.add_argument("params", nargs="?", default=str(ROOT / "params" / "default-train.yaml"))
    ap.add_argument("--batch", type=int, nargs="+", default=[64, 256])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--tiny", action="store_true", help="small shapes, any device (tests the script)")
    args = ap.parse_args()
    if args.part == "_one":
        print(json.dumps(_one(args.params)))
        return
    result = {"peak": lambda: peak(args.tiny),
              "sample": lambda: sample(args.tiny, args.batch, peak(args.tiny)["bandwidth"]),
              "score": lambda: score(args.tiny, peak(args.tiny)["matmul_flops"]),
              "pipeline": lambda: pipeline(args.params, args.seeds)}[args.part]()
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
