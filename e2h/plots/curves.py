"""Re-ranking figures: accuracy vs N (the paper's layout, log2 N, a panel per level group), accuracy per level at
the largest N, the aggregators of each reward model, and paired differences with majority voting in points."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from e2h.plots.style import AGG_LINES, AGG_MARKERS, X_LABEL, curve_label, curve_style, interval_text, labelled, theme
from e2h.rerank.ci import BOOTSTRAP
from e2h.rerank.curves import merge_equal_aggregators

# The evaluators drawn in the main figure, in order of preference, and how many curves it may hold in all.
_MAIN_RMS = ("prm", "oprm", "prm_all", "orm")
_MAIN_MAX = 6


def main_curves(table: pd.DataFrame) -> list[str]:
    """The comparisons that matter, at most six curves: the references (majority voting, one sample), weighted
    voting with prod for up to three reward models (PRM first), and best-of-N with min for the first of them."""
    have = set(zip(table["method"], table["rm"], table["agg"]))
    rms = list(dict.fromkeys(r for _, r, _ in have if r))
    rms = [r for r in _MAIN_RMS if r in rms] + [r for r in rms if r not in _MAIN_RMS]
    weighted = [("weighted", r, "prod") for r in rms if ("weighted", r, "prod") in have][:3]
    best = [("best_of_n", r, "min") for r in rms if ("best_of_n", r, "min") in have][:1]
    wanted = [("majority", "", ""), ("single", "", "")] + weighted + best
    return [curve_label(*w) for w in wanted if w in have][:_MAIN_MAX]


def _pick(table: pd.DataFrame, ci: str, curves, groups) -> pd.DataFrame:
    t = labelled(table[table["ci"] == ci])
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


def _panels(n: int, width: float = 4.6, height: float = 3.6, legend_panel: bool = False):
    """A grid of ``n`` panels (three a row); with ``legend_panel`` an empty grid cell, if any, is returned for the
    legend instead of being hidden."""
    cols = min(n, 3)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows + 0.8), squeeze=False, sharey=True,
                             sharex=True)
    spare = list(axes.ravel()[n:])
    for ax in spare:
        ax.set_visible(False)
    for ax in axes.ravel()[:n]:  # every panel keeps its own N labels, whatever its place in the grid
        ax.tick_params(labelbottom=True)
    return fig, list(axes.ravel()[:n]), (spare[0] if legend_panel and spare else None)


def _n_axis(ax, ns) -> None:
    ax.set_xscale("log", base=2)
    ax.set_xticks(ns, [str(n) for n in ns], rotation=45 if len(ns) > 6 else 0)
    ax.set_xlabel(X_LABEL)


def _legend(fig, handles, spot) -> None:
    if spot is not None:
        spot.set_visible(True)
        spot.axis("off")
        spot.legend(handles=handles, loc="center", frameon=False, fontsize=9)
    else:
        fig.legend(handles=handles, loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False, fontsize=9)


def _handle(name: str, style: dict):
    return plt.Line2D([], [], color=style["color"], linestyle=style["linestyle"], marker=style["marker"] or None,
                      linewidth=style["linewidth"], label=name)


def plot_accuracy_vs_n(table: pd.DataFrame, *, groups=("all", "easy", "hard"), curves=None, ci: str = BOOTSTRAP,
                       paper: pd.DataFrame | None = None, bands=None,
                       title: str = "Re-ranking accuracy vs N") -> plt.Figure:
    """One panel per group, one line per curve; interval bands only for ``bands`` (default: majority voting and the
    first weighted-voting curve, the comparison the figure is about); the paper's numbers as markers if given."""
    theme()
    t = _pick(table, ci, curves, [g for g in groups if g in set(table["group"])])
    names = list(curves) if curves is not None else list(dict.fromkeys(t["curve"]))
    if bands is None:
        bands = [n for n in names if n == "majority"] + [n for n in names if n.startswith("weighted")][:1]
    rms = list(dict.fromkeys(r for r in t["rm"] if r))
    styles = {n: curve_style(*k, known=rms) for n, k in
              zip(t["curve"], zip(t["method"], t["rm"], t["agg"]))}
    panel_groups = [g for g in groups if g in set(t["group"])]
    fig, axes, spot = _panels(len(panel_groups), legend_panel=True)
    for ax, g in zip(axes, panel_groups):
        sub = t[t["group"] == g].sort_values("n")
        for name in names:
            c = sub[sub["curve"] == name]
            if c.empty:
                continue
            st = styles[name]
            ax.plot(c["n"], c["mean"], color=st["color"], linestyle=st["linestyle"], marker=st["marker"] or None,
                    linewidth=st["linewidth"], markersize=5, zorder=st["zorder"])
            if name in bands:
                ax.fill_between(c["n"], c["lo"], c["hi"], color=st["color"], alpha=0.12, linewidth=0,
                                zorder=st["zorder"] - 4)
        if paper is not None and len(paper):
            _paper_markers(ax, paper[paper["group"] == g], _paper_styles(paper))
        _n_axis(ax, sorted(sub["n"].unique()))
        ax.set_title(f"{g} ({int(sub['problems'].iloc[0])} problems)")
        ax.set_ylabel("accuracy")
    handles = [_handle(n, styles[n]) for n in names]
    if paper is not None and len(paper):
        handles += _paper_handles(paper[paper["group"].isin(panel_groups)], _paper_styles(paper))
    _legend(fig, handles, spot)
    fig.suptitle(f"{title}\n{interval_text(t, ci, 'bands (' + ' and '.join(bands) + ' only)')}")
    fig.tight_layout()
    return fig


