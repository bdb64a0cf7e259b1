"""Stage 03 on the embedded task: checker-labelled PRM data, balanced ORM data, OPRM = both, held-out AUROC."""

import json

import pandas as pd
import pytest
import yaml

from e2h import embedded_task as tasks
from e2h.format import format_prompt, format_solution, split_steps
from e2h.io import write_jsonl
from e2h.models import make_tiny_model
from e2h.params import load_params
from e2h.stages.s03_reward_models import heldout_report, prm_records, reward_data, split_heldout, train_reward


def _samples(records):
    """Per problem: the right solution, one whose step 2 is off by one (and so its answer), one with a wrong
    final answer only, and a second copy of the right one."""
    rows = []
    for r in records:
        steps = split_steps(r["solution"])
        body = [s.split("\n\n# Answer")[0] for s in steps]
        a, op, b = body[1].rpartition(" = ")
        bad_step = body[:1] + [f"{a} = {int(b) + 1}"] + body[2:]
        variants = [(body, r["answer"], True), (bad_step, str(int(r["answer"]) + 1), False),
                    (body, str(int(r["answer"]) + 2), False), (body, r["answer"], True)]
        for j, (st, ans, ok) in enumerate(variants):
            rows.append({"problem_id": r["unique_id"], "level": r["level"], "split": "train", "sample_idx": j,
                         "text": format_solution(st, ans), "answer": ans, "correct": ok})
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def params(tmp_path_factory):
    root = tmp_path_factory.mktemp("stage03")
    records = tasks.generate({1: 8, 2: 8, 3: 8}, split="train", seed=0)
    base = make_tiny_model(root / "base", [format_prompt(r["problem"]) + r["solution"] for r in records], seed=0)
    run = root / "runs" / "emb"
    write_jsonl(run / "data" / "train.jsonl", records)
    (run / "reward_data").mkdir(parents=True)
    _samples(records).to_parquet(run / "reward_data" / "samples.parquet")
    path = root / "emb.yaml"
    path.write_text(yaml.safe_dump({
        "runs_dir": str(root / "runs"), "data": {"source": "embedded"}, "model": {"base": str(base)},
        "reward": {"kinds": ["prm", "orm"], "batch_size": 16, "micro_batch_size": 16, "epochs": 2, "lr": 3e-3,
                   "heldout_fraction": 0.3, "mixed_precision": "no"}}))
    return load_params(path)


def test_prm_labels_come_from_the_step_checker(params):
    recs = prm_records(params)
    assert len(recs) == 24 * 4
    by_variant = [r["labels"] for r in recs[:4]]
    assert by_variant[0] == [1, 1, 1, 1]
    assert by_variant[1] == [1, 0]  # labelling stops at the first wrong step
    assert by_variant[2] == [1, 1, 1, 0]  # steps right, stated answer wrong: the final step is marked bad
    train, held = split_heldout(params, recs)
    assert held and train and not {r["problem_id"] for r in train} & {r["problem_id"] for r in held}


def test_corrupted_copies_join_the_prm_training_data_only(params):
    import copy

    p = copy.deepcopy(params)
    p.reward.prm_corrupt = 2
    plain, _ = reward_data(params, "prm")
    records, info = reward_data(p, "prm")
    assert info["prm_corrupted"] == 2 * info["prm_solutions"] and len(records) == 3 * len(plain)
    held = {r["problem_id"] for r in split_heldout(p, prm_records(p))[1]}
    assert not held & {r["problem_id"] for r in records}  # the held-out step AUROC stays on policy samples
    assert all(r["labels"][-1] == 0 for r in records[len(plain):])  # each copy ends at its slip
    assert reward_data(p, "prm")[0] == records  # seeded


def test_orm_and_oprm_data(params):
    orm, info = reward_data(params, "orm")
    assert info["orm_balance"]["dropped_one_class"] == 0 and len(orm) == 24 * 4  # 2:2 is within 1:3 … 3:1
    assert {tuple(r["labels"]) for r in orm} == {(1, 1, 1, 1), (0, 0, 0, 0)}  # every step gets the verdict
    oprm, info = reward_data(params, "oprm")
    assert len(oprm) == info["prm_solutions"] + info["orm_solutions"] == len(orm) + info["prm_solutions"]


def test_train_and_evaluate_on_heldout(params):
    path = train_reward(params, "prm")
    meta = json.loads((path / "e2h_reward.json").read_text())
    assert meta["kind"] == "prm" and meta["init_from"] == params.model.base
    train_reward(params, "orm")
    auroc, examples = heldout_report(params)
    assert list(auroc["rm"]) == ["prm", "orm"]
    assert auroc["steps"].iloc[0] > 0 and 0 <= auroc["auroc"].iloc[0] <= 1
    assert {"label", "p_prm", "p_orm"} <= set(examples.columns)
    with pytest.raises(ValueError, match="reward kind"):
        train_reward(params, "vrm")


def test_easy_models_never_see_hard_problems_and_the_all_levels_reference_does(tmp_path):
    records = tasks.generate({1: 4, 2: 4, 4: 4, 5: 4}, split="train", seed=1)
    run = tmp_path / "runs" / "mix"
    write_jsonl(run / "data" / "train.jsonl", records)
    (run / "reward_data").mkdir(parents=True)
    _samples(records).to_parquet(run / "reward_data" / "samples.parquet")
    path = tmp_path / "mix.yaml"
    path.write_text(yaml.safe_dump({"runs_dir": str(tmp_path / "runs"), "data": {"source": "embedded"},
                                    "reward": {"heldout_fraction": 0.0}}))
    p = load_params(path)
    level_of = {r["unique_id"]: r["level"] for r in records}
    for kind in ("prm", "orm", "oprm"):
        easy, info = reward_data(p, kind)
        assert info["levels"] == [1, 2, 3] and {level_of[r["problem_id"]] for r in easy} == {1, 2}
        full, info = reward_data(p, kind + "_all")
        assert info["levels"] == [1, 2, 3, 4, 5] and {level_of[r["problem_id"]] for r in full} == {1, 2, 4, 5}
        assert len(full) == 2 * len(easy)
    matched = load_params(path, {"reward": {"match_full_size": True}})
    for kind in ("prm", "orm", "oprm"):  # the same amount of data, drawn from every level
        easy, _ = reward_data(matched, kind)
        full, info = reward_data(matched, kind + "_all")
        assert len(full) == len(easy) and info["size_matched_to"] == kind
        assert {level_of[r["problem_id"]] for r in full} & {4, 5}
    with pytest.raises(ValueError, match="optionally with the suffix '_all'"):
        reward_data(p, "prm_most")
