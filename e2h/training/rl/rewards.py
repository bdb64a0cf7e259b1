"""The reward rules of PPO, as pure functions over plain numbers and tensors (unit-tested one by one).

Per rollout the reward is a vector over its response tokens (the "actions"):

- **PRM step rewards** (``shape_step_rewards``, the paper's scheme "min"): with step probabilities s_1..s_K and a
  running minimum m_0 = 0.5, step i earns min(s_i - m_{i-1}, 0) and m_i = min(m_{i-1}, s_i): a step is penalised
  only when it lowers the running minimum, by how much it lowers it; then every step gets + 0.25 / K. The sum
  telescopes to min(0.5, min_i s_i) - 0.25: a dense form of the min aggregator. Each step's reward sits on the
  token where the PRM reads that step (the first token of the blank line after it; the last step's at EOS).
- **Terminal reward** (``terminal_reward``) at the last response token: 1 / 0 for a right / wrong final answer on
  an easy question; a constant 0.25 on a hard one (its answer is never read); plus ``penalty`` x a format factor
  (``format_factor``) when the solution did not stop or its answer is missing or in a less proper form.
- **KL** (``kl_penalty``): the k1 estimate log pi - log pi_ref per token, clamped at 0, times -coef.
Then ``whiten`` divides the rewards by their standard deviation over the batch (mean kept), ``gae`` turns rewards
and values into advantages and returns, and ``whiten(..., shift_mean=True)`` standardises the advantages.
"""

from __future__ import annotations

import re

import torch

START_MIN = 0.5          # m_0: the running minimum starts here, so a step scoring above 0.5 is never penalised
STEP_BONUS = 0.25        # shared by the steps of a solution: + STEP_BONUS / K each
HARD_TERMINAL = 0.25     # a hard question's terminal reward: its final answer is never read

# The format factor multiplies the (negative) penalty. Paper (MATH, "\n\n# Answer\n\n" as stop string): no stop
# string or an empty answer 1.0; the answer \boxed{} in the solution 0.0; in math mode in the last line 0.5; as
# plain text in the last line 0.75; otherwise 1.0. e2h's format writes the answer as the result of the last step
# (the embedded task's "55 - 21 = 34"), which the paper's tiers do not know; it is the proper form here (0.0).
FORMAT_FACTORS = {"no_stop": 1.0, "no_answer": 1.0, "boxed": 0.0, "last_result": 0.0, "math_mode": 0.5,
                  "in_last_step": 0.75, "elsewhere": 1.0}


def shape_step_rewards(step_probs: list[float], *, start_min: float = START_MIN,
                       bonus: float = STEP_BONUS) -> list[float]:
    """The paper's "min" shaping of one solution's step probabilities: one reward per step (see the module doc)."""
    out, running = [], start_min
    for s in step_probs:
        out.append(min(s - running, 0.0))
        running = min(running, s)
    return [r + bonus / len(step_probs) for r in out] if step_probs else []


def _norm(text: str) -> str:
    from e2h.grading import normalize_answer

    return normalize_answer(text.strip().rstrip(".").strip("$ "))


def format_kind(text: str, finished: bool) -> str:
    """Which row of ``FORMAT_FACTORS`` a rollout falls in: ``text`` is the response (no EOS), ``finished`` whether
    it ended with EOS rather than at the token limit."""
    from e2h.format import last_boxed, split_answer

    if not finished:
        return "no_stop"
    body, answer = split_answer(text)
    if not answer:
        return "no_answer"
    steps = [s for s in re.split(r"\n[ \t]*\n", body.strip()) if s.strip()]
    last = steps[-1] if steps else ""
    target = _norm(answer)
    boxed = last_boxed(body)
    if boxed is not None and _norm(boxed) == target:
        return "boxed"
    if "=" in last and _norm(last.rsplit("=", 1)[1]) == target:
        return "last_result"
    if f"${answer}$" in last or f"${answer}.$" in last:
        return "math_mode"
    if answer in last:
        return "in_last_step"
    return "elsewhere"


def format_factor(text: str, finished: bool, factors: dict[str, float] | None = None) -> float:
    return (factors or FORMAT_FACTORS)[format_kind(text, finished)]


def terminal_reward(*, hard: bool, correct: bool | None, factor: float, penalty: float = -1.0,
                    outcome: bool = True, hard_value: float = HARD_TERMINAL) -> float:
    """The reward at the last token: the final-answer score (easy: 1 / 0; hard: ``hard_value``, the answer unread;
    ``outcome=False``: none) plus ``penalty * factor``."""
    if hard:
        score = hard_value
    elif outcome:
        if correct is None:
            raise ValueError("an easy question's terminal reward needs its verdict (correct=True/False)")
        score = 1.0 if correct else 0.0
    else:
        score = 0.0
    return score + penalty * factor


def kl_penalty(logprobs: torch.Tensor, ref_logprobs: torch.Tensor, coef: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(per-token reward -coef * kl, kl) with kl the k1 estimate log pi - log pi_ref clamped at 0 (the paper's)."""
    kl = torch.clamp(logprobs - ref_logprobs, min=0.0)
    return -coef * kl, kl


def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return (x * mask).sum() / mask.sum().clamp(min=1)


def masked_var(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    mean = masked_mean(x, mask)
    return masked_mean((x - mean) ** 2, mask)


def whiten(x: torch.Tensor, mask: torch.Tensor, *, shift_mean: bool, stats: tuple | None = None,
           eps: float = 1e-8) -> torch.Tensor:
    """``x`` divided by its standard deviation over the masked entries; centred too when ``shift_mean``. ``stats``
    = (mean, var) computed elsewhere (over every process's batch). Entries outside the mask become 0."""
    mean, var = stats if stats is not None else (masked_mean(x, mask), masked_var(x, mask))
    out = (x - mean) * torch.rsqrt(var + eps)
    if not shift_mean:
        out = out + mean
    return out * mask


def gae(rewards: torch.Tensor, values: torch.Tensor, mask: torch.Tensor, *, gamma: float = 1.0,
        lam: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Generalised advantage estimation over right-padded rows of actions: (advantages, returns).

    ``mask`` marks each row's actions (its response tokens, EOS included); nothing after them counts, so the value
    after the last action is 0 and the entries beyond it are 0. With gamma = lam = 1 the advantage of action t is
    the sum of the rewards from t on minus V_t.
    """
    rewards, values = rewards * mask, values * mask
    advantages = torch.zeros_like(rewards)
    last = torch.zeros(rewards.shape[0], dtype=rewards.dtype, device=rewards.device)
    for t in reversed(range(rewards.shape[1])):
        next_value = values[:, t + 1] if t + 1 < rewards.shape[1] else torch.zeros_like(last)
        delta = rewards[:, t] + gamma * next_value - values[:, t]
        last = (delta + gamma * lam * last) * mask[:, t]
        advantages[:, t] = last
    return advantages, (advantages + values) * mask
