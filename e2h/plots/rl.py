"""Stage 07's figures: greedy test accuracy per RL method with its interval, and the training curves (reward, KL,
value loss, easy-val accuracy) per method and seed."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from e2h.rerank.greedy import CI_TEXT

LABELS = {"sft": "SFT", "more_sft": "more SFT", "rest_em": "ReST-EM", "dpo": "DPO (PRM + answer)",
          "ppo_outcome": "PPO, outcome (easy)", "ppo_prm": "PPO, PRM (easy + hard)"}
_COLORS = dict(zip(LABELS, ["0.35", "0.65"] + list(sns.color_palette("colorblind", 4))))
METRICS = {"reward": "reward per rollout (before KL)", "kl": "KL per rollout (clamped k1, nats)",
           "value_loss": "value loss", "val_accuracy": "greedy accuracy, easy val", "loss": "training loss"}


def plot_rl_accuracy(table: pd.DataFrame, groups=("easy", "hard", "all"), title: str = ""):
    """Bars: each method's greedy test accuracy per group (mean over seeds) with its problem-bootstrap interval;
    dots: the seeds."""
    sub = table[table["group"].isin(groups)].copy()
    methods = [m for m in LABELS if m in set(sub["method"])]
    fig, ax = plt.subplots(figsize=(1.6 + 1.5 * len(groups) * len(methods) / 3, 4.2))
    width = 0.8 / len(methods)
    for j, method in enumerate(methods):
        rows = sub[sub["method"] == method].set_index("group").reindex(list(groups))
        x = np.arange(len(groups)) + (j - (len(methods) - 1) / 2) * width
        acc = 100 * rows["accuracy"].to_numpy()
        ax.bar(x, acc, width * 0.92, color=_COLORS[method], label=f"{LABELS[method]} ({int(rows['seeds'].iloc[0])} "
                                                                  f"seed{'s' if rows['seeds'].iloc[0] > 1 else ''})")
        ax.errorbar(x, acc, yerr=[acc - 100 * rows["lo"], 100 * rows["hi"] - acc], fmt="none", ecolor="black",
                    capsize=2, lw=1)
        for xi, seeds in zip(x, rows["per_seed"]):
            if len(seeds) > 1:
                ax.scatter([xi] * len(seeds), 100 * np.asarray(seeds), s=8, color="black", zorder=5)
    sizes = ", ".join(f"{g}: N = {int(sub[sub.group == g]['problems'].iloc[0])}" for g in groups)
    span = {"easy": "levels 1-3", "hard": "levels 4-5", "all": "levels 1-5"}
    ax.set_xticks(range(len(groups)), [f"{g} ({span[g]})" if g in span else g for g in groups])
    ax.set_ylabel("greedy test accuracy, %")
    ax.set_title(title or f"RL with easy-trained evaluators: greedy accuracy on test\n{sizes} problems; bars: mean "
                          f"over seeds, dots: seeds; {CI_TEXT}, B = {int(sub['resamples'].iloc[0])}", fontsize=9)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    fig.tight_layout()
    return fig


def plot_rl_curves(curves: pd.DataFrame, metrics=("reward", "kl", "value_loss", "val_accuracy"), title: str = ""):
    """One panel per metric against optimizer updates, a colour per method, a line per seed; ReST-EM and DPO
    iterations are drawn end to end."""
    present = [m for m in metrics if m in set(curves["metric"])]
    fig, axes = plt.subplots(1, len(present), figsize=(4.2 * len(present), 3.6), squeeze=False)
    for ax, metric in zip(axes[0], present):
        sub = curves[curves["metric"] == metric]
        for (method, seed), rows in sub.groupby(["method", "seed"], sort=False):
            rows = rows.sort_values("update")
            smooth = rows["value"].rolling(max(1, len(rows) // 10), min_periods=1).mean() if metric != "val_accuracy" \
                else rows["value"]
            ax.plot(rows["update"], smooth, color=_COLORS.get(method, "black"), lw=1.3, alpha=0.8,
                    marker="o" if metric == "val_accuracy" else None, ms=3,
                    label=LABELS.get(method, method) if seed == sub[sub.method == method]["seed"].min() else None)
        ax.set_xlabel("optimizer update")
        ax.set_ylabel(METRICS.get(metric, metric))
        ax.set_title(METRICS.get(metric, metric), fontsize=9)
    seeds = curves.groupby("method")["seed"].nunique()
    axes[0][-1].legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    n = int(seeds.max())
    fig.suptitle(title or f"RL training curves: one line per seed ({n} seed{'s' if n > 1 else ''} per method); PPO's "
                          "per rollout batch, moving average over a tenth of the run; no CI", fontsize=10)
    fig.tight_layout()
    return fig
