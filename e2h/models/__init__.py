"""Models: loading (``loading``), the tiny Llamas of CPU runs (``tiny``), where a solution's steps are in tokens
(``spans``), and reading step scores out of a reward model (``scorer``). This is the torch side of the package."""

from e2h.models.loading import (count_parameters, load_model, load_tokenizer, resolve_device, resolve_dtype,
                                zero_init_head)
from e2h.models.tiny import BOS, EOS, PAD, STEP_SEPARATOR, UNK, make_tiny_base, make_tiny_model, train_tokenizer

__all__ = ["BOS", "EOS", "PAD", "STEP_SEPARATOR", "UNK", "count_parameters", "load_model", "load_tokenizer",
           "make_tiny_base", "make_tiny_model", "resolve_device", "resolve_dtype", "train_tokenizer",
           "zero_init_head"]
