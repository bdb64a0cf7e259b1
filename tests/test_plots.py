"""Figures carry title, axis labels, N, B and the interval; they save as PNG and PDF; paper numbers are data."""

import pytest

from e2h import paper_results, plots
from e2h.rerank import resample
from e2h.rerank.quality import evaluator_auroc
from e2h.rerank.synthetic import synthetic_pool


@pytest.fixture(scope="module")
def tables():
    pool = synthetic_pool(20, 16, seed=3)
    res = resample(pool, resamples=30, progress=False, aggs=("min", "prod"))
    return res.table(), res.differences(), evaluator_auroc(pool, resamples=10, progress=False)


def texts(fig):
    axes = [ax for ax in fig.axes if ax.get_visible()]
    return fig._suptitle.get_text() if fig._suptitle else "", axes


def test_accuracy_vs_n_names_its_interval_and_draws(tables, tmp_path):
    curves, _, _ = tables
    paper = plots.paper_rows(paper_results.reranking(), rms=["prm", "orm"])
    fig = plots.plot_accuracy_vs_n(curves, curves=plots.main_curves(curves), paper=paper)
    title, axes = texts(fig)
    assert "B = 30" in title and "95% problems+subsets" in title
    assert [ax.get_title() for ax in axes] == ["all (20 problems)", "easy (12 problems)", "hard (8 problems)"]
    assert all(ax.get_xlabel().startswith("N (samples per problem") and ax.get_ylabel() == "accuracy" for ax in axes)
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "weighted (prm, prod)" in labels and "paper 7b+7b: weighted (prm, prod)" in labels
    png, pdf = plots.save_figure(fig, tmp_path / "figs", "curves")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and pdf.read_bytes()[:5] == b"%PDF-"
    with pytest.raises(ValueError, match="not in the table"):
        plots.plot_accuracy_vs_n(curves, curves=["weighted (oprm, prod)"])


def test_level_bars_overoptimization_and_auroc_figures(tables, tmp_path):
    curves, differences, auroc = tables
    fig = plots.plot_levels(curves, curves=["majority", "weighted (prm, prod)"])
    ax = fig.axes[0]
    assert "N = 16" in ax.get_title() and "B = 30" in ax.get_title() and ax.get_xlabel() == "MATH level"
    assert ax.get_ylabel() == "accuracy at N = 16" and len(ax.get_xticklabels()) == 5
    fig = plots.plot_overoptimization(differences)
    title, axes = texts(fig)
    assert "below majority" in title and "B = 30" in title and axes[0].get_ylabel() == "accuracy − majority, points"
    fig = plots.plot_auroc(auroc)
    assert "B = 10" in fig._suptitle.get_text() and fig.axes[0].get_ylabel().startswith("AUROC")
    assert len(plots.save_figure(fig, tmp_path, "auroc")) == 2


def test_paper_numbers_are_data_with_sources():
    rr = paper_results.reranking()
    assert set(rr.columns) >= {"setting", "method", "rm", "agg", "group", "n", "accuracy", "source"}
    assert rr["accuracy"].between(0, 1).all() and rr["source"].str.len().gt(20).all()
    oprm = rr[(rr.setting == "34b+34b") & (rr.rm == "oprm") & (rr.group == "all")]
    assert oprm["accuracy"].tolist() == [0.5245]
    assert paper_results.prm800k_curve().set_index("n").loc[1860, "accuracy"] == 0.782
    g = paper_results.greedy()
    assert g[(g.method == "PPO+PRM") & (g.setting == "7b PRM800K") & (g.group == "hard")]["accuracy"].item() == 0.141


def test_auroc_figure_leaves_out_levels_without_both_labels(tables):
    _, _, auroc = tables
    undefined = auroc.copy()
    one_label = undefined["group"].isin(["level 4", "level 5"])
    undefined.loc[one_label, ["auroc", "lo", "hi"]] = float("nan")  # e.g. no right answer at all on hard levels
    ax = plots.plot_auroc(undefined).axes[0]
    assert [t.get_text().split("\n")[0] for t in ax.get_xticklabels()] == ["1", "2", "3"]
    undefined["auroc"] = float("nan")
    with pytest.raises(ValueError, match="undefined at every level"):
        plots.plot_auroc(undefined)


