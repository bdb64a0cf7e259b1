"""The string normalization that turns an answer into its canonical spelling (the pool's voting key).

Everything here is plain string work (regexes and one-pass scans), linear in the input, with no sympy and no
recursion over the input: it runs on every sample of a pool, so it must be fast and it must never hang or raise on
hostile input. The structure of an answer (tuple, interval, set, list of answers, union, matrix) is recognized by
bracket depth, and each leaf is canonicalized by :func:`_canonical_atom`; :mod:`e2h.grading.structure` reads the
same structure back for comparison.

Every rewrite must keep the value: a space between digits is a thousands separator only in ``1 000`` groups
(``3 4`` is not 34), a comma followed by a space separates answers (``81, 256`` is two solutions, not 81256), and a
``name =`` prefix goes only when the name does not occur after it (``x = 2x + 3`` stays an equation).
"""

from __future__ import annotations

import re
from fractions import Fraction
from functools import lru_cache

from e2h.grading.structure import MAX_DEPTH, Atom, Matrix, Seq, nesting, parse, render

# ---------------------------------------------------------------------------------------------------------------
# String-level cleanup: delimiters, spacing, \left/\right, \text{}, units, degrees, percent.

_UNICODE = {"\u2212": "-", "\u2013": "-", "\u2014": "-", "\u03c0": "\\pi ", "\u221e": "\\infty ",
            "\u221a": "\\sqrt", "\u00d7": "\\times ", "\u00b7": "\\cdot ", "\u22c5": "\\cdot ", "\u00b0": "^\\circ",
            "\u2264": "\\le ", "\u2265": "\\ge ", "\u2260": "\\ne ", "\u222a": "\\cup ", "\u00a0": " ",
            "\u2205": "\\emptyset "}
_UNICODE_RE = re.compile("|".join(map(re.escape, _UNICODE)))
# Control characters mean nothing in an answer; they become spaces so that _KEEP and _LIST below stay private.
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
# A space that stays; a comma that separates answers; a row break "\\", hidden while commands are rewritten so
# that its second backslash never starts one ("\\left" is a break and the word "left").
_KEEP, _LIST, _ROW = "\x00", "\x01", "\x02"
# Commands that only change spacing or style; their removal changes no value.
_DROP_RE = re.compile(r"\\(?:displaystyle|textstyle|limits|left\.|right\.|!|,|;|:| |quad|qquad)|~|\\\$|\$|\\%|%")
_SIZED_DELIM_RE = re.compile(r"\\(?:left|right|[bB]igg?[lr]?)(?![a-zA-Z])")
_RENAME = [(re.compile(r"\\[dtc]frac(?![a-zA-Z])"), r"\\frac"), (re.compile(r"\\[dt]binom(?![a-zA-Z])"), r"\\binom"),
           (re.compile(r"\\lbrace(?![a-zA-Z])"), r"\\{"), (re.compile(r"\\rbrace(?![a-zA-Z])"), r"\\}"),
           (re.compile(r"\\lbrack(?![a-zA-Z])"), "["), (re.compile(r"\\rbrack(?![a-zA-Z])"), "]"),
           (re.compile(r"\\leq(?![a-zA-Z])"), r"\\le"), (re.compile(r"\\geq(?![a-zA-Z])"), r"\\ge"),
           (re.compile(r"\\neq(?![a-zA-Z])"), r"\\ne"), (re.compile(r"\\times(?![a-zA-Z])"), r"\\cdot"),
           (re.compile(r"\\varnothing(?![a-zA-Z])"), r"\\emptyset"), (re.compile(r"\\varpi(?![a-zA-Z])"), r"\\pi"),
           (re.compile(r"(?<=\{)[bBvV]?matrix(?=\})"), "pmatrix")]
_BOX_RE = re.compile(r"\\(?:boxed|fbox)\s*\{")
_TEXTLIKE_RE = re.compile(r"\\(?:text(?:bf|it|rm|normal|up|sf|tt)?|mbox|hbox|mathrm|mathbf|mathit|mathsf|mathtt"
                          r"|operatorname\*?)\s*\{")
