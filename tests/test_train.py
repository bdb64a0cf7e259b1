"""The training loop: what is trained on, what is frozen, accumulation equivalence, saved artifacts."""

import json
import math

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoModelForTokenClassification

from e2h import embedded_task as tasks
from e2h.format import format_prompt, split_steps
from e2h.models import load_model, make_tiny_model
from e2h.params import RewardParams, SFTParams
from e2h.training.reward_data import reward_example
from e2h.training.sft_data import sft_example
from e2h.training.loop import IGNORE, micro_batches, step_plan, train

RECORDS = tasks.generate(6, split="train", seed=0)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    texts = [format_prompt(r["problem"]) + r["solution"] for r in RECORDS]
    return make_tiny_model(tmp_path_factory.mktemp("base"), texts, seed=0)


def _sft(tok):
    return [sft_example(tok, r, 256) for r in RECORDS]


def _cfg(cls=SFTParams, **kw):
    base = dict(batch_size=8, micro_batch_size=4, epochs=1, lr=3e-3, warmup_ratio=0.0, lr_schedule="constant",
                mixed_precision="no")
    return cls(**{**base, **kw})


def test_sft_labels_are_the_solution_and_eos(tiny):
    _, tok = load_model(tiny)
    rec = RECORDS[0]
    ex = sft_example(tok, rec)
    n_prompt = len(tok(format_prompt(rec["problem"])).input_ids)
    assert all(y == IGNORE for y in ex["labels"][:n_prompt])
    target = [t for t, y in zip(ex["input_ids"], ex["labels"]) if y != IGNORE]
    assert target[-1] == tok.eos_token_id
    assert tok.decode(target, skip_special_tokens=True) == rec["solution"]
    cut = sft_example(tok, dict(rec, eos=False))
    assert cut["input_ids"][-1] != tok.eos_token_id


def test_step_plan_and_micro_batches_cover_every_example_once():
    plan = step_plan(10, 4, 2, seed=0, max_steps=None)
    assert [len(s) for s in plan] == [4, 4, 2, 4, 4, 2]
    assert sorted(plan[0] + plan[1] + plan[2]) == list(range(10))
    assert plan[:3] != plan[3:]  # reshuffled each epoch
    for world in (1, 2, 3):
        chunks = [micro_batches([5, 6, 7, 8, 9], r, world, 2) for r in range(world)]
        assert len({len(c) for c in chunks}) == 1  # same number of micro-batches on every process
        real = sorted(i for c in chunks for m, w in c if w for i in m)
        assert real == [5, 6, 7, 8, 9]


def test_sft_learns_and_saves_a_reloadable_model(tiny, tmp_path):
    model, tok = load_model(tiny, device="cpu")
    rec = train(model, tok, _sft(tok) * 2, _cfg(epochs=2), tmp_path / "sft", kind="lm", desc="SFT")
    assert rec["loss"][-1] < rec["loss"][0] - 0.5
    assert {"losses.json", "config.json", "model.safetensors"} <= {
        p.name for p in (tmp_path / "sft").iterdir()}
    assert json.loads((tmp_path / "sft" / "losses.json").read_text())["loss"] == rec["loss"]
    again = AutoModelForCausalLM.from_pretrained(tmp_path / "sft")
    for (n, a), b in zip(model.named_parameters(), again.parameters()):
        assert torch.allclose(a, b), n
    assert not list(tmp_path.glob(".*partial"))


def test_accumulation_matches_one_big_batch(tiny, tmp_path):
    # Loss is normalised by the labelled tokens of the whole effective batch: 4 micro-batches of 2 = 1 of 8.
    weights = []
    for micro in (8, 2):
        model, tok = load_model(tiny, device="cpu")
        train(model, tok, _sft(tok), _cfg(micro_batch_size=micro, max_grad_norm=0.0), tmp_path / f"m{micro}",
              kind="lm")
        weights.append(AutoModelForCausalLM.from_pretrained(tmp_path / f"m{micro}").state_dict())
    assert_same_weights(weights[0], weights[1], lr=3e-3)


