"""The tests every sampling backend must pass. A backend's test module defines a module-scoped ``sampler``
fixture and imports these (``from sampling_contract import *``), so both backends run the very same tests."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

from e2h.format import format_prompt
from e2h.grading import extract_answer, grade
from e2h.params import SampleParams
from e2h.sampling import FINISH_REASONS, POOL_COLUMNS, SamplingConfig, sample_pool
from sampling_helpers import arithmetic_problems, make_trained_policy

__all__ = ["one_thread", "policy", "problems", "prompts", "test_n_samples_with_tokens_and_finish_reason",
           "test_max_new_tokens_ends_with_length", "test_seeds_are_respected",
           "test_greedy_matches_unbatched_transformers", "test_pool_rows_are_graded_in_the_pool_schema",
           "test_interrupted_then_resumed_equals_uninterrupted"]

SAMPLING = SamplingConfig(n=3, temperature=1.0, max_new_tokens=40, batch_size=5)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny models gain nothing from intra-op threads, and threads stall when other jobs share the cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def policy(tmp_path_factory):
    return make_trained_policy(tmp_path_factory.mktemp("policy"), steps=100)


@pytest.fixture(scope="module")
def problems():
    return arithmetic_problems(6, seed=7)


@pytest.fixture(scope="module")
def prompts(problems):
    return [format_prompt(p["problem"]) for p in problems]


def test_n_samples_with_tokens_and_finish_reason(sampler, prompts):
    out = sampler.generate(prompts, SAMPLING, seeds=list(range(len(prompts))))
    assert [len(s) for s in out] == [SAMPLING.n] * len(prompts)
    flat = [s for per in out for s in per]
    assert {s.finish_reason for s in flat} <= set(FINISH_REASONS)
    assert all(1 <= s.num_tokens <= SAMPLING.max_new_tokens for s in flat)
    # The policy learned to end its solutions: most samples stop at EOS and carry an answer section.
    stopped = [s for s in flat if s.finish_reason == "stop"]
    assert len(stopped) >= len(flat) // 2
    assert sum("# Answer" in s.text for s in stopped) >= len(stopped) // 2
    assert not any("</s>" in s.text or "<pad>" in s.text for s in flat), "special tokens leaked into text"


def test_max_new_tokens_ends_with_length(sampler, prompts):
    cfg = SamplingConfig(n=2, temperature=1.0, max_new_tokens=4)
    out = sampler.generate(prompts[:2], cfg, seeds=[1, 2])
    flat = [s for per in out for s in per]
    assert all(s.finish_reason == "length" and s.num_tokens == 4 for s in flat)


def test_seeds_are_respected(sampler, prompts):
    a = sampler.generate(prompts, SAMPLING, seeds=[10, 11, 12, 13, 14, 15])
    b = sampler.generate(prompts, SAMPLING, seeds=[10, 11, 12, 13, 14, 15])
    c = sampler.generate(prompts, SAMPLING, seeds=[20, 21, 22, 23, 24, 25])
    assert a == b
    assert a != c
    # n samples of one prompt are different draws, not copies of one.
    assert any(len({s.text for s in per}) > 1 for per in a)


def test_greedy_matches_unbatched_transformers(sampler, policy, prompts):
    """Greedy samples equal plain transformers decoding of each prompt alone (no padding, no batching):
    left padding, the KV cache and EOS handling change nothing; for vLLM, the backends agree."""
    from e2h.models import load_model

    cfg = SamplingConfig(n=2, temperature=0.0, max_new_tokens=40, batch_size=4)
    got = sampler.generate(prompts, cfg, seeds=[0] * len(prompts))
    model, tok = load_model(policy, dtype="float32", device="cpu")
    for prompt, samples in zip(prompts, got):
        ids = tok(prompt, return_tensors="pt")
        with torch.no_grad():
            ref = model.generate(**ids, do_sample=False, max_new_tokens=40, pad_token_id=tok.pad_token_id)
        new = ref[0, ids["input_ids"].shape[1]:].tolist()
        if tok.eos_token_id in new:
            new = new[:new.index(tok.eos_token_id) + 1]
        assert samples[0] == samples[1]
        assert samples[0].text == tok.decode(new, skip_special_tokens=True)
        assert samples[0].num_tokens == len(new)


def _params(**kw) -> SampleParams:
    base = dict(backend="hf", n=3, temperature=1.0, max_new_tokens=40, seed=5, shard_size=2, batch_size=6)
    return SampleParams(**{**base, **kw})


def test_pool_rows_are_graded_in_the_pool_schema(sampler, policy, problems, tmp_path):
    out = tmp_path / "pool" / "samples.parquet"
    pool = sample_pool(problems, policy, _params(backend=sampler.backend), out, sampler=sampler, progress=False)
    assert out.exists()
    assert list(pool.columns[:len(POOL_COLUMNS)]) == POOL_COLUMNS
    assert len(pool) == 3 * len(problems)
    assert (pool.groupby("problem_id")["sample_idx"].apply(sorted) == pd.Series([[0, 1, 2]] * len(problems),
            index=sorted(p["problem_id"] for p in problems))).all()
    by_id = {p["problem_id"]: p for p in problems}
    for row in pool.itertuples():
        prob = by_id[row.problem_id]
        assert (row.level, row.split) == (prob["level"], prob["split"])
        assert row.prompt == format_prompt(prob["problem"])
        answer = row.answer if isinstance(row.answer, str) else None  # parquet reads None back as NaN
        assert answer == extract_answer(row.text)
        assert row.correct == grade(answer, prob["answer"])
    assert pool["correct"].dtype == bool
    assert 0 < pool["correct"].sum() < len(pool), "the tiny policy should be right sometimes, not always"
    pd.testing.assert_frame_equal(pd.read_parquet(out), pool)


class _Interrupt(Exception):
    pass


def test_interrupted_then_resumed_equals_uninterrupted(sampler, policy, problems, tmp_path):
    params = _params(backend=sampler.backend)
    whole = sample_pool(problems, policy, params, tmp_path / "a" / "samples.parquet", sampler=sampler,
                        progress=False)

    def stop_after_two(index, rows):
        if index == 1:
            raise _Interrupt

    out_b = tmp_path / "b" / "samples.parquet"
    with pytest.raises(_Interrupt):
        sample_pool(problems, policy, params, out_b, sampler=sampler, on_shard=stop_after_two, progress=False)
    assert not out_b.exists()
    assert len(list((tmp_path / "b").glob("samples.shards/*/shard-*.parquet"))) == 2
    resumed_shards = []
    resumed = sample_pool(problems, policy, params, out_b, sampler=sampler, progress=False,
                          on_shard=lambda i, rows: resumed_shards.append(i))
    assert resumed_shards == [2], "the resumed run must sample only the missing shard"
    pd.testing.assert_frame_equal(resumed, whole)
