"""Greedy accuracy of several policies on one test set, each trained under several seeds: stage 07's table.

``results`` has one row per (policy, seed, problem): ``method, seed, problem_id, level, correct``. A method's
accuracy in a group (all, easy = levels 1-3, hard = 4-5, each level) is the mean over its seeds of the share of
the group's problems it answers right greedily. The interval is a percentile bootstrap over *problems*: each draw
resamples the group's problems with replacement and recomputes the mean over seeds on them, so it carries the finite
test set; the seeds enter through their mean (each seed's own number is in ``per_seed``). Differences between two
methods use the same draws for both (paired). Pure numpy / pandas: no torch.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from e2h.data.splits import EASY_LEVELS, HARD_LEVELS

CI_TEXT = "95% percentile bootstrap over problems (mean over seeds in each draw)"


def groups(levels: np.ndarray) -> dict[str, np.ndarray]:
    """all / easy / hard and each level present, as boolean masks over problems."""
    out = {"all": np.ones(len(levels), bool), "easy": np.isin(levels, EASY_LEVELS),
           "hard": np.isin(levels, HARD_LEVELS)}
    out.update({f"level {int(v)}": levels == v for v in sorted(set(levels.tolist()))})
    return {g: m for g, m in out.items() if m.any()}


def _matrices(results: pd.DataFrame) -> tuple[list[str], np.ndarray, dict[str, np.ndarray], dict[str, list]]:
    """Problems (in one order), their levels, and per method its [seeds, problems] matrix of 0/1 and its seeds."""
    problems = sorted(results["problem_id"].astype(str).unique())
    index = {p: i for i, p in enumerate(problems)}
    levels = (results.drop_duplicates("problem_id").set_index("problem_id")["level"]
              .reindex(problems).to_numpy(dtype=float))
    mats, seeds = {}, {}
    for method, part in results.groupby("method", sort=False):
        seed_list = sorted(part["seed"].unique().tolist())
        m = np.full((len(seed_list), len(problems)), np.nan)
        for k, s in enumerate(seed_list):
            rows = part[part["seed"] == s]
            m[k, [index[str(p)] for p in rows["problem_id"]]] = rows["correct"].astype(float).to_numpy()
        if np.isnan(m).any():
            raise ValueError(f"results: method {method!r} lacks some problems under some seeds; every policy must "
                             "be evaluated on the same test problems")
        mats[method], seeds[method] = m, seed_list
    return problems, levels, mats, seeds


def _draws(n: int, resamples: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, n, (resamples, n))


def accuracy_table(results: pd.DataFrame, *, resamples: int = 1000, seed: int = 0, level: float = 0.95,
                   baselines: tuple[str, ...] = ("sft", "more_sft", "ppo_outcome")) -> pd.DataFrame:
    """One row per (method, group): ``accuracy, lo, hi`` (mean over seeds, problem bootstrap), ``per_seed``
    accuracies, ``seeds``, ``problems``, and for each baseline present ``minus_<baseline>`` with its paired
    interval (``<name>_lo``, ``<name>_hi``)."""
    problems, levels, mats, seeds = _matrices(results)
    q = [(1 - level) / 2, (1 + level) / 2]
    rows = []
    for g, mask in groups(levels).items():
        cols = np.flatnonzero(mask)
        draw = cols[_draws(len(cols), resamples, seed)]  # the same problem draws for every method: paired
        boot = {m: x[:, draw].mean(-1).mean(0) for m, x in mats.items()}  # [resamples]
        for method, x in mats.items():
            per_seed = x[:, cols].mean(-1)
            lo, hi = np.quantile(boot[method], q)
            row = {"method": method, "group": g, "accuracy": float(per_seed.mean()), "lo": float(lo),
                   "hi": float(hi), "per_seed": [float(v) for v in per_seed], "seeds": len(seeds[method]),
                   "problems": int(len(cols)), "resamples": resamples}
            for b in baselines:
                if b in mats and b != method:
                    d = boot[method] - boot[b]
                    dlo, dhi = np.quantile(d, q)
                    row[f"minus_{b}"] = float(per_seed.mean() - mats[b][:, cols].mean(-1).mean())
                    row[f"minus_{b}_lo"], row[f"minus_{b}_hi"] = float(dlo), float(dhi)
            rows.append(row)
    return pd.DataFrame(rows)


def paired(table: pd.DataFrame, method: str, baseline: str, groups_shown=None) -> pd.DataFrame:
    """``method`` − ``baseline`` per group in points with the paired interval (``ppo_prm`` against
    ``ppo_outcome``: the easy-to-hard effect of RL)."""
    col = f"minus_{baseline}"
    part = table[table["method"] == method].set_index("group")
    if col not in part.columns:
        raise ValueError(f"the table has no differences with {baseline!r}; compute it with baselines=(..., "
                         f"{baseline!r})")
    part = part.loc[[g for g in (groups_shown or part.index) if g in part.index]]
    out = pd.DataFrame({f"{method} − {baseline}, points": (100 * part[col]).round(1),
                        "lo": (100 * part[f"{col}_lo"]).round(1), "hi": (100 * part[f"{col}_hi"]).round(1),
                        "problems": part["problems"]})
    out.columns.name = f"paired over the same problem draws; {CI_TEXT}"
    return out


def by_level(table: pd.DataFrame, order=None) -> pd.DataFrame:
    """Accuracy % per method (rows, in ``order``) and level (columns), mean over seeds."""
    part = table[table["group"].str.startswith("level")]
    out = part.pivot_table(index="method", columns="group", values="accuracy", sort=False).mul(100).round(1)
    return out.reindex([m for m in (order or out.index) if m in out.index])


def headline(table: pd.DataFrame, groups_shown=("easy", "hard", "all"), order=None) -> pd.DataFrame:
    """The table a person reads: per method, accuracy % [interval] per group and the hard-group differences with
    the baselines in points."""
    def cell(m, lo, hi, sign=False):
        f = "{:+.1f}" if sign else "{:.1f}"
        return f"{f.format(100 * m)} [{f.format(100 * lo)}, {f.format(100 * hi)}]"

    methods = [m for m in (order or dict.fromkeys(table["method"])) if m in set(table["method"])]
    out = []
    for method in methods:
        part = table[table["method"] == method].set_index("group")
        if part.empty:
            continue
        row = {"method": method, "seeds": int(part["seeds"].iloc[0])}
        for g in groups_shown:
            if g in part.index:
                r = part.loc[g]
                row[f"{g} %"] = cell(r["accuracy"], r["lo"], r["hi"])
        for b in ("sft", "more_sft"):
            col = f"minus_{b}"
            if "hard" in part.index and col in part.columns and not pd.isna(part.loc["hard", col]):
                r = part.loc["hard"]
                row[f"hard − {b}, points"] = cell(r[col], r[f"{col}_lo"], r[f"{col}_hi"], sign=True)
        out.append(row)
    frame = pd.DataFrame(out).set_index("method")
    sizes = ", ".join(f"{g} {int(table[table.group == g]['problems'].iloc[0])}" for g in groups_shown
                      if (table.group == g).any())
    frame.columns.name = f"greedy test accuracy; problems: {sizes}; {CI_TEXT}, B = {int(table['resamples'].iloc[0])}"
    return frame
