"""Sympy equivalence of two normalized answer elements. Runs inside the grader's child process (see bounded.py).

Parsing is latex2sympy2_extended's (the parser math-verify uses); this module only decides equality: decimals are
made exact rationals, numbers are first compared numerically (a cheap rejection), and equality must then be
proven: ``simplify(a - b) == 0`` as in PRM800K, or ``(a - b).equals(0)`` for constants simplify cannot close.
Before simplify, cheaper steps that reach the same verdict: the difference rebuilt with sympy's evaluation is 0
(a proof); a difference with symbols is clearly nonzero at the fixed point (equal functions are equal there); a
difference that is a rational function is decided by ``cancel`` (a normal form, and simplify's own first step).

Parsing is most of a cold grader's time (ANTLR's Python runtime), so it is made cheaper without changing what it
returns: each element is parsed once per child (a pool compares one gold with hundreds of answers), and first with
ANTLR's SLL prediction, which its documentation guarantees to give the parse tree the default (LL) prediction gives
or to fail; only a failure is parsed again the usual way, so the result is always what ``latex2sympy`` returns.

:func:`fingerprint` is what answer grouping needs (``e2h.grading.keys``): an invariant of an element's value that
two elements :func:`equivalent` calls equal always share.
"""

from __future__ import annotations

import re
from functools import lru_cache

import sympy
from latex2sympy2_extended import latex2sympy
from sympy.core.relational import Relational
from sympy.matrices import MatrixBase

from e2h.grading.numeric import point

try:  # the pieces of latex2sympy() that the SLL attempt re-assembles; without them, latex2sympy() alone
    from antlr4.atn.PredictionMode import PredictionMode
    from antlr4.error.ErrorStrategy import BailErrorStrategy
    from latex2sympy2_extended import latex2sympy2 as _l2s
    from latex2sympy2_extended.math_normalization import NormalizationConfig, normalize_latex

    class _SLLConverter(_l2s._Latex2Sympy):
        def create_parser(self, latex_str):
            parser = super().create_parser(latex_str)
            parser._interp.predictionMode = PredictionMode.SLL
            parser._errHandler = BailErrorStrategy()  # fail at once (no recovery): then the LL parse decides
            return parser

    _NORMALIZATION, _CONVERSION = NormalizationConfig(), _l2s.ConversionConfig()
except (ImportError, AttributeError):  # pragma: no cover - another latex2sympy2_extended layout
    _SLLConverter = None


def _latex2sympy(text: str):
    """``latex2sympy(text)`` with its default settings, parsed with SLL prediction first (see the module doc)."""
    if _SLLConverter is not None:
        try:
            return _SLLConverter(config=_CONVERSION).parse(normalize_latex(text, _NORMALIZATION))
        except Exception:  # noqa: BLE001 - an input SLL cannot parse, or one that fails either way: ask LL
            pass
    return latex2sympy(text)


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


@lru_cache(maxsize=1 << 14)
def _parsed(text: str):
    """``(expression, None)`` or ``(None, the exception)``: parsing is deterministic, so once per element. Running
    out of memory or stack is not cached (it may depend on what else the child holds)."""
    try:
        text = _DEGREE_ANGLE_RE.sub(r"\\left(\\frac{\1\\pi}{180}\\right)", text)
        return _exact(_latex2sympy(text)), None
    except (MemoryError, RecursionError):
        raise
    except Exception as exc:  # noqa: BLE001 - any parse failure is "not equal", as it always was
        return None, exc


def to_sympy(text: str):
    expr, error = _parsed(text)
    if error is not None:
        raise error.with_traceback(None)
    return expr


def _rational_function(e) -> bool:
    """Whether ``e`` is a quotient of polynomials with rational coefficients (no radicals, constants, functions)."""
    return all(isinstance(x, (sympy.Rational, sympy.Symbol)) for x in e.atoms()) and \
        all(p.exp.is_Integer for p in e.atoms(sympy.Pow)) and not e.atoms(sympy.Function) and \
        e.is_rational_function()


