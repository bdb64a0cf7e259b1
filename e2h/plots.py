"""Figures of re-ranking and evaluator quality (seaborn). Each takes a table from :mod:`e2h.rerank` and returns a
matplotlib Figure whose title states N, the number of draws B and the interval used; :func:`save_figure` writes
PNG and PDF. Nothing here imports torch.
"""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from e2h.io import atomic_path
from e2h.rerank.ci import BOOTSTRAP
from e2h.rerank.stats import CI_METHOD

X_LABEL = "N (samples per problem, log2 scale)"


def curve_label(method: str, rm: str = "", agg: str = "") -> str:
    return f"{method} ({rm}, {agg})" if rm else method


def main_curves(table: pd.DataFrame) -> list[str]:
    """The paper's pairing: majority, best-of-N with min, weighted voting with prod (per reward model), and the
    pass@N / single-sample reference lines — whichever of them the table has."""
    have = set(zip(table["method"], table["rm"], table["agg"]))
    rms = list(dict.fromkeys(r for _, r, _ in have if r))
    wanted = [("majority", "", "")] + [("best_of_n", r, "min") for r in rms] + [("weighted", r, "prod") for r in rms]
    wanted += [("pass@n", "", ""), ("single", "", "")]
    return [curve_label(*w) for w in wanted if w in have]


def _labelled(table: pd.DataFrame) -> pd.DataFrame:
    t = table.copy()
    t["curve"] = [curve_label(m, r, a) for m, r, a in zip(t["method"], t["rm"], t["agg"])]
    return t


def _interval_text(table: pd.DataFrame, ci: str) -> str:
    level = float(table["level"].iloc[0]) if "level" in table and len(table) else 0.95
    draws = int(table["resamples"].iloc[0]) if "resamples" in table and len(table) else 0
    return f"B = {draws} draws per N; bands: {level:.0%} {ci} percentile interval"


def _pick(table: pd.DataFrame, ci: str, curves, groups) -> pd.DataFrame:
    t = _labelled(table[table["ci"] == ci])
    if curves is not None:
        missing = sorted(set(curves) - set(t["curve"]))
        if missing:
            raise ValueError(f"curves {missing} are not in the table; it has {sorted(set(t['curve']))}")
        t = t[t["curve"].isin(curves)]
    if groups is not None:
        t = t[t["group"].isin(groups)]
    if t.empty:
        raise ValueError(f"nothing to plot: no rows with ci={ci!r} for the requested curves and groups")
    return t


def _palette(names: list[str]) -> dict:
    """Distinct colours for up to 20 curves."""
    return dict(zip(names, sns.color_palette("tab10" if len(names) <= 10 else "tab20", len(names))))


def _group_panels(t: pd.DataFrame, groups):
    """Curve names, their colours, the figure, and (axis, group, rows sorted by N) for each group present."""
    names = list(dict.fromkeys(t["curve"]))
    panel_groups = [g for g in groups if g in set(t["group"])]
    fig, axes = _panels(len(panel_groups))
    panels = [(ax, g, t[t["group"] == g].sort_values("n")) for ax, g in zip(axes, panel_groups)]
    return names, _palette(names), fig, panels


def _panels(n: int, width: float = 4.6, height: float = 3.6):
    cols = min(n, 3)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows + 0.8), squeeze=False, sharey=True,
                             sharex=True)
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    for ax in axes.ravel()[:n]:  # every panel keeps its own N labels, whatever its place in the grid
        ax.tick_params(labelbottom=True)
    return fig, axes.ravel()[:n]


