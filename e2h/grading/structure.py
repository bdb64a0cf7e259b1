"""The shape of an answer: a leaf, a bracketed tuple/interval/set, a list of answers, a union, or a matrix.

Shapes are read by bracket depth only (no LaTeX grammar): top-level commas separate elements, a bracket pair that
spans the whole answer makes it a tuple (``(``/``[`` ... ``)``/``]``, so intervals keep their bracket types) or a
set (``\\{ ... \\}``), ``\\cup`` joins a union, ``\\begin{pmatrix}`` rows and ``&`` cells make a matrix. The grader
compares shapes before values: brackets must agree, lists and sets are matched order-insensitively.

The brackets are scanned once per answer (each opener's closer, each group's separators), so reading a shape is
linear in the answer. Nesting deeper than :data:`MAX_DEPTH` is no answer's shape: such a string is one leaf,
compared as a plain string, which also bounds every recursion over shapes.
"""

from __future__ import annotations

import re
from bisect import bisect_left
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


MAX_DEPTH = 32  # MATH answers nest brackets 3 deep at most
_MAX_PARSE_CHARS = 50_000  # longer strings are junk (or over-long answers kept raw): one leaf, read in no time
_OPEN = frozenset(("\\{", "(", "[", "{"))
_CLOSE = frozenset(("\\}", ")", "]", "}"))
_SEPARATORS = frozenset((",", "\\cup", "&", "\\\\"))
# Brackets, separators, and whole command names (so "\{" is one bracket and "\cup" one separator); the rest of
# the text is skipped by the regex engine, not by Python.
_TOKEN_RE = re.compile(r"\\[{}]|\\[a-zA-Z]+|\\.|[()\[\]{},&]", re.DOTALL)
_MATRIX_HEAD_RE = re.compile(r"\\begin\{(pmatrix|array)\}(?:\{[a-z|]*\})?")


class _Scan:
    """One pass over the brackets of ``s``: where each opener closes, and which separators lie directly in each
    group (group -1 is the top level). ``depth`` (brackets and environments) stops counting past MAX_DEPTH."""

    def __init__(self, s: str) -> None:
        self.s = s
        self.closer: dict[int, tuple[int, str]] = {}
        self.seps: dict[tuple[int, str], list[int]] = {}
        self.depth = 0
        self.balanced = False
        stack: list[int] = []
        envs = 0  # open \begin{...}: a matrix inside a matrix nests too, without a bracket
        for m in _TOKEN_RE.finditer(s):
            tok, i = m.group(), m.start()
            if tok in _OPEN:
                stack.append(i)
            elif tok in _CLOSE:
                if not stack:
                    return
                self.closer[stack.pop()] = (i, tok)
            elif tok in _SEPARATORS:
                self.seps.setdefault((stack[-1] if stack else -1, tok), []).append(i)
            elif tok in ("\\begin", "\\end"):
                envs = max(0, envs + (1 if tok == "\\begin" else -1))
            self.depth = max(self.depth, len(stack) + envs)
            if self.depth > MAX_DEPTH:
                return
        self.balanced = not stack

    def _cuts(self, group: int, sep: str, lo: int, hi: int) -> list[int]:
        at = self.seps.get((group, sep), ())
        return at[bisect_left(at, lo):bisect_left(at, hi)]

    def _pieces(self, lo: int, hi: int, group: int, sep: str) -> list[tuple[int, int]]:
        """The ranges between the ``sep`` separators of ``group`` inside [lo, hi), each without outer spaces."""
        bounds = [lo] + [j for i in self._cuts(group, sep, lo, hi) for j in (i, i + len(sep))] + [hi]
        return [self._trim(bounds[k], bounds[k + 1]) for k in range(0, len(bounds), 2)]

    def _trim(self, lo: int, hi: int) -> tuple[int, int]:
        while lo < hi and self.s[lo].isspace():
            lo += 1
        while hi > lo and self.s[hi - 1].isspace():
            hi -= 1
        return lo, hi

    def _enclosing(self, lo: int, hi: int) -> tuple[str, str] | None:
        """The bracket pair around the whole of [lo, hi) (``("(", "]")`` for a half-open interval), or None."""
        opened = "\\{" if self.s.startswith("\\{", lo) else self.s[lo:lo + 1]
        if opened not in ("(", "[", "\\{") or lo not in self.closer:
            return None
        at, closed = self.closer[lo]
        if at + len(closed) != hi or closed == "}" or (opened == "\\{") != (closed == "\\}"):
            return None
        return opened, closed

    def _matrix(self, lo: int, hi: int, group: int) -> Matrix | None:
        head = _MATRIX_HEAD_RE.match(self.s, lo, hi)
        if head is None:
            return None
        end = f"\\end{{{head.group(1)}}}"
        if hi - len(end) < head.end() or not self.s.endswith(end, lo, hi):
            return None
        rows = [r for r in self._pieces(head.end(), hi - len(end), group, "\\\\") if r[0] < r[1]]
        if not rows:
            return None
        return Matrix(tuple(tuple(self.node(a, b, group) for a, b in self._pieces(r0, r1, group, "&"))
                            for r0, r1 in rows))

    def node(self, lo: int, hi: int, group: int):
        """The shape of [lo, hi), whose top level is directly inside ``group``."""
        lo, hi = self._trim(lo, hi)
        if hi - lo >= 2 and self.s[lo] == "{" and self.closer.get(lo) == (hi - 1, "}"):
            return self.node(lo + 1, hi - 1, lo)  # braces around a whole element group nothing: {5}, ({1})
        matrix = self._matrix(lo, hi, group)
        if matrix is not None:
            return matrix
        for sep, kind in ((",", "list"), ("\\cup", "union")):
            if self._cuts(group, sep, lo, hi):
                return Seq(kind, "", "", tuple(self.node(a, b, group) for a, b in self._pieces(lo, hi, group, sep)))
        pair = self._enclosing(lo, hi)
        if pair is not None:
            a, b = lo + len(pair[0]), hi - len(pair[1])
            items = self._pieces(a, b, lo, ",")
            if pair[0] == "\\{":
                return Seq("set", "\\{", "\\}", tuple(self.node(x, y, lo) for x, y in items if x < y))
            if len(items) > 1:
                return Seq("tuple", pair[0], pair[1], tuple(self.node(x, y, lo) for x, y in items))
            if pair == ("(", ")") and items[0][0] < items[0][1]:  # redundant parentheses around one answer
                return self.node(a, b, lo)
        return Atom(self.s[lo:hi])


def nesting(s: str) -> int:
    """How deep the brackets of ``s`` nest (MAX_DEPTH + 1 for anything deeper)."""
    return _Scan(s).depth


def parse(s: str):
    """Read the shape of a cleaned answer; anything unusual (unbalanced, too deep, too long) is a single leaf."""
    if len(s) > _MAX_PARSE_CHARS:
        return Atom(s)
    scan = _Scan(s)
    if not scan.balanced:
        return Atom(s)
    return scan.node(0, len(s), -1)


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
