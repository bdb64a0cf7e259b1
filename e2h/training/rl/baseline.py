"""The baseline RL must beat: the SFT policy trained further on its own easy SFT data, for as many updates as the
RL methods make, its checkpoint chosen by the same rule (best greedy accuracy on easy validation problems)."""

from __future__ import annotations

from typing import Callable


def train_more_sft(policy_path, records: list[dict], cfg, out_dir, *, selector_factory: Callable,
                   accelerator=None) -> dict:
    """SFT from ``policy_path`` on ``records`` (``{"problem", "solution", "eos"}``) for ``cfg.max_steps`` updates
    into ``out_dir``; returns the checkpoint history and choice."""
    from e2h.models import load_model
    from e2h.training.loop import step_plan, train
    from e2h.training.sft_data import sft_example

    model, tok = load_model(policy_path, dtype=cfg.dtype, device="cpu")
    examples = [sft_example(tok, r, cfg.max_length) for r in records]
    total = len(step_plan(len(examples), cfg.batch_size, cfg.epochs, cfg.seed, cfg.max_steps))
    selector = selector_factory(tok, cfg.eval_every, total)
    train(model, tok, examples, cfg, out_dir, kind="lm", desc="more SFT", accelerator=accelerator,
          callback=selector, callback_every=1)
    return {"history": selector.history, "chosen": selector.chosen}
