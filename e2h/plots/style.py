"""One look for every figure: a colour per reward model, a line style per method, the references drawn apart.

A curve is named by ``curve_label(method, rm, agg)`` ("weighted (prm, prod)"). Its colour says which evaluator
scored it (the same in every figure), its line style and marker say how the samples were selected, and the
references that every method is read against (majority voting, one sample, pass@N) are black and grey, drawn on
top of the others.
"""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from e2h.io import atomic_path

X_LABEL = "N (samples per problem, log2 scale)"
_CB = sns.color_palette("colorblind", 10)
RM_COLORS = {"prm": _CB[0], "orm": _CB[1], "oprm": _CB[2], "prm_all": _CB[4], "orm_all": _CB[5],
             "oprm_all": _CB[6], "checker": _CB[9], "reader": _CB[8]}
_SPARE = [_CB[3], _CB[9], _CB[8], _CB[7]]  # released models and others, in the order they are met
REFERENCES = {"majority": {"color": "black", "linestyle": "-", "marker": "s", "linewidth": 2.2},
              "single": {"color": "0.45", "linestyle": (0, (4, 2)), "marker": "", "linewidth": 1.6},
              "pass@n": {"color": "0.65", "linestyle": ":", "marker": "", "linewidth": 1.6}}
METHODS = {"weighted": {"linestyle": "-", "marker": "o"}, "best_of_n": {"linestyle": (0, (5, 2)), "marker": "v"}}
# Aggregators of one reward model, told apart by line and marker (the colour stays the reward model's).
AGG_LINES = {"min": "-", "prod": (0, (5, 2)), "mean": "-.", "max": (0, (1, 1.5)), "last": (0, (3, 1, 1, 1, 1, 1)),
             "any": "-"}
AGG_MARKERS = {"min": "o", "prod": "s", "mean": "^", "max": "D", "last": "x", "any": "o"}


def curve_label(method: str, rm: str = "", agg: str = "") -> str:
    return f"{method} ({rm}, {agg})" if rm else method


def rm_color(rm: str, known: list[str] | None = None):
    """The reward model's colour; one not named in RM_COLORS gets a spare colour by its place in ``known``."""
    if rm in RM_COLORS:
        return RM_COLORS[rm]
    others = [r for r in (known or [rm]) if r not in RM_COLORS]
    return _SPARE[others.index(rm) % len(_SPARE)] if rm in others else _SPARE[0]


def curve_style(method: str, rm: str = "", agg: str = "", known: list[str] | None = None) -> dict:
    """Matplotlib keywords of a curve: references on top in black and grey, scored methods in their rm's colour."""
    if method in REFERENCES:
        return {**REFERENCES[method], "zorder": 10}
    style = METHODS.get(method, {"linestyle": "-", "marker": "o"})
    return {"color": rm_color(rm, known), **style, "linewidth": 1.6, "zorder": 5}


def labelled(table: pd.DataFrame) -> pd.DataFrame:
    t = table.copy()
    t["curve"] = [curve_label(m, r, a) for m, r, a in zip(t["method"], t["rm"], t["agg"])]
    return t


def interval_text(table: pd.DataFrame, ci: str, bands: str = "bands") -> str:
    level = float(table["level"].iloc[0]) if "level" in table and len(table) else 0.95
    draws = int(table["resamples"].iloc[0]) if "resamples" in table and len(table) else 0
    return f"B = {draws} draws per N; {bands}: {level:.0%} {ci} percentile interval"


def theme() -> None:
    sns.set_theme(style="whitegrid", context="notebook")


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
