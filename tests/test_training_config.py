"""Paper-scale params files and SFT data sources."""

from pathlib import Path

import pytest
import yaml

from e2h.format import STEP_SEP, split_steps
from e2h.params import load_params

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name,lr", [("7b", 2e-5), ("34b", 1e-5)])
def test_paper_params_files(name, lr, tmp_path, monkeypatch):
    from accelerate.commands.config.config_args import load_config_from_file

    monkeypatch.setenv("E2H_DATA_DIR", str(tmp_path))
    p = load_params(ROOT / "params" / f"{name}.yaml")
    assert p.model.base == f"EleutherAI/llemma_{name}"
    for sec in (p.sft, p.reward):
        assert sec.lr == lr and sec.batch_size == 128 and sec.freeze_embeddings_and_norms
        assert sec.mixed_precision == "bf16"
        acc = load_config_from_file(sec.accelerate_config)
        assert acc.distributed_type == "FSDP" and acc.num_processes == sec.num_processes == 8
        assert acc.fsdp_config["fsdp_use_orig_params"]  # frozen parameters under FSDP
        assert (sec.batch_size // sec.num_processes) % sec.micro_batch_size == 0
    assert (p.sft.epochs, p.sft.max_length, p.reward.epochs) == (3, 768, 2)
    assert p.reward.init_from is None  # reward models start from the base model


def _params(tmp_path, data_dir, **sft):
    path = tmp_path / "params" / "t.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(yaml.safe_dump({"runs_dir": str(tmp_path / "runs"), "sft": sft,
                                    "data": {"source": "math", "data_dir": str(data_dir), "max_train": 40,
                                             "max_test": 5, "val_size": 5}}))
    return load_params(path)


def test_sft_from_math_reference_solutions(tmp_path, data_dir):
    from e2h.stages.s00_data import build_splits, load_split
    from e2h.stages.s01_policy import sft_records

    p = _params(tmp_path, data_dir)
    build_splits(p)
    recs = sft_records(p)
    easy = [r for r in load_split(p.run_dir, "train") if r["level"] in (1, 2, 3)]
    assert 0 < len(recs) <= len(easy)
    for r in recs:
        steps = split_steps(r["solution"])
        assert r["eos"] and "\n\n# Answer\n\n" in steps[-1]
    full = sft_records(_params(tmp_path, data_dir, levels=[1, 2, 3, 4, 5]))
    assert len(full) > len(recs)


def test_sft_from_prm800k_good_steps(tmp_path, data_dir):
    from e2h.data.prm800k import load_prm800k_train
    from e2h.stages.s01_policy import sft_records

    f = str(data_dir / "openr_prm800k_samples" / "samples_prm800k.jsonl")
    recs = sft_records(_params(tmp_path, data_dir, source="prm800k", source_files=[f]))
    raw = [r for r in load_prm800k_train([f], data_dir) if r["sft_steps"]]
    assert len(recs) == len(raw) >= 1
    for r, src in zip(recs, raw):
        whole = len(src["sft_steps"]) == len(src["steps"])
        assert r["eos"] == whole
        assert r["solution"] == STEP_SEP.join(src["sft_steps"]) + ("" if whole else STEP_SEP)
    with pytest.raises(ValueError, match="source_files"):
        sft_records(_params(tmp_path, data_dir, source="metamath"))
