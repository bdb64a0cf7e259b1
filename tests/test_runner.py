"""The runner executes numbered notebooks with papermill, skips finished stages, and stops at the first failure."""

import json

import nbformat
import pytest

from e2h import runner
from e2h.__main__ import main as cli


def notebook(code: str):
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('params_file = "../params/default.yaml"')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(code)]
    nb.metadata["kernelspec"] = {"name": "e2h", "display_name": "e2h", "language": "python"}
    return nb


@pytest.fixture
def project(tmp_path):
    (tmp_path / "params").mkdir()
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "params" / "toy.yaml").write_text("data: {source: embedded}\n")
    write = ("from pathlib import Path\nfrom e2h.params import load_params\np = load_params(params_file)\n"
             "p.run_dir.mkdir(parents=True, exist_ok=True)\n"
             "(p.run_dir / '{name}.txt').write_text(str(len(list(p.run_dir.glob('*.txt')))))\n")
    nbformat.write(notebook(write.format(name="first")), tmp_path / "notebooks" / "00_first.ipynb")
    nbformat.write(notebook(write.format(name="second")), tmp_path / "notebooks" / "01_second.ipynb")
    nbformat.write(notebook("x = 1"), tmp_path / "notebooks" / "helper.ipynb")  # not a stage: no number
    return tmp_path


def test_runs_stages_in_order_and_writes_manifests(project):
    walls = runner.run(project / "params" / "toy.yaml")
    assert list(walls) == ["00_first", "01_second"]
    run_dir = project / "runs" / "toy"
    assert (run_dir / "first.txt").read_text() == "0" and (run_dir / "second.txt").read_text() == "1"
    manifest = json.loads((run_dir / "manifests" / "00_first.json").read_text())
    assert manifest["status"] == "ok" and len(manifest["params_digest"]) == 16
    assert manifest["versions"]["papermill"] and manifest["wall_seconds"] > 0
    assert (run_dir / "notebooks" / "01_second.ipynb").exists()


def test_skips_done_stages_unless_forced_or_params_changed(project):
    runner.run(project / "params" / "toy.yaml")
    assert runner.run(project / "params" / "toy.yaml") == {"00_first": 0.0, "01_second": 0.0}
    assert runner.run(project / "params" / "toy.yaml", stages="01", force=True)["01_second"] > 0
    (project / "params" / "toy.yaml").write_text("data: {source: embedded, seed: 5}\n")
    assert all(w > 0 for w in runner.run(project / "params" / "toy.yaml").values())


def test_stops_at_the_first_failure_and_says_where(project, capsys):
    nbformat.write(notebook("raise RuntimeError('stage broke here')"), project / "notebooks" / "00_first.ipynb")
    code = cli(["run", str(project / "params" / "toy.yaml")])
    err = capsys.readouterr().err
    assert code == 1 and "RuntimeError: stage broke here" in err and "raise RuntimeError" in err
    run_dir = project / "runs" / "toy"
    assert json.loads((run_dir / "manifests" / "00_first.json").read_text())["status"] == "failed"
    assert not (run_dir / "manifests" / "01_second.json").exists()


@pytest.mark.parametrize("spec, expected", [("00", ["00_first"]), ("01-01", ["01_second"]),
                                            ("00,01", ["00_first", "01_second"])])
def test_stage_selection(project, spec, expected):
    stages = runner.list_stages(project / "notebooks")
    assert [s.stem for s in runner.select_stages(stages, spec)] == expected


@pytest.mark.parametrize("spec", ["abc", "07", "1-x"])
def test_bad_stage_selection_is_refused(project, spec):
    with pytest.raises(ValueError, match="--stages"):
        runner.select_stages(runner.list_stages(project / "notebooks"), spec)


def test_bad_params_exit_2(project, capsys):
    (project / "params" / "toy.yaml").write_text("sede: 1\n")
    assert cli(["run", str(project / "params" / "toy.yaml")]) == 2
    assert "sede: unknown key" in capsys.readouterr().err