# A degree mark: ^\circ, ^{\circ}, \degree, or a bare \circ right after a number (elsewhere \circ is composition).
_DEGREES_RE = re.compile(r"\^\s*(?:\{\s*\\circ\s*\}|\\circ(?![a-zA-Z]))|\\(?:text)?degree(?![a-zA-Z])"
                         r"|(?<=\d)(?:\s*\\circ(?![a-zA-Z]))+")
_TRIG_RE = re.compile(r"\\(?:sin|cos|tan|cot|sec|csc)(?![a-zA-Z])")

_UNIT_WORDS = ("units?", "square units?", "sq units?", "cubic units?", "degrees?", "deg", "cm", "mm", "km", "m",
               "centimeters?", "millimeters?", "kilometers?", "meters?", "metres?", "inch(?:es)?", "in", "feet",
               "foot", "ft", "yards?", "yd", "miles?", "mi", "seconds?", "secs?", "s", "minutes?", "mins?",
               "hours?", "hrs?", "days?", "weeks?", "months?", "years?", "dollars?", "cents?", "pounds?", "lbs?",
               "ounces?", "oz", "gallons?", "liters?", "litres?", "ml", "kg", "g", "grams?", "mph",
               "radians?", "percent", "square (?:feet|inch(?:es)?|meters?|centimeters?|miles?|yards?)",
               "sq (?:ft|in|m|cm|mi|yd)", "cubic (?:feet|inch(?:es)?|meters?|centimeters?|yards?)")
_UNIT_RE = "(?:" + "|".join(_UNIT_WORDS) + r")\.?(?:\^\{?[23]\}?)?"
_UNIT_TEXT_RE = re.compile(r"\s*" + _UNIT_RE + r"\s*", re.IGNORECASE)
# A trailing "\text{ ...}" is a unit by MATH's convention, unless it scales the number: 5\text{ million} is not 5.
_MAGNITUDE_RE = re.compile(r"hundred|thousand|million|billion|trillion", re.IGNORECASE)
_NONSPACE_RE = re.compile(r"\S")
_UNIT_EXPONENT_RE = re.compile(r"\s*(?:\^\{?[23]\}?)?\.?")  # what goes with a trailing unit: cm^2, a period
_ONLY_CLOSERS_RE = re.compile(r"[\s}]*")
_CONNECTIVE_WORDS = ("or", "and", ", or", ", and")
# A bare unit word at the very end, after a number or a closing group (never inside a word: "Monday"); one-letter
# units and "in" are too ambiguous without \text{}.
_BARE_UNITS = "|".join(w for w in _UNIT_WORDS if w not in ("m", "s", "g", "in"))
_TRAILING_UNIT_RE = re.compile(r"(?<=[\d}).\s])\s*(?:" + _BARE_UNITS + r")\.?(?:\^\{?[23]\}?)?\s*$", re.IGNORECASE)
_CONNECTIVE_RE = re.compile(r"\s+(?:or|and)\s+|,\s*(?:or|and)\s+", re.IGNORECASE)
# Thousands separators that say so: 1{,}000 and 10,\!080 (MATH's spelling), spaces around them allowed.
_THOUSANDS_MARKED_RE = re.compile(r"(\d)\s*(?:\{,\}|,\s*\\!)\s*(?=\d{3}(?!\d))")
_THOUSANDS_WHOLE_RE = re.compile(r"[-+]?\d{1,3}(?:,\d{3})+(?:\.\d+)?")
_DIGIT_RUN_RE = re.compile(r"(?<!\d)\d++(?: \d++)+")  # starts at a run's first digit, never backtracks: linear
_THOUSANDS_SPACED_RE = re.compile(r"\d{1,3}(?: \d{3})+")
_SPACE_KEEP_RE = re.compile(r"(\\[a-zA-Z]+) (?=[a-zA-Z])")
_PREFIX_RE = re.compile(r"([a-zA-Z]|\\[a-zA-Z]+)(?:_\{?\w+\}?)?(?:=|\\in(?![a-zA-Z]))(?!=)")
_SCRIPT_RE = re.compile(r"([\^_]) ?([0-9a-zA-Z])")
_COMMAND_RE = re.compile(r"\\[a-zA-Z]+|\\.", re.DOTALL)
_WORD_RE = re.compile(r"[a-zA-Z]{3,}")
_BRACE_RE = re.compile(r"\\.|[{}]", re.DOTALL)  # a backslash takes the next character: \{ is no brace, \\{ is
_FIXED_COMMANDS = ("\\frac", "\\sqrt", "\\binom")