def plot_aggregators(table: pd.DataFrame, method: str, *, group: str = "hard", ci: str = BOOTSTRAP,
                     title: str | None = None) -> plt.Figure:
    """One small panel per reward model: ``method`` with each step-score aggregator, majority voting for reference.
    A reward model with one score per solution (the ORM: every aggregator the same curve) is drawn once."""
    theme()
    t = merge_equal_aggregators(table[(table["ci"] == ci) & (table["group"] == group)])
    scored = t[t["method"] == method]
    if scored.empty:
        raise ValueError(f"no {method} curves for group {group!r}")
    rms = list(dict.fromkeys(scored["rm"]))
    majority = t[t["method"] == "majority"].sort_values("n")
    fig, axes, spot = _panels(len(rms), width=3.6, height=3.0, legend_panel=True)
    aggs = list(dict.fromkeys(scored["agg"]))
    for ax, rm in zip(axes, rms):
        if len(majority):
            ref = curve_style("majority")
            ax.plot(majority["n"], majority["mean"], color=ref["color"], linewidth=ref["linewidth"], zorder=10)
        color = curve_style(method, rm, known=rms)["color"]
        for agg in aggs:
            c = scored[(scored["rm"] == rm) & (scored["agg"] == agg)].sort_values("n")
            if len(c):
                ax.plot(c["n"], c["mean"], color=color, linestyle=_agg_line(agg), marker=AGG_MARKERS.get(agg, "o"),
                        markersize=4.5, linewidth=1.5, markerfacecolor="white" if agg in ("max", "last") else color)
        _n_axis(ax, sorted(t["n"].unique()))
        one = set(scored[scored["rm"] == rm]["agg"]) == {"any"}
        ax.set_title(f"{rm}" + (" (one score per solution)" if one else ""))
        ax.set_ylabel("accuracy")
    handles = [plt.Line2D([], [], color="black", linewidth=2.2, label="majority")]
    handles += [plt.Line2D([], [], color="0.3", linestyle=AGG_LINES.get(a, "-"), marker=AGG_MARKERS.get(a, "o"),
                           markersize=4.5, markerfacecolor="white" if a in ("max", "last") else "0.3",
                           label="any aggregator (the same curve)" if a == "any" else a) for a in aggs]
    _legend(fig, handles, spot)
    problems = int(scored["problems"].iloc[0])
    fig.suptitle(title or f"{method}: step-score aggregators per reward model, {group} ({problems} problems)\n"
                          f"{interval_text(scored, ci, 'intervals')} (not drawn)")
    fig.tight_layout()
    return fig


def _agg_line(agg: str):
    return AGG_LINES.get(agg, "-")


