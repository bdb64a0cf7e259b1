"""Figures of a run's training and sampling, and of the seeds study: loss curves, accuracy per level of single
samples, pass@k, the per-seed differences with majority voting and their mean over seeds."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from e2h.io import atomic_path
from e2h.plots.style import rm_color
from e2h.rerank.stats import CI_METHOD


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
    """Paired difference with majority voting, per run and pooled over runs, for the paper's pairings (weighted
    voting with prod, best-of-N with min), in points with their intervals; the pooled one is a black diamond."""
    keep = diff[(diff["group"] == group) & (((diff["method"] == "weighted") & (diff["agg"] == "prod"))
                                             | ((diff["method"] == "best_of_n") & (diff["agg"] == "min")))].copy()
    keep["curve"] = keep["method"].str.replace("_", "-") + " " + keep["rm"] + " (" + keep["agg"] + ")"
    order = sorted(keep["curve"].unique())
    runs = list(dict.fromkeys(keep["run"]))
    seeds = [r for r in runs if r != "pooled"]
    palette = dict(zip(seeds, sns.color_palette("colorblind", len(seeds))))
    palette["pooled"] = "black"
    fig, ax = plt.subplots(figsize=(8.5, 0.2 * len(order) * len(runs) + 1.8))
    step = 0.8 / max(len(runs), 1)
    problems = keep.drop_duplicates("run").set_index("run")["problems"] if "problems" in keep else None
    for i, curve in enumerate(order):
        for j, run in enumerate(runs):
            row = keep[(keep["curve"] == curve) & (keep["run"] == run)]
            if row.empty:
                continue
            y = i + (j - (len(runs) - 1) / 2) * step
            m, lo, hi = (100 * float(row[c].iloc[0]) for c in ("mean", "lo", "hi"))
            label = None
            if i == 0:
                label = run + (f" ({int(problems[run])} problems)" if problems is not None else "")
            ax.errorbar(m, y, xerr=[[m - lo], [hi - m]], fmt="D" if run == "pooled" else "o", color=palette[run],
                        capsize=3, markersize=6 if run == "pooled" else 5, label=label,
                        zorder=10 if run == "pooled" else 5)
    ax.axvline(0, color="grey", lw=1)
    ax.set_yticks(range(len(order)), order)
    n = int(keep["n"].iloc[0])
    ax.set_xlabel(f"accuracy − majority voting, points (levels {'4-5' if group == 'hard' else group}, N = {n})")
    draws = f"B = {int(keep['resamples'].iloc[0])} draws; " if "resamples" in keep else ""
    ax.set_title(title or "Re-ranking vs majority voting, per seed and pooled over seeds' problems\n"
                          f"{draws}95% interval: bootstrap over problems combined with subset draws", fontsize=10)
    ax.legend(title="run", loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8, frameon=False)
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


def plot_policy_strength(summaries: pd.DataFrame, *, group: str = "hard", title: str = ""):
    """The gain of each re-ranker over majority voting against the policy's majority-voting accuracy, one point per
    run (a seed, or a checkpoint target) with its interval, weighted voting (prod) and best-of-N (min) side by side;
    from run summaries (``e2h.stages.s06_rerank.run_summary`` rows, a ``source`` column optional)."""
    s = summaries[summaries["group"] == group]
    majority = s[s["metric"] == "majority accuracy"].set_index("run")["mean"]
    panels = (("weighted − majority", ("prod", "any"), "weighted voting"), ("best_of_n − majority", ("min", "any"),
                                                                              "best-of-N"))
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    sources = list(dict.fromkeys(s["source"])) if "source" in s else [""]
    markers = dict(zip(sources, ["o", "^", "s", "D"]))
    span = max(100 * (majority.max() - majority.min()), 1.0)
    for ax, (metric, aggs, name) in zip(axes, panels):
        d = s[(s["metric"] == metric) & s["agg"].isin(aggs)].copy()
        d["majority"] = d["run"].map(majority)
        keys = ["rm", "source"] if "source" in d else ["rm", "group"]
        parts = list(d.groupby(keys, sort=False))
        for i, ((rm, source), part) in enumerate(parts):
            # a run's reward models share its x: each drawn a little aside, so their intervals stay apart
            dodge = (i - (len(parts) - 1) / 2) * 0.012 * span
            x, m = 100 * part["majority"].to_numpy() + dodge, 100 * part["mean"].to_numpy()
            err = [m - 100 * part["lo"].to_numpy(), 100 * part["hi"].to_numpy() - m]
            ax.errorbar(x, m, yerr=err, fmt=markers.get(source, "o"), color=rm_color(rm), capsize=2, alpha=0.85,
                        label=f"{rm}" + (f", {source}" if "source" in d else ""))
        ax.axhline(0, color="grey", lw=1)
        ax.set_xlabel(f"majority-voting accuracy of the policy, % (levels {'4-5' if group == 'hard' else group})")
        ax.set_title(name, fontsize=10)
    axes[0].set_ylabel("accuracy − majority voting, points")
    n = int(s["n"].max())
    axes[1].legend(title="reward model", loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8, frameon=False)
    fig.suptitle(title or f"Where easy-trained evaluators help: gain over majority vs policy strength, "
                          f"{majority.size} runs, N = {n}\n95% interval per run: bootstrap over problems combined "
                          "with subset draws", fontsize=10)
    fig.tight_layout()
    return fig


def plot_gain_vs_easy_auroc(summaries: pd.DataFrame, *, rms=("prm", "prm_all"), title: str = ""):
    """Does a reward model that ranks its own (easy) problems' samples well also lift hard ones? Per run, the
    within-problem AUROC (min score) on easy problems against the weighted vote's gain over majority on hard ones,
    each with its interval, a colour per reward model and, with a ``source`` column, a marker per source."""
    s = summaries[summaries["rm"].isin(rms)]
    if "source" not in s:
        s = s.assign(source="")
    auroc = s[(s["metric"] == "within-problem AUROC") & (s["group"] == "easy")]
    gain = s[(s["metric"] == "weighted − majority") & (s["group"] == "hard") & s["agg"].isin(["prod", "any"])]
    d = auroc.merge(gain, on=["run", "rm", "source"], suffixes=("_x", "_y"))
    markers = dict(zip(dict.fromkeys(d["source"]), ["o", "^", "s", "D"]))
    fig, ax = plt.subplots(figsize=(7.5, 4.6))
    for (rm, source), part in d.groupby(["rm", "source"], sort=False):
        x, y = part["mean_x"].to_numpy(), 100 * part["mean_y"].to_numpy()
        ax.errorbar(x, y, xerr=[x - part["lo_x"], part["hi_x"] - x],
                    yerr=[y - 100 * part["lo_y"], 100 * part["hi_y"] - y], fmt=markers[source],
                    color=rm_color(rm), capsize=2, alpha=0.8, label=rm + (f", {source}" if source else ""))
    ax.axhline(0, color="grey", lw=1)
    ax.axvline(0.5, color="grey", lw=1, ls=":")  # chance: right and wrong samples of a problem not told apart
    ax.set_xlabel("within-problem AUROC (min score) on easy problems (levels 1-3)")
    ax.set_ylabel("weighted voting − majority, points\n(hard problems, levels 4-5)")
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    n = int(gain["n"].max()) if len(gain) else 0
    ax.set_title(title or f"Gain on hard problems vs ranking on easy ones: {d['run'].nunique()} runs, N = {n}\n"
                          "95% intervals per run: bootstrap over problems (AUROC), combined with subset draws (gain)",
                 fontsize=10)
    fig.tight_layout()
    return fig


def plot_across_seeds(summaries: pd.DataFrame, table: pd.DataFrame, *, group: str = "hard", title: str = ""):
    """Each re-ranker's difference with majority voting with the seed as the unit: a dot per seed (its point
    estimate) and the mean over seeds with its t-interval (black), weighted voting (prod) and best-of-N (min), from
    run summaries (``run_summary`` rows) and their ``across_seeds`` table; how many seeds are above zero at right."""
    s, t = summaries[summaries["group"] == group], table[table["group"] == group]
    rows = []
    for metric, aggs, name in (("weighted − majority", ("prod", "any"), "weighted"),
                               ("best_of_n − majority", ("min", "any"), "best-of-N")):
        part = t[(t["metric"] == metric) & t["agg"].isin(aggs)]
        rows += [(f"{name}, {r['rm']} ({r['agg']})", r) for r in part.to_dict("records")]
    fig, ax = plt.subplots(figsize=(8.5, 0.42 * len(rows) + 1.9))
    k = int(t["runs"].max())
    seeds = f"{k} seed" + ("s" if k != 1 else "")
    for i, (_, r) in enumerate(rows):
        per = s[(s["metric"] == r["metric"]) & (s["rm"] == r["rm"]) & (s["agg"] == r["agg"])].sort_values("run")
        ax.scatter(100 * per["mean"], i + np.linspace(-0.22, 0.22, len(per)) if len(per) > 1 else [i],
                   s=16, color=rm_color(r["rm"]), alpha=0.75, zorder=4)
        m = 100 * r["mean"]
        err = None if pd.isna(r["t_lo"]) else [[m - 100 * r["t_lo"]], [100 * r["t_hi"] - m]]
        ax.errorbar(m, i, xerr=err, fmt="D", color="black", capsize=4, markersize=6, zorder=6)
        ax.annotate(f"{int(r['above_zero'])} of {int(r['runs'])} above 0", (1.01, i),
                    xycoords=ax.get_yaxis_transform(), va="center", fontsize=8)
    ax.axvline(0, color="grey", lw=1)
    ax.set_yticks(range(len(rows)), [label for label, _ in rows])
    ax.set_ylim(len(rows) - 0.5, -0.5)  # the primary metric (weighted, prm) on top
    n = int(s["n"].max())
    ax.set_xlabel(f"accuracy − majority voting, points (levels {'4-5' if group == 'hard' else group}, N = {n})")
    handles = [plt.Line2D([], [], ls="", marker="o", color="0.5", label="one seed (point estimate)"),
               plt.Line2D([], [], ls="-", marker="D", color="black", label=f"mean over {seeds}, "
                          + (f"95% t-interval ({k - 1} df)" if k > 1 else "no interval from one seed"))]
    height = fig.get_figheight()
    fig.legend(handles=handles, loc="lower center", ncol=2, fontsize=8, frameon=False)
    ax.set_title(title or f"Re-ranking vs majority voting across seeds, the seed as the unit: {seeds}, N = {n}",
                 fontsize=10)
    fig.tight_layout(rect=(0, 0.35 / height, 1, 1))  # room for the legend below the axis label
    return fig
