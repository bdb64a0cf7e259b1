"""Notebook 00 runs headless on a tiny params file and leaves the splits and the level figure in the run folder."""

from pathlib import Path

import nbformat
import pytest
import yaml

from e2h.stages.s00_data import load_split

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def test_notebook_is_committed_without_outputs():
    nb = nbformat.read(NOTEBOOKS / "00_data.ipynb", as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code[0].metadata.get("tags") == ["parameters"]
    assert code[0].source == 'params_file = "../params/default.yaml"'
    assert all(not c.outputs and c.execution_count is None for c in code)


@pytest.mark.slow
def test_notebook_00_runs(tmp_path, data_dir):
    papermill = pytest.importorskip("papermill")
    params = tmp_path / "params" / "tiny.yaml"
    params.parent.mkdir()
    params.write_text(yaml.safe_dump({
        "runs_dir": str(tmp_path / "runs"),
        "data": {"source": "math", "data_dir": str(data_dir), "max_train": 60, "max_test": 30, "val_size": 20},
    }))
    papermill.execute_notebook(str(NOTEBOOKS / "00_data.ipynb"), str(tmp_path / "00_out.ipynb"),
                               parameters={"params_file": str(params)}, kernel_name="e2h", cwd=str(NOTEBOOKS),
                               progress_bar=False)
    run_dir = tmp_path / "runs" / "tiny"
    assert [len(load_split(run_dir, s)) for s in ("train", "val", "test")] == [60, 20, 30]
    fig = run_dir / "figures" / "00_levels.png"
    assert fig.is_file() and fig.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
