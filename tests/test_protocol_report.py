"""The protocol's results tables (scripts/protocol_report.py) use the words docs/protocol.md allows, no stronger."""

import pandas as pd
import pytest

from conftest import load_script


@pytest.fixture(scope="module")
def report():
    return load_script("scripts/protocol_report.py")


def summaries(tmp_path, prm_gains):
    for i, gain in enumerate(prm_gains):
        run = f"protocol-seed{1000 + i}"
        pd.DataFrame([
            {"run": run, "metric": "majority accuracy", "rm": "", "agg": "", "group": "hard", "n": 32, "mean": 0.3,
             "lo": 0.25, "hi": 0.35, "problems": 300},
            {"run": run, "metric": "weighted − majority", "rm": "prm", "agg": "prod", "group": "hard", "n": 32,
             "mean": gain, "lo": gain - 0.05, "hi": gain + 0.05, "problems": 300},
        ]).to_csv(tmp_path / f"{run}.csv", index=False)
    return tmp_path


@pytest.mark.parametrize("gains, word", [
    ([0.05] * 9 + [-0.01], "robust"),                               # 9 of 10 above zero, interval above zero
    ([0.08] * 8 + [-0.01, -0.02], "helps across seeds"),            # interval above zero, only 8 above
    ([0.05, -0.05] * 5, "not shown (the interval holds zero)"),
    ([-0.05] * 10, "below majority across seeds"),
    ([0.05] * 9, "no claim (9 of 10 seeds)"),                       # a seed missing: no word yet
])
def test_the_words_follow_the_protocol(report, tmp_path, gains, word):
    table = report.across(report.load_summaries(summaries(tmp_path, gains)))
    prm = [line for line in table.splitlines() if line.startswith("| weighted voting, PRM (levels 1-3)")]
    assert len(prm) == 1 and prm[0].rstrip(" |").endswith(word)


def test_per_seed_rows_name_the_base_and_the_interval(report, tmp_path):
    table = report.per_seed(report.load_summaries(summaries(tmp_path, [0.05, -0.01, 0.02])))
    rows = table.splitlines()[2:]
    assert [r.split(" | ")[:3] for r in rows] == [["| 1000", "own", "30.0"], ["| 1001", "own", "30.0"],
                                                  ["| 1002", "shared", "30.0"]]
    assert "−1.0 [−6.0, +4.0]" in rows[1]


def test_across_rows_carry_the_pooled_interval_and_accuracies_stay_in_range(report, tmp_path):
    table = report.across(report.load_summaries(summaries(tmp_path, [0.05, -0.01, 0.02])))
    prm = next(line for line in table.splitlines() if line.startswith("| weighted voting, PRM (levels 1-3)"))
    # three runs of 300 problems, each ±5 points: pooled mean +2.0, half-width 5 / sqrt(3)
    assert "| +2.0 [−0.9, +4.9] |" in prm
    majority = next(line for line in table.splitlines() if line.startswith("majority accuracy"))
    assert "range 30.0-30.0%" in majority and "t-interval" not in majority


def test_pooled_check_sets_the_resampled_interval_beside_the_combined_one(report, tmp_path):
    runs = report.load_summaries(summaries(tmp_path, [0.05, -0.01, 0.02]))
    resampled = pd.DataFrame([{"run": r, "method": "weighted", "rm": "prm", "agg": "prod", "group": "hard",
                               "mean": m, "lo": m - 0.03, "hi": m + 0.03}
                              for r, m in (("protocol-seed1000", 0.05), ("protocol-seed1001", -0.01),
                                           ("pooled", 0.02))])
    lines = report.pooled_check(runs, resampled).splitlines()
    assert "protocol-seed1000, protocol-seed1001" in lines[0] and "1002" not in lines[0]  # the seeds resampled only
    # the combination over the same two seeds: mean +2.0, half-width 5 / sqrt(2)
    assert lines[2] == "- weighted voting, PRM (levels 1-3), prod: +2.0 [−1.0, +5.0] | +2.0 [−1.5, +5.5]"


def test_auroc_beside_gain_reads_each_group_and_leaves_a_missing_reward_model_blank(report, tmp_path):
    folder = summaries(tmp_path, [0.2, 0.0])
    for run, easy in (("protocol-seed1000", 0.8), ("protocol-seed1001", 0.55)):
        f = folder / f"{run}.csv"
        extra = pd.DataFrame([{"run": run, "metric": "within-problem AUROC", "rm": "prm", "agg": "min",
                               "group": group, "n": 32, "mean": m, "lo": m - 0.04, "hi": m + 0.04, "problems": 100}
                              for group, m in (("easy", easy), ("hard", 0.5))])
        pd.concat([pd.read_csv(f), extra]).to_csv(f, index=False)
    rows = report.auroc_beside_gain(report.load_summaries(folder)).splitlines()[2:]
    assert rows[0] == "| 1000 | +20.0 [+15.0, +25.0] | 0.80 [0.76, 0.84] | 0.50 [0.46, 0.54] | — | — | — |"
    assert rows[1].startswith("| 1001 | +0.0 [−5.0, +5.0] | 0.55 [0.51, 0.59] |")
