import pytest

from e2h.params import ParamsError, load_params
from conftest import ROOT


def write(tmp_path, text, name="run.yaml"):
    (tmp_path / "params").mkdir(exist_ok=True)
    path = tmp_path / "params" / name
    path.write_text(text)
    return path


def test_defaults_name_and_relative_paths(tmp_path):
    (tmp_path / "data").mkdir()
    p = load_params(write(tmp_path, "data:\n  data_dir: data\n  seed: 3\n"))
    assert p.name == "run"
    assert p.data.seed == 3 and p.data.source == "math"
    # Relative paths resolve against the project root (the folder above params/), not the cwd.
    assert p.data.data_dir == str((tmp_path / "data").resolve())
    assert p.run_dir == (tmp_path / "runs" / "run").resolve()


def test_unknown_key_names_file_key_and_allowed(tmp_path):
    path = write(tmp_path, "data:\n  sead: 3\n")
    with pytest.raises(ParamsError) as e:
        load_params(path)
    msg = str(e.value)
    assert str(path) in msg and "data.sead" in msg and "allowed keys" in msg and "seed" in msg
    assert "\n" not in msg


def test_unknown_top_level_key(tmp_path):
    with pytest.raises(ParamsError, match=r"datta: unknown key; allowed keys: .*data"):
        load_params(write(tmp_path, "datta: {}\n"))


@pytest.mark.parametrize("text, expected", [
    ("seed: three\n", r"seed: expected int, got str 'three'"),
    ("seed: 1.5\n", r"seed: expected int"),
    ("seed: true\n", r"seed: expected int, got True"),
    ("data:\n  source: mnist\n", r"data.source: 'mnist' is not allowed; expected one of 'math', 'embedded'"),
    ("data: [1, 2]\n", r"data: expected a mapping"),
    ("data:\n  max_train: many\n", r"data.max_train: expected int"),
])
def test_wrong_types_fail_with_the_key(tmp_path, text, expected):
    with pytest.raises(ParamsError, match=expected):
        load_params(write(tmp_path, text))


def test_missing_required_path(tmp_path):
    with pytest.raises(ParamsError, match=r"data.data_dir: folder .*nowhere.* does not exist"):
        load_params(write(tmp_path, "data:\n  data_dir: nowhere\n"))


def test_env_vars_expand_and_unset_ones_fail_clearly(tmp_path, monkeypatch):
    (tmp_path / "d").mkdir()
    monkeypatch.setenv("E2H_TEST_DIR", str(tmp_path / "d"))
    p = load_params(write(tmp_path, "data:\n  data_dir: ${E2H_TEST_DIR}\n"))
    assert p.data.data_dir == str(tmp_path / "d")
    monkeypatch.delenv("E2H_TEST_DIR")
    with pytest.raises(ParamsError, match="E2H_TEST_DIR is not set"):
        load_params(write(tmp_path, "data:\n  data_dir: ${E2H_TEST_DIR}\n"))
    p = load_params(write(tmp_path, "data:\n  data_dir: ${E2H_TEST_DIR:-d}\n"))
    assert p.data.data_dir == str((tmp_path / "d").resolve())


def test_bad_yaml_and_missing_file(tmp_path):
    with pytest.raises(ParamsError, match="not valid YAML"):
        load_params(write(tmp_path, "data: [\n"))
    with pytest.raises(ParamsError, match="params file not found"):
        load_params(tmp_path / "nope.yaml")


def test_digest_changes_with_params(tmp_path):
    (tmp_path / "data").mkdir()
    a = load_params(write(tmp_path, "data: {data_dir: data, seed: 1}\n"))
    b = load_params(write(tmp_path, "data: {data_dir: data, seed: 2}\n"))
    assert a.digest() != b.digest()
    assert a.digest() == load_params(write(tmp_path, "data: {data_dir: data, seed: 1}\n")).digest()


def test_overrides_win(tmp_path):
    (tmp_path / "data").mkdir()
    p = load_params(write(tmp_path, "data: {data_dir: data, seed: 1}\n"), overrides={"data": {"seed": 9}})
    assert p.data.seed == 9


