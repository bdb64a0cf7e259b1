"""The value of a plain arithmetic element, in the caller's process, without sympy: exact, or a rigorous interval.

What sympy would decide is decided in a child process (``bounded``), which costs a round trip and, on a cold
child, most of a millisecond of ANTLR per element. But most elements a sampler writes are plain arithmetic
(``2\\sqrt{3}``, ``\\frac{5\\pi}{6}``, ``3x^{2}-2x+1``), and for those the value alone can prove that two answers
differ. So :func:`value` reads a small, unambiguous subset of normalized LaTeX and returns the element's value at
the fixed point of :func:`point` (the point at which ``symbolic.fingerprint`` evaluates): a ``Fraction`` when it is
rational, else an mpmath interval that contains it. Two values that differ prove sympy cannot show the elements
equal (equal expressions are equal functions, so equal at that point); equal values prove nothing, and sympy
still decides. The grader uses this to say "different" without a child, and answer grouping uses it as a key.

The subset is read exactly as latex2sympy reads it, and anything else is refused (None), never guessed:
integers (a decimal is a float to sympy, whose arithmetic on it is not exact), single letters (``e`` is Euler's
number, as in latex2sympy; any other letter a symbol), ``\\pi``, ``\\frac{}{}``, ``\\sqrt{}``, ``\\sqrt[n]{}``,
``^{}``, ``+``, ``-``, ``\\cdot``, implicit products, parentheses, and ``/`` before a last factor. Refused because
latex2sympy reads them in its own way: two letters in a row (``xy`` may be a name), ``d`` before a command
(``d\\pi`` is the differential ``dpi``), a letter or number before ``(`` (``y(2)`` is a function call, ``2(3)``
is 2 + 3), a number before ``\\frac`` (``7\\frac{1}{10}`` is a mixed number), a group or number after a finished
factor (``(2)(3)`` is 5), ``a/bc`` (which is ``a/(bc)``), and every function, subscript, factorial or relation.
Only real values are computed: a negative square root or a fractional power of a negative base is refused too.
Tests check the values against latex2sympy's on the MATH500 answers and on generated expressions (and the
benchmark scripts on all 12,500 MATH answers).
"""

from __future__ import annotations

import re
import zlib
from fractions import Fraction
from functools import lru_cache

_DPS = 50  # working precision of the intervals, in digits: far above the 12 digits a key keeps
_MAX_EXACT_EXPONENT = 64  # larger integer powers are taken on intervals (no thousand-digit fractions)
_MAX_CHARS = 300
_MAX_BITS = 1100  # values beyond 2^(+-1100) ~ 10^(+-331) are refused: no key rounds them (keys.py) anyway
# Normalization leaves a space only between a command name and a letter (``\pi r``): any other is refused.
_TOKEN_RE = re.compile(r"\d+\.\d+|\.\d+|\d+|\\[a-zA-Z]+(?: (?=[a-z]))?|[a-z]|[-+/^{}()\[\]]")
_NUMBER_RE = re.compile(r"\d+\.\d+|\.\d+|\d+")


def point(name: str) -> Fraction:
    """The value a symbol takes at the fixed point, from its name alone: a fraction in (1/2, 3/2), so inside the
    usual domain of every real function, and different for different names (a clash would only cost a call)."""
    return Fraction(500_000 + zlib.crc32(name.encode()) % 999_983, 999_983)


class _Refused(Exception):
    """The element is outside the subset read here."""


def _iv():
    from mpmath import iv  # lazily: only callers that meet a surd or pi pay the import
    iv.dps = _DPS
    return iv


def _interval(x):
    """``x`` as an mpmath interval (a fraction's interval contains it exactly)."""
    if not isinstance(x, Fraction):
        return x
    iv = _iv()
    return iv.mpf(x.numerator) if x.denominator == 1 else iv.mpf(x.numerator) / iv.mpf(x.denominator)


def _exact_end(end) -> Fraction | None:
    """An interval end point (mpmath's raw ``(sign, mantissa, exponent, bits)``) as a fraction; None if infinite."""
    sign, man, exp, _ = end
    if man == 0:
        return Fraction(0) if exp == 0 else None  # zero, or one of mpmath's infinities / nan
    value = Fraction(man * 2 ** exp) if exp >= 0 else Fraction(man, 2 ** -exp)
    return -value if sign else value