def plot_accuracy_vs_n(table: pd.DataFrame, *, groups=("all", "easy", "hard"), curves=None, ci: str = BOOTSTRAP,
                       paper: pd.DataFrame | None = None, title: str = "Re-ranking accuracy vs N") -> plt.Figure:
    """One panel per group, one line per curve (method, rm, agg) with its interval band; paper markers optional."""
    sns.set_theme(style="whitegrid", context="notebook")
    t = _pick(table, ci, curves, [g for g in groups if g in set(table["group"])])
    names, palette, fig, panels = _group_panels(t, groups)
    for ax, g, sub in panels:
        sns.lineplot(data=sub, x="n", y="mean", hue="curve", palette=palette, marker="o", ax=ax, legend=False)
        for name, c in sub.groupby("curve", sort=False):
            ax.fill_between(c["n"], c["lo"], c["hi"], color=palette[name], alpha=0.15, linewidth=0)
        if paper is not None and len(paper):
            _paper_markers(ax, paper[paper["group"] == g], _paper_styles(paper))
        ax.set_xscale("log", base=2)
        ns = sorted(sub["n"].unique())
        ax.set_xticks(ns, [str(n) for n in ns], rotation=45 if len(ns) > 6 else 0)
        ax.set_title(f"{g} ({int(sub['problems'].iloc[0])} problems)")
        ax.set_xlabel(X_LABEL)
        ax.set_ylabel("accuracy")
    handles = [plt.Line2D([], [], color=palette[n], marker="o", label=n) for n in names]
    if paper is not None and len(paper):
        handles += _paper_handles(paper[paper["group"].isin([g for _, g, _ in panels])], _paper_styles(paper))
    fig.legend(handles=handles, loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False, fontsize=9)
    fig.suptitle(f"{title}\n{_interval_text(t, ci)}")
    fig.tight_layout()
    return fig


def _paper_styles(paper: pd.DataFrame) -> dict:
    """A marker per paper setting and a colour per paper curve, so each point is named in the legend."""
    markers = dict(zip(dict.fromkeys(paper["setting"]), ["*", "X", "P", "D", "^", "v"]))
    labels = list(dict.fromkeys(curve_label(m, r, a) for m, r, a in zip(paper["method"], paper["rm"], paper["agg"])))
    return {"marker": markers, "color": dict(zip(labels, sns.color_palette("dark", len(labels))))}


def _paper_markers(ax, paper: pd.DataFrame, styles: dict) -> None:
    for _, r in paper.iterrows():
        ax.plot(r["n"], r["accuracy"], linestyle="", marker=styles["marker"][r["setting"]], markersize=9,
                color=styles["color"][curve_label(r["method"], r["rm"], r["agg"])], markeredgecolor="white")


def _paper_handles(paper: pd.DataFrame, styles: dict) -> list:
    seen = dict.fromkeys((s, curve_label(m, r, a)) for s, m, r, a in
                         zip(paper["setting"], paper["method"], paper["rm"], paper["agg"]))
    return [plt.Line2D([], [], linestyle="", marker=styles["marker"][s], color=styles["color"][c], markersize=9,
                       label=f"paper {s}: {c}") for s, c in seen]


def plot_levels(table: pd.DataFrame, *, n: int | None = None, curves=None, ci: str = BOOTSTRAP,
                title: str = "Accuracy per level") -> plt.Figure:
    """Bars per MATH level at one N (default: the largest), one bar per curve, with interval error bars."""
    sns.set_theme(style="whitegrid", context="notebook")
    t = _pick(table, ci, curves, None)
    t = t[t["group"].str.startswith("level ")]
    if t.empty:
        raise ValueError("the table has no per-level groups")
    n = int(t["n"].max()) if n is None else n
    t = t[t["n"] == n]
    fig, ax = plt.subplots(figsize=(max(6, 1.6 * t["group"].nunique() + 2), 4.4))
    sns.barplot(data=t, x="group", y="mean", hue="curve", ax=ax, errorbar=None)
    for bars, (_, c) in zip(ax.containers, t.groupby("curve", sort=False)):
        c = c.set_index("group").loc[[tick.get_text() for tick in ax.get_xticklabels()]]
        x = [b.get_x() + b.get_width() / 2 for b in bars]
        ax.errorbar(x, c["mean"], yerr=[c["mean"] - c["lo"], c["hi"] - c["mean"]], fmt="none", ecolor="black",
                    capsize=2, linewidth=0.8)
    sizes = t.drop_duplicates("group").set_index("group")["problems"]
    ax.set_xticks(range(len(sizes)), [f"{g}\n({int(sizes[g])} problems)" for g in sizes.index])
    ax.set_xlabel("MATH level")
    ax.set_ylabel(f"accuracy at N = {n}")
    ax.legend(title=None, fontsize=8)
    ax.set_title(f"{title}, N = {n}\n{_interval_text(t, ci)}")
    fig.tight_layout()
    return fig


