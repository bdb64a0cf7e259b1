"""Re-examining a choice on dev data (scripts/dev_variant_study.py): one key changed on a dev run, only the
stages that read it rerun, test seeds refused."""

import pytest
import yaml

from conftest import ROOT, load_script
from e2h.params import load_params


@pytest.fixture(scope="module")
def study():
    return load_script("scripts/dev_variant_study.py")


@pytest.fixture
def dev_run(tmp_path):
    from e2h.seeds import dev_seed_params

    raw = dev_seed_params(ROOT / "params" / "protocol.yaml", 102, "strength-seed102-target0.5")
    raw.update(runs_dir=str(tmp_path / "runs"), figures_dir=None)
    path = tmp_path / "dev.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def test_values_are_read_as_yaml_and_a_bare_word_is_refused(study):
    assert study.parse_sets(["reward.init_from=sft", "reward.epochs=4", "reward.init_from=null"]) == {
        "reward.init_from": None, "reward.epochs": 4}
    with pytest.raises(ValueError, match="KEY=VALUE"):
        study.parse_sets(["reward.init_from"])


def test_the_variant_differs_from_its_dev_run_in_the_changed_key_and_its_name_only(study, dev_run):
    ref = load_params(dev_run)
    var = load_params(study.variant_params(dev_run, {"reward.init_from": "sft"}, "init-sft"))
    assert var.reward.init_from == "sft" and var.name == "strength-seed102-target0.5-init-sft"
    a, b = ref.to_dict(), var.to_dict()
    a["reward"].pop("init_from"), b["reward"].pop("init_from"), a.pop("name"), b.pop("name")
    assert a == b
    assert var.run_dir.parent == ref.run_dir.parent


def test_only_the_stages_that_read_a_reward_key_rerun(study, dev_run):
    """The study's pairing rests on this: the variant's pool is the reference's samples, scored again."""
    from e2h.runner import list_stages, stage_digest

    ref = load_params(dev_run)
    var = load_params(study.variant_params(dev_run, {"reward.init_from": "sft"}, "init-sft"))
    changed = {nb.stem for nb in list_stages(ROOT / "notebooks") if stage_digest(ref, nb) != stage_digest(var, nb)}
    assert {"03_reward_models"} <= changed
    assert not changed & {"00_data", "01_sft", "02_reward_data", "04_sample"}


def test_test_runs_unknown_keys_no_change_and_bad_values_are_refused(study, dev_run, tmp_path):
    with pytest.raises(ValueError, match="not a dev run"):
        study.variant_params(ROOT / "params" / "protocol.yaml", {"reward.init_from": "sft"}, "x")
    with pytest.raises(ValueError, match="'reward.nope'"):
        study.variant_params(dev_run, {"reward.nope": 1}, "x")
    with pytest.raises(ValueError, match="already"):
        study.variant_params(dev_run, {"reward.init_from": None}, "x")
    with pytest.raises(Exception, match="epochs"):
        study.variant_params(dev_run, {"reward.epochs": -1}, "bad")
    assert not list((tmp_path / "runs" / "dev-variants").glob("*bad*.yaml"))  # nothing left behind
