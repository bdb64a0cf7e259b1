"""The weights the default run re-ranks with: present, intact, from the params file that trains them, and usable."""

import pytest

from conftest import ROOT
from e2h import weights
from e2h.stages.shipping import export
from e2h.params import load_params
from e2h.models.scorer import RewardScorer
from e2h.embedded_task import generate

SHIPPED = ROOT / "weights" / "default"


def test_the_default_run_uses_intact_weights_made_by_its_training_params():
    p = load_params(ROOT / "params" / "default.yaml")
    assert p.weights == str(SHIPPED) and p.stages == "00,04-08"
    manifest = weights.verify(SHIPPED)  # every file against its SHA-256
    assert manifest["params_file"] == "params/default-train.yaml"
    assert manifest["made_by"] == "python -m e2h weights params/default-train.yaml weights/default"
    assert set(manifest["models"]) == {"sft", *(f"rm/{k}" for k in p.score.rms)}
    train = load_params(ROOT / "params" / "default-train.yaml")
    assert train.data == p.data  # the default's test problems are those the weights were trained for
    assert sum(f["bytes"] for f in manifest["files"].values()) < 20e6  # a few MB, fit for git


def test_a_shipped_prm_scores_every_step():
    width = load_params(ROOT / "params" / "default.yaml").data.task_width
    problem = generate({4: 1}, split="test", seed=0, width=width)[0]
    scorer = RewardScorer(SHIPPED / "rm" / "prm")
    [scores] = scorer.score([problem["problem"]], [problem["solution"]])
    assert len(scores) == 4 and all(0.0 < s < 1.0 for s in scores)


def test_export_refuses_a_run_whose_training_stages_have_not_run(tmp_path):
    (tmp_path / "params").mkdir()
    path = tmp_path / "params" / "x.yaml"
    path.write_text(f"runs_dir: {tmp_path / 'runs'}\ndata: {{source: embedded}}\n")
    (tmp_path / "runs" / "x" / "manifests").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match=r"stage\(s\) 00_data, 01_sft, 02_reward_data, 03_reward_models have"):
        export(path, tmp_path / "weights" / "x")
    assert not (tmp_path / "weights" / "x").exists()