def _brace_partners(s: str) -> dict[int, int]:
    """For each ``{`` of ``s`` that closes, the index of its ``}`` (``\\{`` and ``\\}`` are not braces)."""
    partners, stack = {}, []
    for m in _BRACE_RE.finditer(s):
        if m.group() == "{":
            stack.append(m.start())
        elif m.group() == "}" and stack:
            partners[stack.pop()] = m.start()
    return partners


def _resolve_text(s: str) -> str:
    """Replace each ``\\text{...}`` group by its content, nested groups included, in one pass.

    A group holding only a unit is dropped (when something comes before it), a group holding "or"/"and" becomes an
    answer separator, and a trailing group with a leading space (``5\\text{ ways}``) is dropped as a unit."""
    if _TEXTLIKE_RE.search(s) is None:
        return s
    partners = _brace_partners(s)
    out, open_groups = [], []  # open_groups: where the kept groups we are inside close, innermost last
    pos, seen = 0, False  # seen: something other than spaces came out already (a unit needs a number first)
    while True:
        m = _TEXTLIKE_RE.search(s, pos)
        start = m.start() if m else len(s)
        if open_groups and open_groups[-1] < start:  # the innermost kept group closes first
            close = open_groups.pop()
            seen = seen or (pos < close and not s[pos:close].isspace())
            out += [s[pos:close], " "]
            pos = close + 1
            continue
        seen = seen or (pos < start and not s[pos:start].isspace())
        out.append(s[pos:start])
        if m is None:
            return "".join(out)
        brace, pos = m.end() - 1, m.end()
        close = partners.get(brace)
        if close is None:  # never closes: kept as written
            out.append(m.group())
            seen = True
            continue
        unit_end = _UNIT_EXPONENT_RE.match(s, close + 1).end()
        at_end = _ONLY_CLOSERS_RE.fullmatch(s, unit_end) is not None
        if close - brace <= 32 and s[brace + 1:close].strip().lower() in _CONNECTIVE_WORDS:
            out.append(", ")
            seen, pos = True, close + 1
        elif seen and (_UNIT_TEXT_RE.fullmatch(s, brace + 1, close) or
                       (at_end and s[brace + 1].isspace() and _NONSPACE_RE.search(s, brace + 1, close)
                        and not _MAGNITUDE_RE.search(s, brace + 1, close))):
            out.append(" ")
            pos = unit_end if at_end else close + 1  # the unit's own exponent (cm^2) goes with it
        else:
            out.append(" ")
            open_groups.append(close)


def _drop_boxes(s: str) -> str:
    """``\\boxed{x}`` -> ``x`` wherever it stands (a box is decoration), in one pass."""
    if _BOX_RE.search(s) is None:
        return s
    partners = _brace_partners(s)
    cuts = sorted(cut for m in _BOX_RE.finditer(s) if m.end() - 1 in partners
                  for cut in ((m.start(), m.end()), (partners[m.end() - 1], partners[m.end() - 1] + 1)))
    out, pos = [], 0
    for a, b in cuts:
        out.append(s[pos:a])
        pos = b
    out.append(s[pos:])
    return " ".join(out)


