"""Re-ranking: majority voting, best-of-N and weighted voting over a scored pool, as accuracy-vs-N curves.

    from e2h.rerank import accuracy_at_n, curves, resample
    accuracy_at_n(pool, "weighted", 64, rm="prm", agg="prod")
    res = resample(pool)            # every method, reward model, aggregator, group and N
    res.table()                     # the curve table, both uncertainty kinds
    res.differences()               # paired differences against majority voting

See docs/rerank.md for the draws, the tie rule and the two kinds of interval. Nothing here imports torch.
"""

from e2h.rerank.ci import BOOTSTRAP, KINDS, SUBSETS
from e2h.rerank.curves import (DEFAULT_AGGS, Resampled, accuracy_at_n, curves, default_ns, merge_equal_aggregators,
                               resample, summary_at, variants_for)
from e2h.rerank.engine import METHODS, SCORED, Variant
from e2h.rerank.quality import auroc, evaluator_auroc
from e2h.rerank.select import AGGREGATORS, aggregate, groups_of, pack, solution_scores

__all__ = ["AGGREGATORS", "BOOTSTRAP", "DEFAULT_AGGS", "KINDS", "METHODS", "SCORED", "SUBSETS", "Resampled",
           "Variant", "accuracy_at_n", "aggregate", "auroc", "curves", "default_ns", "evaluator_auroc", "groups_of",
           "merge_equal_aggregators",
           "pack", "resample", "solution_scores", "summary_at", "variants_for"]
