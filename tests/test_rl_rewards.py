"""PPO's reward rules, each on numbers worked out by hand: the PRM step shaping, the terminal table, the format
factors, the KL clamp, whitening and GAE."""

import math
import random

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from e2h.training.rl import rewards as R


def test_min_shaping_of_the_issue_example():
    # m: 0.5 -> 0.5 (0.9 does not lower it) -> 0.4 (-0.1) -> 0.4 (0.6 does not) -> 0.3 (-0.1); + 0.25 / 4 each
    got = R.shape_step_rewards([0.9, 0.4, 0.6, 0.3])
    assert got == pytest.approx([0.0625, -0.0375, 0.0625, -0.0375])
    assert sum(got) == pytest.approx(0.05) == pytest.approx(min(0.5, 0.3) - 0.25)


@pytest.mark.parametrize("scores, expected", [
    ([0.8, 0.7], [0.125, 0.125]),                      # never below 0.5: only the bonus, 0.25 / 2
    ([0.2], [-0.3 + 0.25]),                            # one step: 0.2 - 0.5, + 0.25
    ([0.45, 0.45, 0.1], [-0.05 + 0.25 / 3, 0.25 / 3, -0.35 + 0.25 / 3]),  # an equal score is not a new minimum
    ([0.6, 0.2, 0.3, 0.1, 0.9], [0.05, -0.25, 0.05, -0.05, 0.05]),       # 0.25 / 5 = 0.05 each
    ([], []),
])
def test_min_shaping_by_hand(scores, expected):
    assert R.shape_step_rewards(scores) == pytest.approx(expected)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=1, max_size=12))
def test_min_shaping_telescopes_to_the_min_aggregator(scores):
    assert sum(R.shape_step_rewards(scores)) == pytest.approx(min(0.5, min(scores)) - 0.25, abs=1e-12)
    # and no step is ever penalised unless it sets a new running minimum below 0.5
    running = 0.5
    for s, r in zip(scores, R.shape_step_rewards(scores)):
        if s >= running:
            assert r == pytest.approx(0.25 / len(scores))
        running = min(running, s)


@pytest.mark.parametrize("hard, correct, factor, expected", [
    (False, True, 0.0, 1.0),     # easy, right
    (False, False, 0.0, 0.0),    # easy, wrong
    (True, None, 0.0, 0.25),     # hard: a constant, the answer unread
    (True, True, 0.0, 0.25),     # even a verdict does not change it
    (False, True, 1.0, 0.0),     # easy right but no stop / no answer: 1 - 1
    (False, False, 1.0, -1.0),
    (True, None, 1.0, -0.75),    # hard, unfinished
    (False, True, 0.5, 0.5),     # answer in math mode only: half the penalty
    (True, None, 0.75, -0.5),
])
def test_terminal_table(hard, correct, factor, expected):
    assert R.terminal_reward(hard=hard, correct=correct, factor=factor) == pytest.approx(expected)


def test_an_easy_terminal_needs_its_verdict():
    with pytest.raises(ValueError, match="verdict"):
        R.terminal_reward(hard=False, correct=None, factor=0.0)


@pytest.mark.parametrize("text, finished, kind", [
    ("55 - 21 = 34\n\n# Answer\n\n34", True, "last_result"),
    ("55 - 21 = 34\n\n# Answer\n\n34", False, "no_stop"),         # ran into the token limit
    ("55 - 21 = 34\n\n60 - 05 = 55", True, "no_answer"),          # stopped without an answer section
    ("55 - 21 = 34\n\n# Answer\n\n", True, "no_answer"),          # an empty answer
    ("72 - 68 = 04\n\n# Answer\n\n4", True, "last_result"),       # the task's zero-padded result is the answer
    ("55 - 21 = 34\n\n# Answer\n\n35", True, "elsewhere"),        # an answer that is not the last result
    ("So the answer is $\\boxed{7}$.\n\n# Answer\n\n7", True, "boxed"),
    ("Thus we get $x$ and $7$ apples\n\n# Answer\n\n7", True, "math_mode"),
    ("We count 7 apples in all\n\n# Answer\n\n7", True, "in_last_step"),
])
def test_format_kinds(text, finished, kind):
    assert R.format_kind(text, finished) == kind


