"""The data layer: MATH and MATH500 splits, and readers for PRM800K (labels and OpenAI's scored samples),
MetaMathQA and Math-Shepherd.

Imports neither torch nor transformers, so the analysis half can use it anywhere. See docs/data.md.
"""

from e2h.data._json import DataFormatError, iter_json_records
from e2h.data.math import (MathRecord, normalize_problem, parse_level, problem_index, read_math500, read_math_all,
                           read_math_dir, read_math_jsonl)
from e2h.data.metamath import easy_metamath, load_metamath_easy, read_metamath
from e2h.data.prm800k import easy_prm800k, load_prm800k_train, read_prm800k
from e2h.data.shepherd import read_shepherd
from e2h.data.prm800k_scored import read_scored_samples
from e2h.data.splits import (EASY_LEVELS, HARD_LEVELS, SPLITS, DataLeakError, assert_no_test_leak, draw_stratified,
                             embedded_splits, filter_levels, is_easy, is_hard, level_counts, make_splits, math_splits,
                             summarize)

__all__ = [
    "DataFormatError", "DataLeakError", "EASY_LEVELS", "HARD_LEVELS", "MathRecord", "SPLITS",
    "assert_no_test_leak", "draw_stratified", "easy_metamath", "embedded_splits", "easy_prm800k", "filter_levels",
    "is_easy", "is_hard", "iter_json_records", "level_counts", "load_metamath_easy", "load_prm800k_train",
    "make_splits", "math_splits", "normalize_problem", "parse_level", "problem_index", "read_math500",
    "read_math_all", "read_math_dir", "read_math_jsonl", "read_metamath", "read_prm800k", "read_scored_samples",
    "read_shepherd",
    "summarize",
]
