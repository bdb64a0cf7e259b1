"""What every sampling backend shares: the per-sample result, the settings, and the sampler interface.

Kept free of torch and vLLM imports so that reading settings or loading a pool never pays for (or requires) either
library.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Callable, Protocol, Sequence

# Why a sample ended: "stop" = it produced EOS, "length" = it ran into max_new_tokens.
FINISH_REASONS = ("stop", "length")


@dataclass(frozen=True)
class Sample:
    text: str  # the generated continuation, special tokens removed
    num_tokens: int  # generated tokens, the EOS token included when it stopped there
    finish_reason: str  # one of FINISH_REASONS


@dataclass(frozen=True)
class SamplingConfig:
    """The knobs a backend needs for one call. Built from ``e2h.params.SampleParams`` by ``config_from_params``."""

    n: int = 1
    temperature: float = 1.0  # 0 means greedy
    top_k: int = 0  # 0 means no top-k cut
    top_p: float = 1.0
    max_new_tokens: int = 256
    batch_size: int = 16  # sequences per forward batch (hf); vLLM schedules its own batches
    hf_cache: str = "dynamic"  # "static" makes transformers compile the decode step on a GPU
    dtype: str = "auto"
    tensor_parallel_size: int = 1
    gpu_memory_utilization: float = 0.9

    def __post_init__(self):
        checks = [
            (self.n >= 1, "n must be >= 1"),
            (self.temperature >= 0, "temperature must be >= 0"),
            (self.top_k >= 0, "top_k must be >= 0 (0 = off)"),
            (0 < self.top_p <= 1, "top_p must be in (0, 1]"),
            (self.max_new_tokens >= 1, "max_new_tokens must be >= 1"),
            (self.batch_size >= 1, "batch_size must be >= 1"),
            (self.hf_cache in ("dynamic", "static"), "hf_cache must be 'dynamic' or 'static'"),
            (self.tensor_parallel_size >= 1, "tensor_parallel_size must be >= 1"),
            (0 < self.gpu_memory_utilization <= 1, "gpu_memory_utilization must be in (0, 1]"),
        ]
        for ok, msg in checks:
            if not ok:
                raise ValueError(f"sampling config: {msg}; got {self}")


def config_from_params(sp) -> SamplingConfig:
    """The backend settings of a ``SampleParams`` section (fields of the same name)."""
    names = {f.name for f in dataclasses.fields(SamplingConfig)}
    return SamplingConfig(**{k: v for k, v in dataclasses.asdict(sp).items() if k in names})


class Sampler(Protocol):
    """A loaded model that samples continuations of prompts."""

    backend: str

    def generate(self, prompts: Sequence[str], config: SamplingConfig, seeds: Sequence[int],
                 on_batch: Callable[[int, int], None] | None = None) -> list[list[Sample]]:
        """``config.n`` samples per prompt, in order; ``seeds[i]`` makes prompt i's samples reproducible;
        ``on_batch(samples, tokens)`` reports progress."""
        ...

    def close(self) -> None:
        """Release the model and its memory."""
        ...
