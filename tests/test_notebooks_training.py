"""Notebooks 01 (SFT), 03 (reward models) and 05 (scoring) run headless, in order, on the real MATH files with a tiny
random Llama: the CPU end-to-end of the learning half. Stages 02 and 04 (sampling) are another notebook's job, so
the test writes their outputs itself: reference solutions as right samples, other problems' solutions as wrong."""

import json
from pathlib import Path

import nbformat
import pandas as pd
import pytest
import yaml

from e2h.format import format_solution, math_solution_to_steps, split_steps

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
NAMES = ("01_sft", "03_reward_models", "05_score")


@pytest.mark.parametrize("name", NAMES)
def test_committed_without_outputs(name):
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code[0].metadata.get("tags") == ["parameters"]
    # The training stages read the params that train the default's shipped weights; the others the default.
    want = "default-train" if name in ("01_sft", "03_reward_models") else "default"
    assert code[0].source == f'params_file = "../params/{want}.yaml"'
    assert all(not c.outputs and c.execution_count is None for c in code)


def _fake_samples(records, split, wrong_from):
    """Pool rows: each problem's reference solution (right) and another problem's (wrong)."""
    rows = []
    for i, r in enumerate(records):
        steps, answer = math_solution_to_steps(r["solution"])
        other = records[(i + wrong_from) % len(records)]
        o_steps, o_answer = math_solution_to_steps(other["solution"])
        for j, (st, ans, ok) in enumerate([(steps, answer, True), (o_steps, o_answer, False)]):
            rows.append({"problem_id": r["unique_id"], "level": r["level"], "split": split, "sample_idx": j,
                         "text": format_solution(st, ans), "answer": ans, "correct": ok and ans != o_answer})
    return pd.DataFrame(rows)


def _run(papermill, name, params, tmp_path):
    papermill.execute_notebook(str(NOTEBOOKS / f"{name}.ipynb"), str(tmp_path / f"{name}.out.ipynb"),
                               parameters={"params_file": str(params)}, kernel_name="e2h", cwd=str(NOTEBOOKS),
                               progress_bar=False)


@pytest.mark.slow
def test_sft_reward_models_and_scoring_notebooks(tmp_path, data_dir):
    papermill = pytest.importorskip("papermill")
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from e2h.stages.s00_data import build_splits, load_split
    from e2h.params import load_params

    params = tmp_path / "params" / "tiny.yaml"
    params.parent.mkdir()
    released = tmp_path / "llemma-7b-prm-prm800k-level-1to3-hf"
    train = {"batch_size": 8, "micro_batch_size": 8, "max_steps": 2, "max_length": 192}
    params.write_text(yaml.safe_dump({
        "runs_dir": str(tmp_path / "runs"),
        "data": {"source": "math", "data_dir": str(data_dir), "max_train": 60, "max_test": 6, "val_size": 10},
        "model": {"tiny_vocab_size": 400, "tiny_max_positions": 4096},
        "sample": {"backend": "hf", "max_new_tokens": 8, "shard_size": 8},
        "sft": {**train, "eval_max_problems": 4, "eval_max_new_tokens": 8},
        "reward": {**train, "prm_files": [str(data_dir / "openr_prm800k_samples" / "samples_prm800k.jsonl")],
                   "heldout_fraction": 0.0},
        "score": {"released": {"released_prm": str(released)}, "shard_size": 4, "batch_size": 4},
    }))
    p = load_params(params)
    build_splits(p)  # stage 00
    run = Path(p.run_dir)

    _run(papermill, "01_sft", params, tmp_path)
    assert AutoModelForCausalLM.from_pretrained(run / "sft").config.model_type == "llama"
    assert json.loads((run / "sft" / "losses.json").read_text())["step"] == [1, 2]
    assert (run / "sft_eval" / "val_greedy.parquet").is_file()
    assert (run / "figures" / "01_val_greedy_accuracy.png").is_file()

    easy = [r for r in load_split(run, "train") if r["level"] in (1, 2, 3)][:8]
    (run / "reward_data").mkdir(parents=True)
    _fake_samples(easy, "train", 1).to_parquet(run / "reward_data" / "samples.parquet")  # stage 02
    _run(papermill, "03_reward_models", params, tmp_path)
    for kind in ("prm", "orm", "oprm"):
        meta = json.loads((run / "rm" / kind / "e2h_reward.json").read_text())
        assert meta["kind"] == kind and meta["label_layout"] == "every_token" and meta["examples"] > 0
        assert (run / "rm" / kind / "loss_curve.png").is_file()
    assert meta["prm_solutions"] == 1 and meta["orm_solutions"] > 0  # OPRM = PRM800K fixture + ORM samples

    # A released-format checkpoint: a plain causal LM read through its mean logit.
    AutoModelForCausalLM.from_pretrained(run / "base").save_pretrained(released)
    AutoTokenizer.from_pretrained(run / "base").save_pretrained(released)
    (run / "pool").mkdir()
    pool = _fake_samples(load_split(run, "test"), "test", 2)
    pool.to_parquet(run / "pool" / "samples.parquet")  # stage 04
    _run(papermill, "05_score", params, tmp_path)
    scored = pd.read_parquet(run / "pool" / "scored.parquet")
    assert len(scored) == len(pool)
    for rm in ("prm", "oprm", "released_prm"):
        assert [len(s) for s in scored[f"scores_{rm}"]] == [len(split_steps(t)) for t in scored["text"]]
    assert all(len(s) == 1 for s in scored["scores_orm"])
    assert all(0 < x < 1 for s in scored["scores_prm"] for x in s)
    assert torch.tensor([x for s in scored["scores_prm"] for x in s]).std() > 0
