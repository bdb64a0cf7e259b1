"""RL on real tiny Llamas: rollouts keep their ids, rewards land on the right tokens, the value model starts as the
PRM, the DPO loss equals TRL's on one batch, and a few PPO steps run end to end and change the policy."""

import pytest
import torch

from e2h import embedded_task as tasks
from e2h.format import format_prompt
from e2h.models import load_model, make_tiny_model
from e2h.models.scorer import RewardScorer
from e2h.models.spans import encode, generated_read_positions
from e2h.models.tiny import train_tokenizer
from e2h.training.rl import ppo
from e2h.training.rl.preference import PairObjective, dpo_loss
from e2h.training.rl.rollout import Rollout, action_logprobs, generate, pack, step_probs

RECORDS = tasks.generate(8, split="train", seed=0)
TEXTS = [format_prompt(r["problem"]) + r["solution"] for r in RECORDS]


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """A tiny policy, a second one with the same tokenizer (a reference that differs), and a PRM with a random
    head (so its scores differ from step to step)."""
    root = tmp_path_factory.mktemp("rl")
    policy = make_tiny_model(root / "policy", TEXTS, seed=0)
    other = make_tiny_model(root / "other", TEXTS, seed=1)
    rm, tok = load_model(policy, for_reward=True)
    torch.manual_seed(3)
    with torch.no_grad():
        rm.score.weight.normal_(0, 0.5)
        rm.score.bias.fill_(0.2)
    rm.save_pretrained(root / "prm")
    tok.save_pretrained(root / "prm")
    return policy, other, root / "prm"


def rollout_of(tok, record, solution=None, eos=True) -> Rollout:
    """A rollout written by hand: the ids the tokenizer gives the solution (what a policy could have written)."""
    solution = record["solution"] if solution is None else solution
    prompt = tok(format_prompt(record["problem"]))["input_ids"]
    response = tok(solution, add_special_tokens=False)["input_ids"] + ([tok.eos_token_id] if eos else [])
    return Rollout(record["unique_id"], record["level"], prompt, response, solution, eos,
                   generated_read_positions(tok, response, solution))


@pytest.mark.parametrize("separator_token", [True, False])
def test_read_positions_of_generated_ids_match_the_scorers(separator_token):
    """From the ids alone, each step is read where ``encode`` reads it: the first token of its blank line (a
    tokenizer that writes the blank line as two tokens included), the last step at EOS."""
    from transformers import PreTrainedTokenizerFast  # noqa: F401

    tok = train_tokenizer(TEXTS, 300, separator_token=separator_token)
    for r in RECORDS:
        roll = rollout_of(tok, r)
        enc = encode(tok, format_prompt(r["problem"]), r["solution"])
        assert enc.input_ids == roll.ids  # same ids here, so the two rules can be compared
        assert [len(roll.prompt_ids) + q for q in roll.read_positions] == enc.read_positions
        assert len(roll.read_positions) == 4 and roll.read_positions[-1] == len(roll.response_ids) - 1
        for q in roll.read_positions[:-1]:
            assert tok.decode([roll.response_ids[q]]).startswith("\n")


def test_step_and_terminal_rewards_sit_on_the_read_out_tokens(models):
    policy, _, _ = models
    _, tok = load_model(policy)
    rolls = [rollout_of(tok, RECORDS[0]), rollout_of(tok, RECORDS[1], eos=False)]
    probs = [[0.9, 0.4, 0.6, 0.3], [0.7, 0.2, 0.8, 0.9]]
    cfg = type("C", (), {"start_min": 0.5, "step_bonus": 0.25, "penalty": -1.0, "hard_terminal": 0.25})
    rew, parts = ppo.token_rewards(rolls, [True, None], probs, dense=True, cfg=cfg)
    first = rew[0]
    shaped = [0.0625, -0.0375, 0.0625, -0.0375]
    for k, pos in enumerate(rolls[0].read_positions[:-1]):
        assert first[pos] == pytest.approx(shaped[k])
    assert first[-1] == pytest.approx(shaped[-1] + 1.0)  # the last step's reward and the terminal, at EOS
    assert sum(1 for x in first if x != 0) == 4  # nothing anywhere else
    # unfinished hard rollout: step rewards, then 0.25 - 1.0 at its last token (no EOS to stop at)
    assert rew[1][-1] == pytest.approx(R_last := (0.25 / 4) + 0.25 - 1.0) and parts[1]["format"] == "no_stop"
    assert R_last < 0
    # on the actions: action a is the token at position a + 1, so each reward's action predicts its token
    batch = pack(rolls, tok.pad_token_id)
    acts = ppo.to_actions(rew, batch, torch.zeros(batch.action_mask.shape))
    nz = acts[0].nonzero()[:, 0].tolist()
    tokens = [int(batch.input_ids[0, a + 1]) for a in nz]
    assert tokens[-1] == tok.eos_token_id and all(tok.decode([t]).startswith("\n") for t in tokens[:-1])
    assert (batch.action_mask * acts != acts).sum() == 0  # rewards only on response tokens
    outcome, _ = ppo.token_rewards(rolls, [True, None], probs, dense=False, cfg=cfg)
    assert sum(1 for x in outcome[0] if x != 0) == 1 and outcome[0][-1] == 1.0


