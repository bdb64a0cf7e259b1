"""The dev study of policy strength (scripts/policy_strength_study.py): dev data only, the evaluators of the
reference target scoring every target's pool."""

import sys

import pytest

from conftest import ROOT, load_script
from e2h.params import load_params
from e2h.stages.layout import reward_model_paths


@pytest.fixture(scope="module")
def study():
    return load_script("scripts/policy_strength_study.py")


def test_every_target_runs_the_protocol_on_dev_problems_scored_by_the_reference_models(study, tmp_path):
    protocol = load_params(ROOT / "params" / "protocol.yaml")
    ref = load_params(study.study_params(101, 0.5, 0.5, tmp_path))
    weak = load_params(study.study_params(101, 0.3, 0.5, tmp_path))
    for p in (ref, weak):
        assert p.data.eval_split == "dev" and sum(p.data.task_dev) == sum(protocol.data.task_test)
        assert {p.seed, p.data.seed, p.sft.seed, p.reward.seed, p.sample.seed, p.rerank.seed} == {101}
        assert p.sample.n == protocol.sample.n and p.rerank.ns == protocol.rerank.ns
    assert (ref.sft.select_target, weak.sft.select_target) == (0.5, 0.3)
    assert ref.stages == "00-06" and ref.score.rms == protocol.score.rms
    assert weak.stages == "00-01,04-06"  # its own policy and pool, no reward models of its own
    assert reward_model_paths(weak) == {k: str(ref.run_dir / "rm" / k) for k in protocol.score.rms}
    assert ref.run_dir != weak.run_dir


def test_a_target_run_is_scored_again_when_the_reference_models_are_retrained(study, tmp_path, monkeypatch):
    from e2h.io import write_json
    from e2h.stages.layout import RunLayout

    calls = []
    monkeypatch.setattr("e2h.runner.run", lambda params_file, **kw: calls.append(kw))
    ref = tmp_path / study.run_name(101, 0.5)
    weak = study.study_params(101, 0.3, 0.5, tmp_path)
    for run_id, rescored in (("a1", False), ("a1", False), ("b2", True)):  # first scoring, unchanged, retrained
        write_json(RunLayout(ref).manifest("03_reward_models"), {"run_id": run_id})
        study.rescore_if_retrained(weak, ref)
        assert bool(calls) == rescored
    assert calls == [{"stages": "05-06", "force": True, "notebooks_dir": ROOT / "notebooks"}]


def test_only_dev_seeds_and_a_listed_reference_are_accepted(study, monkeypatch):
    for argv in (["1003"], ["0"], ["101", "--targets", "0.3", "0.7"]):
        monkeypatch.setattr(sys, "argv", ["policy_strength_study.py", *argv])
        with pytest.raises(SystemExit):
            study.main()


def test_summaries_carry_their_seed_and_target_into_the_figure(study, tmp_path):
    for seed, target in ((101, 0.3), (101, 0.5), (102, 0.7)):
        name = study.run_name(seed, target)
        (tmp_path / f"dev-seed{seed}-target{target:g}.csv").write_text(
            "run,metric,rm,agg,group,n,mean,lo,hi,problems\n"
            f"{name},majority accuracy,,,hard,32,{target / 2},0.1,0.4,300\n"
            f"{name},weighted − majority,prm,prod,hard,32,0.05,-0.01,0.1,300\n"
            f"{name},best_of_n − majority,prm,min,hard,32,-0.05,-0.1,0.0,300\n")
    runs = study.summaries(tmp_path)
    assert sorted(set(zip(runs.seed, runs.target, runs.source))) == [
        (101, 0.3, "target 0.3"), (101, 0.5, "target 0.5"), (102, 0.7, "target 0.7")]
    assert set(runs.rm) == {"", "prm"}
    study.draw(runs, 0.5, tmp_path)
    assert (tmp_path / "policy_strength_dev.png").stat().st_size > 0
