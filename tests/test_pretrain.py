"""The tiny base's pretraining on arithmetic facts (stage 01, before SFT)."""

import json

import pytest

from e2h.models import load_model
from e2h.params import load_params
from e2h.stages.s01_policy import base_model_path

from conftest import ROOT


def test_pretrained_base_replaces_the_random_one_and_learned(tmp_path):
    p = load_params(ROOT / "params" / "smoke.yaml", {
        "runs_dir": str(tmp_path), "model": {"tiny_pretrain_docs": 256, "tiny_pretrain_epochs": 4},
        "sft": {"lr": 3e-3, "batch_size": 32, "micro_batch_size": 32}})
    path = base_model_path(p, ["# Question\n\nCompute 9 - 2 - 3.\n\n# Solution\n\n9 - 2 = 7\n\n7 - 3 = 4"])
    assert sorted(x.name for x in tmp_path.joinpath("smoke").iterdir()) == ["base"]  # no random init left over
    info = json.loads((tmp_path / "smoke" / "base" / "e2h_pretrain.json").read_text())
    assert (info["documents"], info["epochs"]) == (256, 4)
    losses = json.loads((tmp_path / "smoke" / "base" / "losses.json").read_text())["loss"]
    assert len(losses) == 4 * 256 // 32
    assert sum(losses[-4:]) / 4 < sum(losses[:4]) / 4 - 1.0
    model, tok = load_model(path)
    assert tok.decode(tok("12 - 3 = 9").input_ids, skip_special_tokens=True) == "12 - 3 = 9"
    # A second call reuses the pretrained base instead of building another.
    assert base_model_path(p) == path


def test_a_base_built_for_other_settings_is_rebuilt_not_reused(tmp_path):
    """Changing model.* reruns stage 01 (its digest); the base it trains from must follow, not stay the old one."""
    texts = ["# Question\n\nCompute 9 - 2 - 3.\n\n# Solution\n\n9 - 2 = 7\n\n7 - 3 = 4"]
    small = load_params(ROOT / "params" / "smoke.yaml", {"runs_dir": str(tmp_path), "model": {"tiny_pretrain_docs": 0}})
    path = base_model_path(small, texts)
    assert load_model(path)[0].config.num_hidden_layers == 1
    deeper = load_params(ROOT / "params" / "smoke.yaml", {"runs_dir": str(tmp_path),
                                                          "model": {"tiny_pretrain_docs": 0, "tiny_layers": 2}})
    with pytest.raises(FileNotFoundError, match="no tiny base built for these params"):
        base_model_path(deeper)  # stage 03 cannot rebuild it (no texts): refused, not reused
    assert base_model_path(deeper, texts) == path
    assert load_model(path)[0].config.num_hidden_layers == 2
    assert sorted(x.name for x in tmp_path.joinpath("smoke").iterdir()) == ["base"]
    assert base_model_path(deeper, texts + ["more text"]) == path  # other texts: another tokenizer, rebuilt
    assert json.loads((tmp_path / "smoke" / "base" / "e2h_base.json").read_text())["texts"] is not None