def assert_same_weights(a: dict, b: dict, lr: float) -> None:
    """Equal up to float rounding. Adam divides by sqrt(v): a rounding-level difference in a near-zero gradient
    can move that one weight by a sizeable fraction of lr, so single elements get lr/20 and the mean lr/1000."""
    assert a.keys() == b.keys()
    for k in a:
        diff = (a[k] - b[k]).abs()
        assert diff.max() <= lr / 20 and diff.mean() <= lr / 1000, (k, diff.max().item(), diff.mean().item())


def test_frozen_embeddings_and_norms_stay_put(tiny, tmp_path):
    model, tok = load_model(tiny, device="cpu")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    train(model, tok, _sft(tok), _cfg(freeze_embeddings_and_norms=True), tmp_path / "f", kind="lm")
    after = AutoModelForCausalLM.from_pretrained(tmp_path / "f").state_dict()
    for k in before:
        frozen = "embed_tokens" in k or "norm" in k
        assert torch.equal(before[k], after[k]) == frozen, k


def test_lora_is_merged_into_plain_weights(tiny, tmp_path):
    model, tok = load_model(tiny, device="cpu")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    train(model, tok, _sft(tok), _cfg(lora_r=4, lora_alpha=8, gradient_checkpointing=True), tmp_path / "l",
          kind="lm")
    assert not (tmp_path / "l" / "adapter_config.json").exists()
    after = AutoModelForCausalLM.from_pretrained(tmp_path / "l").state_dict()
    assert set(after) == set(before)
    assert not torch.equal(before["model.layers.0.self_attn.q_proj.weight"],
                           after["model.layers.0.self_attn.q_proj.weight"])
    assert torch.equal(before["model.embed_tokens.weight"], after["model.embed_tokens.weight"])


@pytest.mark.parametrize("layout", ["every_token", "separator"])
def test_reward_model_starts_at_log2_and_learns(tiny, tmp_path, layout):
    model, tok = load_model(tiny, for_reward=True, device="cpu")
    recs = []
    for r in RECORDS:  # good steps labelled 1, and a corrupted copy whose second step is labelled 0
        steps = split_steps(r["solution"])
        recs.append({"problem": r["problem"], "solution": r["solution"], "labels": [1] * len(steps)})
        bad = r["solution"].replace(steps[1].split(" = ")[1], "99", 1)
        recs.append({"problem": r["problem"], "solution": bad, "labels": [1, 0]})
    examples = [reward_example(tok, r, layout=layout) for r in recs] * 2
    rec = train(model, tok, examples, _cfg(RewardParams, epochs=3), tmp_path / "rm", kind="reward")
    assert rec["loss"][0] == pytest.approx(math.log(2), abs=1e-6)  # zero head: p = 0.5 everywhere
    assert rec["loss"][-1] < rec["loss"][0] - 0.05
    again = AutoModelForTokenClassification.from_pretrained(tmp_path / "rm")
    assert again.config.num_labels == 1


def test_callback_sees_the_model_and_can_stop_training(tiny, tmp_path):
    model, tok = load_model(tiny)
    seen = []

    def stop_at_second(step, m):
        seen.append((step, m.training))
        return step >= 2

    record = train(model, tok, _sft(tok) * 4, _cfg(batch_size=4, micro_batch_size=4, epochs=2), tmp_path / "m",
                   kind="lm", callback=stop_at_second, callback_every=1)
    assert seen == [(1, False), (2, False)]  # called in eval mode, every step, until it said stop
    assert record["stopped_at"] == 2 and record["step"] == [1, 2]
    assert (tmp_path / "m" / "config.json").is_file()  # the stopped checkpoint is what gets saved


def _selector_run(tmp_path, task_val: str, sft: str):
    """Params with embedded splits written (``task_val`` counts per level), and a tiny model to select with."""
    from e2h.stages.s00_data import build_splits
    from e2h.params import load_params

    (tmp_path / "params").mkdir()
    (tmp_path / "params" / "t.yaml").write_text(
        f"data: {{source: embedded, task_train: [4, 0, 0, 0, 0], task_val: {task_val}, task_test: [1, 0, 0, 0, 0]}}\n"
        f"sft: {sft}\n")
    p = load_params(tmp_path / "params" / "t.yaml")
    build_splits(p)
    texts = [format_prompt(r["problem"]) + r["solution"] for r in RECORDS]
    model, tok = load_model(make_tiny_model(tmp_path / "base", texts, seed=0))
    return p, model, tok