def test_the_value_model_is_the_prm_at_step_zero(models):
    """Initialised from the reward model, head included: the value of the token after each step's read-out is
    the PRM's raw score of that step (the last step is read at EOS, after which nothing is valued)."""
    policy, _, prm = models
    _, tok = load_model(policy)
    value, _ = load_model(prm, for_reward=True)
    scorer = RewardScorer(prm, kind="prm", device="cpu")
    rolls = [rollout_of(tok, r) for r in RECORDS[:3]]
    batch = pack(rolls, tok.pad_token_id)
    with torch.no_grad():
        v = ppo.values_of(value, batch)
    positions = [[len(r.prompt_ids) + q for q in r.read_positions] for r in rolls]
    prm_logits = scorer.rewards_at(batch.input_ids, batch.attention_mask, positions)
    for i, ps in enumerate(positions):
        assert [float(v[i, q]) for q in ps[:-1]] == pytest.approx(prm_logits[i][:-1], abs=1e-5)
        assert ps[-1] == v.shape[1] or batch.attention_mask[i, ps[-1] + 1] == 0  # EOS: the row's last token
    probs = step_probs(scorer, rolls, tok.pad_token_id)
    solo = scorer.score([r["problem"] for r in RECORDS[:3]], [r["solution"] for r in RECORDS[:3]])
    assert [p for row in probs for p in row] == pytest.approx([p for row in solo for p in row], abs=1e-6)
    assert len({round(p, 6) for p in probs[0]}) > 1  # a random head: the steps do differ


def test_generation_keeps_ids_and_is_seeded(models):
    policy, _, _ = models
    model, tok = load_model(policy)
    qs = [{"problem_id": r["unique_id"], "problem": r["problem"], "level": r["level"]} for r in RECORDS[:3]]
    a = generate(model, tok, qs, n=2, temperature=1.0, max_new_tokens=12, batch_size=4, seed=5)
    b = generate(model, tok, qs, n=2, temperature=1.0, max_new_tokens=12, batch_size=4, seed=5)
    assert [r.response_ids for r in a] == [r.response_ids for r in b] and len(a) == 6
    for r in a:
        assert r.prompt_ids == tok(format_prompt(RECORDS[[q["problem_id"] for q in qs].index(r.problem_id)]
                                                 ["problem"]))["input_ids"]
        assert r.finished == (r.response_ids[-1] == tok.eos_token_id) and len(r.response_ids) <= 12
    assert tok.padding_side == "right"  # restored for training


def test_logprobs_at_a_temperature_and_only_on_response_tokens(models):
    policy, _, _ = models
    model, tok = load_model(policy)
    rolls = [rollout_of(tok, RECORDS[0]), rollout_of(tok, RECORDS[1], solution="12 - 3 = 9")]
    batch = pack(rolls, tok.pad_token_id)
    with torch.no_grad():
        lp1, lp07 = action_logprobs(model, batch, 1.0), action_logprobs(model, batch, 0.7)
        logits = model(input_ids=batch.input_ids).logits[0]
    a = batch.starts[0]  # the first response token, predicted at the prompt's last position
    want = torch.log_softmax(logits[a] / 0.7, -1)[batch.input_ids[0, a + 1]]
    assert float(lp07[0, a]) == pytest.approx(float(want), rel=1e-5)
    assert float(lp1[0, a]) != pytest.approx(float(lp07[0, a]))
    assert (lp1 * (1 - batch.action_mask)).abs().sum() == 0
    assert int(batch.action_mask[1].sum()) == len(rolls[1].response_ids)


