"""The training-loss figure saved beside every trained model."""

from __future__ import annotations

from pathlib import Path


def save_loss_curve(record: dict, path: str | Path, *, title: str = "training") -> Path:
    """Plot loss per optimizer step (and a moving average when there are many steps) as a seaborn PNG."""
    import matplotlib

    matplotlib.use("Agg")  # headless: training runs in subprocesses and CI
    import matplotlib.pyplot as plt
    import pandas as pd
    import seaborn as sns

    from e2h.io import atomic_path

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
                 f"{record['world_size']} process(es); one run, so no CI",
                 fontsize=9)
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("mean loss per labelled token")
    fig.tight_layout()
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
    return path
