"""Choosing and loading a sampling backend: transformers (``hf``) or vLLM, each loaded only when asked for."""

from __future__ import annotations

import importlib.util

from e2h.sampling.base import Sampler, SamplingConfig


def vllm_available() -> bool:
    return importlib.util.find_spec("vllm") is not None


def cuda_available() -> bool:
    if importlib.util.find_spec("torch") is None:
        return False
    import torch

    return torch.cuda.is_available()


def pick_backend(backend: str) -> str:
    """Resolve ``auto``: vLLM when it is installed and a CUDA GPU is present, else transformers."""
    if backend not in ("auto", "hf", "vllm"):
        raise ValueError(f"sampling backend {backend!r} is not known; expected one of 'auto', 'hf', 'vllm'")
    if backend == "auto":
        return "vllm" if vllm_available() and cuda_available() else "hf"
    if backend == "vllm" and not vllm_available():
        raise ImportError("sampling backend 'vllm' was asked for but vllm is not installed in this environment; "
                          "install it (GPU: `pip install vllm`; CPU: scripts/setup_vllm_venv.sh) or use backend: hf")
    return backend


def load_sampler(model_path, config: SamplingConfig, backend: str = "auto", device: str | None = None,
                 **vllm_kwargs) -> Sampler:
    """Load the model at ``model_path`` (an HF-format folder) into the chosen backend.

    ``device`` is for the hf backend; ``vllm_kwargs`` go to ``vllm.LLM`` (e.g. ``enforce_eager=True``).
    """
    backend = pick_backend(backend)
    if backend == "vllm":
        from e2h.sampling.vllm import VLLMSampler

        return VLLMSampler(model_path, config, **vllm_kwargs)
    from e2h.sampling.hf import HFSampler

    return HFSampler(model_path, config, device=device)