@pytest.mark.parametrize("path", sorted((ROOT / "params").glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_params_files_validate(path, data_dir, monkeypatch):
    monkeypatch.setenv("E2H_DATA_DIR", str(data_dir))
    assert load_params(path).name == path.stem


def test_math_source_falls_back_to_env_and_embedded_needs_no_data(tmp_path, monkeypatch):
    monkeypatch.delenv("E2H_DATA_DIR", raising=False)
    with pytest.raises(ParamsError, match="data.data_dir: required when data.source is 'math'"):
        load_params(write(tmp_path, "data: {source: math}\n"))
    assert load_params(write(tmp_path, "data: {source: embedded}\n")).data.data_dir is None
    monkeypatch.setenv("E2H_DATA_DIR", str(tmp_path))
    assert load_params(write(tmp_path, "data: {source: math}\n")).data.data_dir == str(tmp_path)


def test_floats_written_without_a_dot_are_read(tmp_path):
    p = load_params(write(tmp_path, "data: {source: embedded}\nsft: {lr: 2e-5}\n"))
    assert p.sft.lr == 2e-5
    with pytest.raises(ParamsError, match=r"sft.lr: expected float, got str 'fast'"):
        load_params(write(tmp_path, "data: {source: embedded}\nsft: {lr: fast}\n"))


def test_a_field_added_later_keeps_old_digests_at_its_default(tmp_path):
    import dataclasses
    import hashlib
    import json

    p = load_params(write(tmp_path, "data: {source: embedded}\n"))
    # the digest a run made before data.task_width, weights, workers, the dev split, exact ties, size-matched
    # references and the rl section existed recorded: the same dict without them
    old = {k: v for k, v in p.to_dict().items() if k not in ("weights", "workers", "rl")}
    old["data"] = {k: v for k, v in old["data"].items() if k not in ("task_width", "task_dev", "eval_split")}
    old["rerank"] = {k: v for k, v in old["rerank"].items() if k != "ties"}
    old["reward"] = {k: v for k, v in old["reward"].items() if k != "match_full_size"}
    assert p.digest() == hashlib.sha256(json.dumps(old, sort_keys=True, default=str).encode()).hexdigest()[:16]
    wide = dataclasses.replace(p, data=dataclasses.replace(p.data, task_width=2))
    assert wide.digest() != p.digest() and wide.digest(["data"]) != p.digest(["data"])
    assert wide.digest(["model"]) == p.digest(["model"])
    rl = dataclasses.replace(p, rl=dataclasses.replace(p.rl, seeds=[0, 1]))
    assert rl.digest() != p.digest() and rl.digest(["data"]) == p.digest(["data"])


@pytest.mark.parametrize("text, expected", [
    ("rl: {seeds: [0, 0]}\n", r"rl.seeds: \[0, 0\]; expected a non-empty list without repeats"),
    ("rl: {methods: []}\n", r"rl.methods: \[\]; expected a non-empty list"),
    ("rl: {methods: [ppo]}\n", r"rl.methods\[0\]: 'ppo' is not allowed"),
    ("rl: {ppo: {rollouts: 100, batch_size: 64}}\n", r"rl.ppo.rollouts: 100 is not a multiple of batch_size 64"),
    ("rl: {dpo: {prm_scale: log}}\n", r"rl.dpo.prm_scale: 'log' is not allowed"),
    ("rl: {ppo: {prm_levels: [0, 4]}}\n", r"rl.ppo.prm_levels\[0\]: 0 is out of range"),
    ("rl: {rest_em: {min_precision: 0}}\n", r"rl.rest_em.min_precision: 0.0 is out of range"),
    ("rl: {ppo: {penalty: 0.5}}\n", r"rl.ppo.penalty: 0.5 is out of range"),
])
def test_bad_rl_settings_name_the_key(tmp_path, text, expected):
    with pytest.raises(ParamsError, match=expected):
        load_params(write(tmp_path, "data: {source: embedded}\n" + text))
