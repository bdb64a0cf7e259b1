"""Evaluator quality figures: AUROC per level (solution, within problem, step), and which slips each sees."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from e2h.plots.style import rm_color, theme

_KINDS = {"solution": "solution score vs correct\n(pooled over problems)",
          "within": "within a problem\n(mean over problems)", "step": "step score vs step label"}


def plot_auroc(auroc: pd.DataFrame, *, title: str = "Evaluator AUROC per level",
               level_label: str = "MATH level") -> plt.Figure:
    """A panel per kind of AUROC, bars per level in each reward model's colour, problem-bootstrap intervals. A
    level whose samples are all right (or all wrong) has no AUROC: it is left out, not drawn as 0."""
    theme()
    t = auroc[auroc["group"].str.startswith("level ")].dropna(subset=["auroc"]).copy() \
        if len(auroc) else auroc
    if not len(auroc[auroc["group"].str.startswith("level ")]):
        raise ValueError("the AUROC table has no per-level groups")
    if t.empty:
        raise ValueError("no level has both right and wrong samples: AUROC is undefined at every level")
    kinds = [k for k in _KINDS if k in set(t["kind"])]
    rms = list(dict.fromkeys(t["rm"]))
    levels = sorted(t["group"].unique(), key=lambda g: int(g.split()[-1]))
    fig, axes = plt.subplots(1, len(kinds), figsize=(4.2 * len(kinds) + 1.6, 4.2), squeeze=False, sharey=True)
    width = 0.8 / len(rms)
    for ax, kind in zip(axes[0], kinds):
        part = t[t["kind"] == kind]
        for j, rm in enumerate(rms):
            c = part[part["rm"] == rm].drop_duplicates("group").set_index("group").reindex(levels)
            if c["auroc"].isna().all():
                continue
            x = [i + (j - (len(rms) - 1) / 2) * width for i in range(len(levels))]
            ax.bar(x, c["auroc"], width=width, color=rm_color(rm, rms), label=rm)
            ax.errorbar(x, c["auroc"], yerr=[c["auroc"] - c["lo"], c["hi"] - c["auroc"]], fmt="none",
                        ecolor="black", capsize=2, linewidth=0.8)
        ax.axhline(0.5, color="gray", linestyle="--", linewidth=0.8)
        sizes = part.drop_duplicates("group").set_index("group")["problems"]
        ax.set_xticks(range(len(levels)), [f"{g.split()[-1]}\n({int(sizes[g])})" if g in sizes.index else
                                           g.split()[-1] for g in levels])
        ax.set_xlabel(f"{level_label} (problems)")
        ax.set_title(_KINDS[kind], fontsize=10)
        ax.set_ylim(0, 1)
    axes[0][0].set_ylabel("AUROC (0.5 = chance)")
    handles = [plt.Rectangle((0, 0), 1, 1, color=rm_color(rm, rms), label=rm) for rm in rms]
    fig.legend(handles=handles, loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False, title="reward model")
    aggs = sorted({a for a in t["agg"] if a})
    B, level = int(t["resamples"].iloc[0]), float(t["level"].iloc[0])
    fig.suptitle(f"{title}; solution score = {', '.join(aggs) or 'the one score'} of the step scores\n"
                 f"B = {B} problem bootstraps; {level:.0%} percentile interval", fontsize=11)
    fig.tight_layout()
    return fig


def plot_slip_auroc(slips: pd.DataFrame, *, title: str = "Which slips each evaluator sees") -> plt.Figure:
    """Heatmaps (easy, hard) of ``e2h.slips.slip_auroc`` tables for several reward models (column ``rm``): AUROC
    of the step score between a slipped step and the right steps at the same step of the same problem."""
    sns.set_theme(style="white", context="notebook")
    groups = list(dict.fromkeys(slips["group"]))
    fig, axes = plt.subplots(1, len(groups), figsize=(4.2 * len(groups) + 1, 0.5 * slips["rm"].nunique() + 2.2),
                             squeeze=False, sharey=True)
    for ax, group in zip(axes[0], groups):
        t = slips[slips["group"] == group]
        grid = t.pivot_table(index="rm", columns="slip", values="auroc", sort=False)
        pairs = t.pivot_table(index="rm", columns="slip", values="pairs", sort=False).max()
        sns.heatmap(grid, ax=ax, vmin=0.3, vmax=1.0, cmap="RdYlGn", center=0.5, annot=True, fmt=".2f", cbar=False)
        ax.set_xticks([i + 0.5 for i in range(len(grid.columns))],
                      [f"{c}\n({int(pairs[c])} pairs)" for c in grid.columns], rotation=0, fontsize=8)
        ax.set_title(f"{group} problems")
        ax.set_xlabel("first slip of the sample")
        ax.set_ylabel("reward model" if ax is axes[0][0] else "")
    fig.suptitle(f"{title}\nAUROC of the step score, slipped vs right steps at the same step of one problem "
                 "(0.5 = blind)", fontsize=10)
    fig.tight_layout()
    return fig