def _unwrap_braces(s: str) -> str:
    """``{{5}}`` -> ``5``: braces around the whole answer group nothing."""
    if not s.startswith("{"):
        return s
    partners = _brace_partners(s)
    lo, hi = 0, len(s)
    while lo < hi and s[lo] == "{" and partners.get(lo) == hi - 1:
        lo, hi = lo + 1, hi - 1
        while lo < hi and s[lo].isspace():
            lo += 1
        while hi > lo and s[hi - 1].isspace():
            hi -= 1
    return s[lo:hi]


def _bare_arguments(s: str, k: int, command: str, nargs: int, partners: dict[int, int]) -> list[tuple[int, int]]:
    """The spans of the unbraced single-token arguments of the ``command`` whose name ends at ``s[k]``."""
    if command == "\\sqrt" and s.startswith("[", k):  # \sqrt[3]2: the index is no argument
        k = s.find("]", k) + 1
        if k == 0:
            return []
    spans = []
    for _ in range(nargs):
        while k < len(s) and s[k] == " ":
            k += 1
        if k >= len(s):
            break
        if s[k] == "{":
            if k not in partners:
                break
            k = partners[k] + 1
            continue
        m = _COMMAND_RE.match(s, k) if s[k] == "\\" else None
        if m is not None and m.group() not in _FIXED_COMMANDS:  # \frac\pi 2; but \sqrt\frac.. is no token
            spans.append((k, m.end()))
        elif m is None and s[k].isalnum():
            spans.append((k, k + 1))
        else:
            break
        k = spans[-1][1]
    return spans


def _fix_args(s: str, command: str, nargs: int) -> str:
    """Brace the single-token arguments of ``\\frac12``, ``\\frac\\pi 2``, ``\\sqrt3`` so equal answers match.

    Arguments are found through one table of brace partners, and commands inside braced arguments are fixed too
    (``\\frac{\\frac12}{3}``), so one pass does it all."""
    if command not in s:
        return s
    partners, spans, n = _brace_partners(s), [], len(command)
    j = s.find(command)
    while j >= 0:
        if not (j + n < len(s) and s[j + n].isalpha()):  # \fraction is another command
            spans += _bare_arguments(s, j + n, command, nargs, partners)
        j = s.find(command, j + n)
    out, pos = [], 0
    for a, b in sorted(spans):
        out += [s[pos:a], "{", s[a:b], "}"]
        pos = b
    out.append(s[pos:])
    return "".join(out)


def _strip_trailing_units(s: str) -> str:
    """``12 cm``, ``5 square units``, ``1 cm units`` -> the number. Each unit is looked for in the last few
    characters only, so that a long answer costs a short search per unit."""
    while (m := _TRAILING_UNIT_RE.search(s, max(0, len(s) - 64))) is not None:
        s = s[:m.start()]
    return s


def _lower_outside_commands(s: str) -> str:
    if not any(c.isupper() for c in s):
        return s
    return re.sub(r"\\[a-zA-Z]+|[^\\]+", lambda m: m.group(0) if m.group(0)[0] == "\\" else m.group(0).lower(), s)


def _degrees(s: str) -> str:
    """``30^\\circ`` is the number 30 (MATH's convention); next to a trig function the mark carries the angle
    (``\\cos 15^\\circ`` is not ``\\cos 15``), so there it stays, spelled ``^{\\circ}``."""
    return _DEGREES_RE.sub("^{\\\\circ}" if _TRIG_RE.search(s) else " ", s)


def _digit_spaces(m: re.Match) -> str:
    """Digits separated by spaces: ``1 000 000`` is one number (thousands groups), ``3 4`` stays two numbers."""
    run = m.group()
    if _THOUSANDS_SPACED_RE.fullmatch(run) and m.string[m.start() - 1:m.start()] != ".":
        return run.replace(" ", "")
    return run.replace(" ", _KEEP)


