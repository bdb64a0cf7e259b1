"""Loading causal LMs (local folder or hub id) and building the tiny Llama models used by tests and CPU runs.

A tiny model is a real Llama (head dim 64, the smallest vLLM's CPU build accepts) with a byte-level BPE tokenizer
trained offline on the run's own text. The blank line ``\\n\\n`` that separates solution steps is a token of its
own, so the first token of every step separator is unambiguous (step scores are read there), and decoding is
lossless so generated text round-trips into the sample pool.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Iterable

import torch
from transformers import (AutoModelForCausalLM, AutoModelForTokenClassification, AutoTokenizer, LlamaConfig,
                          LlamaForCausalLM, PreTrainedTokenizerFast)

from e2h.io import atomic_dir

BOS, EOS, PAD, UNK = "<s>", "</s>", "<pad>", "<unk>"
STEP_SEPARATOR = "\n\n"
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
    plain causal LMs read through their logits are loaded by ``e2h.reward.load_reward_model`` instead.
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


def train_tokenizer(texts: Iterable[str], vocab_size: int = 512, *, separator_token: bool = True,
                    split_digits: bool = False) -> PreTrainedTokenizerFast:
    """A byte-level BPE tokenizer trained on ``texts``; ``\\n\\n`` is always a single token of its own.

    ``separator_token=False`` leaves blank lines to BPE (tests use it to mimic tokenizers such as Llama's that
    spell a blank line with several tokens). ``split_digits=True`` makes every digit a token of its own, as
    Llama's and Llemma's tokenizers do, so numbers are written digit by digit."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    texts = list(texts)
    if not texts:
        raise ValueError("train_tokenizer: no texts to train on")
    tk = Tokenizer(models.BPE(unk_token=None))
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tk.pre_tokenizer = (pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True), byte_level])
                        if split_digits else byte_level)
    tk.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=[PAD, BOS, EOS, UNK],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tk.train_from_iterator(texts, trainer=trainer)
    # An added (non-special) token is matched before pre-tokenization: "\n\n" never merges with its neighbours,
    # and survives decode with skip_special_tokens.
    if separator_token:
        tk.add_tokens([AddedToken(STEP_SEPARATOR, normalized=False, special=False)])
    bos_id = tk.token_to_id(BOS)
    tk.post_processor = processors.TemplateProcessing(single=f"{BOS} $A", pair=f"{BOS} $A {BOS} $B",
                                                      special_tokens=[(BOS, bos_id)])
    return PreTrainedTokenizerFast(tokenizer_object=tk, bos_token=BOS, eos_token=EOS, pad_token=PAD,
                                   unk_token=UNK, model_max_length=1 << 30, padding_side="right",
                                   clean_up_tokenization_spaces=False)


def make_tiny_model(out_dir: str | os.PathLike, texts: Iterable[str], *, hidden_size: int = 64,
                    num_layers: int = 2, num_heads: int = 1, vocab_size: int | None = None, seed: int = 0,
                    max_position_embeddings: int = 1024, split_digits: bool = False) -> Path:
    """Train a tokenizer on ``texts``, build a randomly initialised Llama around it, and save both to ``out_dir``.

    Head dim is ``hidden_size // num_heads`` and must be 64. ``vocab_size`` is the BPE target (default 512); the
    model's vocabulary is the tokenizer's actual size; ``split_digits`` as in ``train_tokenizer``. Returns
    ``out_dir``; reload with ``load_model``.
    """
    if hidden_size % num_heads or hidden_size // num_heads != 64:
        raise ValueError(f"make_tiny_model: head dim hidden_size/num_heads = {hidden_size}/{num_heads} must be 64 "
                         f"(vLLM's CPU build refuses smaller heads)")
    out = Path(out_dir)
    tok = train_tokenizer(texts, vocab_size or 512, split_digits=split_digits)
    config = LlamaConfig(
        vocab_size=len(tok), hidden_size=hidden_size, intermediate_size=4 * hidden_size,
        num_hidden_layers=num_layers, num_attention_heads=num_heads, num_key_value_heads=num_heads,
        head_dim=64, max_position_embeddings=max_position_embeddings, rms_norm_eps=1e-5,
        bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id,
        tie_word_embeddings=False, dtype="float32")
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    model.generation_config.bos_token_id = tok.bos_token_id
    model.generation_config.eos_token_id = tok.eos_token_id
    model.generation_config.pad_token_id = tok.pad_token_id
    with atomic_dir(out, marker="config.json") as tmp:  # a killed build leaves no half model behind
        model.save_pretrained(tmp)
        tok.save_pretrained(tmp)
    return out


def count_parameters(model, trainable_only: bool = False) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
