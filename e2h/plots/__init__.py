"""Every figure of e2h (seaborn): re-ranking curves (``curves``), evaluator quality (``quality``), training,
sampling and seeds (``runs``), RL (``rl``), in one look (``style``: a colour per reward model, a line style per method,
references in black and grey). Each function takes a table and returns a matplotlib Figure (or Axes) whose title
states N, the draws B and the interval used; ``save_figure`` writes PNG and PDF. Nothing here imports torch."""

from e2h.plots.curves import (main_curves, paper_rows, plot_accuracy_vs_n, plot_aggregators, plot_levels,
                              plot_overoptimization)
from e2h.plots.quality import plot_auroc, plot_slip_auroc
from e2h.plots.rl import plot_rl_accuracy, plot_rl_curves
from e2h.plots.runs import (plot_across_seeds, plot_gain_vs_easy_auroc, plot_level_accuracy, plot_pass_at_k,
                            plot_policy_strength, plot_seeds, save_loss_curve)
from e2h.plots.style import curve_label, curve_style, save_figure

__all__ = ["curve_label", "curve_style", "main_curves", "paper_rows", "plot_accuracy_vs_n", "plot_across_seeds",
           "plot_aggregators", "plot_auroc", "plot_gain_vs_easy_auroc", "plot_level_accuracy", "plot_levels",
           "plot_overoptimization", "plot_pass_at_k", "plot_policy_strength", "plot_rl_accuracy", "plot_rl_curves",
           "plot_seeds", "plot_slip_auroc", "save_figure", "save_loss_curve"]
