"""Loading causal LMs and reward models (a local folder or a hub id) onto a device, in a chosen precision."""

from __future__ import annotations

import contextlib
import os

import torch
from transformers import AutoModelForCausalLM, AutoModelForTokenClassification, AutoTokenizer

_DTYPES = {"float32": torch.float32, "fp32": torch.float32, "bfloat16": torch.bfloat16, "bf16": torch.bfloat16,
           "float16": torch.float16, "fp16": torch.float16}


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """``None`` or ``"auto"`` picks CUDA when present, else the CPU."""
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def resolve_dtype(dtype: str | torch.dtype, device: torch.device) -> torch.dtype:
    """``"auto"`` is bf16 on a GPU that supports it and fp32 elsewhere (CPU bf16 matmuls are slow and lossy)."""
    if isinstance(dtype, torch.dtype):
        return dtype
    if dtype == "auto":
        if device.type == "cuda" and torch.cuda.is_bf16_supported():
            return torch.bfloat16
        return torch.float32
    if dtype not in _DTYPES:
        raise ValueError(f"dtype {dtype!r} is not known; expected 'auto' or one of {', '.join(_DTYPES)}")
    return _DTYPES[dtype]


def load_tokenizer(name_or_path: str | os.PathLike):
    """The model's tokenizer with a pad token (the EOS when it has none), padding on the right for training."""
    tok = AutoTokenizer.from_pretrained(str(name_or_path))
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token if tok.eos_token is not None else tok.unk_token
    if tok.eos_token is None:
        raise ValueError(f"{name_or_path}: tokenizer has no EOS token; solutions must end with one")
    tok.padding_side = "right"
    return tok


def load_model(name_or_path: str | os.PathLike, *, dtype: str | torch.dtype = "auto",
               device: str | torch.device | None = None, for_reward: bool = False):
    """Return ``(model, tokenizer)`` for a local folder or a hub id, in eval mode on ``device``.

    ``for_reward=True`` loads the weights under a scalar token head (``AutoModelForTokenClassification``, one
    label). A checkpoint that has no such head yet (a base LM that a reward model starts from) gets a zero-initialised
    one, so the untrained reward is exactly 0 (probability 0.5) at every token. Released reward models that are
    plain causal LMs read through their logits are read by ``e2h.models.scorer.RewardScorer`` instead.
    """
    dev = resolve_device(device)
    dt = resolve_dtype(dtype, dev)
    tok = load_tokenizer(name_or_path)
    if for_reward:
        # A base LM has no head yet and an unused lm_head: that load report is expected, so keep it quiet.
        with _quiet_transformers():
            model = AutoModelForTokenClassification.from_pretrained(str(name_or_path), num_labels=1, dtype=dt)
        if not _has_trained_head(model):
            zero_init_head(model)
        model.config.pad_token_id = tok.pad_token_id
    else:
        model = AutoModelForCausalLM.from_pretrained(str(name_or_path), dtype=dt)
    if model.config.pad_token_id is None:
        model.config.pad_token_id = tok.pad_token_id
    return model.to(dev).eval(), tok


@contextlib.contextmanager
def _quiet_transformers():
    from transformers.utils import logging as hf_logging
    level = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        yield
    finally:
        hf_logging.set_verbosity(level)


def _has_trained_head(model) -> bool:
    archs = getattr(model.config, "architectures", None) or []
    return any(a.endswith("ForTokenClassification") for a in archs)


def zero_init_head(model) -> None:
    """Zero the scalar head: training starts from reward 0 everywhere instead of random per-token noise."""
    head = model.score
    with torch.no_grad():
        head.weight.zero_()
        if head.bias is not None:
            head.bias.zero_()


def count_parameters(model, trainable_only: bool = False) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