def plot_overoptimization(differences: pd.DataFrame, *, groups=("all", "easy", "hard"), methods=("best_of_n",),
                          ci: str = BOOTSTRAP) -> plt.Figure:
    """Paired difference (method − baseline) vs N per group; below zero, the reward model is being over-optimized."""
    sns.set_theme(style="whitegrid", context="notebook")
    d = differences[differences["method"].isin(methods)]
    t = _pick(d, ci, None, [g for g in groups if g in set(d["group"])])
    baseline = t["vs"].iloc[0]
    names, palette, fig, panels = _group_panels(t, groups)
    for ax, g, sub in panels:
        ax.axhline(0, color="black", linewidth=0.8)
        sns.lineplot(data=sub, x="n", y="mean", hue="curve", palette=palette, marker="o", ax=ax, legend=False)
        for name, c in sub.groupby("curve", sort=False):
            ax.fill_between(c["n"], c["lo"], c["hi"], color=palette[name], alpha=0.15, linewidth=0)
            below = c[c["hi"] < 0]  # the whole interval under zero: worse than the baseline
            ax.plot(below["n"], below["mean"], linestyle="", marker="v", color=palette[name], markersize=9)
        ax.set_xscale("log", base=2)
        ns = sorted(sub["n"].unique())
        ax.set_xticks(ns, [str(n) for n in ns], rotation=45 if len(ns) > 6 else 0)
        ax.set_title(f"{g} ({int(sub['problems'].iloc[0])} problems)")
        ax.set_xlabel(X_LABEL)
        ax.set_ylabel(f"accuracy − {baseline}")
    handles = [plt.Line2D([], [], color=palette[n], marker="o", label=n) for n in names]
    handles.append(plt.Line2D([], [], color="gray", marker="v", linestyle="", label="interval entirely below 0"))
    fig.legend(handles=handles, loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False, fontsize=9)
    fig.suptitle(f"Where reward-model selection falls below {baseline} (paired, same problems and draws)\n"
                 f"{_interval_text(t, ci)}")
    fig.tight_layout()
    return fig


