"""Answer keys: a string per normalized answer that every answer the grader may call equal to it shares.

Answer grouping (:mod:`e2h.grading.group`) compares an answer only with the clusters whose key is its own, so a
key must be a *necessary* condition of the grader's verdict: ``grade(a, b)`` (either way round) implies
``key(a) == key(b)``. Equal keys prove nothing; the grader still decides. An answer that cannot be given such a key
gets None and is compared with every cluster, as before keys existed. The key follows the grader's rules
(``compare.py``) one by one:

- shape first, as the grader compares it: a tuple or interval keeps its brackets and the order of its elements'
  keys; a list of answers and a set (which match each other in any order) are the sorted multiset of their
  elements' keys, a union likewise; a matrix keeps its shape and its cells' keys;
- an integer literal equals no element but itself (the integer rule): ``i:`` and its spelling;
- an element the grader compares as a string (infinities, words, more than two letters, hazards), or one
  latex2sympy cannot read (then sympy never equates it with anything): ``s:`` and its spelling;
- any other element is a value for sympy, which proves equality only of equal values (equal expressions are equal
  functions, so equal at any point): ``n:`` and its value at the fixed point of ``numeric.point``, computed here
  for plain arithmetic (:mod:`e2h.grading.numeric`, exact or a rigorous interval) and in a grader child otherwise
  (``symbolic.fingerprint``, 30 correct digits); an equation ``e:`` by the value of ``(lhs - rhs)^2`` (equations
  match up to sign), another relation ``r:`` by its kind and ``lhs - rhs``.

A value becomes a string through :func:`box_key`: the decade of its size and its real and imaginary parts rounded
to 12 digits on that scale, given only when every value in the box known to hold it rounds the same way. So two
evaluations of one value (to 30 or 50 digits, each within its box) always give the same string or at least one
None, never two different strings. Rounding boundaries are crossed rarely (a box is 10^-20 of the value wide, a
cell 10^-12), and the decades are cut at 10^(k - 3/10), where no answer's value sits.
"""

from __future__ import annotations

import math
import threading
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction
from typing import Iterable

from e2h.progress import tqdm

from e2h.grading import bounded, numeric
from e2h.grading.compare import compared_as_string, is_integer
from e2h.grading.structure import Atom, Matrix, Seq, parse

SIGNIFICANT = 12  # digits a value key keeps
CHILD_SLACK = Fraction(1, 10 ** 20)  # a child's 30-digit value is taken as correct to 10^-20 of its size
_MIN_SIZE, _MAX_SIZE = Fraction(1, 10 ** 300), Fraction(10 ** 300)
_ASK = object()  # an element only a child can key
_cache: dict[str, str | None] = {}  # element -> key, for the keys a child computed (all others cost microseconds)
_cache_lock = threading.Lock()


def clear() -> None:
    with _cache_lock:
        _cache.clear()


def _scale(m: Fraction) -> int:
    """The integer k with 10^(k - 3/10) <= m < 10^(k + 7/10), for m > 0, exactly (m^10 against powers of ten).

    The boundaries are tenth roots of powers of ten (0.501..., 5.011...): no answer's value sits on one, as
    sqrt(10) would on half decades."""
    k = math.floor(math.log10(m.numerator) - math.log10(m.denominator) + 0.3)
    tenth = m ** 10
    while tenth < Fraction(10) ** (10 * k - 3):
        k -= 1
    while tenth >= Fraction(10) ** (10 * k + 7):
        k += 1
    return k


def _min_abs(lo: Fraction, hi: Fraction) -> Fraction:
    return Fraction(0) if lo <= 0 <= hi else min(abs(lo), abs(hi))


def box_key(re_lo: Fraction, re_hi: Fraction, im_lo: Fraction = Fraction(0), im_hi: Fraction = Fraction(0)) \
        -> str | None:
    """One string for every complex value in the box, or None when the box straddles a rounding boundary.

    The scale is the decade k of max(|re|, |im|) (:func:`_scale`); both parts are rounded to multiples of
    10^(k - 12). Exact arithmetic on fractions, so the rounding itself is never in doubt."""
    m_hi = max(abs(re_lo), abs(re_hi), abs(im_lo), abs(im_hi))
    if m_hi == 0:
        return "0"
    m_lo = max(_min_abs(re_lo, re_hi), _min_abs(im_lo, im_hi))
    if m_lo == 0:  # the box holds zero and something else: no scale to round on
        return None
    if not _MIN_SIZE < m_lo <= m_hi < _MAX_SIZE:  # astronomically large or small: not worth exact arithmetic
        return None
    k = _scale(m_lo)
    if _scale(m_hi) != k:
        return None
    grid = Fraction(10) ** (k - SIGNIFICANT)
    cells = []
    for lo, hi in ((re_lo, re_hi), (im_lo, im_hi)):
        cell = math.floor(lo / grid + Fraction(1, 2))
        if math.floor(hi / grid + Fraction(1, 2)) != cell:
            return None
        cells.append(cell)
    return f"{k}:{cells[0]}:{cells[1]}"


