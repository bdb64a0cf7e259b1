"""Stage 08: the figures of stage 06's tables (and of stage 07's, when the run has them), as PNG and PDF
(``notebooks/08_figures``).

Files are named ``<run name>_<figure>.png/.pdf`` in ``figures_dir`` (the caller's, else the params file's, else the
run folder's ``figures/``). The paper's MATH500 numbers are drawn beside the curves of a MATH run only, never beside
the embedded task.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from e2h import paper_results, plots
from e2h.stages.layout import figures_folder, layout


def rerank_tables(p) -> dict[str, pd.DataFrame]:
    """Stage 06's tables of the run: curves, differences, auroc (and slips when the run has them)."""
    where = layout(p)
    names = ["curves", "differences", "auroc"] + (["slips"] if where.rerank_table("slips").is_file() else [])
    return {name: pd.read_parquet(where.rerank_table(name)) for name in names}


def figures(p) -> dict[str, object]:
    """Every figure of the run, by name: matplotlib Figures, closed (a notebook shows one by naming it), not yet
    saved. Stage 06's figures when it ran, stage 07's when it ran."""
    out = rerank_figures(p) if layout(p).rerank_table("curves").is_file() else {}
    where = layout(p)
    if where.rl_table("accuracy").is_file() and where.rl_table("curves").is_file():  # stage 07 ran
        out["rl_accuracy"] = plots.plot_rl_accuracy(pd.read_parquet(where.rl_table("accuracy")))
        out["rl_curves"] = plots.plot_rl_curves(pd.read_parquet(where.rl_table("curves")))
    for fig in out.values():
        plt.close(fig)  # drawn once, where the notebook names it, not all at the end of one cell
    return out


def rerank_figures(p) -> dict[str, object]:
    """The figures of stage 06's tables."""
    t = rerank_tables(p)
    curves, differences, auroc = t["curves"], t["differences"], t["auroc"]
    math = p.data.source == "math"
    level_label = "MATH level" if math else "level of the embedded task"
    paper = plots.paper_rows(paper_results.reranking(), rms=set(curves.rm) - {""}) if math else None
    main = plots.main_curves(curves)
    out = {"accuracy_vs_n": plots.plot_accuracy_vs_n(curves, curves=main, paper=paper)}
    levels = sorted(g for g in curves.group.unique() if g.startswith("level"))
    if levels:
        out["accuracy_vs_n_levels"] = plots.plot_accuracy_vs_n(curves, groups=levels, curves=main, paper=paper,
                                                              title="Re-ranking accuracy vs N, per level")
    group = "hard" if "hard" in set(curves.group) else "all"
    for method in ("best_of_n", "weighted"):
        if (curves.method == method).any():
            out[f"aggregators_{method}"] = plots.plot_aggregators(curves, method, group=group)
    if levels:
        out["levels_at_max_n"] = plots.plot_levels(curves, curves=[c for c in main if c not in ("pass@n", "single")],
                                                   level_label=level_label)
    if (differences.method == "best_of_n").any():
        out["best_of_n_minus_majority"] = plots.plot_overoptimization(differences)
    if auroc[auroc.group.str.startswith("level")].auroc.notna().any():
        # One aggregator (min) keeps the bars readable: solution, within-problem and step AUROC per evaluator.
        out["evaluator_auroc"] = plots.plot_auroc(auroc[auroc["agg"].isin(["min", ""])], level_label=level_label)
    if "slips" in t:
        out["slip_auroc"] = plots.plot_slip_auroc(t["slips"])
    return out


def save_figures(p, figs: dict, figures_dir: str | Path | None = None) -> list[Path]:
    """Write each figure as ``<run name>_<figure>.png/.pdf`` into ``figures_dir`` (default: the params file's, else
    the run folder's ``figures/``)."""
    out = Path(figures_dir) if figures_dir else figures_folder(p)
    return [path for name, fig in figs.items() for path in plots.save_figure(fig, out, f"{p.name}_{name}")]


def draw_figures(p, figures_dir: str | Path | None = None) -> list[Path]:
    """Draw and save every figure of the run; returns the files written."""
    return save_figures(p, figures(p), figures_dir)


def show(figs: dict, *names: str) -> None:
    """Display the named figures that the run has (a notebook cell's output), in order."""
    from IPython.display import display

    for name in names:
        if name in figs:
            display(figs[name])
