"""SFT examples: the solution's tokens (and EOS) are next-token targets, the prompt's are not."""

from __future__ import annotations

from e2h.format import STEP_SEP, format_prompt, format_solution, math_solution_to_steps
from e2h.models.spans import encode
from e2h.training.loop import IGNORE


def sft_example(tokenizer, record: dict, max_length: int | None = None) -> dict:
    """Token ids and targets of ``{"problem", "solution", "eos"}``: the loss is on the solution only."""
    enc = encode(tokenizer, format_prompt(record["problem"]), record["solution"], eos=record.get("eos", True),
                 max_length=max_length)
    return {"input_ids": enc.input_ids,
            "labels": [t if m else IGNORE for t, m in zip(enc.input_ids, enc.solution_mask)]}


def from_math(record: dict) -> dict | None:
    """A MATH reference solution cut into sentence-level steps; None when it has no final answer."""
    steps, answer = math_solution_to_steps(record["solution"])
    if not steps or answer is None:
        return None
    return {"problem": record["problem"], "solution": format_solution(steps, answer), "eos": True}


def from_prm800k(record: dict) -> dict | None:
    """PRM800K's chosen path up to its last step rated > 0 (``sft_steps``). A path whose every step is good is a
    whole solution (EOS included); a shorter good prefix is trained without the EOS, so the policy never learns to
    stop after it. None when no step is good."""
    good = record["sft_steps"]
    if not good:
        return None
    whole = len(good) == len(record["steps"])
    return {"problem": record["problem"], "solution": STEP_SEP.join(good) + ("" if whole else STEP_SEP),
            "eos": whole}


def from_metamath(record: dict) -> dict:
    return {"problem": record["problem"], "solution": format_solution(record["steps"], record["answer"]),
            "eos": True}
