"""The tiny-model factory and the loader: a real Llama with a tokenizer that keeps the paper's format intact."""

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from e2h.models import STEP_SEPARATOR, load_model, make_tiny_model

TEXTS = ["# Question\n\nWhat is $1+1$?\n\n# Solution\n\nWe add one and one.\n\nThat gives $2$.\n\n# Answer\n\n2",
         "# Question\n\nFind $x$ if $2x=6$.\n\n# Solution\n\nDivide by two.\n\nSo $x=3$.\n\n# Answer\n\n3"] * 10


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return make_tiny_model(tmp_path_factory.mktemp("tiny"), TEXTS, seed=1)


def test_reloads_with_plain_transformers(tiny):
    model = AutoModelForCausalLM.from_pretrained(tiny)
    tok = AutoTokenizer.from_pretrained(tiny)
    assert model.config.model_type == "llama"
    assert model.config.hidden_size // model.config.num_attention_heads == 64
    assert model.config.vocab_size == len(tok)
    assert (tok.bos_token, tok.eos_token, tok.pad_token) == ("<s>", "</s>", "<pad>")
    ids = tok(TEXTS[0]).input_ids
    assert ids[0] == tok.bos_token_id
    with torch.no_grad():
        logits = model(torch.tensor([ids])).logits
    assert logits.shape == (1, len(ids), len(tok))


def test_round_trip_and_separator_token(tiny):
    _, tok = load_model(tiny)
    odd = "héllo ∑ 😀 never seen\n\n\n x \\frac{1}{2}"
    for text in TEXTS[:2] + [odd]:
        ids = tok(text).input_ids
        assert tok.decode(ids, skip_special_tokens=True) == text
    # Every blank line is exactly one token, the same id each time, never merged with a neighbour.
    sep_id = tok.convert_tokens_to_ids(STEP_SEPARATOR)
    enc = tok(TEXTS[0], return_offsets_mapping=True)
    sep_positions = [i for i, t in enumerate(enc.input_ids) if t == sep_id]
    assert len(sep_positions) == TEXTS[0].count(STEP_SEPARATOR)
    for i in sep_positions:
        a, b = enc.offset_mapping[i]
        assert TEXTS[0][a:b] == STEP_SEPARATOR


def test_split_digits_writes_numbers_digit_by_digit(tmp_path):
    texts = ["# Question\n\nCompute 75 - 3 - 12.\n\n# Solution\n\n75 - 3 = 72\n\n72 - 12 = 60"] * 20
    _, tok = load_model(make_tiny_model(tmp_path / "d", texts, seed=0, split_digits=True))
    ids = tok("72 - 12 = 60\n\n# Answer\n\n1234").input_ids
    pieces = [tok.decode([i]) for i in ids[1:]]
    assert [p for p in pieces if any(c.isdigit() for c in p)] == list("7212601234")
    assert tok.decode(ids, skip_special_tokens=True) == "72 - 12 = 60\n\n# Answer\n\n1234"
    # Without it, frequent numbers merge into single tokens.
    _, merged = load_model(make_tiny_model(tmp_path / "m", texts, seed=0))
    assert "72" in [merged.decode([i]).strip() for i in merged("72 - 12").input_ids]


def test_seed_is_deterministic(tmp_path):
    a = make_tiny_model(tmp_path / "a", TEXTS, seed=3)
    b = make_tiny_model(tmp_path / "b", TEXTS, seed=3)
    ma, _ = load_model(a)
    mb, _ = load_model(b)
    for (na, pa), (nb, pb) in zip(ma.named_parameters(), mb.named_parameters()):
        assert na == nb and torch.equal(pa, pb)


def test_reward_head_starts_at_zero(tiny):
    model, tok = load_model(tiny, for_reward=True)
    assert model.config.num_labels == 1
    with torch.no_grad():
        out = model(torch.tensor([tok(TEXTS[0]).input_ids])).logits
    assert out.shape[-1] == 1 and torch.all(out == 0)


def test_bad_shapes_and_dtypes_are_refused(tmp_path, tiny):
    with pytest.raises(ValueError, match="head dim"):
        make_tiny_model(tmp_path / "x", TEXTS, hidden_size=64, num_heads=4)
    with pytest.raises(ValueError, match="dtype"):
        load_model(tiny, dtype="float8")


def test_dtype_choice(tiny):
    model, _ = load_model(tiny, dtype="bfloat16", device="cpu")
    assert next(model.parameters()).dtype == torch.bfloat16
    model, _ = load_model(tiny)  # auto on CPU: fp32
    assert next(model.parameters()).dtype == torch.float32