def test_missing_notebooks_folder_is_a_clear_error(project, capsys):
    code = cli(["run", str(project / "params" / "toy.yaml"), "--notebooks", str(project / "nowhere")])
    assert code == 2 and "no notebooks folder there" in capsys.readouterr().err


def test_a_later_section_reruns_only_the_stages_that_read_it(project):
    params = project / "params" / "toy.yaml"
    nbformat.write(notebook("x = 1"), project / "notebooks" / "06_later.ipynb")
    runner.run(params)
    params.write_text("data: {source: embedded}\nrerank: {resamples: 7}\n")
    walls = runner.run(params)
    assert walls["00_first"] == 0.0 and walls["01_second"] == 0.0 and walls["06_later"] > 0
    params.write_text("data: {source: embedded, seed: 4}\nrerank: {resamples: 7}\n")
    assert all(w > 0 for w in runner.run(params).values())  # stage 00's section changed: everything after reruns


def test_a_rerun_upstream_makes_later_stages_stale(project):
    """Forcing stage 00 again (a retrained policy, say) must not leave 01 standing on the old outputs."""
    runner.run(project / "params" / "toy.yaml")
    assert runner.run(project / "params" / "toy.yaml", stages="00", force=True)["00_first"] > 0
    walls = runner.run(project / "params" / "toy.yaml")
    assert walls["00_first"] == 0.0 and walls["01_second"] > 0
    manifest = json.loads((project / "runs" / "toy" / "manifests" / "01_second.json").read_text())
    first = json.loads((project / "runs" / "toy" / "manifests" / "00_first.json").read_text())
    assert manifest["inputs"] == {"00_first": first["run_id"]}


def test_a_corrupted_manifest_is_named(project, capsys):
    runner.run(project / "params" / "toy.yaml")
    (project / "runs" / "toy" / "manifests" / "00_first.json").write_text('{"status": "o')
    assert cli(["run", str(project / "params" / "toy.yaml")]) == 2
    err = capsys.readouterr().err
    assert "00_first.json: stage manifest is not valid JSON" in err and "delete it to rerun" in err


@pytest.fixture
def pipeline(tmp_path):
    """Trivial notebooks numbered as the real stages, so the stage table's reads and dependencies apply."""
    (tmp_path / "params").mkdir()
    (tmp_path / "notebooks").mkdir()
    for stem in ("00_data", "01_sft", "02_reward_data", "03_reward_models", "04_sample", "05_score", "06_rerank",
                 "08_figures"):
        nbformat.write(notebook("x = 1"), tmp_path / "notebooks" / f"{stem}.ipynb")
    return tmp_path


def _rerun(project, text):
    f = project / "params" / "p.yaml"
    f.write_text(text)
    return sorted(k for k, w in runner.run(f).items() if w > 0)


@pytest.mark.parametrize("change, reran", [
    ("sample: {n: 8}", ["04_sample", "05_score", "06_rerank", "08_figures"]),
    ("sample: {temperature: 0.9}", ["04_sample", "05_score", "06_rerank", "08_figures"]),
    ("sample: {reward_n: 4}", ["02_reward_data", "03_reward_models", "05_score", "06_rerank", "08_figures"]),
    ("rerank: {resamples: 10}", ["06_rerank", "08_figures"]),
    ("reward: {epochs: 1}", ["03_reward_models", "05_score", "06_rerank", "08_figures"]),
    ("sft: {lr: 0.01}", ["01_sft", "02_reward_data", "03_reward_models", "04_sample", "05_score", "06_rerank",
                         "08_figures"]),
])
def test_a_change_reruns_the_stages_that_read_it_and_those_after_them(pipeline, change, reran):
    base = "data: {source: embedded}\n"
    assert len(_rerun(pipeline, base)) == 8
    assert _rerun(pipeline, base + change + "\n") == reran
