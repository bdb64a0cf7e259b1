"""Selectors and aggregators on tiny pools with hand-computed answers; draws, ties and intervals."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from e2h.pool import PoolError, add_answer_keys
from e2h.rerank import (BOOTSTRAP, SUBSETS, Variant, accuracy_at_n, aggregate, curves, default_ns, pack, resample,
                        summary_at)
from e2h.rerank.synthetic import synthetic_pool

from conftest import load_script

ROOT = Path(__file__).resolve().parents[1]


def pool_of(*problems, level=1) -> pd.DataFrame:
    """problems: lists of (answer, correct, step scores); the answer doubles as answer_key."""
    rows = []
    for p, samples in enumerate(problems):
        for i, (answer, correct, scores) in enumerate(samples):
            rows.append(dict(problem_id=f"p{p}", level=level if np.isscalar(level) else level[p], split="test",
                             sample_idx=i, text="", answer=answer, correct=correct, answer_key=answer,
                             scores_prm=scores))
    return pd.DataFrame(rows)


def at_full(pool, method, agg="min", **kw) -> float:
    """Accuracy when N is the whole pool (every draw holds every sample)."""
    size = pool.groupby("problem_id").size().max()
    return accuracy_at_n(pool, method, size, agg=agg, resamples=kw.pop("resamples", 5), **kw)


def test_aggregators_by_hand():
    values, lengths = np.array([0.9, 0.2, 0.8, 0.5]), np.array([3, 1])
    assert aggregate(values, lengths, "min").tolist() == [0.2, 0.5]
    assert aggregate(values, lengths, "max").tolist() == [0.9, 0.5]
    assert aggregate(values, lengths, "last").tolist() == [0.8, 0.5]
    assert np.allclose(aggregate(values, lengths, "prod"), [0.144, 0.5])
    assert np.allclose(aggregate(values, lengths, "mean"), [1.9 / 3, 0.5])
    with pytest.raises(ValueError, match="unknown aggregator 'median'"):
        aggregate(values, lengths, "median")


def test_majority_best_of_n_and_weighted_voting_by_hand():
    # answer "a" is right. Majority: b has two votes. Best-of-N (min): a's 0.9 is the best single sample.
    # Weighted (prod): a = 0.9, b = 0.3 + 0.4 = 0.7, so a wins; weighted (min) is the same here.
    pool = pool_of([("a", True, [0.9]), ("b", False, [0.3]), ("b", False, [0.4])])
    assert at_full(pool, "majority") == 0.0
    assert at_full(pool, "best_of_n") == 1.0
    assert at_full(pool, "weighted", agg="prod") == 1.0
    # with a third b vote the sum flips: b = 0.3 + 0.4 + 0.35 = 1.05 > 0.9
    pool = pool_of([("a", True, [0.9]), ("b", False, [0.3]), ("b", False, [0.4]), ("b", False, [0.35])])
    assert at_full(pool, "weighted", agg="prod") == 0.0 and at_full(pool, "best_of_n") == 1.0


def test_the_aggregator_decides_best_of_n():
    # s0 (right) has one weak step; s1 (wrong) is uniformly mediocre.
    pool = pool_of([("a", True, [0.9, 0.2, 0.8]), ("b", False, [0.5, 0.5, 0.5])])
    expected = {"min": 0.0, "prod": 1.0, "mean": 1.0, "max": 1.0, "last": 1.0}  # min 0.2<0.5; prod .144>.125; …
    assert {agg: at_full(pool, "best_of_n", agg=agg) for agg in expected} == expected


def test_single_step_orm_scores_give_the_same_answer_under_every_aggregator():
    pool = pool_of([("a", True, [0.6]), ("b", False, [0.7]), ("a", True, [0.2])],
                   [("c", False, [0.1]), ("d", True, [0.8])])
    for method in ("best_of_n", "weighted"):
        got = {agg: at_full(pool, method, agg=agg) for agg in ("min", "prod", "mean", "max", "last")}
        assert len(set(got.values())) == 1
    assert at_full(pool, "best_of_n") == 0.5  # p0 picks b (0.7, wrong); p1 picks d
    assert at_full(pool, "weighted") == 1.0   # p0: a = 0.8 > b = 0.7; p1: d


def test_samples_without_an_answer_never_win():
    pool = pool_of([(None, False, [0.99]), (None, False, [0.98]), ("a", True, [0.1])],
                   [(None, False, [0.9]), (None, False, [0.9])])
    for method in ("majority", "best_of_n", "weighted", "pass@n"):
        assert at_full(pool, method) == 0.5, method  # p0 right by its only answer; p1 has nothing to pick


def test_ties_follow_the_seeded_priority_and_every_draw_agrees_at_full_n():
    pool = pool_of([("a", True, [0.5]), ("b", False, [0.5])])  # a 1-1 vote and a score tie
    for seed in range(6):
        packed = pack(pool, seed=seed)
        winner_class = int(np.argmax(packed.class_prio[0, :2]))  # classes numbered in key order: a=0, b=1
        winner_sample = int(np.argmax(packed.sample_prio[0, :2]))  # slots in sample_idx order
        res = resample(pool, ns=[2], resamples=20, seed=seed, groups=["all"], progress=False, aggs=("min",))
        for v in (Variant("majority"), Variant("weighted", "prm", "min")):
            assert res.accuracy(v, 2) == float(winner_class == 0)
        assert res.accuracy(Variant("best_of_n", "prm", "min"), 2) == float(winner_sample == 0)
        selectors = [res.index(v) for v in res.variants if v.method != "single"]  # single: one random sample
        assert np.all(res.subsets[selectors, ..., -1].std(axis=-1) == 0)


def test_equivalent_answers_written_differently_vote_together():
    # wrong answers x+1 / 1+x / x+2-1 (one answer to the grader) against the right answer 3, twice
    df = pool_of([("x+1", False, [0.5]), ("1+x", False, [0.5]), ("x+2-1", False, [0.5]),
                  ("3", True, [0.5]), ("3", True, [0.5])]).drop(columns="answer_key")
    keyed = add_answer_keys(df, progress=False)
    assert at_full(keyed, "majority") == 0.0  # 3 votes against 2
    by_string = add_answer_keys(df, equivalence=False, progress=False)
    assert at_full(by_string, "majority") == 1.0  # unmerged, "3" leads 2 to 1, 1, 1
    with pytest.raises(PoolError, match="no answer_key column"):
        accuracy_at_n(df, "majority", 2)


def test_at_n_1_every_selector_is_the_drawn_sample():
    pool = synthetic_pool(10, 8, seed=4)
    res = resample(pool, ns=[1, 8], resamples=200, seed=1, groups=["all"], progress=False, rms=["prm"])
    single = res.subsets[res.index(Variant("single")), 0, :, 0]
    for v in res.variants:
        assert np.array_equal(res.subsets[res.index(v), 0, :, 0], single), v.label


def test_with_n_equal_to_pool_size_every_draw_gives_the_same_answer():
    pool = synthetic_pool(15, 16, seed=5)
    res = resample(pool, ns=[4, 16], resamples=50, seed=0, progress=False)
    full = res.subsets[..., -1]  # (V, G, B)
    scored = [i for i, v in enumerate(res.variants) if v.method != "single"]
    assert np.all(full[scored] == full[scored][..., :1])
    table = res.table()
    at16 = table[(table.n == 16) & (table.ci == SUBSETS) & (table.method != "single")]
    assert (at16["lo"] == at16["hi"]).all() and np.allclose(at16["mean"], at16["lo"])
    # the interval that resamples problems stays open at N = pool size
    boot = table[(table.n == 16) & (table.ci == BOOTSTRAP) & (table.group == "all") & (table.method == "majority")]
    assert float(boot["hi"].iloc[0] - boot["lo"].iloc[0]) > 0
    assert res.subsets[..., 0].std(axis=-1).max() > 0  # while N = 4 still varies between draws


def test_padded_pools_follow_prm800k_protocol():
    # p1 has one sample; padded to 3 slots, a draw of N = 1 finds it a third of the time
    pool = pool_of([("a", True, [0.5]), ("a", True, [0.5]), ("a", True, [0.5])], [("a", True, [0.5])])
    acc = accuracy_at_n(pool, "majority", 1, resamples=3000, seed=2)
    assert abs(acc - (1 + 1 / 3) / 2) < 0.02
    assert at_full(pool, "majority") == 1.0
    with pytest.raises(ValueError, match="every N must be in 1..3"):
        accuracy_at_n(pool, "majority", 4)


def test_accuracy_at_n_agrees_with_the_curve_table_and_checks_its_arguments():
    pool = synthetic_pool(12, 16, seed=6)
    table = curves(pool, resamples=40, seed=3, progress=False, rms=["prm"], aggs=("min", "prod"))
    row = table[(table.method == "weighted") & (table["agg"] == "prod") & (table.n == 4) & (table.group == "all")]
    got = accuracy_at_n(pool, "weighted", 4, rm="prm", agg="prod", resamples=40, seed=3)
    assert 0 <= got <= 1 and got == pytest.approx(float(row["mean"].iloc[0]), abs=1e-12)
    with pytest.raises(PoolError, match="needs rm="):
        accuracy_at_n(pool, "best_of_n", 4)  # two reward models: prm and orm
    with pytest.raises(ValueError, match="unknown method 'vote'"):
        accuracy_at_n(pool, "vote", 4)
    assert set(table.columns) >= {"method", "rm", "agg", "group", "n", "mean", "lo", "hi", "ci", "level"}
    assert set(table.group) == {"all", "easy", "hard", "level 1", "level 2", "level 3", "level 4", "level 5"}
    assert default_ns(16) == [1, 2, 4, 8, 16] and default_ns(12) == [1, 2, 4, 8, 12]


def test_paired_differences_are_differences_of_the_same_draws():
    pool = synthetic_pool(20, 16, seed=7)
    res = resample(pool, resamples=60, seed=0, progress=False, rms=["prm"], aggs=("prod",))
    diff = res.differences()
    a, b = Variant("weighted", "prm", "prod"), Variant("majority")
    row = diff[(diff.method == "weighted") & (diff.n == 8) & (diff.group == "hard") & (diff.ci == BOOTSTRAP)]
    assert float(row["mean"].iloc[0]) == pytest.approx(res.accuracy(a, 8, "hard") - res.accuracy(b, 8, "hard"))
    g, j = res.groups.index("hard"), res.ns.index(8)
    d = res.bootstrap[res.index(a), g, :, j] - res.bootstrap[res.index(b), g, :, j]
    assert float(row["share_le_0"].iloc[0]) == pytest.approx((d <= 0).mean())
    assert "majority" not in set(diff.method) and set(diff["vs"]) == {"majority"}
    assert summary_at(diff).shape[0] == 4  # best_of_n, weighted, pass@n, single vs majority


def test_groups_and_their_sizes():
    pool = synthetic_pool(20, 4, seed=8)  # levels cycle 1..5: 12 easy, 8 hard
    res = resample(pool, resamples=10, progress=False, rms=["prm"], aggs=("min",))
    sizes = dict(zip(res.groups, res.group_sizes))
    assert sizes["all"] == 20 and sizes["easy"] == 12 and sizes["hard"] == 8 and sizes["level 3"] == 4
    with pytest.raises(ValueError, match="unknown or empty group"):
        resample(pool, resamples=10, progress=False, groups=["medium"])


def test_the_engine_matches_a_plain_loop_over_draws_and_problems():
    bench = load_script("benchmarks/rerank.py")
    pool = synthetic_pool(9, 12, seed=9)
    pool.loc[pool.index[::7], "answer_key"] = pool.loc[pool.index[::7], "answer"] = None  # more missing answers
    pool.loc[pool.index[::7], "correct"] = False
    res = resample(pool, ns=[1, 3, 5, 12], resamples=25, seed=2, groups=["all"], progress=False)
    slow = bench.plain_means(pool, res.variants, [1, 3, 5, 12], 25, seed=2)
    assert np.allclose(res.subsets[:, 0].mean(axis=1), slow, atol=1e-12)


def test_threads_and_chunk_sizes_do_not_change_the_numbers():
    pool = synthetic_pool(16, 32, seed=10)
    a = resample(pool, resamples=30, progress=False, workers=1, memory_mb=1)
    b = resample(pool, resamples=30, progress=False, workers=2, memory_mb=512)
    assert np.allclose(a.subsets, b.subsets, atol=1e-12) and np.allclose(a.bootstrap, b.bootstrap, atol=1e-12)


def test_the_analysis_half_imports_neither_torch_nor_transformers():
    code = ("import sys, e2h.pool, e2h.rerank, e2h.rerank.__main__, e2h.plots, e2h.paper_results, e2h.data, "
            "e2h.grading; print([m for m in sys.modules if m.split('.')[0] in ('torch', 'transformers')])")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0 and run.stdout.strip() == "[]", run.stdout + run.stderr


def test_expected_ties_credit_the_correct_share_of_the_tied_answers():
    """Two samples, two answers, one right: majority voting at N = 2 is a coin flip, credited 0.5 exactly."""
    import pandas as pd

    from e2h.rerank import Variant, resample

    rows = []
    for q, answers in enumerate((["a", "b"], ["a", "a"], ["a", "b"])):
        for j, a in enumerate(answers):
            rows.append({"problem_id": f"q{q}", "level": 1, "split": "test", "sample_idx": j, "text": "",
                         "answer": a, "answer_key": a, "correct": a == "a", "scores_prm": [0.5]})
    pool = pd.DataFrame(rows)
    for seed in range(5):
        exact = resample(pool, variants=[Variant("majority"), Variant("weighted", "prm", "min")], ns=[2],
                         resamples=3, seed=seed, ties="expected", progress=False)
        assert exact.accuracy(Variant("majority"), 2) == pytest.approx((0.5 + 1 + 0.5) / 3)
        assert exact.accuracy(Variant("weighted", "prm", "min"), 2) == pytest.approx((0.5 + 1 + 0.5) / 3)
    drawn = {resample(pool, variants=[Variant("majority")], ns=[2], resamples=3, seed=s,
                      progress=False).accuracy(Variant("majority"), 2) for s in range(20)}
    assert drawn <= {1 / 3, 2 / 3, 1.0} and len(drawn) > 1  # one tie draw decides, and it varies with the seed
