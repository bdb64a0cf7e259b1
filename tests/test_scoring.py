"""Scoring a pool: our head format and the released mean-logit format through one interface; shards resume."""

import json

import pandas as pd
import pytest
import torch
from transformers import AutoModelForCausalLM

from e2h.format import format_prompt, format_solution, split_steps
from e2h.models import load_model, make_tiny_model
from e2h.models.scorer import META, RewardScorer, score_pool
from e2h.models.spans import encode

SOLUTIONS = [format_solution(["We add one and one.", "So it is $2$."], "2"),
             format_solution(["Divide by two.", "Then x = 3.", "Check it."], "3"),
             "A step with no answer\n\nand it was cut",
             ""]
PROBLEMS = ["What is $1+1$?", "Find x if 2x = 6.", "Something hard.", "Empty."]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    texts = [format_prompt(p) + s for p, s in zip(PROBLEMS, SOLUTIONS)] * 5
    return make_tiny_model(tmp_path_factory.mktemp("base"), texts, seed=0)


@pytest.fixture(scope="module")
def head_rm(tiny, tmp_path_factory):
    """A reward model in our format with a random (non-zero) head, saved and tagged as a PRM."""
    model, tok = load_model(tiny, for_reward=True)
    torch.manual_seed(0)
    torch.nn.init.normal_(model.score.weight, std=0.5)
    out = tmp_path_factory.mktemp("rm")
    model.save_pretrained(out)
    tok.save_pretrained(out)
    (out / META).write_text(json.dumps({"kind": "prm"}))
    return out


def _reference(model_logits_fn, tok, problem, solution):
    enc = encode(tok, format_prompt(problem), solution)
    with torch.no_grad():
        r = model_logits_fn(torch.tensor([enc.input_ids]))[0]
    pos = [p for p in enc.read_positions if p is not None] or [len(enc.input_ids) - 1]
    return torch.sigmoid(r[pos].double()).tolist()


def test_head_format_matches_a_plain_forward(head_rm):
    from transformers import AutoModelForTokenClassification

    scorer = RewardScorer(head_rm)
    assert scorer.fmt == "head" and scorer.kind == "prm"
    plain = AutoModelForTokenClassification.from_pretrained(head_rm).eval()
    got = scorer.score(PROBLEMS, SOLUTIONS, batch_size=3)  # batched, padded, reordered by length
    for p, s, g in zip(PROBLEMS, SOLUTIONS, got):
        want = _reference(lambda ids: plain(ids).logits[..., 0], scorer.tokenizer, p, s)
        assert len(g) == max(1, len(split_steps(s)))
        assert g == pytest.approx(want, abs=1e-5)
    assert len(set(round(x, 6) for g in got for x in g)) > 3  # really different scores, not a constant


def test_released_mean_logit_format(tiny, tmp_path):
    # A released checkpoint is a plain causal LM; its reward is logits.mean(-1). Name it like the real ones.
    path = tmp_path / "llemma-7b-prm-prm800k-level-1to3-hf"
    model = AutoModelForCausalLM.from_pretrained(tiny)
    torch.manual_seed(1)
    with torch.no_grad():
        model.lm_head.weight.add_(torch.randn_like(model.lm_head.weight) * 0.3 + 0.05)
    model.save_pretrained(path)
    load_model(tiny)[1].save_pretrained(path)
    scorer = RewardScorer(path)
    assert scorer.fmt == "mean_logits" and scorer.kind == "prm"
    got = scorer.score(PROBLEMS, SOLUTIONS, batch_size=2)
    for p, s, g in zip(PROBLEMS, SOLUTIONS, got):
        want = _reference(lambda ids: model(ids).logits.mean(-1), scorer.tokenizer, p, s)
        assert g == pytest.approx(want, abs=1e-5)
    orm_path = tmp_path / "llemma-7b-orm-prm800k-level-1to3-hf"
    model.save_pretrained(orm_path)
    load_model(tiny)[1].save_pretrained(orm_path)
    orm = RewardScorer(orm_path)
    assert orm.kind == "orm"
    assert [len(x) for x in orm.score(PROBLEMS, SOLUTIONS)] == [1, 1, 1, 1]
    assert orm.score(PROBLEMS[:1], SOLUTIONS[:1])[0][0] == pytest.approx(got[0][-1], abs=1e-6)  # read at EOS


