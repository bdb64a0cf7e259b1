"""Comparing two normalized answers: shape first, then PRM800K's per-element rules, then sympy (via a callback).

Before sympy, two elements of plain arithmetic whose values differ are told apart in-process
(:mod:`e2h.grading.numeric`): sympy proves equality only of equal values, so this changes no verdict.

The verdict depends only on the two normalized strings, which is what lets :func:`e2h.grading.grade_many` cache
verdicts by (normalized gold, normalized pred).
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Callable

from e2h.grading import numeric
from e2h.grading.audit import bump
from e2h.grading.structure import Atom, Matrix, Seq, parse

Symbolic = Callable[[str, str], bool]

_INT_RE = re.compile(r"-?\d+")
_FRAC_RE = re.compile(r"-?\\frac\{\d+\}\{\d+\}")
_COMMAND_RE = re.compile(r"\\[a-zA-Z]+")
# Inputs sympy would spend minutes or gigabytes on (PRM800K refuses similar ones): a power inside an exponent,
# six-digit exponents, factorials of four-digit numbers or of groups, thousand-digit literals.
_HAZARD_RE = re.compile(r"\^\{[^{}]*\^|\^\{?\(?[-+]?\d{6}|\d{4,}!|[})]!|!!|\d{1000}")
# Digits a space apart ("3 4", kept so by normalization) are no number; latex2sympy would read them as 3 + 4.
_JUXTAPOSED_DIGITS_RE = re.compile(r"\d \d")
_MAX_SYMBOLIC_CHARS = 600
_MAX_UNORDERED_LEFTOVERS = 64


def grade_normalized(gold: str, pred: str, symbolic: Symbolic) -> bool:
    """True when the normalized ``pred`` answers the normalized ``gold``."""
    if not gold or not pred:
        return False
    if gold == pred:
        return True
    return _equal(parse(gold), parse(pred), symbolic)


def _equal(g, p, symbolic: Symbolic) -> bool:
    if g == p:
        return True
    if isinstance(g, Atom) and isinstance(p, Atom):
        return atoms_equal(g.text, p.text, symbolic)
    if isinstance(g, Matrix) and isinstance(p, Matrix):
        if [len(r) for r in g.rows] != [len(r) for r in p.rows]:
            return False
        return all(_equal(a, b, symbolic) for ra, rb in zip(g.rows, p.rows) for a, b in zip(ra, rb))
    if isinstance(g, Seq) and isinstance(p, Seq) and len(g.items) == len(p.items):
        if g.kind == "tuple":  # points and intervals: same brackets, same order
            return p.kind == "tuple" and (g.open, g.close) == (p.open, p.close) and \
                all(_equal(a, b, symbolic) for a, b in zip(g.items, p.items))
        unordered = {"list", "set"}
        if (g.kind in unordered and p.kind in unordered) or g.kind == p.kind == "union":
            return _match_unordered(list(g.items), list(p.items), symbolic)
    return False


def _match_unordered(golds: list, preds: list, symbolic: Symbolic) -> bool:
    """Several answers in any order: every gold element pairs with a distinct equal pred element."""
    common = Counter(golds) & Counter(preds)  # identical elements first, so sympy only sees the leftovers
    golds, preds = list((Counter(golds) - common).elements()), list((Counter(preds) - common).elements())
    if len(golds) > _MAX_UNORDERED_LEFTOVERS:  # pairing them is quadratic; no real answer lists that many
        return False
    for g in golds:
        match = next((i for i, p in enumerate(preds) if _equal(g, p, symbolic)), None)
        if match is None:
            return False
        preds.pop(match)
    return True


def _letters(s: str) -> set[str]:
    return {c for c in _COMMAND_RE.sub("", s) if c.isalpha()}


def is_integer(s: str) -> bool:
    """An integer literal: by the integer rule below it equals no element but itself."""
    return _INT_RE.fullmatch(s) is not None


def compared_as_string(s: str) -> bool:
    """Whether the rules below compare the element ``s`` as a plain string against every other element, whatever
    that element is: an infinity, more than two letters, digits a space apart, a hazard for sympy, or so long that
    with any other non-empty element it passes the length cap. (Answer grouping relies on this: such an element
    groups with no other, so its own spelling is its key.)"""
    return ("\\infty" in s or len(_letters(s)) > 2 or _JUXTAPOSED_DIGITS_RE.search(s) is not None
            or len(s) >= _MAX_SYMBOLIC_CHARS or _HAZARD_RE.search(s) is not None)


def atoms_equal(g: str, p: str, symbolic: Symbolic) -> bool:
    """One element against one element, with PRM800K's conservative rules before any sympy."""
    if g == p:
        return True
    g_int, p_int = _INT_RE.fullmatch(g) is not None, _INT_RE.fullmatch(p) is not None
    if g_int or p_int:
        # Distinct integer spellings are distinct values; and an integer answer must be written as an integer
        # (PRM800K: no sympy when exactly one side is an integer, so 4/2 or 2^{10} never pass for 2 or 1024).
        bump("fast_verdicts")
        return False
    if _FRAC_RE.fullmatch(g) and _FRAC_RE.fullmatch(p):
        bump("fast_verdicts")  # both literal fractions, spelled differently: unreduced or unequal
        return False
    if "\\infty" in g or "\\infty" in p or len(_letters(g) | _letters(p)) > 2:
        bump("fast_verdicts")  # words and many-variable answers are compared as strings only (as PRM800K does)
        return False
    if _JUXTAPOSED_DIGITS_RE.search(g) or _JUXTAPOSED_DIGITS_RE.search(p):
        bump("fast_verdicts")
        return False
    if len(g) + len(p) > _MAX_SYMBOLIC_CHARS or _HAZARD_RE.search(g) or _HAZARD_RE.search(p):
        bump("guarded")
        return False
    if numeric.differ(g, p):  # plain arithmetic with different values: sympy could not prove them equal
        bump("numeric_verdicts")
        return False
    return symbolic(g, p)
