"""A tiny policy that has learned the paper's solution format, shared by the sampling tests of both backends.

A random tiny model never emits EOS, so it could not exercise stopping, answer extraction or grading. This one is
built by the shared factory (``e2h.models.make_tiny_model``) and then trained for a few seconds on short arithmetic
solutions ending in ``# Answer`` and EOS: its samples stop, carry answers, and are right or wrong.
"""

from __future__ import annotations

import random
from pathlib import Path

import torch

from e2h.format import format_prompt
from e2h.models import load_model, make_tiny_model


def arithmetic_problems(count: int, seed: int = 0, split: str = "test") -> list[dict]:
    rng = random.Random(seed)
    out = []
    for i in range(count):
        a, b = rng.randint(1, 9), rng.randint(1, 9)
        out.append({"problem_id": f"{split}/{i}", "problem": f"What is {a} + {b}?", "level": 1 + i % 5,
                    "answer": str(a + b), "split": split,
                    "solution": f"We add {a} and {b}.\n\n{a} + {b} = {a + b}.\n\n# Answer\n\n{a + b}"})
    return out


def make_trained_policy(out_dir: Path, steps: int = 150, seed: int = 0, records: list[dict] | None = None) -> Path:
    """Save under ``out_dir`` a tiny Llama that writes ``...# Answer\\n\\nX`` then EOS.

    It learns from ``records`` (``problem`` and ``solution`` in the paper's step format), by default 64 of the
    arithmetic problems above.
    """
    train = records if records is not None else arithmetic_problems(64, seed=seed + 1000, split="train")
    texts = [format_prompt(p["problem"]) + p["solution"] for p in train]
    make_tiny_model(out_dir, texts, seed=seed, vocab_size=300)
    model, tok = load_model(out_dir, dtype="float32", device="cpu")
    ids = [tok(t).input_ids + [tok.eos_token_id] for t in texts]
    width = max(map(len, ids))
    input_ids = torch.tensor([x + [tok.pad_token_id] * (width - len(x)) for x in ids])
    mask = torch.tensor([[1] * len(x) + [0] * (width - len(x)) for x in ids])
    batch = {"input_ids": input_ids, "attention_mask": mask}
    labels = input_ids.masked_fill(mask == 0, -100)
    torch.manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a model this small gains nothing from threads, and they stall on a busy machine
    try:
        for _ in range(steps):
            loss = model(**batch, labels=labels).loss
            opt.zero_grad()
            loss.backward()
            opt.step()
    finally:
        torch.set_num_threads(threads)
    model.eval()
    model.save_pretrained(out_dir)
    return out_dir