def _pool():
    rows = []
    for q, (p, s) in enumerate(zip(PROBLEMS, SOLUTIONS)):
        for j in range(3):
            rows.append({"problem_id": f"q{q}", "level": q + 1, "split": "test", "sample_idx": j, "text": s,
                         "answer": None, "correct": False})
    return pd.DataFrame(rows), {f"q{q}": p for q, p in enumerate(PROBLEMS)}


def test_score_pool_shards_and_resumes(head_rm, tmp_path, monkeypatch):
    pool, problems = _pool()
    scorer = RewardScorer(head_rm)
    full = score_pool(pool, scorer, "prm", problems, shard_dir=tmp_path / "a", shard_size=5, batch_size=4)
    assert list(full.columns) == list(pool.columns) + ["scores_prm"]
    assert len(list((tmp_path / "a" / "prm").rglob("shard_*.parquet"))) == 3

    # Interrupt after the first shard, then resume: finished shards are read back, not rescored.
    calls = []
    real = scorer.score

    def failing(*a, **k):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(scorer, "score", failing)
    with pytest.raises(KeyboardInterrupt):
        score_pool(pool, scorer, "prm", problems, shard_dir=tmp_path / "b", shard_size=5)
    assert len(list((tmp_path / "b" / "prm").rglob("shard_*.parquet"))) == 1
    calls.clear()
    monkeypatch.setattr(scorer, "score", lambda *a, **k: (calls.append(1), real(*a, **k))[1])
    resumed = score_pool(pool, scorer, "prm", problems, shard_dir=tmp_path / "b", shard_size=5)
    assert len(calls) == 2
    for x, y in zip(full["scores_prm"], resumed["scores_prm"]):
        assert x == pytest.approx(y, abs=1e-6)
    # The same keys over other texts (a resampled pool): every shard is rescored, none is served stale.
    calls.clear()
    changed = pool.assign(text=pool["text"].iloc[::-1].to_numpy())
    rescored = score_pool(changed, scorer, "prm", problems, shard_dir=tmp_path / "b", shard_size=5)
    assert len(calls) == 3
    fresh = score_pool(changed, RewardScorer(head_rm), "prm", problems, shard_dir=tmp_path / "c", shard_size=5)
    for x, y in zip(rescored["scores_prm"], fresh["scores_prm"]):
        assert x == pytest.approx(y, abs=1e-6)
    assert [len(x) for x in rescored["scores_prm"]] != [len(x) for x in full["scores_prm"]]


def test_score_shards_are_keyed_by_the_model(head_rm, tmp_path):
    """A reward model retrained in place (other weights, same folder) never reads the old model's shards."""
    pool, problems = _pool()
    first = score_pool(pool, RewardScorer(head_rm), "prm", problems, shard_dir=tmp_path / "s", shard_size=5)
    other = tmp_path / "rm"
    model, tok = load_model(head_rm, for_reward=True)
    with torch.no_grad():
        model.score.weight.mul_(-1.0)
    model.save_pretrained(other)
    tok.save_pretrained(other)
    (other / META).write_text(json.dumps({"kind": "prm"}))
    second = score_pool(pool, RewardScorer(other), "prm", problems, shard_dir=tmp_path / "s", shard_size=5)
    assert all(a != pytest.approx(b, abs=1e-6) for x, y in zip(first["scores_prm"], second["scores_prm"])
               for a, b in zip(x, y) if abs(a - 0.5) > 1e-3)


def test_missing_problem_text_is_reported(head_rm, tmp_path):
    pool, problems = _pool()
    del problems["q2"]
    with pytest.raises(KeyError, match="q2"):
        score_pool(pool, RewardScorer(head_rm), "prm", problems, shard_dir=tmp_path)
