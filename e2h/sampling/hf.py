"""The transformers backend: ``model.generate`` over batches of (prompt, sample) rows, left padded, KV cached.

Used on CPUs, in tests, and on GPUs without vLLM. Each prompt is repeated ``n`` times as separate rows, so a
prompt's prefill is recomputed per sample; vLLM (``e2h.sampling.vllm``) shares it. With ``hf_cache: static`` the
KV cache has a fixed shape and transformers compiles the decode step on a GPU; to keep that one compilation, every
batch is padded to the same number of rows and prompts to a multiple of 64 tokens (a new shape would recompile).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Callable, Sequence

import torch

from e2h.models import load_model
from e2h.sampling.base import Sample, SamplingConfig

_STATIC_PAD_MULTIPLE = 64


def batch_seed(seeds: Sequence[int], batch_index: int) -> int:
    """One seed for a generate call, from the seeds of the prompts in it (torch has one RNG per batch)."""
    blob = ",".join(str(s) for s in seeds) + f"|{batch_index}"
    return int.from_bytes(hashlib.sha256(blob.encode()).digest()[:8], "little") & (2**63 - 1)


class HFSampler:
    backend = "hf"

    def __init__(self, model_path, config: SamplingConfig, device: str | None = None):
        model_path = Path(model_path)
        if not (model_path / "config.json").is_file():
            raise FileNotFoundError(f"{model_path}: not an HF model folder (no config.json); "
                                    "expected the output of save_pretrained, e.g. run_dir/sft")
        # dtype "auto": bf16 on a GPU that has it, fp32 on CPUs; the tokenizer comes with a pad token.
        self._attach(*load_model(model_path, dtype=config.dtype, device=device))

    @classmethod
    def from_loaded(cls, model, tokenizer) -> "HFSampler":
        """A sampler over a model already in memory (a checkpoint evaluated during training)."""
        self = cls.__new__(cls)
        self._attach(model, tokenizer)
        return self

    def _attach(self, model, tokenizer) -> None:
        self.model, self.tokenizer = model, tokenizer
        self.device = self.model.device
        self.tokenizer.padding_side = "left"  # decoder-only: new tokens must follow the prompt directly
        eos = self.model.generation_config.eos_token_id
        eos = [eos] if isinstance(eos, int) else list(eos or [])
        self.eos_ids = sorted(set(eos) | {self.tokenizer.eos_token_id})

    def _generate_kwargs(self, config: SamplingConfig) -> dict:
        kw = dict(max_new_tokens=config.max_new_tokens, eos_token_id=self.eos_ids,
                  pad_token_id=self.tokenizer.pad_token_id, use_cache=True)
        if config.temperature == 0:
            kw.update(do_sample=False, temperature=None, top_k=None, top_p=None)
        else:
            kw.update(do_sample=True, temperature=config.temperature, top_k=config.top_k, top_p=config.top_p)
        if config.hf_cache == "static":
            kw["cache_implementation"] = "static"
        return kw

    def _finish(self, row: torch.Tensor) -> Sample:
        """Cut one generated row at its first EOS (rows that ended early are padded after it)."""
        is_eos = torch.isin(row, torch.tensor(self.eos_ids, device=row.device))
        if is_eos.any():
            end = int(is_eos.nonzero()[0, 0])
            return Sample(self.tokenizer.decode(row[:end], skip_special_tokens=True), end + 1, "stop")
        return Sample(self.tokenizer.decode(row, skip_special_tokens=True), int(row.numel()), "length")

    @torch.inference_mode()
    def generate(self, prompts: Sequence[str], config: SamplingConfig, seeds: Sequence[int],
                 on_batch: Callable[[int, int], None] | None = None) -> list[list[Sample]]:
        """``config.n`` samples per prompt. ``on_batch(samples, tokens)`` is called after every generate call."""
        if len(seeds) != len(prompts):
            raise ValueError(f"got {len(prompts)} prompts but {len(seeds)} seeds")
        rows = [(i, j) for i in range(len(prompts)) for j in range(config.n)]
        out: list[list[Sample | None]] = [[None] * config.n for _ in prompts]
        kw = self._generate_kwargs(config)
        static = config.hf_cache == "static"
        for b, start in enumerate(range(0, len(rows), config.batch_size)):
            chunk = rows[start:start + config.batch_size]
            texts = [prompts[i] for i, _ in chunk]
            if static:  # same row count every call, so the compiled graph is reused
                texts += [texts[-1]] * (config.batch_size - len(texts))
            enc = self.tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=True,
                                 pad_to_multiple_of=_STATIC_PAD_MULTIPLE if static else None).to(self.device)
            # Seed from the prompts' seeds and the batch position: same inputs and seeds, same samples.
            with torch.random.fork_rng(devices=[self.device] if self.device.type == "cuda" else []):
                torch.manual_seed(batch_seed([seeds[i] for i, _ in chunk], b))
                seqs = self.model.generate(**enc, **kw)
            new = seqs[:, enc["input_ids"].shape[1]:]
            tokens = 0
            for (i, j), row in zip(chunk, new):
                out[i][j] = self._finish(row)
                tokens += out[i][j].num_tokens
            if on_batch is not None:
                on_batch(len(chunk), tokens)
        return out  # type: ignore[return-value]

    def close(self) -> None:
        """Free the model (and, on a GPU, its cached memory) for the stage that runs next."""
        self.model = None
        if self.device.type == "cuda":
            torch.cuda.empty_cache()
