"""Notebooks 02 (reward data) and 04 (test pool) run headless on a tiny embedded-task run with a tiny policy."""

from pathlib import Path

import nbformat
import pytest
import yaml

from e2h.stages.s00_data import build_splits, load_split
from e2h.params import load_params
from e2h.pool import read_pool
from sampling_helpers import make_trained_policy

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
NAMES = ["02_reward_data.ipynb", "04_sample.ipynb"]


@pytest.mark.parametrize("name", NAMES)
def test_committed_without_outputs(name):
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code[0].metadata.get("tags") == ["parameters"]
    want = "default-train" if name == "02_reward_data.ipynb" else "default"  # 02 samples the data 03 trains on
    assert code[0].source == f'params_file = "../params/{want}.yaml"'
    assert all(not c.outputs and c.execution_count is None for c in code)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """A run folder with stage 00's splits (embedded task) and a tiny trained policy at run_dir/sft."""
    root = tmp_path_factory.mktemp("nbrun")
    params = root / "params" / "tiny.yaml"
    params.parent.mkdir()
    params.write_text(yaml.safe_dump({
        "runs_dir": str(root / "runs"),
        "data": {"source": "embedded", "data_dir": None, "task_train": [8, 8, 8, 8, 8], "task_val": [1] * 5,
                 "task_test": [2] * 5},
        "sample": {"backend": "hf", "n": 4, "temperature": 1.0, "max_new_tokens": 48, "shard_size": 4,
                   "batch_size": 16, "reward_n": 4, "reward_max_problems": 10},
    }))
    p = load_params(params)
    build_splits(p)
    make_trained_policy(p.run_dir / "sft", steps=60, records=load_split(p.run_dir, "train"))
    return params, p


def _run(name, params, tmp_path):
    papermill = pytest.importorskip("papermill")
    papermill.execute_notebook(str(NOTEBOOKS / name), str(tmp_path / name), parameters={"params_file": str(params)},
                               kernel_name="e2h", cwd=str(NOTEBOOKS), progress_bar=False)


def _is_png(path: Path) -> bool:
    return path.is_file() and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_notebook_02_samples_easy_training_problems(tiny_run, tmp_path):
    params, p = tiny_run
    _run("02_reward_data.ipynb", params, tmp_path)
    pool = read_pool(p.run_dir / "reward_data" / "samples.parquet")
    assert pool["problem_id"].nunique() == 10 and len(pool) == 40  # reward_max_problems × reward_n
    assert set(pool["level"]) <= {1, 2, 3} and set(pool["split"]) == {"train"}
    assert _is_png(p.run_dir / "figures" / "02_reward_data_accuracy.png")


@pytest.mark.slow
def test_notebook_04_samples_every_test_problem(tiny_run, tmp_path):
    params, p = tiny_run
    _run("04_sample.ipynb", params, tmp_path)
    pool = read_pool(p.run_dir / "pool" / "samples.parquet")
    test_ids = {r["unique_id"] for r in load_split(p.run_dir, "test")}
    assert set(pool["problem_id"]) == test_ids and len(pool) == 4 * len(test_ids)
    assert set(pool["split"]) == {"test"}
    for fig in ("04_pass_at_k.png", "04_level_accuracy.png"):
        assert _is_png(p.run_dir / "figures" / fig)
    out = nbformat.read(tmp_path / "04_sample.ipynb", as_version=4)
    printed = "".join(o.get("text", "") for c in out.cells if c.cell_type == "code" for o in c.outputs)
    assert "# Question\n\n" in printed and "# Solution\n\n" in printed  # samples shown in the prompt format
