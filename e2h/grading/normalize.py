"""The string normalization that turns an answer into its canonical spelling (the pool's voting key).

Everything here is plain string work (regexes and brace matching), linear in the input, with no sympy: it runs on
every sample of a pool, so it must be fast and it must never hang on hostile input. The structure of an answer
(tuple, interval, set, list of answers, union, matrix) is recognized by bracket depth, and each leaf is canonicalized
by :func:`_canonical_atom`; :mod:`e2h.grading.structure` reads the same structure back for comparison.
"""

from __future__ import annotations

import re
from fractions import Fraction
from functools import lru_cache

from e2h.grading.structure import Atom, Matrix, Seq, parse, render
from e2h.latex import last_boxed

# ---------------------------------------------------------------------------------------------------------------
# String-level cleanup: delimiters, spacing, \left/\right, \text{}, units, degrees, percent.

_UNICODE = {"\u2212": "-", "\u2013": "-", "\u2014": "-", "\u03c0": "\\pi ", "\u221e": "\\infty ",
            "\u221a": "\\sqrt", "\u00d7": "\\times ", "\u00b7": "\\cdot ", "\u22c5": "\\cdot ", "\u00b0": "^\\circ",
            "\u2264": "\\le ", "\u2265": "\\ge ", "\u2260": "\\ne ", "\u222a": "\\cup ", "\u00a0": " ",
            "\u2205": "\\emptyset "}
_UNICODE_RE = re.compile("|".join(map(re.escape, _UNICODE)))
# Commands that only change spacing or style; their removal changes no value.
_DROP_RE = re.compile(r"(?<!\\)\\(?:displaystyle|textstyle|limits|left\.|right\.|!|,|;|:| |quad|qquad)|~|\\\$|\$|\\%|%"
                      r"|\\(?:degree|textdegree)\b")
_SIZED_DELIM_RE = re.compile(r"\\(?:left|right|[bB]igg?[lr]?)(?![a-zA-Z])")
_RENAME = [(re.compile(r"\\[dtc]frac(?![a-zA-Z])"), r"\\frac"), (re.compile(r"\\[dt]binom(?![a-zA-Z])"), r"\\binom"),
           (re.compile(r"\\lbrace(?![a-zA-Z])"), r"\\{"), (re.compile(r"\\rbrace(?![a-zA-Z])"), r"\\}"),
           (re.compile(r"\\lbrack(?![a-zA-Z])"), "["), (re.compile(r"\\rbrack(?![a-zA-Z])"), "]"),
           (re.compile(r"\\leq(?![a-zA-Z])"), r"\\le"), (re.compile(r"\\geq(?![a-zA-Z])"), r"\\ge"),
           (re.compile(r"\\neq(?![a-zA-Z])"), r"\\ne"), (re.compile(r"\\times(?![a-zA-Z])"), r"\\cdot"),
           (re.compile(r"\\varnothing(?![a-zA-Z])"), r"\\emptyset"), (re.compile(r"\\varpi(?![a-zA-Z])"), r"\\pi"),
           (re.compile(r"(?<=\{)[bBvV]?matrix(?=\})"), "pmatrix")]
_TEXTLIKE_RE = re.compile(r"\\(?:text(?:bf|it|rm|normal|up|sf|tt)?|mbox|hbox|mathrm|mathbf|mathit|mathsf|mathtt"
                          r"|operatorname\*?)\s*\{")
_DEGREES_RE = re.compile(r"\^\s*\{?\s*\\circ\s*\}?|\\circ(?![a-zA-Z])")

_UNIT_WORDS = ("units?", "square units?", "sq units?", "cubic units?", "degrees?", "deg", "cm", "mm", "km", "m",
               "centimeters?", "millimeters?", "kilometers?", "meters?", "metres?", "inch(?:es)?", "in", "feet",
               "foot", "ft", "yards?", "yd", "miles?", "mi", "seconds?", "secs?", "s", "minutes?", "mins?",
               "hours?", "hrs?", "days?", "weeks?", "months?", "years?", "dollars?", "cents?", "pounds?", "lbs?",
               "ounces?", "oz", "gallons?", "liters?", "litres?", "ml", "kg", "g", "grams?", "mph",
               "radians?", "percent", "square (?:feet|inch(?:es)?|meters?|centimeters?|miles?|yards?)",
               "sq (?:ft|in|m|cm|mi|yd)", "cubic (?:feet|inch(?:es)?|meters?|centimeters?|yards?)")
