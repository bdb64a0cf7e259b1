"""The DPO losses, as a training objective of ``e2h.training.loop.train`` (``kind=PairObjective(...)``).

An example is one preference pair with the token ids the policy wrote and the reference model's summed
log-probabilities, computed once before training (TRL's ``precompute_ref_log_probs``):
``{"chosen_ids", "chosen_start", "rejected_ids", "rejected_start", "ref_chosen", "ref_rejected"}``, ``*_start``
being the prompt's length (the completion's first token). A batch stacks the chosen rows over the rejected ones,
as TRL does. With delta = (log pi(y_w) - log ref(y_w)) - (log pi(y_l) - log ref(y_l)), summed over completion tokens:

- ``sigmoid`` (DPO): -log sigmoid(beta * delta); with ``label_smoothing`` e (cDPO):
  -(1 - e) log sigmoid(beta * delta) - e log sigmoid(-beta * delta);
- ``ipo``: ((delta_w / |y_w|) - (delta_l / |y_l|) - 1 / (2 beta))^2, each log-ratio averaged over its completion's
  tokens, as TRL 1.16 computes it.
The loop sums the per-pair losses and divides by the pairs of the whole effective batch: the mean over pairs.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F

Loss = Literal["sigmoid", "ipo"]


def dpo_loss(chosen: torch.Tensor, rejected: torch.Tensor, ref_chosen: torch.Tensor, ref_rejected: torch.Tensor, *,
             beta: float, loss: Loss = "sigmoid", label_smoothing: float = 0.0,
             chosen_tokens: torch.Tensor | None = None, rejected_tokens: torch.Tensor | None = None) -> torch.Tensor:
    """Per-pair DPO loss from summed sequence log-probs (policy and reference) of the chosen and rejected
    completions; ``ipo`` needs the completions' token counts."""
    chosen_ratio, rejected_ratio = chosen - ref_chosen, rejected - ref_rejected
    if loss == "sigmoid":
        delta = beta * (chosen_ratio - rejected_ratio)
        return -(1 - label_smoothing) * F.logsigmoid(delta) - label_smoothing * F.logsigmoid(-delta)
    if loss == "ipo":
        if chosen_tokens is None or rejected_tokens is None:
            raise ValueError("the ipo loss needs the completions' token counts")
        delta = chosen_ratio / chosen_tokens.clamp(min=1) - rejected_ratio / rejected_tokens.clamp(min=1)
        return (delta - 1 / (2 * beta)) ** 2
    raise ValueError(f"DPO loss {loss!r}: expected sigmoid or ipo")


def completion_logprobs(model, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                        completion_mask: torch.Tensor) -> torch.Tensor:
    """Summed log-probability of each row's completion tokens (``completion_mask`` over positions)."""
    logits = model(input_ids=input_ids, attention_mask=attention_mask, use_cache=False).logits[:, :-1].float()
    logp = torch.log_softmax(logits, dim=-1).gather(-1, input_ids[:, 1:, None])[..., 0]
    return (logp * completion_mask[:, 1:]).sum(-1)


class PairObjective:
    """DPO as an objective of the training loop: ``collate`` pads pairs into one stacked batch, ``loss_sum``
    returns the summed per-pair loss and the number of pairs, ``count`` is 1 per example."""

    def __init__(self, *, beta: float, loss: Loss = "sigmoid", label_smoothing: float = 0.0):
        if loss not in ("sigmoid", "ipo"):
            raise ValueError(f"DPO loss {loss!r}: expected sigmoid or ipo")
        self.beta, self.loss, self.label_smoothing = beta, loss, label_smoothing

    def count(self, example: dict) -> int:
        return 1

    def collate(self, examples: list[dict], pad_id: int) -> dict:
        rows = [(e["chosen_ids"], e["chosen_start"]) for e in examples]
        rows += [(e["rejected_ids"], e["rejected_start"]) for e in examples]
        width = max(len(ids) for ids, _ in rows)
        ids = torch.tensor([list(i) + [pad_id] * (width - len(i)) for i, _ in rows])
        attn = torch.tensor([[1] * len(i) + [0] * (width - len(i)) for i, _ in rows])
        comp = torch.tensor([[0.0] * s + [1.0] * (len(i) - s) + [0.0] * (width - len(i)) for i, s in rows])
        ref = torch.tensor([e["ref_chosen"] for e in examples] + [e["ref_rejected"] for e in examples],
                           dtype=torch.float64)
        return {"input_ids": ids, "attention_mask": attn, "completion_mask": comp, "ref_logps": ref}

    def pair_losses(self, model, batch: dict) -> torch.Tensor:
        logps = completion_logprobs(model, batch["input_ids"], batch["attention_mask"], batch["completion_mask"])
        chosen, rejected = logps.chunk(2)
        ref_chosen, ref_rejected = batch["ref_logps"].to(logps.dtype).chunk(2)
        tokens_chosen, tokens_rejected = batch["completion_mask"].sum(-1).chunk(2)
        return dpo_loss(chosen, rejected, ref_chosen, ref_rejected, beta=self.beta, loss=self.loss,
                        label_smoothing=self.label_smoothing, chosen_tokens=tokens_chosen,
                        rejected_tokens=tokens_rejected)

    def loss_sum(self, model, batch: dict) -> tuple[torch.Tensor, int]:
        losses = self.pair_losses(model, batch)
        return losses.sum(), len(losses)