def plot_auroc(auroc: pd.DataFrame, *, title: str = "Evaluator AUROC per level") -> plt.Figure:
    """Bars of AUROC per level group, one bar per (rm, kind, agg), with problem-bootstrap intervals."""
    sns.set_theme(style="whitegrid", context="notebook")
    t = auroc[auroc["group"].str.startswith("level ")].copy()
    if t.empty:
        raise ValueError("the AUROC table has no per-level groups")
    # A level whose samples are all right (or all wrong) has no AUROC; it is left out rather than drawn as 0.
    t = t.dropna(subset=["auroc"])
    if t.empty:
        raise ValueError("no level has both right and wrong samples: AUROC is undefined at every level")
    t["evaluator"] = [f"{r} {k}" + (f" ({a})" if a else "") for r, k, a in zip(t["rm"], t["kind"], t["agg"])]
    fig, ax = plt.subplots(figsize=(max(6, 1.6 * t["group"].nunique() + 2), 4.4))
    sns.barplot(data=t, x="group", y="auroc", hue="evaluator", ax=ax, errorbar=None)
    ticks = [tick.get_text() for tick in ax.get_xticklabels()]
    for bars, (_, c) in zip(ax.containers, t.groupby("evaluator", sort=False)):
        c = c.set_index("group")
        for bar in bars:  # place each interval by its bar's position: an evaluator may lack a level
            x = bar.get_x() + bar.get_width() / 2
            group = ticks[int(round(x))]
            if group in c.index:
                r = c.loc[group]
                ax.errorbar([x], [r["auroc"]], yerr=[[r["auroc"] - r["lo"]], [r["hi"] - r["auroc"]]], fmt="none",
                            ecolor="black", capsize=2, linewidth=0.8)
    ax.axhline(0.5, color="gray", linestyle="--", linewidth=0.8)
    sizes = t.drop_duplicates("group").set_index("group")["problems"]
    ax.set_xticks(range(len(sizes)), [f"{g}\n({int(sizes[g])} problems)" for g in sizes.index])
    ax.set_ylim(0, 1)
    ax.set_xlabel("MATH level")
    ax.set_ylabel("AUROC (0.5 = chance)")
    ax.legend(title=None, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    B, level = int(t["resamples"].iloc[0]), float(t["level"].iloc[0])
    ax.set_title(f"{title}\nN = all samples of each level; B = {B} problem bootstraps; {level:.0%} percentile interval")
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


def save_figure(fig: plt.Figure, folder: str | os.PathLike, name: str, *, close: bool = True) -> list[Path]:
    """Write ``folder/name.png`` and ``folder/name.pdf`` atomically; returns the paths."""
    out = []
    for fmt in ("png", "pdf"):
        path = Path(folder) / f"{name}.{fmt}"
        with atomic_path(path) as tmp:
            # No creation date in the PDF: a rerun that draws the same figure writes the same bytes.
            fig.savefig(tmp, format=fmt, dpi=150, bbox_inches="tight",
                        metadata={"CreationDate": None} if fmt == "pdf" else None)
        out.append(path)
    if close:
        plt.close(fig)
    return out


def paper_rows(paper: pd.DataFrame, rms=None) -> pd.DataFrame:
    """Paper re-ranking numbers, optionally only for reward models named ``rms`` (majority always kept)."""
    if rms is None:
        return paper
    return paper[(paper["rm"] == "") | paper["rm"].isin(list(rms))]


__all__ = ["curve_label", "main_curves", "paper_rows", "plot_accuracy_vs_n", "plot_auroc", "plot_levels",
           "plot_overoptimization", "save_figure"]


def save_loss_curve(record: dict, path: str | os.PathLike, *, title: str = "training") -> Path:
    """Loss per optimizer step of a training record (``losses.json``), with a moving average when there are many
    steps, written as a PNG (the figure beside every trained model)."""
    df = pd.DataFrame({"step": record["step"], "loss": record["loss"]})
    window = max(1, len(df) // 20)
    curves = ["loss"]
    if window > 1:
        df[f"moving average ({window} steps)"] = df["loss"].rolling(window, min_periods=1).mean()
        curves.append(f"moving average ({window} steps)")
    long = df.melt(id_vars="step", value_vars=curves, var_name="curve", value_name="value")
    fig, ax = plt.subplots(figsize=(6, 3.5))
    sns.lineplot(data=long, x="step", y="value", hue="curve", ax=ax, errorbar=None)
    ax.set_title(f"{title}: loss per optimizer step\nN = {record['examples']} examples, {len(df)} steps, "
                 f"{record['world_size']} process(es); one run, so no CI", fontsize=9)
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("mean loss per labelled token")
    fig.tight_layout()
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
    return path


def plot_seeds(diff: pd.DataFrame, *, group: str = "hard", title: str = ""):
    """Paired difference with majority voting, per run and pooled, for the paper's pairings (weighted voting with
    prod, best-of-N with min), with 95% intervals."""
    keep = diff[(diff["group"] == group) & (((diff["method"] == "weighted") & (diff["agg"] == "prod"))
                                             | ((diff["method"] == "best_of_n") & (diff["agg"] == "min")))].copy()
    keep["curve"] = keep["method"].str.replace("_", "-") + " " + keep["rm"] + " (" + keep["agg"] + ")"
    order = sorted(keep["curve"].unique())
    runs = list(dict.fromkeys(keep["run"]))
    fig, ax = plt.subplots(figsize=(8, 0.18 * len(order) * len(runs) + 1.5))
    palette = dict(zip(runs, sns.color_palette("colorblind", len(runs))))
    step = 0.8 / max(len(runs), 1)
    for i, curve in enumerate(order):
        for j, run in enumerate(runs):
            row = keep[(keep["curve"] == curve) & (keep["run"] == run)]
            if row.empty:
                continue
            y = i + (j - (len(runs) - 1) / 2) * step
            m, lo, hi = (100 * float(row[c].iloc[0]) for c in ("mean", "lo", "hi"))
            ax.errorbar(m, y, xerr=[[m - lo], [hi - m]], fmt="o", color=palette[run], capsize=3,
                        label=run if i == 0 else None, mfc="white" if run == "pooled" else None)
    ax.axvline(0, color="grey", lw=1)
    ax.set_yticks(range(len(order)), order)
    n = int(keep["n"].iloc[0])
    ax.set_xlabel(f"accuracy − majority voting, points (levels {'4-5' if group == 'hard' else group}, N = {n})")
    ax.set_title(title or "Re-ranking vs majority voting, per seed and pooled\n"
                          "95% interval: bootstrap over problems combined with subset draws")
    ax.legend(title="run", loc="best", fontsize=8)
    fig.tight_layout()
    return fig


def plot_level_accuracy(table: pd.DataFrame, title: str, ax=None):
    """Bar chart of ``accuracy_by_level``'s table with its bootstrap intervals."""
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.8))
    sns.barplot(data=table, x="group", y="accuracy", color=sns.color_palette()[0], ax=ax)
    x = np.arange(len(table))
    ax.errorbar(x, table["accuracy"], yerr=[table["accuracy"] - table["ci_low"], table["ci_high"] - table["accuracy"]],
                fmt="none", ecolor="black", capsize=3)
    for xi, (n, top) in enumerate(zip(table["problems"], table["ci_high"])):
        ax.annotate(f"N={n}", (xi, top), xytext=(0, 3), textcoords="offset points", ha="center", fontsize=8)
    ax.set(title=f"{title}\n(error bars: {CI_METHOD})", xlabel="problems", ylabel="accuracy of one sample",
           ylim=(0, min(1.0, max(0.05, float(np.nanmax(table["ci_high"])) * 1.2))))
    ax.tick_params(axis="x", rotation=20)
    return ax


def plot_pass_at_k(table: pd.DataFrame, title: str, groups=("all", "easy (1-3)", "hard (4-5)"), ax=None):
    """pass@k against k (log scale) for the given groups of ``pass_at_k_table``, with bootstrap bands."""
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4.2))
    sub = table[table["group"].isin(groups)]
    sns.lineplot(data=sub, x="k", y="pass_at_k", hue="group", marker="o", ax=ax)
    for (group, rows), color in zip(sub.groupby("group", sort=False), sns.color_palette()):
        ax.fill_between(rows["k"], rows["ci_low"], rows["ci_high"], alpha=0.2, color=color)
    sizes = ", ".join(f"{g}: N={n}" for g, n in sub.groupby("group", sort=False)["problems"].first().items())
    ax.set_xscale("log", base=2)
    ax.set(title=f"{title}\nproblems: {sizes}\nbands: {CI_METHOD}", xlabel="k (samples)", ylabel="pass@k", ylim=(0, 1))
    return ax