def test_slip_figure_names_what_it_shows(tmp_path):
    import pandas as pd

    slips = pd.DataFrame([{"group": g, "slip": s, "rm": rm, "auroc": 0.5 + 0.1 * i, "pairs": 10 * (i + 1)}
                          for g in ("easy", "hard") for i, s in enumerate(("subtrahend", "result"))
                          for rm in ("prm", "prm_all")])
    fig = plots.plot_slip_auroc(slips)
    assert [ax.get_title() for ax in fig.axes] == ["easy problems", "hard problems"]
    assert "same step of one problem" in fig._suptitle.get_text()
    assert [t.get_text() for t in fig.axes[1].get_xticklabels()] == ["subtrahend\n(10 pairs)", "result\n(20 pairs)"]
    assert [p.suffix for p in plots.save_figure(fig, tmp_path, "slips")] == [".png", ".pdf"]


def test_a_redrawn_figure_writes_the_same_bytes(tmp_path):
    import time

    import matplotlib.pyplot as plt

    def draw(folder):
        fig, ax = plt.subplots()
        ax.plot([1, 2, 3])
        return [p.read_bytes() for p in plots.save_figure(fig, folder, "f")]

    first = draw(tmp_path / "a")
    time.sleep(1.1)  # a PDF creation date would differ by now
    assert draw(tmp_path / "b") == first  # figures/ in git changes only when a figure does


def test_the_main_figure_keeps_to_the_comparisons_with_the_references_on_top(tables):
    curves, _, _ = tables
    main = plots.main_curves(curves)
    assert len(main) <= 6 and main[:2] == ["majority", "single"]
    assert "weighted (prm, prod)" in main and "best_of_n (prm, min)" in main
    fig = plots.plot_accuracy_vs_n(curves, curves=main)
    hard = fig.axes[2]
    majority = next(line for line in hard.get_lines() if line.get_color() == "black")
    scored = [line for line in hard.get_lines() if line.get_color() not in ("black", "0.45", "0.65")]
    assert len(scored) == len(main) - 2 and majority.get_zorder() > max(line.get_zorder() for line in scored)
    assert len(hard.collections) == 2  # bands for majority and weighted (prm, prod) only
    assert "bands (majority and weighted (prm, prod) only)" in fig._suptitle.get_text()


def test_one_reward_model_one_colour_in_every_figure(tables):
    curves, differences, auroc = tables
    prm = plots.curve_style("weighted", "prm", "prod")["color"]
    assert plots.curve_style("best_of_n", "prm", "min")["color"] == prm
    assert plots.curve_style("weighted", "orm", "prod")["color"] != prm
    assert plots.curve_style("majority")["color"] == "black"
    fig = plots.plot_levels(curves, curves=["majority", "weighted (prm, prod)"], level_label="level")
    from matplotlib.container import BarContainer

    bars = [c for c in fig.axes[0].containers if isinstance(c, BarContainer)]
    assert tuple(bars[1][0].get_facecolor()[:3]) == pytest.approx(tuple(prm))


def test_an_outcome_model_is_drawn_once_not_once_per_aggregator(tables):
    from e2h.rerank import merge_equal_aggregators

    curves, differences, _ = tables
    merged = merge_equal_aggregators(curves)
    assert set(merged[merged.rm == "orm"]["agg"]) == {"any"}  # one score per solution: every aggregator agrees
    assert set(merged[merged.rm == "prm"]["agg"]) == {"min", "prod"}
    fig = plots.plot_aggregators(curves, "weighted", group="hard")
    assert [ax.get_title() for ax in fig.axes if ax.get_visible() and ax.get_title()] == \
        ["prm", "orm (one score per solution)"]
    fig = plots.plot_overoptimization(differences)
    labels = [t.get_text() for t in fig.legends[0].get_texts()] if fig.legends else \
        [t.get_text() for ax in fig.axes for leg in [ax.get_legend()] if leg for t in leg.get_texts()]
    assert "best_of_n (orm, any)" in labels and "best_of_n (prm, min)" in labels and len(labels) == 3


def test_the_seeds_figure_names_problems_and_draws():
    import pandas as pd

    rows = [{"run": run, "method": "weighted", "rm": "prm", "agg": "prod", "group": "hard", "n": 32, "mean": m,
             "lo": m - 0.02, "hi": m + 0.02, "share_le_0": 0.0, "problems": k, "resamples": 100}
            for run, m, k in (("a", 0.05, 300), ("b", 0.1, 300), ("pooled", 0.07, 600))]
    fig = plots.plot_seeds(pd.DataFrame(rows))
    ax = fig.axes[0]
    assert "B = 100 draws" in ax.get_title()
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a (300 problems)", "b (300 problems)",
                                                                   "pooled (600 problems)"]


