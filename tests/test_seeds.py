"""The seeds run: the same params under another seed, in a folder of its own."""

import yaml

from conftest import ROOT
from e2h.params import load_params
from e2h.seeds import SEED_KEYS, seed_params_file


def test_seed_params_file_changes_every_seed_and_nothing_else(tmp_path):
    raw = yaml.safe_load((ROOT / "params" / "default-train.yaml").read_text())
    raw["runs_dir"] = str(tmp_path / "runs")
    src = tmp_path / "default-train.yaml"
    src.write_text(yaml.safe_dump(raw))
    out = seed_params_file(src, 7)
    assert out == tmp_path / "runs" / "default-train-seeds" / "default-train-seed7.yaml"
    base, p = load_params(src), load_params(out)
    assert p.name == "default-train-seed7" and p.run_dir == tmp_path / "runs" / "default-train-seed7"
    assert p.figures_dir == str(p.run_dir / "figures")  # the main run's figures are not overwritten
    a, b = base.to_dict(), p.to_dict()
    for path in SEED_KEYS:
        da, db = a, b
        for key in path[:-1]:
            da, db = da[key], db[key]
        assert db[path[-1]] == 7
        da[path[-1]] = db[path[-1]] = None
    assert b["rl"]["seeds"] == [7]  # stage 07 trains once per method, under the run's seed
    a["rl"]["seeds"] = b["rl"]["seeds"] = None
    for key in ("name", "runs_dir", "figures_dir"):
        a.pop(key), b.pop(key)
    assert a == b
