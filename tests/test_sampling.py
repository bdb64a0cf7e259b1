"""The transformers backend and the sharded pool writer. The backend contract (shared with vLLM) is in
sampling_contract.py; the tests below it are about this backend, backend choice, inputs and reruns."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from e2h.params import ParamsError, SampleParams, load_params
from e2h.sampling import SamplingConfig, derive_seed, load_sampler, pick_backend, prepare_problems, sample_pool
from e2h.sampling.backend import vllm_available
from sampling_contract import *  # noqa: F401,F403  (the shared backend tests run here for hf)
from sampling_contract import SAMPLING, _params


@pytest.fixture(scope="module")
def sampler(policy):
    return load_sampler(policy, SamplingConfig(), backend="hf", device="cpu")


def test_static_cache_gives_the_same_greedy_samples(sampler, policy, prompts):
    """The static cache (compiled decoding on GPUs; plain on a CPU) pads prompts and batches to fixed shapes;
    greedy samples must not change."""
    dynamic = SamplingConfig(n=2, temperature=0.0, max_new_tokens=30, batch_size=4)
    static = SamplingConfig(n=2, temperature=0.0, max_new_tokens=30, batch_size=4, hf_cache="static")
    assert sampler.generate(prompts, static, [0] * 6) == sampler.generate(prompts, dynamic, [0] * 6)


def test_progress_callback_counts_samples_and_tokens(sampler, prompts):
    seen = []
    out = sampler.generate(prompts[:3], SAMPLING, [1, 2, 3], on_batch=lambda s, t: seen.append((s, t)))
    assert sum(s for s, _ in seen) == 9
    assert sum(t for _, t in seen) == sum(x.num_tokens for per in out for x in per)
    assert len(seen) == 2  # 9 rows in batches of 5


def test_pick_backend():
    assert pick_backend("hf") == "hf"
    with pytest.raises(ValueError, match="'auto', 'hf', 'vllm'"):
        pick_backend("tgi")
    if not vllm_available():
        assert pick_backend("auto") == "hf"
        with pytest.raises(ImportError, match="setup_vllm_venv"):
            pick_backend("vllm")


def test_bad_settings_and_inputs_fail_clearly(policy):
    with pytest.raises(ValueError, match="top_p must be in"):
        SamplingConfig(top_p=0)
    with pytest.raises(ValueError, match=r"missing column\(s\) \['answer'\]"):
        prepare_problems([{"problem_id": "a", "problem": "1+1?", "level": 1, "split": "test"}])
    with pytest.raises(ValueError, match="'a' appears more than once"):
        prepare_problems([{"unique_id": "a", "problem": "x", "level": 1, "answer": "1"}] * 2, split="test")
    with pytest.raises(FileNotFoundError, match="no config.json"):
        load_sampler(policy.parent, SamplingConfig(), backend="hf")


def test_math_records_are_accepted(tmp_path):
    """Records as e2h.data.load_split gives them: unique_id, level may be None, answer may be None."""
    recs = [{"unique_id": "test/algebra/1.json", "problem": "p", "solution": "s", "answer": "2", "level": 3,
             "subject": "Algebra"},
            {"unique_id": "test/algebra/2.json", "problem": "q", "solution": "s", "answer": None, "level": None,
             "subject": "Algebra"}]
    df = prepare_problems(recs, split="test")
    assert list(df["problem_id"]) == ["test/algebra/1.json", "test/algebra/2.json"]
    assert str(df["level"].dtype) == "Int64" and df["level"].isna().tolist() == [False, True]


def test_derive_seed_is_stable_and_distinct():
    assert derive_seed(0, 1, 2) == derive_seed(0, 1, 2)
    assert len({derive_seed(0, s, k) for s in range(20) for k in range(20)}) == 400


def test_finished_pool_is_reused_and_new_settings_resample(sampler, policy, problems, tmp_path):
    out = tmp_path / "samples.parquet"
    first = sample_pool(problems, policy, _params(), out, sampler=sampler, progress=False)
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["rows"] == len(first) and meta["last_run"]["tokens_per_s"] > 0

    class Refuse:  # a finished pool must come back without sampling anything
        backend = "hf"

        def generate(self, *a, **k):
            raise AssertionError("sampled again although the pool is complete")

    again = sample_pool(problems, policy, _params(), out, sampler=Refuse(), progress=False)
    pd.testing.assert_frame_equal(again, first)
    other = sample_pool(problems, policy, _params(seed=6), out, sampler=sampler, progress=False)
    assert not other["text"].equals(first["text"])
    assert len(list(tmp_path.glob("samples.shards/*"))) == 2, "each setting keeps its own shard folder"
    # New gold answers for the same problems: the samples are reused (no sampling), the verdicts are not.
    regolded = [{**q, "answer": "12345"} for q in problems]
    graded = sample_pool(regolded, policy, _params(), out, sampler=Refuse(), progress=False)
    assert list(graded["text"]) == list(first["text"]) and first["correct"].any() and not graded["correct"].any()


def test_sample_section_in_params(tmp_path):
    f = tmp_path / "run.yaml"
    f.write_text("data: {source: embedded, data_dir: null}\n"
                 "sample: {backend: hf, n: 8, top_k: 20, temperature: 0.7, shard_size: 4}\n")
    p = load_params(f)
    assert isinstance(p.sample, SampleParams) and (p.sample.n, p.sample.top_k) == (8, 20)
    assert (p.sample.reward_n, p.sample.reward_top_k, p.sample.reward_temperature) == (32, 20, 0.7)
    f.write_text("data: {source: embedded, data_dir: null}\nsample: {backend: tgi}\n")
    with pytest.raises(ParamsError, match="sample.backend"):
        load_params(f)


def test_a_released_policy_is_named_by_hub_id(tmp_path):
    from e2h.provenance import model_fingerprint
    from e2h.stages.s01_policy import policy_path

    (tmp_path / "params").mkdir()
    (tmp_path / "params" / "r.yaml").write_text(
        "data: {source: embedded}\nsample: {policy: ScalableMath/llemma-7b-sft-prm800k-level-1to3-hf}\n")
    p = load_params(tmp_path / "params" / "r.yaml")
    assert policy_path(p) == "ScalableMath/llemma-7b-sft-prm800k-level-1to3-hf"  # no run_dir/sft needed
    # Shards of a hub model are keyed by its name (nothing on disk to hash before download).
    assert model_fingerprint("org/a") == model_fingerprint("org/a") != model_fingerprint("org/b")
    p.sample.policy = None
    with pytest.raises(FileNotFoundError, match="no SFT policy there"):
        policy_path(p)
