"""Whole runs through the runner: the embedded smoke settings and the paper's path on the real MATH files."""

import pandas as pd
import pytest
import yaml

from conftest import ROOT
from e2h import runner
from e2h.stages.s06_rerank import pooled_differences, run_summary
from e2h.pool import read_pool


def copy_params(tmp_path, name):
    """The shipped params file, with its runs redirected into tmp_path (its figures go to its run folder)."""
    params = yaml.safe_load((ROOT / "params" / f"{name}.yaml").read_text())
    params.update(runs_dir=str(tmp_path / "runs"))
    (tmp_path / "params").mkdir()
    path = tmp_path / "params" / f"{name}.yaml"
    path.write_text(yaml.safe_dump(params))
    return path


def check_run(tmp_path, name, rms):
    stages = [s.stem for s in runner.list_stages(ROOT / "notebooks")]
    project_figures = {p.name: p.stat().st_mtime_ns for p in (ROOT / "figures").iterdir()}
    walls = runner.run(copy_params(tmp_path, name), notebooks_dir=ROOT / "notebooks")
    # Only the main job refreshes the project's figures/: this run's figures stay in its run folder.
    assert {p.name: p.stat().st_mtime_ns for p in (ROOT / "figures").iterdir()} == project_figures
    assert list(walls) == stages and all(w > 0 for w in walls.values())
    run_dir = tmp_path / "runs" / name
    pool = read_pool(run_dir / "pool" / "scored.parquet")  # validates the pool contract
    assert {f"scores_{rm}" for rm in rms} <= set(pool.columns) and "answer_key" in pool.columns
    curves = pd.read_parquet(run_dir / "rerank" / "curves.parquet")
    assert {"majority", "best_of_n", "weighted"} <= set(curves.method)
    assert set(curves.rm) - {""} == set(rms)
    figures = {p.name for p in (run_dir / "figures").iterdir()}
    assert f"{name}_accuracy_vs_n.png" in figures and f"{name}_accuracy_vs_n.pdf" in figures
    # A second run finds every stage done under the same params and skips it.
    assert set(runner.run(tmp_path / "params" / f"{name}.yaml", notebooks_dir=ROOT / "notebooks").values()) == {0.0}
    return run_dir


def test_smoke_runs_every_stage_of_the_embedded_pipeline(tmp_path):
    run_dir = check_run(tmp_path, "smoke", ["prm", "orm", "oprm", "prm_all"])
    assert (run_dir / "sft" / "config.json").is_file() and (run_dir / "rm" / "oprm" / "config.json").is_file()
    # Stage 02 sampled hard training problems for the reference; the easy-trained PRM never saw them.
    levels = pd.read_parquet(run_dir / "reward_data" / "samples.parquet")["level"]
    assert set(levels) == {1, 2, 3, 4, 5}
    meta = pd.read_json(run_dir / "rm" / "prm" / "e2h_reward.json", typ="series")
    assert list(meta["levels"]) == [1, 2, 3]
    assert (run_dir / "base" / "e2h_pretrain.json").is_file()
    # The checker's step labels reach the test pool for the step AUROC, and the seeds summary pools runs.
    pool = read_pool(run_dir / "pool" / "scored.parquet")
    assert pool.step_labels.map(len).tolist() == pool.scores_prm.map(len).tolist()
    assert "step" in set(pd.read_parquet(run_dir / "rerank" / "auroc.parquet")["kind"])
    diff = pooled_differences({"a": run_dir, "b": run_dir}, ties="expected", resamples=20)
    assert set(diff.run) == {"a", "b", "pooled"}
    orm = diff[(diff.rm == "orm") & (diff.method == "weighted")]
    assert set(orm["agg"]) == {"any"} and set(orm.run) == {"a", "b", "pooled"}  # one outcome score, one row
    # (a PRM whose aggregators all give the same numbers, as a smoke run's can, is merged into "any" too)
    one = diff[(diff.method == "weighted") & (diff.rm == "prm") & diff["agg"].isin(["prod", "any"])
               & (diff.group == "hard")]
    assert len(one) == 3 and (one.lo <= one["mean"]).all() and (one["mean"] <= one.hi).all()
    summary = run_summary(run_dir, "a")
    assert {"majority accuracy", "single accuracy", "pass@n accuracy", "weighted − majority", "best_of_n − majority",
            "within-problem AUROC"} <= set(summary.metric)
    assert set(summary[summary.metric == "weighted − majority"].rm) == {"prm", "orm", "oprm", "prm_all"}


@pytest.mark.slow
def test_math_tiny_runs_every_stage_on_the_real_math_files(tmp_path, data_dir, monkeypatch):
    monkeypatch.setenv("E2H_DATA_DIR", str(data_dir))
    run_dir = check_run(tmp_path, "math-tiny", ["prm"])
    test = pd.read_json(run_dir / "data" / "test.jsonl", lines=True)
    assert len(test) == 15 and test.unique_id.str.startswith("test/").all()


def test_shipped_weights_replace_the_training_stages(tmp_path):
    """The smoke run's models, exported with their manifest, drive a run that trains nothing (as the default)."""
    from e2h import weights
    from e2h.stages.shipping import export

    run_dir = check_run(tmp_path, "smoke", ["prm", "orm", "oprm", "prm_all"])
    folder = export(tmp_path / "params" / "smoke.yaml", tmp_path / "weights" / "smoke")
    manifest = weights.verify(folder)
    assert manifest["models"] == ["rm/oprm", "rm/orm", "rm/prm", "rm/prm_all", "sft"]
    assert set(manifest["stages"]) == {"00_data", "01_sft", "02_reward_data", "03_reward_models"}
    assert all(s["wall_seconds"] > 0 for s in manifest["stages"].values())
    assert {"sft/model.safetensors", "rm/prm/e2h_reward.json"} <= set(manifest["files"])
    assert not list(tmp_path.glob("weights/.smoke.*"))  # no half-written folder left beside it

    params = yaml.safe_load((tmp_path / "params" / "smoke.yaml").read_text())
    params.update(name="shipped", weights=str(folder), stages="00,04-06,08")
    (tmp_path / "params" / "shipped.yaml").write_text(yaml.safe_dump(params))
    walls = runner.run(tmp_path / "params" / "shipped.yaml", notebooks_dir=ROOT / "notebooks")
    assert list(walls) == ["00_data", "04_sample", "05_score", "06_rerank", "08_figures"]
    shipped = tmp_path / "runs" / "shipped"
    assert not (shipped / "sft").exists() and not (shipped / "rm").exists()
    pool, own = read_pool(shipped / "pool" / "scored.parquet"), read_pool(run_dir / "pool" / "scored.parquet")
    assert pool.problem_id.tolist() == own.problem_id.tolist()  # same test problems as the run that trained them
    assert {"scores_prm", "scores_prm_all"} <= set(pool.columns)

    (folder / "rm" / "prm" / "model.safetensors").write_bytes(b"not the shipped tensors")
    with pytest.raises(ValueError, match="SHA-256 differs"):
        weights.verify(folder)
