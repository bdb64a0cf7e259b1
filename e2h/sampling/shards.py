"""Sampling a whole problem set into a sample pool, in shards that survive interruption.

Problems are cut into shards of ``shard_size``; each finished shard is written atomically as its own parquet file,
so a killed run loses at most the shard in flight and a rerun samples only what is missing. Every prompt's seed is
derived from the base seed, its shard's index and its position in the shard, never from what ran before it: an
interrupted-then-resumed run therefore gives exactly the rows of an uninterrupted one.

Shards live in ``<out>.shards/<key>/``, where the key hashes everything that decides the samples (settings,
backend, model files, problems). Changing any of them starts a new folder instead of mixing old and new samples.
The pool itself (graded, validated) is assembled from the shards at the end.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
from e2h.progress import tqdm

from e2h.provenance import digest, model_fingerprint
from e2h.io import read_json, write_json, write_parquet
from e2h.sampling.backend import load_sampler, pick_backend
from e2h.sampling.base import Sampler, SamplingConfig

# The sample pool's contract (guide §3) plus what sampling knows about each sample.
POOL_COLUMNS = ["problem_id", "level", "split", "sample_idx", "text", "answer", "correct",
                "num_tokens", "finish_reason", "prompt"]
_SHARD_COLUMNS = ["problem_id", "sample_idx", "text", "num_tokens", "finish_reason", "seed"]


def derive_seed(*parts: int) -> int:
    """A 63-bit seed from integers (base seed, shard index, position): independent streams, reproducible."""
    state = np.random.SeedSequence([int(p) for p in parts]).generate_state(2, dtype=np.uint32)
    return int((int(state[0]) << 31) ^ int(state[1])) & (2**63 - 1)


def prepare_problems(problems, split: str | None = None) -> pd.DataFrame:
    """Normalise problems (DataFrame, or records such as ``e2h.stages.s00_data.load_split``'s) to
    ``problem_id, level, split, problem, gold``.

    The id is ``problem_id`` or, for MATH records, ``unique_id``; the gold answer is ``answer`` (None allowed: such
    samples grade as wrong); ``split`` comes from the records or the ``split`` argument, which wins.
    """
    df = problems.copy() if isinstance(problems, pd.DataFrame) else pd.DataFrame(list(problems))
    if "problem_id" not in df.columns and "unique_id" in df.columns:
        df["problem_id"] = df["unique_id"]
    if split is not None:
        df["split"] = split
    missing = [c for c in ("problem_id", "problem", "level", "answer", "split") if c not in df.columns]
    if missing:
        raise ValueError(f"problems: missing column(s) {missing}; expected problem_id (or unique_id), problem, "
                         f"level, answer and split (or pass split=...); got columns {list(df.columns)}")
    if len(df) == 0:
        raise ValueError("problems: no problems to sample")
    df["problem_id"] = df["problem_id"].astype(str)
    if df["problem_id"].duplicated().any():
        dup = df.loc[df["problem_id"].duplicated(), "problem_id"].iloc[0]
        raise ValueError(f"problems: problem_id {dup!r} appears more than once; ids must be unique")
    bad = [i for i, q in enumerate(df["problem"]) if not isinstance(q, str) or not q.strip()]
    if bad:
        raise ValueError(f"problems: row {bad[0]} (problem_id={df['problem_id'].iloc[bad[0]]!r}) has no problem text")
    df["level"] = pd.array(df["level"], dtype="Int64")  # MATH has two "Level ?" problems: null, not NaN floats
    df = df.rename(columns={"answer": "gold"})
    return df[["problem_id", "level", "split", "problem", "gold"]].reset_index(drop=True)


def run_key(problems: pd.DataFrame, prompts: list[str], model_path, config: SamplingConfig, backend: str,
            seed: int, shard_size: int) -> tuple[str, dict]:
    """The digest naming a shard folder, and the readable record of what went into it."""
    # Only what can change a sample: vLLM ignores hf's batching and cache, hf ignores vLLM's engine settings.
    ignored = {"vllm": ("batch_size", "hf_cache"), "hf": ("tensor_parallel_size", "gpu_memory_utilization")}
    settings = {k: v for k, v in config.__dict__.items() if k not in ignored.get(backend, ())}
    record = {"config": settings, "backend": backend, "seed": seed, "shard_size": shard_size,
              "model_path": str(model_path), "model": model_fingerprint(model_path),
              "problems": hashlib.sha256(json.dumps([list(problems["problem_id"]), prompts]).encode()).hexdigest(),
              "num_problems": len(problems)}
    return hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()[:16], record


class _Rate:
    """Progress bar over samples with samples/s and tokens/s of this run (shards found on disk excluded)."""

    def __init__(self, total: int, done: int, enabled: bool):
        self.bar = tqdm(total=total, initial=done, unit="sample", desc="sampling", disable=not enabled)
        self.start, self.samples, self.tokens = time.perf_counter(), 0, 0

    def __call__(self, samples: int, tokens: int) -> None:
        self.samples += samples
        self.tokens += tokens
        dt = max(time.perf_counter() - self.start, 1e-9)
        self.bar.update(samples)
        self.bar.set_postfix_str(f"{self.samples / dt:.1f} samples/s, {self.tokens / dt:.0f} tok/s")

    def close(self):
        self.bar.close()


def sample_shards(problems: pd.DataFrame, model_path, config: SamplingConfig, shard_dir: Path, *,
                  backend: str, seed: int, shard_size: int, sampler: Sampler | None = None,
                  on_shard: Callable[[int, pd.DataFrame], None] | None = None,
                  progress: bool = True, part: tuple[int, int] | None = None) -> tuple[list[Path], dict]:
    """Sample every shard that is not on disk yet (with ``part = (i, k)``, only shards i, i + k, i + 2k, …: one of
    k processes side by side); return all shard paths in order, and this run's throughput."""
    from e2h.format import format_prompt

    starts = list(range(0, len(problems), shard_size))
    paths = [shard_dir / f"shard-{i:05d}.parquet" for i in range(len(starts))]
    todo = [i for i, p in enumerate(paths) if not p.exists() and (part is None or i % part[1] == part[0])]
    done_samples = sum(min(shard_size, len(problems) - starts[i]) for i in range(len(starts)) if i not in todo)
    rate = _Rate(len(problems) * config.n, done_samples * config.n, progress)
    own = sampler is None  # a sampler loaded here is closed here: a vLLM engine holds its GPU memory until then
    try:
        for i in todo:
            if sampler is None:  # loaded only when something is left to sample
                sampler = load_sampler(model_path, config, backend)
            shard = problems.iloc[starts[i]:starts[i] + shard_size]
            prompts = [format_prompt(p) for p in shard["problem"]]
            seeds = [derive_seed(seed, i, k) for k in range(len(shard))]
            samples = sampler.generate(prompts, config, seeds, on_batch=rate)
            rows = [{"problem_id": pid, "sample_idx": j, "text": s.text, "num_tokens": s.num_tokens,
                     "finish_reason": s.finish_reason, "seed": sd}
                    for pid, sd, per in zip(shard["problem_id"], seeds, samples) for j, s in enumerate(per)]
            df = pd.DataFrame(rows, columns=_SHARD_COLUMNS)
            write_parquet(paths[i], df)
            if on_shard is not None:
                on_shard(i, df)
    finally:
        rate.close()
        if own and sampler is not None:
            sampler.close()
    dt = time.perf_counter() - rate.start
    return paths, {"new_samples": rate.samples, "new_tokens": rate.tokens, "seconds": dt,
                   "samples_per_s": rate.samples / dt if rate.samples else None,
                   "tokens_per_s": rate.tokens / dt if rate.samples else None}


def assemble_pool(problems: pd.DataFrame, shard_paths: list[Path], progress: bool = True) -> pd.DataFrame:
    """Join shards with their problems, extract and grade every answer: the pool's rows, in problem order."""
    from e2h.format import format_prompt
    from e2h.grading import extract_answer, grade_many

    raw = pd.concat([pd.read_parquet(p) for p in shard_paths], ignore_index=True)
    pool = problems.merge(raw, on="problem_id", how="inner", validate="one_to_many")
    if len(pool) != len(raw):
        raise RuntimeError(f"shards hold {len(raw)} samples but only {len(pool)} match the problems")
    pool["prompt"] = [format_prompt(p) for p in pool["problem"]]
    # Plain lists: a pandas string column would turn a missing answer (None) into NaN.
    answers = [extract_answer(t) for t in pool["text"]]
    golds = [g if isinstance(g, str) else None for g in pool["gold"]]
    graded = [i for i, g in enumerate(golds) if g is not None]
    verdicts = grade_many([answers[i] for i in graded], [golds[i] for i in graded], progress=progress)
    correct = [False] * len(pool)  # no gold answer: never correct
    for i, v in zip(graded, verdicts):
        correct[i] = bool(v)
    pool["answer"] = pd.Series(answers, index=pool.index, dtype=object)
    pool["correct"] = correct
    return pool[POOL_COLUMNS + ["gold"]]


def sample_pool(problems, model_path, params, out_path, *, split: str | None = None,
                sampler: Sampler | None = None, on_shard: Callable[[int, pd.DataFrame], None] | None = None,
                progress: bool = True, part: tuple[int, int] | None = None) -> pd.DataFrame | None:
    """Sample ``params.n`` solutions for every problem and write the graded pool to ``out_path`` (parquet).

    ``params`` is an ``e2h.params.SampleParams`` (or anything with its fields). A rerun with the same problems,
    model and settings skips finished shards, and returns the existing pool without loading the model when it is
    complete. ``on_shard(index, rows)`` runs after each new shard is written (progress hooks, tests). With
    ``part = (i, k)`` only that part's shards are sampled and nothing is assembled (returns None): k processes
    fill the shards side by side, then one call without ``part`` assembles them.
    """
    from e2h.format import format_prompt
    from e2h.pool import write_pool
    from e2h.sampling.base import config_from_params

    out_path = Path(out_path)
    probs = prepare_problems(problems, split)
    config = config_from_params(params)
    backend = sampler.backend if sampler is not None else pick_backend(params.backend)
    if params.shard_size < 1:
        raise ValueError(f"sample.shard_size must be >= 1, got {params.shard_size}")
    prompts = [format_prompt(p) for p in probs["problem"]]
    key, record = run_key(probs, prompts, model_path, config, backend, params.seed, params.shard_size)
    meta_path = out_path.with_suffix(".json")
    # The samples depend on `key`; the graded pool also on the gold answers (the shards do not).
    golds = digest([g if isinstance(g, str) else None for g in probs["gold"]])
    if out_path.exists() and meta_path.exists():
        meta = read_json(meta_path)
        if meta.get("key") == key and meta.get("golds") == golds:
            return pd.read_parquet(out_path)
    shard_dir = out_path.parent / f"{out_path.stem}.shards" / key
    write_json(shard_dir / "run.json", record)
    paths, speed = sample_shards(probs, model_path, config, shard_dir, backend=backend, seed=params.seed,
                                 shard_size=params.shard_size, sampler=sampler, on_shard=on_shard,
                                 progress=progress, part=part)
    if part is not None:
        return None
    pool = assemble_pool(probs, paths, progress)
    write_pool(pool, out_path)
    write_json(meta_path, {"key": key, "golds": golds, **record, "rows": len(pool), "last_run": speed})
    return pd.read_parquet(out_path)  # as every later reader sees it (parquet's dtypes), fresh or reused