def test_the_across_seeds_figure_puts_the_primary_metric_on_top_and_counts_seeds_above_zero():
    import pandas as pd

    from e2h.stages.s06_rerank import across_seeds

    rows = [{"run": f"protocol-seed{1000 + i}", "metric": metric, "rm": rm, "agg": agg, "group": "hard", "n": 32,
             "mean": m, "lo": m - 0.03, "hi": m + 0.03}
            for i, gains in enumerate([(0.10, -0.2, 0.0), (0.04, -0.1, 0.01), (-0.01, 0.02, 0.0)])
            for (metric, rm, agg), m in zip([("weighted − majority", "prm", "prod"), ("best_of_n − majority", "prm",
                                                                                        "min"),
                                              ("weighted − majority", "orm", "any")], gains)]
    runs = pd.DataFrame(rows)
    ax = plots.plot_across_seeds(runs, across_seeds(runs)).axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["weighted, prm (prod)", "weighted, orm (any)",
                                                             "best-of-N, prm (min)"]
    assert [t.get_text() for t in ax.texts] == ["2 of 3 above 0", "1 of 3 above 0", "1 of 3 above 0"]
    assert "3 seeds" in ax.get_title() and "N = 32" in ax.get_title()
    one = runs[runs["run"] == "protocol-seed1000"]  # one seed: no interval to draw, the figure still says so
    ax = plots.plot_across_seeds(one, across_seeds(one)).axes[0]
    assert "1 seed," in ax.get_title() and ax.texts[0].get_text() == "1 of 1 above 0"
    assert "no interval" in ax.figure.legends[0].get_texts()[1].get_text()


def test_rl_figures_name_problems_seeds_and_interval(tmp_path):
    import numpy as np
    import pandas as pd

    from e2h.rerank.greedy import accuracy_table

    rng = np.random.default_rng(0)
    rows = [{"method": m, "seed": s, "problem_id": f"q{i}", "level": 1 + i % 5, "correct": bool(rng.random() < 0.5)}
            for m, seeds in (("sft", [0]), ("more_sft", [0, 1]), ("ppo_prm", [0, 1])) for s in seeds
            for i in range(25)]
    fig = plots.plot_rl_accuracy(accuracy_table(pd.DataFrame(rows), resamples=40))
    ax = fig.axes[0]
    assert "easy: N = 15" in ax.get_title() and "hard: N = 10" in ax.get_title() and "B = 40" in ax.get_title()
    assert "bootstrap over problems" in ax.get_title() and ax.get_ylabel().startswith("greedy test accuracy")
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["SFT (1 seed)", "more SFT (2 seeds)",
                                                                   "PPO, PRM (easy + hard) (2 seeds)"]
    curves = pd.DataFrame([{"method": "ppo_prm", "seed": s, "iteration": 1, "update": u, "metric": m, "value": 0.1 * u}
                           for s in (0, 1) for u in range(1, 6) for m in ("reward", "kl", "value_loss",
                                                                          "val_accuracy")])
    fig = plots.plot_rl_curves(curves)
    assert len(fig.axes) == 4 and all(a.get_xlabel() == "optimizer update" for a in fig.axes)
    assert "one line per seed" in fig._suptitle.get_text()
    png, _ = plots.save_figure(fig, tmp_path, "rl_curves")
    assert png.stat().st_size > 0


def test_the_gain_vs_easy_auroc_figure_pairs_each_runs_auroc_with_its_gain():
    import pandas as pd

    rows = []
    for run, auroc, gain in (("a", 0.55, 0.0), ("b", 0.8, 0.2)):
        rows += [{"run": run, "metric": "within-problem AUROC", "rm": "prm", "agg": "min", "group": "easy", "n": 32,
                  "mean": auroc, "lo": auroc - 0.05, "hi": auroc + 0.05},
                 {"run": run, "metric": "within-problem AUROC", "rm": "prm", "agg": "min", "group": "hard", "n": 32,
                  "mean": 0.1, "lo": 0.0, "hi": 0.2},  # the hard group's AUROC must not be drawn
                 {"run": run, "metric": "weighted − majority", "rm": "prm", "agg": "prod", "group": "hard", "n": 32,
                  "mean": gain, "lo": gain - 0.03, "hi": gain + 0.03},
                 {"run": run, "metric": "best_of_n − majority", "rm": "prm", "agg": "min", "group": "hard", "n": 32,
                  "mean": -0.5, "lo": -0.6, "hi": -0.4}]
    ax = plots.plot_gain_vs_easy_auroc(pd.DataFrame(rows)).axes[0]
    (x, y), = [line.get_data() for line in ax.lines if len(line.get_xdata()) == 2 and line.get_marker() == "o"]
    assert list(x) == [0.55, 0.8] and list(y) == [0.0, 20.0]
    assert "2 runs" in ax.get_title() and "N = 32" in ax.get_title() and "bootstrap over problems" in ax.get_title()
    assert ax.get_xlabel().startswith("within-problem AUROC") and "hard problems" in ax.get_ylabel()