_UNIT_RE = "(?:" + "|".join(_UNIT_WORDS) + r")\.?(?:\^\{?[23]\}?)?"
_UNIT_TEXT_RE = re.compile(r"^\s*" + _UNIT_RE + r"\s*$", re.IGNORECASE)
# A bare unit word at the very end, after a number or a closing group (never inside a word: "Monday"); one-letter
# units and "in" are too ambiguous without \text{}.
_BARE_UNITS = "|".join(w for w in _UNIT_WORDS if w not in ("m", "s", "g", "in"))
_TRAILING_UNIT_RE = re.compile(r"(?<=[\d}).\s])\s*(?:" + _BARE_UNITS + r")\.?(?:\^\{?[23]\}?)?\s*$", re.IGNORECASE)
_CONNECTIVE_RE = re.compile(r"\s+(?:or|and)\s+|,\s*(?:or|and)\s+", re.IGNORECASE)
_THOUSANDS_MARKED_RE = re.compile(r"(\d)(?:\{,\}|,\\!)(?=\d{3}(?!\d))")
_THOUSANDS_WHOLE_RE = re.compile(r"[-+]?\d{1,3}(?:,\d{3})+(?:\.\d+)?")
_SPACE_KEEP_RE = re.compile(r"(\\[a-zA-Z]+)\s+(?=[a-zA-Z])")
_PREFIX_RE = re.compile(r"^(?:[a-zA-Z]|\\[a-zA-Z]+)(?:_\{?\w+\}?)?(?:=|\\in(?![a-zA-Z]))(?!=)")
_SCRIPT_RE = re.compile(r"([\^_])([0-9a-zA-Z])")
_COMMAND_RE = re.compile(r"\\[a-zA-Z]+|\\.")


def _match_brace(s: str, i: int) -> int:
    """Index of the ``}`` that closes the ``{`` at ``s[i]``, or -1."""
    depth = 0
    for j in range(i, len(s)):
        c = s[j]
        if c == "{" and (j == 0 or s[j - 1] != "\\"):
            depth += 1
        elif c == "}" and (j == 0 or s[j - 1] != "\\"):
            depth -= 1
            if depth == 0:
                return j
    return -1


def _resolve_text(s: str) -> str:
    """Replace each ``\\text{...}`` group by its content; a group holding only a unit is dropped, a group holding
    "or"/"and" becomes a comma, and a trailing group with a leading space (``5\\text{ ways}``) is dropped as a unit."""
    out, i = [], 0
    while True:
        m = _TEXTLIKE_RE.search(s, i)
        if m is None:
            out.append(s[i:])
            break
        open_at = m.end() - 1
        close = _match_brace(s, open_at)
        if close < 0:  # unbalanced: keep the rest as it is
            out.append(s[i:])
            break
        out.append(s[i:m.start()])
        content = s[open_at + 1:close]
        before = "".join(out).strip()
        after = s[close + 1:].strip()
        at_end = re.fullmatch(r"(?:\^\{?[23]\}?)?\.?", after) is not None
        if content.strip().lower() in ("or", "and", ", or", ", and"):
            out.append(",")
        elif before and (_UNIT_TEXT_RE.match(content) or (at_end and content[:1].isspace() and content.strip())):
            out.append(" ")
            if at_end:  # the unit's own exponent (cm^2) goes with it
                break
        else:
            out.append(" " + content + " ")
        i = close + 1
    return "".join(out)


def _unwrap_braces(s: str) -> str:
    """``{{5}}`` -> ``5``: braces around the whole answer group nothing."""
    while s.startswith("{") and _match_brace(s, 0) == len(s) - 1:
        s = s[1:-1].strip()
    return s


