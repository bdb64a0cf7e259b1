"""Notebooks 06 (re-ranking) and 08 (figures) run headless on a small scored pool written here."""

from pathlib import Path

import nbformat
import pandas as pd
import pytest
import yaml

from e2h.pool import write_pool
from e2h.rerank.synthetic import synthetic_pool

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


@pytest.mark.parametrize("name, params", [
    ("06_rerank.ipynb", 'params_file = "../params/default.yaml"'),
    ("08_figures.ipynb", 'params_file = "../params/default.yaml"\n'
                         'figures_dir = None  # None: the params file\'s figures_dir (default: the run folder\'s figures/)'),
])
def test_committed_without_outputs(name, params):
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code[0].metadata.get("tags") == ["parameters"] and code[0].source == params
    assert all(not c.outputs and c.execution_count is None for c in code)


@pytest.mark.slow
def test_06_then_08_run_on_a_small_pool(tmp_path):
    papermill = pytest.importorskip("papermill")
    params = tmp_path / "params" / "small.yaml"
    params.parent.mkdir()
    params.write_text(yaml.safe_dump({"runs_dir": str(tmp_path / "runs"), "data": {"source": "embedded"},
                                      "rerank": {"resamples": 40, "aggregators": ["min", "prod", "last"]}}))
    run_dir = tmp_path / "runs" / "small"
    pool = synthetic_pool(15, 8, seed=11)
    pool["step_labels"] = [[int(s > 0.5) for s in steps] for steps in pool["scores_prm"]]
    write_pool(pool.drop(columns="answer_key"), run_dir / "pool" / "scored.parquet")  # 06 adds the keys

    for name, extra in (("06_rerank", {}), ("08_figures", {"figures_dir": str(tmp_path / "figures")})):
        papermill.execute_notebook(str(NOTEBOOKS / f"{name}.ipynb"), str(tmp_path / f"{name}.out.ipynb"),
                                   parameters={"params_file": str(params), **extra}, kernel_name="e2h",
                                   cwd=str(NOTEBOOKS), progress_bar=False)
    curves = pd.read_parquet(run_dir / "rerank" / "curves.parquet")
    assert set(curves["n"]) == {1, 2, 4, 8} and set(curves["agg"]) == {"", "min", "prod", "last"}
    assert (curves["resamples"] == 40).all()
    assert set(pd.read_parquet(run_dir / "rerank" / "differences.parquet")["vs"]) == {"majority"}
    assert "step" in set(pd.read_parquet(run_dir / "rerank" / "auroc.parquet")["kind"])
    figures = {p.name for p in (tmp_path / "figures").iterdir()}
    for stem in ("accuracy_vs_n", "accuracy_vs_n_levels", "aggregators_best_of_n", "aggregators_weighted",
                 "levels_at_max_n", "best_of_n_minus_majority", "evaluator_auroc"):
        assert {f"small_{stem}.png", f"small_{stem}.pdf"} <= figures, stem