def test_easy_val_selector_stops_at_the_target(tmp_path):
    from e2h.stages.s01_policy import easy_val_selector

    p, model, tok = _selector_run(tmp_path, "[3, 3, 0, 2, 2]", "{select_target: 0.0, eval_max_new_tokens: 8}")
    selector = easy_val_selector(p, tok)
    assert len(selector.problems) == 6  # levels 1-3 only: hard validation problems are never looked at
    assert selector(5, model.eval()) is True  # any accuracy reaches a target of 0
    assert selector.history[0]["step"] == 5 and 0 <= selector.history[0]["easy_val_accuracy"] <= 1
    assert tok.padding_side == "right"
    selector.target = 1.01
    assert selector(6, model) is False


def test_easy_val_selector_keeps_the_checkpoint_nearer_the_target_when_the_curve_jumps(tmp_path, monkeypatch):
    import torch

    import e2h.grading
    from e2h.stages.s01_policy import easy_val_selector

    p, model, tok = _selector_run(tmp_path, "[2, 2, 2, 0, 0]", "{select_target: 0.5, eval_max_new_tokens: 4}")
    verdicts = iter([[1, 1, 0, 0, 0, 0], [1] * 6, [1, 1, 0, 0, 0, 0], [1, 1, 1, 0, 0, 0]])
    monkeypatch.setattr(e2h.grading, "grade_many", lambda *a, **k: next(verdicts))
    weight = next(model.parameters())
    first = weight.detach().clone()

    jumpy = easy_val_selector(p, tok)
    assert jumpy(25, model) is False  # 0.33: below the target, its weights are kept aside
    with torch.no_grad():
        weight.add_(1.0)  # training moves on
    assert jumpy(50, model) is True  # 1.0 overshoots by 0.5, the step-25 checkpoint fell short by 0.17
    assert torch.equal(weight, first) and jumpy.history[-1] == {"step": 25, "easy_val_accuracy": 1 / 3, "kept": True}

    steady = easy_val_selector(p, tok)
    assert steady(25, model) is False
    with torch.no_grad():
        weight.add_(1.0)
    assert steady(50, model) is True  # exactly on the target: this checkpoint is kept
    assert torch.equal(weight, first + 1.0) and "kept" not in steady.history[-1]


@pytest.mark.parametrize("kind", ["lm", "reward"])
def test_the_unmasked_loss_is_the_masked_one(tiny, kind):
    """Right padding and causal attention: dropping the attention mask changes no loss (the faster kernel path)."""
    from e2h.training.loop import collate, loss_sum

    model, tok = load_model(tiny, for_reward=kind == "reward")
    if kind == "reward":
        torch.nn.init.normal_(model.score.weight, std=0.5)
    records = tasks.generate(6, split="train", seed=3)[:6]
    examples = [sft_example(tok, r) if kind == "lm" else
                reward_example(tok, {**r, "labels": [1, 0, 1, 1]}, layout="every_token") for r in records]
    batch = collate(examples, tok.pad_token_id, torch.long if kind == "lm" else torch.float)
    assert (batch["attention_mask"] == 0).any()  # the batch really is padded
    with torch.no_grad():
        loss, count = loss_sum(model, batch, kind)
        out = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
    labels = batch["labels"]
    if kind == "lm":
        mask = labels[:, 1:] != IGNORE
        want = torch.nn.functional.cross_entropy(out.logits[:, :-1][mask], labels[:, 1:][mask], reduction="sum")
    else:
        mask = labels != IGNORE
        want = torch.nn.functional.binary_cross_entropy_with_logits(out.logits[..., 0][mask], labels[mask],
                                                                    reduction="sum")
    assert count == int(mask.sum()) and float(loss) == pytest.approx(float(want), rel=1e-5)