def _fix_args(s: str, command: str, nargs: int) -> str:
    """Brace the single-token arguments of ``\\frac12``, ``\\frac\\pi 2``, ``\\sqrt3`` so equal answers match."""
    out, i, n = [], 0, len(command)
    while True:
        j = s.find(command, i)
        if j < 0 or (j + n < len(s) and s[j + n].isalpha()):
            if j < 0:
                out.append(s[i:])
                break
            out.append(s[i:j + n])
            i = j + n
            continue
        out.append(s[i:j + n])
        k = j + n
        if command == "\\sqrt" and s.startswith("[", k) and s.find("]", k) > 0:  # \sqrt[3]2: keep the index
            out.append(s[k:s.find("]", k) + 1])
            k = s.find("]", k) + 1
        for _ in range(nargs):
            while k < len(s) and s[k] == " ":
                k += 1
            if k >= len(s):
                break
            if s[k] == "{":
                end = _match_brace(s, k)
                if end < 0:  # unbalanced from here on: leave the rest alone (rescanning it is quadratic)
                    out.append(s[k:])
                    return "".join(out)
                out.append(s[k:end + 1])
                k = end + 1
            elif s[k] == "\\" and _COMMAND_RE.match(s, k):
                m = _COMMAND_RE.match(s, k)
                out.append("{" + m.group(0) + "}")
                k = m.end()
            elif s[k].isalnum():
                out.append("{" + s[k] + "}")
                k += 1
            else:
                break
        i = k
    return "".join(out)


def _lower_outside_commands(s: str) -> str:
    if not any(c.isupper() for c in s):
        return s
    return re.sub(r"\\[a-zA-Z]+|[^\\]+", lambda m: m.group(0) if m.group(0)[0] == "\\" else m.group(0).lower(), s)


def _clean(s: str) -> str:
    """String-level cleanup of a whole answer, before its structure is read."""
    s = _UNICODE_RE.sub(lambda m: _UNICODE[m.group(0)], s.replace("\n", " ").replace("\t", " "))
    s = s.strip().strip("$").strip()
    for open_, close in (("\\(", "\\)"), ("\\[", "\\]")):
        if s.startswith(open_) and s.endswith(close):
            s = s[2:-2].strip()
    if s.startswith(("\\boxed{", "\\fbox{")):
        inner = last_boxed(s)
        if inner is not None and s.endswith("}") and _match_brace(s, s.index("{")) == len(s) - 1:
            s = inner
    s = _THOUSANDS_MARKED_RE.sub(r"\1", s)
    s = _DROP_RE.sub(" ", s)
    s = _SIZED_DELIM_RE.sub("", s)
    for pattern, repl in _RENAME:
        s = pattern.sub(repl, s)
    s = _DEGREES_RE.sub(" ", s)
    s = re.sub(r"\s+", " ", _resolve_text(s)).strip()  # single spaces first: "\s*" on long runs is quadratic
    s = _TRAILING_UNIT_RE.sub("", s)
    s = _CONNECTIVE_RE.sub(",", s)
    s = _fix_args(_fix_args(_fix_args(s, "\\frac", 2), "\\sqrt", 1), "\\binom", 2)
    s = _SPACE_KEEP_RE.sub("\\1\x00", s).replace(" ", "").replace("\x00", " ")
    s = _unwrap_braces(s)
    s = s.rstrip(".").rstrip("\\").strip()
    if _THOUSANDS_WHOLE_RE.fullmatch(s):
        s = s.replace(",", "")
    s = _SCRIPT_RE.sub(r"\1{\2}", s)
    s = _strip_prefix(s)
    return s


def _strip_prefix(s: str) -> str:
    """``x = 3`` -> ``3`` and ``x \\in (0, 1)`` -> ``(0, 1)``: a short variable name before a single = or \\in."""
    m = _PREFIX_RE.match(s)
    if m is None or "=" in s[m.end():] or s[m.end():].startswith(("<", ">", "\\le", "\\ge")):
        return s
    return s[m.end():]


# ---------------------------------------------------------------------------------------------------------------
# Leaves: numbers get one spelling each; letters are lower-cased (outside command names).

_INT_RE = re.compile(r"[-+]?\d+")
_DECIMAL_RE = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+)")
_SLASH_FRAC_RE = re.compile(r"([-+]?)(\d+)/(\d+)")
_TEX_FRAC_RE = re.compile(r"([-+]?)\\frac\{([-+]?)(\d+)\}\{([-+]?)(\d+)\}")
_MIXED_RE = re.compile(r"([-+]?)(\d+)\\frac\{(\d+)\}\{(\d+)\}")
_CHOICE_RE = re.compile(r"\(([a-zA-Z])\)")
MAX_ANSWER_CHARS = 20_000
_MAX_NUMBER_CHARS = 200  # longer digit strings stay as written: no value is worth a 4,300-digit int conversion
_PM_RE = re.compile(r"\\pm(?![a-zA-Z]) ?")