@pytest.mark.parametrize("loss", ["sigmoid", "ipo"])
def test_dpo_loss_equals_trls_on_one_batch(models, loss, tmp_path):
    pytest.importorskip("trl")
    from datasets import Dataset
    from trl import DPOConfig, DPOTrainer

    policy, other, _ = models
    model, tok = load_model(policy)
    ref, _ = load_model(other)
    r = RECORDS[0]
    good, bad = r["solution"], r["solution"].replace("# Answer\n\n", "# Answer\n\n1")
    pairs = [(good, bad), (RECORDS[0]["solution"].split("\n\n")[0] + "\n\n# Answer\n\n3", bad)]
    ds = Dataset.from_dict({"prompt": [format_prompt(r["problem"])] * 2, "chosen": [c for c, _ in pairs],
                            "rejected": [x for _, x in pairs]})
    cfg = DPOConfig(output_dir=str(tmp_path), beta=0.3, loss_type=[loss], use_cpu=True, bf16=False,
                    report_to=[], per_device_train_batch_size=2, gradient_checkpointing=False)
    trainer = DPOTrainer(model=model, ref_model=ref, args=cfg, train_dataset=ds, processing_class=tok)
    batch = next(iter(trainer.get_train_dataloader()))
    model.eval()
    with torch.no_grad():
        theirs = float(trainer.compute_loss(model, batch))
    # ours, from our own ids and reference log-probs computed beforehand
    rolls = [rollout_of(tok, r, c) for c, _ in pairs] + [rollout_of(tok, r, x) for _, x in pairs]
    from e2h.training.rl.rollout import response_logprobs

    ref_lp = response_logprobs(ref, rolls, tok.pad_token_id)
    examples = [{"chosen_ids": rolls[i].ids, "chosen_start": len(rolls[i].prompt_ids),
                 "rejected_ids": rolls[i + 2].ids, "rejected_start": len(rolls[i + 2].prompt_ids),
                 "ref_chosen": ref_lp[i], "ref_rejected": ref_lp[i + 2]} for i in range(2)]
    objective = PairObjective(beta=0.3, loss=loss)
    ours_batch = objective.collate(examples, tok.pad_token_id)
    assert ours_batch["input_ids"][:, :batch["input_ids"].shape[1]].tolist() == batch["input_ids"].tolist()
    with torch.no_grad():
        total, count = objective.loss_sum(model, ours_batch)
    assert count == 2 and float(total) / count == pytest.approx(theirs, rel=1e-5)
    assert abs(theirs - 0.6931) > 1e-3  # the policy and the reference differ: not the trivial log 2


def test_label_smoothed_dpo_by_hand():
    c, r = torch.tensor([-3.0]), torch.tensor([-5.0])
    rc, rr = torch.tensor([-4.0]), torch.tensor([-4.5])
    delta = 0.1 * ((-3.0 + 4.0) - (-5.0 + 4.5))  # 0.15
    import math
    want = -0.9 * math.log(1 / (1 + math.exp(-delta))) - 0.1 * math.log(1 / (1 + math.exp(delta)))
    assert float(dpo_loss(c, r, rc, rr, beta=0.1, label_smoothing=0.1)) == pytest.approx(want)
    assert float(dpo_loss(c, r, rc, rr, beta=0.1)) == pytest.approx(-math.log(1 / (1 + math.exp(-delta))))


def test_a_few_ppo_steps_train_and_save(models, tmp_path):
    """PPO end to end on real models: rollouts, PRM rewards, GAE, clipped updates; the saved checkpoint is the
    best on the (validation) problems handed to the selector and differs from the start."""
    from e2h.params import PPOParams
    from e2h.training.rl.checkpoint import BestOnVal

    policy, _, prm = models
    qs = [{"problem_id": r["unique_id"], "problem": r["problem"], "level": r["level"]} for r in RECORDS]
    golds = {r["unique_id"]: (r["answer"] if r["level"] <= 3 else None) for r in RECORDS}
    val = [{**r, "split": "val"} for r in tasks.generate(2, split="val", seed=0)[:4]]
    cfg = PPOParams(steps=2, rollouts=8, batch_size=4, micro_batch_size=2, lr=1e-3, eval_every=1,
                    mixed_precision="no", warmup_steps=0)
    factory = lambda tok, every, total: BestOnVal(val, tok, every=every, total=total, max_new_tokens=8,  # noqa
                                                  batch_size=8)
    rec = ppo.train_ppo(policy, prm, qs, golds, cfg, tmp_path / "out", dense=True, selector_factory=factory,
                        max_new_tokens=16, batch_size=8)
    assert rec["step"] == [1, 2] and rec["updates_per_step"] == 2
    assert all(k >= 0 for k in rec["kl"]) and len(rec["selection"]["history"]) == 2
    assert rec["selection"]["chosen"]["update"] in (1, 2)
    a, _ = load_model(tmp_path / "out")
    b, _ = load_model(policy)
    assert any(not torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    with pytest.raises(ValueError, match="multiple of batch_size"):
        PPOParams(rollouts=6, batch_size=4)