def _evaluated(e):
    """``e`` rebuilt with sympy's automatic evaluation (latex2sympy builds its expressions unevaluated): then
    ``sqrt(891) - 9 sqrt(11)`` is 0 at once. Unevaluated integrals, limits and the like stay unevaluated."""
    return e.func(*[_evaluated(x) for x in e.args]) if e.args else e


def _expr_equal(a, b) -> bool:
    diff = a - b
    if diff == 0:
        return True
    try:  # a proof of equality that costs microseconds, where simplify would take milliseconds to agree
        if _evaluated(diff) == 0:
            return True
    except (TypeError, ValueError, AttributeError, RecursionError):
        pass
    if diff.free_symbols:
        # Equal expressions are equal functions, so equal at the fixed point; a clearly nonzero difference there
        # (30 correct digits) means simplify could not reach 0 either, and it is spared.
        value = _value(diff)
        if value is not None and abs(complex(float(value[0]), float(value[1]))) > 1e-20:
            return False
        if _rational_function(diff):  # cancel is a normal form there: simplify's own first step, and decisive
            return sympy.cancel(diff) == 0
    else:
        value = diff.evalf(30)  # a cheap rejection of clearly different constants
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


# ---------------------------------------------------------------------------------------------------------------
# Fingerprints: the value at one fixed point, so that elements equivalent() may call equal share it.

_DIGITS = 30


def _point(symbol: sympy.Symbol) -> sympy.Rational:
    """The value a symbol takes at the fixed point: ``numeric.point`` of its name (the in-process values use it)."""
    value = point(symbol.name)
    return sympy.Rational(value.numerator, value.denominator)


def _value(e) -> list[str] | None:
    """``[real part, imaginary part]`` of ``e`` at the fixed point, as decimal strings correct to 30 digits, or
    None when there is no such number (an unknown function, a matrix symbol, a pole, an infinity, or a value sympy
    cannot evaluate to full accuracy)."""
    e = e.xreplace({s: _point(s) for s in e.free_symbols if isinstance(s, sympy.Symbol)})
    if e.free_symbols:
        return None
    try:
        v = e.evalf(_DIGITS, strict=True)  # strict: an inaccurate value would be a wrong fingerprint
        re_, im_ = v.as_real_imag()
    except Exception:  # noqa: BLE001 - PrecisionExhausted, or anything evalf cannot do: no fingerprint
        return None
    if not (re_.is_Number and im_.is_Number) or not (re_.is_finite and im_.is_finite):
        return None
    return [str(sympy.Float(re_, _DIGITS)), str(sympy.Float(im_, _DIGITS))]


def fingerprint(text: str) -> list | None:
    """An invariant of the element ``text`` under :func:`equivalent`, or None when it has none to give.

    - ``["unparsed"]``: latex2sympy cannot read it, so :func:`equivalent` is False against every other element;
    - ``["num", re, im]``: an expression, by its value at the fixed point (:func:`_point`): equal expressions are
      equal functions (``simplify(a - b) == 0``) or equal constants, so equal there;
    - ``["eq", re, im]``: an equation, by the value of ``(lhs - rhs)^2`` (equations match up to the sign of
      ``lhs - rhs``);
    - ``["rel", kind, re, im]``: another relation, by its canonical kind and the value of ``lhs - rhs``;
    - None: matrices, sets and other objects (compared by ``==``), values that do not evaluate, and an element
      whose parse ran out of memory or stack.
    """
    try:
        e = to_sympy(text)
    except (MemoryError, RecursionError):
        return None
    except Exception:  # noqa: BLE001 - the same failure makes every equivalent() with this element False
        return ["unparsed"]
    if isinstance(e, MatrixBase):
        return None
    if isinstance(e, Relational):
        c = e.canonical
        if not isinstance(c, Relational):
            return None
        value = _value((c.lhs - c.rhs) ** 2 if isinstance(c, sympy.Eq) else c.lhs - c.rhs)
        if value is None:
            return None
        return ["eq", *value] if isinstance(c, sympy.Eq) else ["rel", type(c).__name__, *value]
    if isinstance(e, sympy.Expr):
        value = _value(e)
        return None if value is None else ["num", *value]
    return None