def _finite(x):
    """``x``, if it is a finite value of reasonable size (no end point beyond 2^(+-1100)), else refused."""
    if isinstance(x, Fraction):
        if x.numerator.bit_length() > _MAX_BITS or x.denominator.bit_length() > _MAX_BITS:
            raise _Refused
        return x
    for sign, man, exp, bits in x._mpi_:
        if (man == 0 and exp != 0) or (man != 0 and abs(exp + bits) > _MAX_BITS):  # infinite, nan, huge, tiny
            raise _Refused
    return x


def ends(x) -> tuple[Fraction, Fraction]:
    """The exact end points of a value (both ``x`` for a fraction)."""
    if isinstance(x, Fraction):
        return x, x
    return _exact_end(x._mpi_[0]), _exact_end(x._mpi_[1])


def _sign(x) -> int:
    """1 or -1 when ``x`` is surely positive or negative, 0 when it is zero, else refused (its sign is unknown)."""
    if isinstance(x, Fraction):
        return (x > 0) - (x < 0)
    if x.a > 0:
        return 1
    if x.b < 0:
        return -1
    raise _Refused


def _exact_root(x: Fraction, n: int) -> Fraction | None:
    """The positive rational n-th root of ``x`` > 0 when there is one."""
    def root(k: int) -> int | None:
        r = round(k ** (1.0 / n))
        for c in (r - 1, r, r + 1):
            if c >= 0 and c ** n == k:
                return c
        return None
    if x.numerator.bit_length() > 1000 or x.denominator.bit_length() > 1000:  # beyond floats: take an interval
        return None
    num, den = root(x.numerator), root(x.denominator)
    return Fraction(num, den) if num is not None and den is not None else None


def _power(base, exponent):
    if isinstance(exponent, Fraction) and exponent.denominator == 1:
        n = exponent.numerator
        if _sign(base) == 0:
            if n <= 0:
                raise _Refused  # 0^0 and 1/0 are sympy's business
            return Fraction(0)
        if isinstance(base, Fraction) and abs(n) <= _MAX_EXACT_EXPONENT:
            return _finite(base ** n)
        return _finite(_interval(base) ** n)
    if _sign(base) <= 0:  # a fractional power of a negative number is complex (principal branch): not here
        raise _Refused
    if isinstance(exponent, Fraction) and isinstance(base, Fraction) and exponent.denominator <= 64:
        exact = _exact_root(base, exponent.denominator)
        if exact is not None:
            return _power(exact, Fraction(exponent.numerator))
    iv = _iv()
    return _finite(iv.exp(_interval(exponent) * iv.log(_interval(base))))


