"""Before SFT: the tiny base model learns the embedded task's arithmetic from plain text.

The paper's policy and reward models all start from Llemma, a model pretrained on mathematics of every difficulty;
only the *supervision* (SFT solutions, step labels) is limited to easy problems. A randomly initialised tiny Llama
knows nothing, so the embedded task gives it a pretraining of its own: next-token prediction on documents of
subtraction facts (``e2h.embedded_task.fact_corpus``), with no problem, chain, level or label in them.
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
from pathlib import Path


def pretrain_config(p):
    """The SFT settings, but a full cosine run: pretraining has no checkpoint to select."""
    return dataclasses.replace(p.sft, epochs=p.model.tiny_pretrain_epochs, lr_schedule="cosine", warmup_ratio=0.02,
                               max_steps=None)


def pretrain_tiny_base(p, texts: list[str], out_dir: str | Path) -> dict:
    """Build the run's tiny Llama (tokenizer trained on ``texts`` and the corpus), pretrain it on
    ``model.tiny_pretrain_docs`` fact documents for ``model.tiny_pretrain_epochs`` epochs, and write it to
    ``out_dir``; returns the training record. The random initialisation is built beside it and removed, so
    ``out_dir`` only ever holds the pretrained model."""
    from e2h.embedded_task import fact_corpus
    from e2h.models import load_model, make_tiny_base
    from e2h.training.loop import train

    m, out = p.model, Path(out_dir)
    docs = fact_corpus(m.tiny_pretrain_docs, seed=p.seed, zipf=m.tiny_pretrain_zipf, judged=m.tiny_pretrain_judged,
                       width=p.data.task_width)
    out.parent.mkdir(parents=True, exist_ok=True)
    random_init = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".random", dir=out.parent))
    make_tiny_base(m, p.seed, list(texts) + docs, random_init)
    model, tok = load_model(random_init, device="cpu")
    examples = []
    for doc in docs:
        ids = tok(doc).input_ids + [tok.eos_token_id]
        examples.append({"input_ids": ids, "labels": ids})  # every token is a target
    cfg = pretrain_config(p)
    record = train(model, tok, examples, cfg, out, kind="lm", desc="pretrain",
          extra_json={"e2h_pretrain.json": {"stage": "pretrain", "documents": len(docs),
                                            "epochs": m.tiny_pretrain_epochs, "zipf": m.tiny_pretrain_zipf,
                                            "judged": m.tiny_pretrain_judged,
                                            "params_digest": p.digest(["seed", "data", "model", "sft"])}})
    shutil.rmtree(random_init, ignore_errors=True)
    return record
