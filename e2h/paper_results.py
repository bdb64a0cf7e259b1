"""Numbers reported by the paper (and by PRM800K's evaluation), as data, for overlays and comparisons.

Accuracies are fractions of MATH500 problems (0-1). ``group`` follows :mod:`e2h.rerank`: all, easy (levels 1-3),
hard (4-5), "level k". ``source`` says where a number comes from. The project's guide (GUIDE.md §1) quotes these
numbers; only Table 1 (greedy SFT) is named there, so the other entries name the kind of result (re-ranking at
N = 1024, RL with greedy decoding) and say that the table number was not checked against the PDF here. The PRM800K
curve is the mean over the 222 logged trials of OpenAI's ``eval.py`` (``reproduce-prm800k-test.out``, see
``$E2H_DATA_DIR/reward-by-prm800k/PROVENANCE.md``).
"""

from __future__ import annotations

import pandas as pd

_RERANK = "Sun et al. 2024, re-ranking results at N = 1024, PRM800K setting (GUIDE.md §1; table number unchecked)"
_LEVEL = "Sun et al. 2024, 34b re-ranking per level at N = 1024 (GUIDE.md §1; figure/table number unchecked)"
_RL = "Sun et al. 2024, RL results, 7b, greedy decoding (GUIDE.md §1; table number unchecked)"
_SFT = "Sun et al. 2024, Table 1, greedy SFT (GUIDE.md §1)"
_PRM800K = "Lightman et al. 2023, PRM800K eval.py (PRM best-of-N), mean of 222 trials in reproduce-prm800k-test.out"

# (setting, method, rm, agg, group, n, accuracy %)
_RERANKING = [
    ("7b+7b", "majority", "", "", "all", 1024, 37.10), ("7b+7b", "majority", "", "", "hard", 1024, 19.19),
    ("7b+7b", "weighted", "prm", "prod", "all", 1024, 40.47), ("7b+7b", "weighted", "prm", "prod", "hard", 1024, 22.77),
    ("7b+7b", "weighted", "orm", "prod", "all", 1024, 39.98), ("7b+7b", "weighted", "orm", "prod", "hard", 1024, 21.23),
    ("7b+7b", "weighted", "oprm", "prod", "all", 1024, 42.74),
    ("7b+7b", "weighted", "oprm", "prod", "hard", 1024, 24.12),
    ("7b+7b", "best_of_n", "oprm", "min", "all", 1024, 36.66),
    ("7b+7b", "best_of_n", "oprm", "min", "hard", 1024, 19.91),
    ("34b+34b", "majority", "", "", "all", 1024, 46.53), ("34b+34b", "majority", "", "", "hard", 1024, 26.41),
    ("34b+34b", "weighted", "prm", "prod", "all", 1024, 48.91),
    ("34b+34b", "weighted", "prm", "prod", "hard", 1024, 29.38),
    ("34b+34b", "weighted", "orm", "prod", "all", 1024, 49.88),
    ("34b+34b", "weighted", "orm", "prod", "hard", 1024, 30.19),
    ("34b+34b", "weighted", "oprm", "prod", "all", 1024, 52.45),
    ("34b+34b", "weighted", "oprm", "prod", "hard", 1024, 32.58),
]
_PER_LEVEL = [
    ("34b+34b", "majority", "", "", "level 5", 1024, 14.73),
    ("34b+34b", "weighted", "oprm", "prod", "level 5", 1024, 19.77),
    ("34b+34b", "majority", "", "", "level 4", 1024, 38.69),
    ("34b+34b", "weighted", "oprm", "prod", "level 4", 1024, 46.08),
]
# (setting, method, easy, hard, all) in %, greedy decoding
_GREEDY = [
    ("7b PRM800K", "SFT", 28.2, 12.2, 19.8), ("7b PRM800K", "ReST-EM", 33.2, 12.6, 22.4),
    ("7b PRM800K", "DPO+PRM", 42.0, 12.2, 26.4), ("7b PRM800K", "PPO+PRM", 42.0, 14.1, 27.4),
    ("7b PRM800K", "PPO+PRM, all questions", 45.4, 14.9, 29.4),
    ("7b MetaMath", "SFT", 44.1, 14.9, 28.8), ("7b MetaMath", "DPO+PRM", 53.8, 16.0, 34.0),
    ("7b MetaMath", "PPO+PRM", 53.8, 16.0, 34.0),
]
_PRM800K_CURVE = {10: 0.6783, 25: 0.7149, 50: 0.7337, 75: 0.7425, 100: 0.7496, 200: 0.7604, 300: 0.7659,
                  400: 0.7685, 500: 0.7715, 750: 0.7746, 1000: 0.7763, 1250: 0.7785, 1500: 0.7798, 1860: 0.782}


def reranking() -> pd.DataFrame:
    """Re-ranking accuracies at N = 1024 (all / hard, and 34b per level), in the curve table's columns."""
    rows = [dict(setting=s, method=m, rm=r, agg=a, group=g, n=n, accuracy=round(acc / 100, 6), source=_RERANK)
            for s, m, r, a, g, n, acc in _RERANKING]
    rows += [dict(setting=s, method=m, rm=r, agg=a, group=g, n=n, accuracy=round(acc / 100, 6), source=_LEVEL)
             for s, m, r, a, g, n, acc in _PER_LEVEL]
    return pd.DataFrame(rows)


def greedy() -> pd.DataFrame:
    """Greedy-decoding accuracies of SFT and RL policies, per group (easy / hard / all)."""
    rows = []
    for setting, method, easy, hard, all_ in _GREEDY:
        source = _SFT if method == "SFT" and setting == "7b PRM800K" else _RL
        rows += [dict(setting=setting, method=method, group=g, accuracy=round(v / 100, 6), source=source)
                 for g, v in (("easy", easy), ("hard", hard), ("all", all_))]
    rows += [dict(setting=s, method="SFT, easy-to-hard", group="all", accuracy=round(v / 100, 6), source=_SFT)
             for s, v in (("7b PRM800K", 19.8), ("7b MetaMath", 30.0))]
    rows += [dict(setting=s, method="SFT, full data", group="all", accuracy=round(v / 100, 6), source=_SFT)
             for s, v in (("7b PRM800K", 20.6), ("7b MetaMath", 31.4))]
    return pd.DataFrame(rows)


def prm800k_curve() -> pd.DataFrame:
    """OpenAI's PRM best-of-N curve on MATH500 (prod of P(good or neutral)), mean over draws per N."""
    return pd.DataFrame([dict(setting="PRM800K (GPT-4 generator)", method="best_of_n", rm="prm", agg="prod",
                              group="all", n=n, accuracy=acc, source=_PRM800K)
                         for n, acc in _PRM800K_CURVE.items()])