class _Reader:
    """Recursive descent over the tokens of one element, computing its value as it reads."""

    def __init__(self, text: str) -> None:
        tokens, pos = [], 0
        for m in _TOKEN_RE.finditer(text):
            if m.start() != pos:
                raise _Refused
            tokens.append(m.group())
            pos = m.end()
        if pos != len(text):
            raise _Refused
        self.tokens = tokens
        self.i = 0

    def peek(self) -> str | None:
        return self.tokens[self.i].rstrip(" ") if self.i < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        tok = self.peek()
        if tok is None or (expected is not None and tok != expected):
            raise _Refused
        self.i += 1
        return tok

    def read(self):
        value = self.expr()
        if self.peek() is not None:
            raise _Refused
        return value

    def expr(self):
        negative = self.peek() == "-"
        if negative:
            self.take()
        total = self.term()
        total = -total if negative else total
        while self.peek() in ("+", "-"):
            op = self.take()
            value = self.term()
            total = _add(total, value if op == "+" else -value)
        return total

    def term(self):
        """A product of factors (a number only first), then at most one ``/ factor`` that ends the term."""
        product = self.factor(first=True)
        while self.peek() not in (None, "+", "-", "}", ")", "]", "/"):
            if self.peek() == "\\cdot":
                self.take()
                product = _mul(product, self.factor(first=True))
            else:
                product = _mul(product, self.factor(first=False))
        if self.peek() == "/":
            self.take()
            divisor = self.factor(first=True, parenthesis=False)
            if self.peek() not in (None, "+", "-", "}", ")", "]"):
                raise _Refused  # a/bc is a/(bc) to latex2sympy, a/b\cdot c who knows
            product = _div(product, divisor)
        return product

    def factor(self, first: bool, parenthesis: bool = True):
        tok = self.peek()
        if tok is None:
            raise _Refused
        if _NUMBER_RE.fullmatch(tok) or tok == "(":
            if not first or (tok == "(" and not parenthesis):
                raise _Refused  # 2^{3}4, x2, x(2), (2)(3): read otherwise, or ambiguously, by latex2sympy
        base = self.primary()
        if _NUMBER_RE.fullmatch(tok) and self.peek() == "\\frac":
            raise _Refused  # 7\frac{1}{10} is the mixed number 7 + 1/10 to latex2sympy, also after \cdot
        if self.peek() == "^":
            self.take()
            self.take("{")
            exponent = self.expr()
            self.take("}")
            if self.peek() in ("^", "\\frac") and not tok == "(":
                raise _Refused  # x^{2}^{3}; 2^{2}\frac{1}{2} might be read as a mixed number too
            base = _power(base, exponent)
        if tok == "(" and self.peek() not in (None, "+", "-", "}", ")", "]", "/", "\\cdot"):
            raise _Refused  # (x+1)x reads as a product, but (2)(3) as a mixed number: stay out of it
        return base

    def primary(self):
        tok = self.take()
        if _NUMBER_RE.fullmatch(tok):
            return _number(tok)
        if len(tok) == 1 and tok.isalpha():
            following = self.tokens[self.i] if self.i < len(self.tokens) else ""
            if following.isalpha() or following == "(" or (tok == "d" and following.startswith("\\")):
                raise _Refused  # xy may be a name, y(2) a function call, d\pi the differential dpi
            return _iv().e if tok == "e" else point(tok)
        if tok == "(":
            value = self.expr()
            self.take(")")
            return value
        if tok == "\\pi":
            return _iv().pi
        if tok == "\\frac":
            num = self.group()
            return _div(num, self.group())
        if tok == "\\sqrt":
            n = Fraction(2)
            if self.peek() == "[":
                self.take()
                n = self.expr()
                self.take("]")
                if not (isinstance(n, Fraction) and n.denominator == 1 and n >= 2):
                    raise _Refused
            return _power(self.group(), 1 / n)
        raise _Refused

    def group(self):
        self.take("{")
        value = self.expr()
        self.take("}")
        return value


def _number(tok: str) -> Fraction:
    if "." in tok:  # a float to sympy, which evaluates exp(2.25) or 0.1/0.3 in 53 bits before it is made exact
        raise _Refused
    return Fraction(tok)


def _add(a, b):
    if isinstance(a, Fraction) and isinstance(b, Fraction):
        return _finite(a + b)
    return _finite(_interval(a) + _interval(b))


def _mul(a, b):
    if isinstance(a, Fraction) and isinstance(b, Fraction):
        return _finite(a * b)
    return _finite(_interval(a) * _interval(b))


def _div(a, b):
    if _sign(b) == 0:
        raise _Refused
    if isinstance(a, Fraction) and isinstance(b, Fraction):
        return _finite(a / b)
    return _finite(_interval(a) / _interval(b))


@lru_cache(maxsize=1 << 16)
def value(text: str):
    """The value of the normalized element ``text`` at the fixed point: a ``Fraction``, an mpmath interval that
    contains it, or None when ``text`` is outside the subset read here (see the module docstring)."""
    if not text or len(text) > _MAX_CHARS or text.startswith("+"):
        return None
    try:
        return _Reader(text).read()
    except (_Refused, ZeroDivisionError, OverflowError, ValueError, ArithmeticError):
        return None


def differ(a: str, b: str) -> bool:
    """True when both elements have a value here and the values surely differ (so sympy would not equate them)."""
    va = value(a)
    if va is None:
        return False
    vb = value(b)
    if vb is None:
        return False
    (lo_a, hi_a), (lo_b, hi_b) = ends(va), ends(vb)
    return hi_a < lo_b or hi_b < lo_a
