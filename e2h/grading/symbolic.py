"""Sympy equivalence of two normalized answer elements. Runs inside the grader's child process (see bounded.py).

Parsing is latex2sympy2_extended's (the parser math-verify uses); this module only decides equality: decimals are
made exact rationals, numbers are first compared numerically (a cheap rejection), and equality must then be
proven: ``simplify(a - b) == 0`` as in PRM800K, or ``(a - b).equals(0)`` for constants simplify cannot close.
"""

from __future__ import annotations

import re

import sympy
from latex2sympy2_extended import latex2sympy
from sympy.core.relational import Relational
from sympy.matrices import MatrixBase


def _exact(e):
    if isinstance(e, MatrixBase):
        return e.applyfunc(_exact)
    if isinstance(e, sympy.Basic):
        floats = e.atoms(sympy.Float)
        if floats:  # 3.2 -> 16/5 from its decimal spelling, so 3.2\cdot10^{-5} equals 1/31250 exactly
            e = e.xreplace({f: sympy.Rational(str(f)) for f in floats})
    return e


# Normalization keeps a degree mark only next to a trig function (\cos 15^{\circ}); latex2sympy would drop it
# and take 15 radians, so the angle is converted here.
_DEGREE_ANGLE_RE = re.compile(r"(?<![\d.])(\d+(?:\.\d+)?)\^\{\\circ\}")


def to_sympy(text: str):
    text = _DEGREE_ANGLE_RE.sub(r"\\left(\\frac{\1\\pi}{180}\\right)", text)
    return _exact(latex2sympy(text))


def _expr_equal(a, b) -> bool:
    diff = a - b
    if diff == 0:
        return True
    if not diff.free_symbols:
        value = diff.evalf(30)
        if value.has(sympy.nan, sympy.zoo, sympy.oo, -sympy.oo):
            return False
        if value.is_number:
            try:
                size = abs(complex(value))
                scale = abs(complex(a.evalf(30)))
            except (TypeError, ValueError):
                size = scale = None
            if size is not None and size > 1e-20 * (1 + scale):
                return False
    if sympy.simplify(diff) == 0:
        return True
    return not diff.free_symbols and diff.equals(0) is True


def equivalent(gold: str, pred: str) -> bool:
    """True when the two LaTeX elements denote the same value; parse failures are False."""
    a, b = to_sympy(gold), to_sympy(pred)
    if isinstance(a, MatrixBase) or isinstance(b, MatrixBase):
        return isinstance(a, MatrixBase) and isinstance(b, MatrixBase) and a.shape == b.shape and \
            all(_expr_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, Relational) or isinstance(b, Relational):
        if not (isinstance(a, Relational) and isinstance(b, Relational)):
            return False
        a, b = a.canonical, b.canonical
        if type(a) is not type(b):
            return False
        da, db = a.lhs - a.rhs, b.lhs - b.rhs
        if isinstance(a, sympy.Eq):  # x + y = 5 and 5 = y + x
            return _expr_equal(da, db) or _expr_equal(da, -db)
        return _expr_equal(da, db)
    if isinstance(a, sympy.Expr) and isinstance(b, sympy.Expr):
        return _expr_equal(a, b)
    return bool(a == b)