def plot_levels(table: pd.DataFrame, *, n: int | None = None, curves=None, ci: str = BOOTSTRAP,
                title: str = "Accuracy per level", level_label: str = "MATH level") -> plt.Figure:
    """Bars per level at one N (default: the largest), one bar per curve in its colour, with interval error bars."""
    theme()
    t = _pick(table, ci, curves, None)
    t = t[t["group"].str.startswith("level ")]
    if t.empty:
        raise ValueError("the table has no per-level groups")
    n = int(t["n"].max()) if n is None else n
    t = t[t["n"] == n]
    names = list(dict.fromkeys(t["curve"]))
    rms = list(dict.fromkeys(r for r in t["rm"] if r))
    colors = {nm: curve_style(m, r, a, known=rms)["color"] for nm, m, r, a in
              zip(t["curve"], t["method"], t["rm"], t["agg"])}
    levels = sorted(t["group"].unique(), key=lambda g: int(g.split()[-1]))
    fig, ax = plt.subplots(figsize=(max(6, 1.8 * len(levels) + 2.5), 4.4))
    width = 0.8 / len(names)
    for j, name in enumerate(names):
        c = t[t["curve"] == name].set_index("group").reindex(levels)
        x = [i + (j - (len(names) - 1) / 2) * width for i in range(len(levels))]
        hatch = "//" if name.startswith("best_of_n") else None
        ax.bar(x, c["mean"], width=width, color=colors[name], hatch=hatch, edgecolor="white", label=name)
        ax.errorbar(x, c["mean"], yerr=[c["mean"] - c["lo"], c["hi"] - c["mean"]], fmt="none", ecolor="black",
                    capsize=2, linewidth=0.8)
    sizes = t.drop_duplicates("group").set_index("group")["problems"]
    ax.set_xticks(range(len(levels)), [f"{g}\n({int(sizes[g])} problems)" for g in levels])
    ax.set_xlabel(level_label)
    ax.set_ylabel(f"accuracy at N = {n}")
    ax.legend(title=None, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    ax.set_title(f"{title}, N = {n}\n{interval_text(t, ci, 'error bars')}")
    fig.tight_layout()
    return fig


def plot_overoptimization(differences: pd.DataFrame, *, groups=("all", "easy", "hard"), methods=("best_of_n",),
                          aggs=("min",), ci: str = BOOTSTRAP) -> plt.Figure:
    """Paired difference (method − baseline) vs N per group, in points; below zero the reward model's choice is
    worse than the baseline's (for best-of-N: over-optimization). One curve per reward model with the aggregators
    ``aggs`` (the paper's min for best-of-N), an outcome model's aggregators merged into one."""
    theme()
    d = merge_equal_aggregators(differences[differences["method"].isin(methods)])
    d = d[d["agg"].isin(list(aggs) + ["any"])]
    t = _pick(d, ci, None, [g for g in groups if g in set(d["group"])])
    t = t.assign(mean=100 * t["mean"], lo=100 * t["lo"], hi=100 * t["hi"])
    baseline = t["vs"].iloc[0]
    names = list(dict.fromkeys(t["curve"]))
    rms = list(dict.fromkeys(r for r in t["rm"] if r))
    keys = dict(zip(t["curve"], zip(t["method"], t["rm"], t["agg"])))
    panel_groups = [g for g in groups if g in set(t["group"])]
    fig, axes, spot = _panels(len(panel_groups), legend_panel=True)
    for ax, g in zip(axes, panel_groups):
        sub = t[t["group"] == g].sort_values("n")
        ax.axhline(0, color="black", linewidth=1.0, zorder=10)
        for name in names:
            c = sub[sub["curve"] == name]
            m, rm, agg = keys[name]
            color = curve_style(m, rm, agg, known=rms)["color"]
            ax.plot(c["n"], c["mean"], color=color, linestyle=_agg_line(agg), marker=AGG_MARKERS.get(agg, "o"),
                    markersize=4.5)
            ax.fill_between(c["n"], c["lo"], c["hi"], color=color, alpha=0.12, linewidth=0)
            below = c[c["hi"] < 0]  # the whole interval under zero: worse than the baseline
            ax.plot(below["n"], below["mean"], linestyle="", marker="v", color=color, markersize=9)
        _n_axis(ax, sorted(sub["n"].unique()))
        ax.set_title(f"{g} ({int(sub['problems'].iloc[0])} problems)")
        ax.set_ylabel(f"accuracy − {baseline}, points")
    handles = [plt.Line2D([], [], color=curve_style(*keys[n], known=rms)["color"], linestyle=_agg_line(keys[n][2]),
                          marker=AGG_MARKERS.get(keys[n][2], "o"), label=n) for n in names]
    handles.append(plt.Line2D([], [], color="gray", marker="v", linestyle="", label="interval entirely below 0"))
    _legend(fig, handles, spot)
    fig.suptitle(f"Where reward-model selection falls below {baseline} (paired: same problems and draws)\n"
                 f"{interval_text(t, ci)}")
    fig.tight_layout()
    return fig


def _paper_styles(paper: pd.DataFrame) -> dict:
    """A marker per paper setting, the colour of the curve it belongs to, so each point is named in the legend."""
    markers = dict(zip(dict.fromkeys(paper["setting"]), ["*", "X", "P", "D", "^", "v"]))
    rms = list(dict.fromkeys(r for r in paper["rm"] if r))
    colors = {curve_label(m, r, a): curve_style(m, r, a, known=rms)["color"]
              for m, r, a in zip(paper["method"], paper["rm"], paper["agg"])}
    return {"marker": markers, "color": colors}


def _paper_markers(ax, paper: pd.DataFrame, styles: dict) -> None:
    for _, r in paper.iterrows():
        ax.plot(r["n"], r["accuracy"], linestyle="", marker=styles["marker"][r["setting"]], markersize=10,
                color=styles["color"][curve_label(r["method"], r["rm"], r["agg"])], markeredgecolor="white",
                zorder=12)


def _paper_handles(paper: pd.DataFrame, styles: dict) -> list:
    seen = dict.fromkeys((s, curve_label(m, r, a)) for s, m, r, a in
                         zip(paper["setting"], paper["method"], paper["rm"], paper["agg"]))
    return [plt.Line2D([], [], linestyle="", marker=styles["marker"][s], color=styles["color"][c], markersize=10,
                       label=f"paper {s}: {c}") for s, c in seen]


def paper_rows(paper: pd.DataFrame, rms=None) -> pd.DataFrame:
    """Paper re-ranking numbers, optionally only for reward models named ``rms`` (majority always kept)."""
    if rms is None:
        return paper
    return paper[(paper["rm"] == "") | paper["rm"].isin(list(rms))]