def _remove_spaces(s: str) -> str:
    """Drop the spaces that mean nothing; keep (as _KEEP) those between digit groups that are not thousands
    separators and between a command name and a letter (``\\pi r``); mark a comma before a space as _LIST."""
    s = _DIGIT_RUN_RE.sub(_digit_spaces, s)
    s = s.replace(", ", "," + _LIST)
    s = _SPACE_KEEP_RE.sub("\\1" + _KEEP, s)
    return s.replace(" ", "").replace(_KEEP, " ")


def _clean(s: str) -> str:
    """String-level cleanup of a whole answer, before its structure is read."""
    s = _UNICODE_RE.sub(lambda m: _UNICODE[m.group(0)], _CONTROL_RE.sub(" ", s)).replace("\\\\", _ROW)
    s = s.strip().strip("$").strip()
    for open_, close in (("\\(", "\\)"), ("\\[", "\\]")):
        if s.startswith(open_) and s.endswith(close):
            s = s[2:-2].strip()
    s = _THOUSANDS_MARKED_RE.sub(r"\1", s)
    s = _DROP_RE.sub(" ", s)
    s = _SIZED_DELIM_RE.sub("", s)
    for pattern, repl in _RENAME:
        s = pattern.sub(repl, s)
    s = _drop_boxes(_degrees(s))
    s = re.sub(r"\s+", " ", _resolve_text(re.sub(r"\s+", " ", s))).strip()  # single spaces: "\s*" on long runs
    s = _strip_trailing_units(_unwrap_braces(s))  # {12 cm} has a trailing unit too
    s = _CONNECTIVE_RE.sub(", ", s)
    s = _fix_args(_fix_args(_fix_args(s, "\\frac", 2), "\\sqrt", 1), "\\binom", 2)
    s = _unwrap_braces(_remove_spaces(_SCRIPT_RE.sub(r"\1{\2}", s)))
    s = _strip_prefix(_trim_end(s.replace(_ROW, "\\\\")))
    if _THOUSANDS_WHOLE_RE.fullmatch(s):  # 1,000 is a number; "1, 000" (marked _LIST) would be two answers
        s = s.replace(",", "")
    return s.replace(_LIST, "")


def _mentions(rest: str, name: str) -> bool:
    """Whether ``name`` occurs in ``rest``: as that command, or as a letter outside command names and words."""
    if name.startswith("\\"):
        return re.search(re.escape(name) + "(?![a-zA-Z])", rest) is not None
    letters = _WORD_RE.sub(" ", _COMMAND_RE.sub(" ", rest))  # x = \text{Alex} still answers "Alex"
    return name.lower() in letters.lower()


def _prefix(s: str) -> tuple[str, str] | None:
    """``(name, rest)`` when ``s`` is ``name = rest`` or ``name \\in rest`` and the rest is a value for the name:
    no second ``=``, no inequality, no occurrence of the name (``x = 2x + 3`` is an equation, not ``2x + 3``)."""
    m = _PREFIX_RE.match(s)
    if m is None:
        return None
    rest = s[m.end():]
    if "=" in rest or rest.startswith(("<", ">", "\\le", "\\ge")) or _mentions(rest, m.group(1)):
        return None
    return m.group(1).lower(), rest


def _strip_prefix(s: str) -> str:
    """``x = 3`` -> ``3`` and ``x \\in (0, 1)`` -> ``(0, 1)``: a short variable name before a single = or \\in."""
    found = _prefix(s)
    return s if found is None else found[1]


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


def _trim_end(s: str) -> str:
    """Without a final period or stray backslash (in any order): sentence punctuation, not part of the value."""
    return s.rstrip(".\\").strip()


def _drop_plus(s: str) -> str:
    """``+5`` is 5 (but ``+-5`` stays as written)."""
    if s.startswith("+") and s.lstrip("+") and not s.lstrip("+").startswith("-"):
        return s.lstrip("+")
    return s


