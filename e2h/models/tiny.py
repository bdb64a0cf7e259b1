"""The tiny Llama models of CPU runs and tests: a tokenizer trained offline on the run's own text, a real Llama.

A tiny model is a real Llama (head dim 64, the smallest vLLM's CPU build accepts) with a byte-level BPE tokenizer
trained on the run's text. The blank line ``\\n\\n`` that separates solution steps is a token of its own, so the
first token of every step separator is unambiguous (step scores are read there), and decoding is lossless so
generated text round-trips into the sample pool.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

import torch
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

from e2h.io import atomic_dir

BOS, EOS, PAD, UNK = "<s>", "</s>", "<pad>", "<unk>"
STEP_SEPARATOR = "\n\n"


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




def make_tiny_base(model_params, seed: int, texts: list[str], out_dir: str | os.PathLike) -> Path:
    """A random tiny Llama shaped by a params ``model`` section (``tiny_*``), with a tokenizer trained on ``texts``."""
    m = model_params
    return make_tiny_model(out_dir, texts, hidden_size=m.tiny_hidden_size, num_layers=m.tiny_layers,
                           num_heads=m.tiny_heads, vocab_size=m.tiny_vocab_size, seed=seed,
                           max_position_embeddings=m.tiny_max_positions, split_digits=m.tiny_split_digits)