def _render_fraction(sign: int, num: int, den: int) -> str:
    """``-\\frac{a}{b}`` exactly as written (unreduced stays unreduced: 2/4 and 1/2 must not merge)."""
    if den == 1 or num == 0:
        return str(sign * num) if num else "0"
    return ("-" if sign < 0 else "") + "\\frac{%d}{%d}" % (num, den)


def _canonical_atom(s: str) -> str:
    s = _strip_prefix(s)
    if s.startswith("+") and s.lstrip("+") and not s.lstrip("+").startswith("-"):  # "+5" is 5
        s = _unwrap_braces(s.lstrip("+"))
    m = _CHOICE_RE.fullmatch(s)
    if m:  # multiple choice "(C)" == "C"
        s = m.group(1)
    if len(s) <= _MAX_NUMBER_CHARS:
        if _INT_RE.fullmatch(s):
            return str(int(s))
        if _DECIMAL_RE.fullmatch(s):  # a terminating decimal is an exact rational: 0.25 == \frac{1}{4}
            value = Fraction(s)
            return _render_fraction(-1 if value < 0 else 1, abs(value.numerator), value.denominator)
        m = _SLASH_FRAC_RE.fullmatch(s) or _TEX_FRAC_RE.fullmatch(s)
        if m:
            groups = m.groups()
            sign = -1 if groups.count("-") % 2 else 1
            num, den = int(groups[-3] if len(groups) == 5 else groups[1]), int(groups[-1])
            if den != 0:
                return _render_fraction(sign, num, den)
        m = _MIXED_RE.fullmatch(s)
        if m and 0 < int(m.group(3)) < int(m.group(4)):  # 6\frac{1}{5} is the mixed number 31/5
            whole, num, den = int(m.group(2)), int(m.group(3)), int(m.group(4))
            return _render_fraction(-1 if m.group(1) == "-" else 1, whole * den + num, den)
    return _lower_outside_commands(s)


def _canonical(node, several: bool = True):
    """Canonical leaves; where several answers may stand (top level, lists, sets), ``a \\pm b`` is two answers."""
    if isinstance(node, Atom):
        if several and len(_PM_RE.findall(node.text)) == 1:
            options = [_canonical(parse(_PM_RE.sub(sign, node.text)), False) for sign in ("+", "-")]
            return Seq("list", "", "", tuple(options))
        return Atom(_canonical_atom(node.text))
    if isinstance(node, Seq):
        several = node.kind in ("list", "set")
        items = [_canonical(x, several) for x in node.items]
        if several:
            items = [y for x in items for y in (x.items if isinstance(x, Seq) and x.kind == "list" else (x,))]
        return Seq(node.kind, node.open, node.close, tuple(items))
    if isinstance(node, Matrix):
        return Matrix(tuple(tuple(_canonical(x, False) for x in row) for row in node.rows))
    raise TypeError(node)


@lru_cache(maxsize=1 << 18)
def normalize_answer(ans: str) -> str:
    """The canonical spelling of an answer: equal answers written differently map to one string.

    PRM800K/MATH style: ``\\dfrac``/``\\tfrac`` -> ``\\frac``, ``\\frac12`` -> ``\\frac{1}{2}``, ``\\sqrt3`` ->
    ``\\sqrt{3}``, no ``\\left``/``\\right``, ``$``, ``\\%``, ``^\\circ``, ``\\text{}`` wrappers, trailing units
    or periods, thousands separators, ``x =`` prefixes or spaces; decimals become exact fractions
    (``0.5`` -> ``\\frac{1}{2}``, ``2.0`` -> ``2``) but unreduced fractions stay unreduced; letters are
    lower-cased; tuples, intervals, sets, lists of answers and matrices are normalized element by element.
    """
    if not isinstance(ans, str):
        raise TypeError(f"normalize_answer expects a str, got {type(ans).__name__}")
    if len(ans) > MAX_ANSWER_CHARS:  # no real answer is this long; keep its cost (and the caller's wait) bounded
        return ans.strip()
    cleaned = _clean(ans)
    if not cleaned:
        return ""
    return render(_canonical(parse(cleaned)))
