"""Stage 07 on the shipped weights of the default task, with settings small enough for a test: every method
trains, reads training and validation problems only (test is read by the evaluation alone), hard answers never
reach a method, a finished unit is not trained again, and the tables and curves come out."""

import dataclasses
from pathlib import Path

import pytest

from conftest import ROOT
from e2h.params import load_params
from e2h.stages import jobs, s01_policy, s07_rl
from e2h.stages.s00_data import build_splits

SMALL = {"rl": {"problems_per_level": 4, "val_max_problems": 12, "max_new_tokens": 64, "resamples": 50,
                "more_sft": {"eval_every": 2, "batch_size": 8, "micro_batch_size": 8},
                "rest_em": {"n": 3, "iterations": 2, "max_steps": 2, "eval_every": 1, "batch_size": 8,
                            "micro_batch_size": 8, "threshold_samples": 2},
                "dpo": {"n": 3, "max_steps": 2, "eval_every": 1, "batch_size": 4, "micro_batch_size": 4,
                        "lr": 1e-4},
                "ppo": {"steps": 2, "rollouts": 8, "batch_size": 4, "micro_batch_size": 4, "eval_every": 1,
                        "lr": 1e-4}},
         "data": {"task_train": [20, 20, 20, 20, 20], "task_val": [4, 4, 4, 4, 4], "task_test": [3, 3, 3, 3, 3]}}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    reads: list[str] = []
    for module in (s07_rl, s01_policy):
        real = module.load_split
        mp.setattr(module, "load_split", lambda p, name, real=real: reads.append(name) or real(p, name))
    # workers 1: every training in this process, where the reads are recorded
    p = load_params(ROOT / "params" / "default.yaml", {"runs_dir": str(tmp_path_factory.mktemp("runs")),
                                                       "workers": 1, **SMALL})
    build_splits(p)
    trained = jobs.train_rl(p, ROOT / "params" / "default.yaml")
    during_training = list(reads)
    results = s07_rl.greedy_test(p)
    yield p, trained, during_training, results
    mp.undo()


def test_training_reads_train_and_val_only(run):
    p, trained, reads, _ = run
    assert set(trained["method"]) == set(s07_rl.ORDER[1:]) and (trained["seconds"] > 0).all()
    assert "test" not in reads and {"train", "val"} <= set(reads)


def test_trainings_side_by_side_equal_those_in_this_process(run, tmp_path):
    import json

    p = run[0]
    both = load_params(ROOT / "params" / "default.yaml", {**SMALL, "runs_dir": str(tmp_path), "workers": 2,
                                                          "rl": {**SMALL["rl"], "methods": ["dpo"], "seeds": [0, 1]}})
    build_splits(both)
    assert set(jobs.train_rl(both, ROOT / "params" / "default.yaml")["seed"]) == {0, 1}
    timing = ("seconds", "step_seconds", "tokens_per_s")
    losses = [{k: v for k, v in json.loads((s07_rl.layout(q).rl_policy("dpo", 0) / "losses.json").read_text()).items()
               if k not in timing} for q in (p, both)]
    assert "loss" in losses[0] and losses[0] == losses[1]
    assert (s07_rl.layout(both).rl_policy("dpo", 1) / "losses.json").is_file()


def test_hard_answers_never_reach_a_method(run):
    p = run[0]
    questions, golds = s07_rl.training_questions(p, 0, (1, 2, 3, 4, 5))
    assert all("answer" not in q and "solution" not in q for q in questions)
    assert {q["level"] for q in questions} == {1, 2, 3, 4, 5} and len(questions) == 20
    assert all((golds[q["problem_id"]] is None) == (q["level"] >= 4) for q in questions)
    again, _ = s07_rl.training_questions(p, 0, (1, 2, 3, 4, 5))
    other, _ = s07_rl.training_questions(p, 1, (1, 2, 3, 4, 5))
    assert again == questions and other != questions  # a seeded draw per seed


def test_more_sft_makes_as_many_updates_as_ppo(run):
    import json

    p = run[0]
    assert s07_rl.section(p, "more_sft", 0).max_steps == s07_rl.ppo_updates(p) == 2 * 8 // 4
    losses = json.loads((s07_rl.layout(p).rl_policy("more_sft", 0) / "losses.json").read_text())
    assert len(losses["step"]) == 4


def test_tables_curves_and_checkpoints(run):
    p, _, _, results = run
    assert set(results["method"]) == set(s07_rl.ORDER) and results.groupby("method").size().nunique() == 1
    table = s07_rl.accuracy(p, results)
    assert {"all", "easy", "hard"} <= set(table["group"]) and (table["lo"] <= table["hi"]).all()
    curves = s07_rl.curves(p)
    got = curves.groupby("method")["metric"].agg(set)
    assert {"reward", "kl", "value_loss", "val_accuracy"} <= got["ppo_prm"] and "val_accuracy" in got["dpo"]
    assert (curves[curves.metric == "kl"]["value"] >= 0).all()
    chosen = s07_rl.chosen_checkpoints(p).set_index("method")
    assert chosen.loc["rest_em", "iteration"] in (1, 2) and 0 <= chosen.loc["ppo_prm", "easy val accuracy"] <= 1
    assert "hard threshold" in chosen.columns and "pairs_hard" in chosen.columns


def test_a_finished_unit_is_not_trained_again_unless_its_own_params_change(run):
    p = run[0]
    assert all(s07_rl.is_trained(p, m, 0) for m in s07_rl.ORDER[1:])
    changed = dataclasses.replace(p, rl=dataclasses.replace(p.rl, dpo=dataclasses.replace(p.rl.dpo, beta=0.2),
                                                             seeds=[0, 1]))
    assert [m for m in s07_rl.ORDER[1:] if not s07_rl.is_trained(changed, m, 0)] == ["dpo"]
    assert not s07_rl.is_trained(changed, "ppo_prm", 1)
    assert jobs.train_rl(p, Path("unused.yaml"))["seconds"].eq(0).all()


def test_the_three_seed_file_is_the_main_job_with_three_seeds():
    main, rl = (load_params(ROOT / "params" / f"{n}.yaml") for n in ("default", "default-rl"))
    assert rl.rl.seeds == [0, 1, 2] and rl.stages == "00,07,08" and rl.figures_dir is None
    a, b = main.to_dict(), rl.to_dict()
    for d in (a, b):
        d["rl"]["seeds"] = d["stages"] = d["figures_dir"] = d["name"] = None
    assert a == b


def test_rl_policies_are_reranked_like_the_sft_policy(run):
    p = run[0]
    small = dataclasses.replace(p, sample=dataclasses.replace(p.sample, n=2, max_new_tokens=64),
                                score=dataclasses.replace(p.score, rms=["prm"]),
                                rerank=dataclasses.replace(p.rerank, resamples=20),
                                rl=dataclasses.replace(p.rl, methods=["ppo_prm", "dpo"], rerank=True))
    table = s07_rl.rerank_policies(small)
    assert set(table["policy"]) == {"ppo_prm", "dpo"} and set(table["group"]) == {"all", "easy", "hard"}
    assert {"majority", "weighted", "best_of_n", "single"} <= set(table["method"])
    assert set(table[table.method == "weighted"]["rm"]) == {"prm"} and (table["n"] == 2).all()
    pool = s07_rl.layout(p).rl_pool("ppo_prm-seed0", scored=True)
    assert pool.is_file()
