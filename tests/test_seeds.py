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


def test_across_seeds_takes_the_seed_as_the_unit():
    import pandas as pd
    import pytest

    from e2h.stages.s06_rerank import across_seeds

    rows = [{"metric": "weighted − majority", "rm": "prm", "agg": "prod", "group": "hard", "mean": m}
            for m in (0.01, 0.02, 0.03)] + \
           [{"metric": "weighted − majority", "rm": "orm", "agg": "any", "group": "hard", "mean": m}
            for m in (-0.01, 0.0, 0.04)]
    t = across_seeds(pd.DataFrame(rows)).set_index("rm")
    prm = t.loc["prm"]
    assert prm["runs"] == 3 and prm["mean"] == pytest.approx(0.02) and prm["above_zero"] == 3
    half = 4.302653 * 0.01 / 3 ** 0.5  # t(0.975, 2 degrees of freedom) × sd / sqrt(3), by hand
    assert (prm["t_lo"], prm["t_hi"]) == pytest.approx((0.02 - half, 0.02 + half), abs=1e-6)
    assert 0.01 <= prm["boot_lo"] <= prm["boot_hi"] <= 0.03
    assert t.loc["orm"]["above_zero"] == 1


def test_pooled_from_summaries_matches_resampling_the_union_of_problems():
    """Run folders are lost with the machine; the pooled interval combined from each run's own interval must be
    the one a bootstrap of all their problems together gives (stratified by run)."""
    import numpy as np
    import pandas as pd
    import pytest

    from e2h.stages.s06_rerank import pooled_from_summaries

    rng = np.random.default_rng(0)
    runs = [rng.choice([-1.0, 0.0, 1.0], p=p, size=size) for p, size in
            (([0.1, 0.6, 0.3], 300), ([0.3, 0.6, 0.1], 300), ([0.05, 0.9, 0.05], 120))]

    def boot(x, b=4000):
        means = rng.choice(x, size=(b, len(x))).mean(1)
        return np.quantile(means, [0.025, 0.975])

    rows = [{"metric": "weighted − majority", "rm": "prm", "agg": "prod", "group": "hard", "mean": x.mean(),
             "lo": lo, "hi": hi, "problems": len(x)} for x, (lo, hi) in ((x, boot(x)) for x in runs)]
    got = pooled_from_summaries(pd.DataFrame(rows)).iloc[0]
    union = np.concatenate(runs)
    # stratified by run, as the runs' problems are: each run's share of problems is fixed
    strata = np.stack([rng.choice(x, size=(4000, len(x))).sum(1) for x in runs]).sum(0) / len(union)
    lo, hi = np.quantile(strata, [0.025, 0.975])
    assert got["runs"] == 3 and got["problems"] == 720
    assert got["mean"] == pytest.approx(union.mean())
    assert (got["lo"], got["hi"]) == pytest.approx((lo, hi), abs=0.006)  # within Monte Carlo error
    assert got["hi"] - got["lo"] < min(r["hi"] - r["lo"] for r in rows)  # more problems, a narrower interval


def test_a_seed_can_build_its_own_base(tmp_path):
    raw = yaml.safe_load((ROOT / "params" / "default-train.yaml").read_text())
    raw["runs_dir"] = str(tmp_path / "runs")
    raw["model"]["base"] = str(ROOT / "weights" / "base")
    src = tmp_path / "default-train.yaml"
    src.write_text(yaml.safe_dump(raw))
    shared, own = load_params(seed_params_file(src, 3)), load_params(seed_params_file(src, 4, ROOT / "params" /
                                                                                      "base.yaml"))
    assert shared.model.base == str(ROOT / "weights" / "base")
    assert own.model.base == "tiny" and own.model.tiny_pretrain_docs == 20000 and own.seed == 4


def test_summarize_reads_every_seed_summary_in_the_folder_and_draws_its_figures(tmp_path):
    import pandas as pd

    from e2h.seeds import summarize

    def summary(run: str, majority: float, gain: float) -> pd.DataFrame:
        rows = [{"run": run, "metric": "majority accuracy", "rm": "", "agg": "", "group": "hard", "n": 32,
                 "mean": majority, "lo": majority - 0.05, "hi": majority + 0.05, "problems": 300}]
        for metric, agg in (("weighted − majority", "prod"), ("best_of_n − majority", "min")):
            rows.append({"run": run, "metric": metric, "rm": "prm", "agg": agg, "group": "hard", "n": 32,
                         "mean": gain, "lo": gain - 0.03, "hi": gain + 0.03, "problems": 300})
        return pd.DataFrame(rows)

    for i, (maj, gain) in enumerate([(0.3, 0.10), (0.5, 0.04), (0.9, -0.01)]):
        summary(f"protocol-seed{1000 + i}", maj, gain).to_csv(tmp_path / f"protocol-seed{1000 + i}.csv", index=False)
    (tmp_path / "other-seed1.csv").write_text("not a summary of this study\n")
    table = summarize(tmp_path, "protocol", tmp_path / "figures").set_index(["metric", "rm"])
    row = table.loc[("weighted − majority", "prm")]
    assert row["runs"] == 3 and abs(row["mean"] - 0.13 / 3) < 1e-12 and row["above_zero"] == 2
    assert (tmp_path / "across_seeds.csv").is_file()
    assert (tmp_path / "figures" / "protocol_policy_strength.png").stat().st_size > 10_000
    assert (tmp_path / "figures" / "protocol_across_seeds.png").stat().st_size > 10_000