def _reduce(s: str, strip_prefix: bool) -> str:
    """A leaf without what only surrounds its value: a final period (``(5.)``), a plus sign, a ``name =``."""
    s = _drop_plus(_trim_end(s))
    return _drop_plus(_strip_prefix(s)) if strip_prefix else s


def _canonical_atom(s: str) -> str:
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


def _one_name(items) -> bool:
    """Whether the ``name =`` prefixes of these answers name at most one variable: ``x = 1, x = 2`` lists values of
    x, but ``a = 3, b = 4`` labels each value, and without the labels ``a = 4, b = 3`` would match it."""
    return len({found[0] for x in items if isinstance(x, Atom) and (found := _prefix(x.text))}) <= 1


def _canonical(node, several: bool = True, strip_prefix: bool = True):
    """Canonical leaves; where several answers may stand (top level, lists, sets), ``a \\pm b`` is two answers."""
    if isinstance(node, Atom):
        text = _reduce(node.text, strip_prefix)
        if text != node.text:  # what is left may have a shape of its own: x = (1, 2), +{5}
            return _canonical(parse(text), several, strip_prefix)
        if several and len(_PM_RE.findall(text)) == 1:
            options = [_canonical(parse(_PM_RE.sub(sign, text)), False) for sign in ("+", "-")]
            return Seq("list", "", "", tuple(options))
        return Atom(_canonical_atom(text))
    if isinstance(node, Seq):
        several = node.kind in ("list", "set")
        strip = not several or _one_name(node.items)
        items = [_canonical(x, several, strip) for x in node.items]
        if several:
            items = [y for x in items for y in (x.items if isinstance(x, Seq) and x.kind == "list" else (x,))]
        if node.kind == "set":  # as parse reads sets: without empty elements (one may be left by "\{x.\}")
            items = [x for x in items if x != Atom("")]
        return Seq(node.kind, node.open, node.close, tuple(items))
    if isinstance(node, Matrix):
        return Matrix(tuple(tuple(_canonical(x, False) for x in row) for row in node.rows))
    raise TypeError(node)


def _render_answer(node) -> str:
    text = render(node)
    if isinstance(node, Seq) and node.kind == "list" and _THOUSANDS_WHOLE_RE.fullmatch(text):
        return ", ".join(render(x) for x in node.items)  # the answers 81 and 256 must not read back as 81256
    return text


@lru_cache(maxsize=1 << 18)
def normalize_answer(ans: str) -> str:
    """The canonical spelling of an answer: equal answers written differently map to one string.

    PRM800K/MATH style: ``\\dfrac``/``\\tfrac`` -> ``\\frac``, ``\\frac12`` -> ``\\frac{1}{2}``, ``\\sqrt3`` ->
    ``\\sqrt{3}``, no ``\\left``/``\\right``, ``$``, ``\\%``, ``^\\circ``, ``\\text{}`` wrappers, trailing units
    or periods, thousands separators, ``x =`` prefixes (when ``x`` does not occur after them) or spaces;
    decimals become exact fractions (``0.5`` -> ``\\frac{1}{2}``, ``2.0`` -> ``2``) but unreduced fractions stay
    unreduced; letters are lower-cased; tuples, intervals, sets, lists of answers and matrices are normalized
    element by element. Linear in the input; never raises on a str; idempotent.
    """
    if not isinstance(ans, str):
        raise TypeError(f"normalize_answer expects a str, got {type(ans).__name__}")
    stripped = ans.strip()
    if len(stripped) > MAX_ANSWER_CHARS:  # no real answer is this long; keep its cost (and the caller's wait) bounded
        return stripped
    cleaned = _clean(stripped)
    if not cleaned:
        return ""
    if nesting(cleaned) >= MAX_DEPTH:  # no answer nests this deep: a plain string (one below parse's cap, so
        return cleaned  # that a normal form, at most one brace level deeper than its cleaned input, parses)
    return _render_answer(_canonical(parse(cleaned)))