def test_format_factors_are_the_papers_tiers_and_e2hs_proper_form():
    f = R.FORMAT_FACTORS
    assert f["no_stop"] == f["no_answer"] == f["elsewhere"] == 1.0
    assert f["boxed"] == f["last_result"] == 0.0 and f["math_mode"] == 0.5 and f["in_last_step"] == 0.75


def test_kl_clamp():
    logp = torch.tensor([[-1.0, -2.0, -0.5]])
    ref = torch.tensor([[-1.5, -1.0, -0.5]])
    reward, kl = R.kl_penalty(logp, ref, 0.01)
    assert kl[0].tolist() == pytest.approx([0.5, 0.0, 0.0])  # 0 where log pi < log pi_ref, 0 when equal
    assert reward[0].tolist() == pytest.approx([-0.005, 0.0, 0.0])
    same, kl = R.kl_penalty(logp, logp.clone(), 0.01)
    assert torch.count_nonzero(kl) == 0 and torch.count_nonzero(same) == 0  # identical policies: no KL at all


def test_whitening_keeps_the_mean_and_ignores_padding():
    x = torch.tensor([[1.0, 3.0, 99.0], [5.0, 7.0, 99.0]])
    mask = torch.tensor([[1.0, 1.0, 0.0], [1.0, 1.0, 0.0]])
    # masked entries 1, 3, 5, 7: mean 4, variance 5
    out = R.whiten(x, mask, shift_mean=False)
    std = math.sqrt(5.0)
    assert out[mask.bool()].tolist() == pytest.approx([(v - 4) / std + 4 for v in (1, 3, 5, 7)], rel=1e-6)
    assert out[:, 2].tolist() == [0.0, 0.0]
    centred = R.whiten(x, mask, shift_mean=True)
    assert float(centred[mask.bool()].mean()) == pytest.approx(0.0, abs=1e-6)
    assert float(centred[mask.bool()].std(unbiased=False)) == pytest.approx(1.0, rel=1e-5)


def test_gae_with_gamma_lambda_one_on_three_tokens_and_nothing_after_eos():
    # three actions, then padding that carries junk rewards and values which must not leak in
    rewards = torch.tensor([[0.1, -0.2, 1.0, 5.0, 5.0]])
    values = torch.tensor([[0.3, 0.4, 0.5, 9.0, 9.0]])
    mask = torch.tensor([[1.0, 1.0, 1.0, 0.0, 0.0]])
    adv, ret = R.gae(rewards, values, mask)
    # A_t = sum of rewards from t to EOS - V_t: 0.9 - 0.3, 0.8 - 0.4, 1.0 - 0.5
    assert adv[0, :3].tolist() == pytest.approx([0.6, 0.4, 0.5])
    assert ret[0, :3].tolist() == pytest.approx([0.9, 0.8, 1.0])  # returns = rewards to go
    assert adv[0, 3:].tolist() == [0.0, 0.0] and ret[0, 3:].tolist() == [0.0, 0.0]


def test_gae_general_gamma_lambda_by_hand():
    rewards, values = torch.tensor([[1.0, 2.0]]), torch.tensor([[0.5, 1.0]])
    adv, _ = R.gae(rewards, values, torch.ones(1, 2), gamma=0.5, lam=0.5)
    d1 = 2.0 - 1.0            # last: r + 0 - V
    d0 = 1.0 + 0.5 * 1.0 - 0.5
    assert adv[0].tolist() == pytest.approx([d0 + 0.25 * d1, d1])


def test_gae_rows_of_different_lengths_are_independent():
    rng = random.Random(0)
    rows = [[rng.random() for _ in range(4)] for _ in range(2)]
    rewards = torch.tensor(rows)
    values = torch.zeros(2, 4)
    mask = torch.tensor([[1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 0.0, 0.0]])
    adv, _ = R.gae(rewards, values, mask)
    assert adv[1, 0].item() == pytest.approx(rows[1][0] + rows[1][1])
    assert adv[0, 0].item() == pytest.approx(sum(rows[0]))