def _child_value_key(re: str, im: str) -> str | None:
    """The key of a child's value: its decimal digits, widened by CHILD_SLACK of its size on every side."""
    x, y = Fraction(re), Fraction(im)
    slack = max(abs(x), abs(y)) * CHILD_SLACK
    return box_key(x - slack, x + slack, y - slack, y + slack)


def fingerprint_key(text: str, fingerprint: list | None) -> str | None:
    """The key of an element from a child's ``symbolic.fingerprint`` of it."""
    if fingerprint is None:
        return None
    kind = fingerprint[0]
    if kind == "unparsed":
        return "s:" + text
    if kind in ("num", "eq"):
        value = _child_value_key(*fingerprint[1:3])
        return None if value is None else f"{kind[0]}:{value}"
    if kind == "rel":
        value = _child_value_key(*fingerprint[2:4])
        return None if value is None else f"r:{fingerprint[1]}:{value}"
    raise ValueError(f"unknown fingerprint {fingerprint!r}")


def local_key(text: str):
    """The key of an element without a child: ``i:``, ``s:`` or a value computed here; ``_ASK`` when only a child
    can give it; None when the value's box straddles a boundary."""
    if is_integer(text):
        return "i:" + text
    if compared_as_string(text):
        return "s:" + text
    value = numeric.value(text)
    if value is None:
        return _ASK
    key = box_key(*numeric.ends(value))
    return None if key is None else "n:" + key


def _elements(node) -> Iterable[str]:
    if isinstance(node, Atom):
        yield node.text
    elif isinstance(node, Seq):
        for item in node.items:
            yield from _elements(item)
    elif isinstance(node, Matrix):
        for row in node.rows:
            for cell in row:
                yield from _elements(cell)


def _node_key(node, element_keys: dict) -> str | None:
    """The key of a shape from its elements' keys (see the module docstring); None if any element has none."""
    if isinstance(node, Atom):
        return element_keys[node.text]
    if isinstance(node, Matrix):
        rows = tuple(tuple(_node_key(c, element_keys) for c in row) for row in node.rows)
        return None if any(k is None for row in rows for k in row) else repr(("m", rows))
    items = [_node_key(x, element_keys) for x in node.items]
    if any(k is None for k in items):
        return None
    if node.kind == "tuple":
        return repr(("t", node.open, node.close, tuple(items)))
    # lists and sets match each other in any order; unions only unions
    return repr(("u" if node.kind == "union" else "b", tuple(sorted(items))))


def answer_keys(answers: Iterable[str], *, timeout: float = 5.0, workers: int | None = None,
                progress: bool = True) -> dict[str, str | None]:
    """The key of each normalized answer (see the module docstring); None where there is none.

    Elements that need sympy are keyed in the grader's children, on ``workers`` of them at once (default: all
    cores), each with ``timeout`` seconds of sympy work; one that gets no answer in time is keyless (None), which
    costs grader calls but never a wrong cluster. Shows a tqdm bar over the elements sent to the children.
    """
    trees = {a: parse(a) for a in set(answers)}
    element_keys = {t: local_key(t) for tree in trees.values() for t in _elements(tree)}
    with _cache_lock:
        for t, k in element_keys.items():
            if k is _ASK and t in _cache:
                element_keys[t] = _cache[t]
    ask = sorted(t for t, k in element_keys.items() if k is _ASK)
    if ask:
        element_keys.update(_ask_children(ask, timeout, workers, progress))
    return {a: _node_key(tree, element_keys) for a, tree in trees.items()}


def _ask_children(texts: list[str], timeout: float, workers: int | None, progress: bool) -> dict[str, str | None]:
    def one(text: str) -> tuple[str, str | None]:
        budget = bounded.Budget(timeout)
        key = fingerprint_key(text, bounded.symbolic_fingerprint(text, budget))
        if not (budget.timed_out or budget.unreached):
            with _cache_lock:
                _cache[text] = key
        return text, key

    children = bounded.children_for(len(texts), workers)
    pool = bounded.get_pool(min_size=children)
    pool.warm(children)
    with ThreadPoolExecutor(max_workers=children) as executor:
        return dict(tqdm(executor.map(one, texts), total=len(texts), desc="answer keys (sympy)", unit="element",
                         disable=not progress))
