"""e2h.grading: the verdict table, answer extraction, normalization as a voting key, grade_many and the cache."""

import subprocess
import sys
from itertools import pairwise
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from e2h.grading import (clear_cache, extract_answer, grade, grade_many, grading_stats, normalize_answer,
                         reset_grading_stats)

CASES_FILE = Path(__file__).with_name("grading_cases.tsv")


def _load_cases():
    cases = []
    for lineno, line in enumerate(CASES_FILE.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        assert len(fields) == 4, f"{CASES_FILE.name}:{lineno}: expected gold, pred, verdict, reason; got {fields}"
        gold, pred, expected, reason = fields
        assert expected in ("True", "False"), f"{CASES_FILE.name}:{lineno}: verdict must be True/False"
        cases.append(pytest.param(gold, pred, expected == "True", id=f"{lineno}-{reason}-{expected}"))
    return cases


CASES = _load_cases()


def test_table_is_big_and_two_sided():
    verdicts = [c.values[2] for c in CASES]
    assert len(CASES) >= 150
    assert verdicts.count(False) >= 40 and verdicts.count(True) >= 40


@pytest.mark.parametrize("gold, pred, expected", CASES)
def test_verdict_table(gold, pred, expected):
    assert grade(pred, gold) is expected


@pytest.mark.parametrize("gold, pred, expected", CASES)
def test_normalization_is_idempotent_and_a_voting_key(gold, pred, expected):
    for ans in (gold, pred):
        once = normalize_answer(ans)
        assert normalize_answer(once) == once
        # The normalized form is itself a valid spelling of the answer.
        assert grade(once, ans) or not once
    if normalize_answer(gold) == normalize_answer(pred):
        assert expected, "answers that share a voting key must be graded equal"


def test_table_through_grade_many_matches_grade():
    golds = [c.values[0] for c in CASES]
    preds = [c.values[1] for c in CASES]
    clear_cache()
    many = grade_many(preds, golds, workers=2, progress=False)
    assert many == [c.values[2] for c in CASES]


def test_missing_or_empty_predictions_are_wrong():
    assert grade(None, "5") is False
    assert grade("", "5") is False
    assert grade("   ", "5") is False
    assert grade("$ $", "5") is False
    assert grade("5", "") is False
    assert grade_many([None, "", "5"], ["5", "5", "5"], progress=False) == [False, False, True]


def test_bad_types_and_arguments_raise_clear_errors():
    with pytest.raises(TypeError, match="gold answer must be a str"):
        grade("5", None)
    with pytest.raises(TypeError, match="predicted answer must be a str or None"):
        grade(5, "5")
    with pytest.raises(ValueError, match="2 predictions but 1 gold"):
        grade_many(["1", "2"], ["1"], progress=False)
    with pytest.raises(ValueError, match="timeout"):
        grade("1", "1", timeout=-1)


def test_grade_many_caches_by_normalized_pair():
    clear_cache()
    reset_grading_stats()
    golds = ["\\frac{\\sqrt{3}}{3}"] * 300 + ["7"] * 300
    preds = ["\\frac{1}{\\sqrt{3}}", "\\dfrac{1}{\\sqrt3}", "$\\frac{1}{\\sqrt{3}}$"] * 100 + ["7", "7.0", "8"] * 100
    verdicts = grade_many(preds, golds, progress=False)
    assert verdicts == [True] * 300 + [True, True, False] * 100
    stats = grading_stats()
    assert stats["symbolic_calls"] == 1  # three spellings, one normalized pair, one sympy call
    assert stats["cache_hits"] == 600 - 3
    again = grade_many(preds, golds, progress=False)
    assert again == verdicts and grading_stats()["symbolic_calls"] == 1


# ---------------------------------------------------------------------------------------------------------------
# extract_answer

@pytest.mark.parametrize("text, expected", [
    ("# Question\n\nq\n\n# Solution\n\nStep 1.\n\nStep 2.\n\n# Answer\n\n\\frac{1}{2}", "\\frac{1}{2}"),
    ("Step.\n\n# Answer\n\n42</s>", "42"),
    ("Step.\n\n# Answer\n\n42<|endoftext|>garbage", "42"),
    ("Step.\n\n# Answer\n\n 7 \n\n# Question\n\nmore text", "7"),
    ("# Answer\n\n1\n\nretry\n\n# Answer\n\n2", "2"),  # the LAST answer section counts
    ("Step.\n\n# Answer\n\n\\boxed{3}", "3"),
    ("Step.\n\n# Answer\n\n(1, 2)", "(1, 2)"),
    ("so the answer is $\\boxed{\\frac{1}{\\sqrt{2}}}$.", "\\frac{1}{\\sqrt{2}}"),
    ("first $\\boxed{1}$ then $\\boxed{\\{1, \\{2\\}\\}}$", "\\{1, \\{2\\}\\}"),  # nested braces, last box
    ("$\\boxed{\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}}$", "\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}"),
    ("Step.\n\n# Answer\n\n", None),  # truncated answer section and no box
    ("Step with \\boxed{5}.\n\n# Answer\n\n</s>", "5"),  # empty answer section: fall back to the box
    ("no answer here", None),
    ("unclosed \\boxed{12", None),
    ("", None),
    (None, None),
])
def test_extract_answer(text, expected):
    assert extract_answer(text) == expected


def test_extracted_answers_grade_against_gold():
    solution = "We compute.\n\n$x = \\dfrac{3}{4}$.\n\n# Answer\n\n\\dfrac34</s>"
    assert grade(extract_answer(solution), "\\frac{3}{4}")
    assert not grade(extract_answer("Step.\n\n# Answer\n\n"), "0")


def test_importing_the_grader_loads_neither_torch_nor_sympy():
    """The analysis half must not import torch/transformers; sympy loads only in the grader's child processes."""
    code = ("import sys, e2h.grading; heavy = [m for m in ('torch', 'transformers', 'sympy') if m in sys.modules]; "
            "print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


FUZZ_TOKENS = ["\\$", "$", " ", "\\text{", "\\text{ ", "}", "{", "\\frac", "\\dfrac", "\\sqrt", "1", "23", "0.5", ",", ".",
               "x", "=", "\\in", "(", ")", "[", "]", "\\{", "\\}", "\\left(", "\\right)", "\\cup", "^", "_", "^\\circ",
               "\\%", " or ", " cm", "units", "\\!", "{,}", "\\\\", "&", "\\begin{pmatrix}", "\\end{pmatrix}", "-", "+",
               "/", "\\pi", "\\boxed{", "\\infty", "\\pm", "(C)", "\\", "\u03c0", "\u2212", "\u00b0", "1,000", "!"]


def test_random_token_soup_never_raises():
    """Normalization and the in-process rules must survive any string (sympy is stubbed out here)."""
    import random

    from e2h.grading.compare import grade_normalized

    rng = random.Random(0)
    for _ in range(3000):
        text = "".join(rng.choice(FUZZ_TOKENS) for _ in range(rng.randint(1, 12)))
        normal = normalize_answer(text)
        assert isinstance(normal, str)
        assert grade_normalized(normal, normalize_answer(text + "1"), lambda g, p: False) in (True, False)


# ---------------------------------------------------------------------------------------------------------------
# Properties over generated answers (hypothesis): normalization never raises, is idempotent, and the in-process
# rules never raise on any pair of its outputs.

PROPERTY = settings(max_examples=250, deadline=None, database=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])

_ints = st.integers(-3000, 3000).map(str)
_digits = st.integers(1, 99)
_numbers = st.one_of(
    _ints, st.integers(0, 99_999).map(lambda n: f"{n / 100:g}"),  # decimals
    st.tuples(st.integers(1000, 9_999_999), st.sampled_from([",", "{,}", ",\\!", "\\,", " ", ", "])).map(
        lambda t: f"{t[0]:,}".replace(",", t[1])),  # thousands separators, and the spaced comma that is none
    st.tuples(_ints, _digits).map(lambda t: f"\\frac{{{t[0]}}}{{{t[1]}}}"),
    st.tuples(_ints, _digits).map(lambda t: f"{t[0]}/{t[1]}"),
    st.tuples(st.integers(1, 9), st.integers(1, 9)).map(lambda t: f"\\dfrac{t[0]}{t[1]}"),
    st.tuples(st.integers(1, 9), st.integers(1, 9), st.integers(2, 9)).map(
        lambda t: f"{t[0]}\\frac{{{t[1]}}}{{{t[2]}}}"),  # mixed numbers
    _digits.map(lambda n: f"\\sqrt{{{n}}}"), st.integers(2, 9).map(lambda n: f"\\sqrt{n}"),
    _digits.map(lambda n: f"{n}\\sqrt{{2}}"))
_symbols = st.sampled_from(["x", "y", "n", "\\pi", "\\infty", "e", "i", "\\theta", "A", "Monday", "\\text{odd}"])
_leaf = st.one_of(_numbers, _symbols)


def _compound(inner):
    ops = st.sampled_from(["+", "-", "\\cdot", " ", "^", "\\pm", "=", " \\le ", "\\times", "/"])
    return st.one_of(
        st.tuples(inner, ops, inner).map("".join),
        inner.map(lambda e: f"({e})"), inner.map(lambda e: f"\\left({e}\\right)"),
        inner.map(lambda e: f"{{{e}}}"), inner.map(lambda e: f"\\sqrt{{{e}}}"),
        st.tuples(inner, inner).map(lambda t: f"\\frac{{{t[0]}}}{{{t[1]}}}"),
        inner.map(lambda e: f"{e}^\\circ"), inner.map(lambda e: f"\\cos {e}^\\circ"), inner.map(lambda e: f"{e}\\%"))


_expressions = st.recursive(_leaf, _compound, max_leaves=6)
_separated = st.lists(_expressions, min_size=2, max_size=4)
_answers = st.one_of(
    _expressions,
    _separated.map(", ".join), _separated.map(",".join), _separated.map(" \\text{ or } ".join),
    _separated.map(lambda xs: "(" + ", ".join(xs) + ")"), _separated.map(lambda xs: "[" + ",".join(xs) + ")"),
    _separated.map(lambda xs: "\\{" + ", ".join(xs) + "\\}"),
    _separated.map(lambda xs: " \\cup ".join(f"({x}, {y})" for x, y in pairwise(xs))),
    _separated.map(lambda xs: "\\begin{pmatrix} " + " \\\\ ".join(xs) + " \\end{pmatrix}"),
    st.tuples(st.sampled_from(["x = ", "y=", "k \\in ", "x_1 = ", "a = "]), _expressions).map("".join),
    st.tuples(_expressions, st.sampled_from(["\\text{ cm}", " cm", "\\text{ units}", " square units", "\\text{ ways}",
                                              ".", "\\text{ million}", "^\\circ", "\\%"])).map("".join),
    _expressions.map(lambda e: f"${e}$"), _expressions.map(lambda e: f"\\boxed{{{e}}}"),
    _expressions.map(lambda e: f"\\text{{{e}}}"))


@PROPERTY
@given(st.text(max_size=300))
def test_normalization_of_any_text_never_raises_and_is_idempotent(text):
    once = normalize_answer(text)
    assert normalize_answer(once) == once
    assert extract_answer(text) is None or isinstance(extract_answer(text), str)


@PROPERTY
@given(_answers)
def test_normalization_of_generated_answers_is_idempotent(answer):
    once = normalize_answer(answer)
    assert normalize_answer(once) == once, (answer, once, normalize_answer(once))


@PROPERTY
@given(st.lists(st.sampled_from(FUZZ_TOKENS + ["\\sqrt{", "\\text{ ", "\\begin{pmatrix}", "3 4", "x=2x", "1, 256"]),
                min_size=1, max_size=60).map("".join), _answers)
def test_junk_never_raises_in_normalization_extraction_or_the_in_process_rules(junk, answer):
    from e2h.grading.compare import grade_normalized

    for text in (junk, junk + answer, answer + junk):
        normal = normalize_answer(text)
        assert isinstance(normal, str)
        assert isinstance(extract_answer(f"Steps.\n\n# Answer\n\n{text}"), (str, type(None)))
        assert grade_normalized(normal, normalize_answer(answer), lambda g, p: False) in (True, False)
