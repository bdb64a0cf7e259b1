"""The shape of an answer: a leaf, a bracketed tuple/interval/set, a list of answers, a union, or a matrix.

Shapes are read by bracket depth only (no LaTeX grammar): top-level commas separate elements, a bracket pair that
spans the whole answer makes it a tuple (``(``/``[`` ... ``)``/``]``, so intervals keep their bracket types) or a
set (``\\{ ... \\}``), ``\\cup`` joins a union, ``\\begin{pmatrix}`` rows and ``&`` cells make a matrix. The grader
compares shapes before values: brackets must agree, lists and sets are matched order-insensitively.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Atom:
    text: str


@dataclass(frozen=True)
class Seq:
    kind: str  # "tuple" (ordered, brackets kept), "set", "list" (unbracketed answers), "union"
    open: str
    close: str
    items: tuple


@dataclass(frozen=True)
class Matrix:
    rows: tuple  # tuple of tuples of nodes


_OPEN = ("\\{", "(", "[", "{")
_CLOSE = ("\\}", ")", "]", "}")
_MATRIX_RE = re.compile(r"\\begin\{(pmatrix|array)\}(?:\{[a-z|]*\})?(.*)\\end\{\1\}", re.DOTALL)


def _tokens(s: str):
    """(index, token, depth after it) for each character, with ``\\{``/``\\}`` as one bracket token."""
    depth, i, n = 0, 0, len(s)
    while i < n:
        two = s[i:i + 2]
        if two in ("\\{", "\\}"):
            tok = two
        elif s[i] == "\\":  # a command name is one token, so "\left" never hides a bracket
            j = i + 1
            while j < n and s[j].isalpha():
                j += 1
            tok = s[i:max(j, i + 2)]
        else:
            tok = s[i]
        if tok in _OPEN:
            depth += 1
        elif tok in _CLOSE:
            depth -= 1
        yield i, tok, depth
        i += len(tok)


def split_top(s: str, sep: str) -> list[str] | None:
    """Split on ``sep`` tokens at bracket depth 0; None when the brackets do not balance."""
    parts, start, depth = [], 0, 0
    for i, tok, depth in _tokens(s):
        if depth < 0:
            return None
        if depth == 0 and tok == sep:
            parts.append(s[start:i])
            start = i + len(tok)
    if depth != 0:
        return None
    parts.append(s[start:])
    return parts


def _enclosing(s: str) -> tuple[str, str] | None:
    """The bracket pair around the whole of ``s`` (``("(", "]")`` for a half-open interval), or None."""
    if not s.startswith(("(", "[", "\\{")):
        return None
    opened = "\\{" if s.startswith("\\{") else s[0]
    for i, tok, depth in _tokens(s):
        if depth == 0:
            if i + len(tok) != len(s) or tok not in _CLOSE or tok == "}":
                return None
            if (opened == "\\{") != (tok == "\\}"):
                return None
            return opened, tok
    return None


def parse(s: str):
    """Read the shape of a cleaned (space-free) answer; anything unusual is a single leaf."""
    m = _MATRIX_RE.fullmatch(s)
    if m:
        rows = split_top(m.group(2), "\\\\")
        if rows is not None:
            rows = [r for r in rows if r]
            cells = [split_top(r, "&") for r in rows]
            if rows and all(c is not None for c in cells):
                return Matrix(tuple(tuple(parse(c) for c in row) for row in cells))
    parts = split_top(s, ",")
    if parts is None:
        return Atom(s)
    if len(parts) > 1:
        return Seq("list", "", "", tuple(parse(p) for p in parts))
    parts = split_top(s, "\\cup")
    if parts and len(parts) > 1:
        return Seq("union", "", "", tuple(parse(p) for p in parts))
    pair = _enclosing(s)
    if pair is not None:
        inner = s[len(pair[0]):len(s) - len(pair[1])]
        items = split_top(inner, ",")
        if pair[0] == "\\{":
            return Seq("set", "\\{", "\\}", tuple(parse(p) for p in items if p) if inner else ())
        if len(items) > 1:
            return Seq("tuple", pair[0], pair[1], tuple(parse(p) for p in items))
        if pair == ("(", ")") and inner:  # redundant parentheses around one answer
            return parse(inner)
    return Atom(s)


def render(node) -> str:
    """The canonical string of a shape (``parse(render(x)) == x``)."""
    if isinstance(node, Atom):
        return node.text
    if isinstance(node, Matrix):
        return "\\begin{pmatrix}" + "\\\\".join("&".join(render(c) for c in row) for row in node.rows) \
            + "\\end{pmatrix}"
    if node.kind == "set" and not node.items:
        return "\\emptyset"
    joiner = "\\cup" if node.kind == "union" else ","
    return node.open + joiner.join(render(x) for x in node.items) + node.close
