"""The paper's text format: the prompt, the step-separated solution and its answer section.

A training or sampled solution looks like::

    # Question\\n\\n{problem}\\n\\n# Solution\\n\\n        <- the prompt (format_prompt)
    step 1\\n\\nstep 2\\n\\n...\\n\\nstep k\\n\\n# Answer\\n\\n{answer}   <- the completion (format_solution)
    <EOS>                                                    <- added by tokenization code, not here

Steps are separated by one blank line (``STEP_SEP``) and never contain a blank line themselves.

Which step carries the answer: the answer section belongs to the LAST step. ``split_steps`` returns
``[step 1, ..., step k + "\\n\\n# Answer\\n\\n" + answer]``, so a k-step solution has k steps, not k + 1. This
matches how a reward model scores a solution: a step's score is read at the separator that ends it (the first token
of the ``\\n\\n`` between step i and step i+1) and the last step's score is read at EOS, after the answer. The
blank lines around ``# Answer`` are inside the last step and are NOT step boundaries; a reward model that finds its
read-out positions must use ``step_end_offsets`` (or split_steps), not every ``\\n\\n`` in the text. A solution
with no reasoning at all (``"# Answer\\n\\n5"``) is a single step.

``math_solution_to_steps`` turns a MATH reference solution (free LaTeX prose) into this step format.
"""

from __future__ import annotations

import re

_BOX_COMMANDS = ("\\boxed", "\\fbox")


def last_boxed(text: str) -> str | None:
    """Content of the last ``\\boxed{...}`` (or ``\\fbox{...}``) in ``text``, brace-matched.

    ``\\boxed 5`` (no braces) gives ``"5"``. Returns None when there is no box or its braces never close,
    because a half-read answer graded as if it were whole would be silently wrong.
    """
    start = max(text.rfind(cmd) for cmd in _BOX_COMMANDS)
    if start < 0:
        return None
    cmd = next(c for c in _BOX_COMMANDS if text.startswith(c, start))
    rest = text[start + len(cmd):]
    if rest.startswith(" "):  # "\boxed 5": the argument runs to the next "$" or whitespace
        arg = rest[1:].split("$", 1)[0].split()
        return arg[0] if arg else None
    if not rest.startswith("{"):
        return None
    depth = 0
    for i, ch in enumerate(rest):
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return rest[1:i]
    return None


PROMPT_TEMPLATE = "# Question\n\n{problem}\n\n# Solution\n\n"
STEP_SEP = "\n\n"
ANSWER_HEADER = "# Answer"
ANSWER_SEP = f"{STEP_SEP}{ANSWER_HEADER}{STEP_SEP}"  # what joins the last step and the answer

# A blank line: a newline, optional spaces, another newline (and any further blank lines).
_BLANK_LINE = re.compile(r"[ \t]*\n[ \t]*\n\s*")
# "# Answer" alone on its line; the answer is everything after it. Tolerates "# Answer\n5" and a missing blank
# line before the header, which PRM800K labellers and small policies both produce.
_ANSWER_LINE = re.compile(r"(?:^|\n)[ \t]*# Answer[ \t]*(?:\n|$)")


def format_prompt(problem: str) -> str:
    return PROMPT_TEMPLATE.format(problem=problem)


def format_solution(steps: list[str], answer: str) -> str:
    """Steps joined by a blank line, then the answer section (no EOS).

    Steps are stripped; an empty step or one that contains a blank line raises, because it would not come back
    as the same step from ``split_steps`` and its label would land on the wrong step.
    """
    clean = []
    for i, step in enumerate(steps):
        if not isinstance(step, str):
            raise TypeError(f"step {i}: expected str, got {type(step).__name__}")
        s = step.strip()
        if not s:
            raise ValueError(f"step {i} is empty")
        if _BLANK_LINE.search(s):
            raise ValueError(f"step {i} contains a blank line, which is the step separator: {s[:80]!r}")
        clean.append(s)
    answer = str(answer).strip()
    body = STEP_SEP.join(clean)
    return f"{body}{ANSWER_SEP}{answer}" if body else f"{ANSWER_HEADER}{STEP_SEP}{answer}"


def split_answer(text: str) -> tuple[str, str | None]:
    """(body, answer) at the last ``# Answer`` line; answer (stripped) is None when there is no such line."""
    last = None
    for last in _ANSWER_LINE.finditer(text):
        pass
    if last is None:
        return text, None
    return text[:last.start()], text[last.end():].strip()


def collapse_blank_lines(text: str) -> str:
    """Blank lines become single newlines, so the text can sit inside one step."""
    return _BLANK_LINE.sub("\n", text)


def parse_answer(text: str) -> str | None:
    """The text after the last ``# Answer`` line, stripped; None when the solution has no answer section."""
    return split_answer(text)[1]


def split_steps(solution: str) -> list[str]:
    """Split a solution into steps at blank lines; the answer section is appended to the last step.

    Whitespace is normalised (steps stripped, the answer section written as ``"\\n\\n# Answer\\n\\n" + answer``),
    so ``split_steps(format_solution(steps, a))`` gives ``steps`` with ``ANSWER_SEP + a`` added to the last one.
    """
    body, answer = split_answer(solution)
    steps = [s.strip() for s in _BLANK_LINE.split(body.strip())] if body.strip() else []
    steps = [s for s in steps if s]
    if answer is None:
        return steps
    if not steps:
        return [f"{ANSWER_HEADER}{STEP_SEP}{answer}"]
    steps[-1] += ANSWER_SEP + answer
    return steps


def step_end_offsets(text: str) -> list[int]:
    """Character offset in ``text`` where each step's score is read: the start of the blank line that ends it,
    and ``len(text)`` (where EOS follows) for the last step. Blank lines around ``# Answer`` are skipped.

    One offset per element of ``split_steps(text)``.
    """
    body, answer = split_answer(text)
    stripped_end = len(body.rstrip())
    # The read-out is the first newline of the separator (trailing spaces of the step are skipped).
    offsets = [body.index("\n", m.start()) for m in _BLANK_LINE.finditer(body)
               if m.start() < stripped_end and body[:m.start()].strip()]
    if answer is None and len(text.rstrip()) == 0:
        return []
    return offsets + [len(text)]


# ---------------------------------------------------------------------------------------------------------------
# MATH reference solutions -> steps
# ---------------------------------------------------------------------------------------------------------------

# Sentence ends that are not: "Mr. Smith", "e.g. The".
_ABBREVIATIONS = {"mr.", "mrs.", "ms.", "dr.", "st.", "prof.", "jr.", "sr.", "vs.", "e.g.", "i.e.", "cf.", "no.",
                  "fig.", "approx.", "etc.", "a.m.", "p.m."}
_SENTENCE_END = re.compile(r"[.!?][)\"'\u201d\u2019]*$")
_ENV_BEGIN = re.compile(r"\\begin\{([^}]*)\}")


def _find_close(text: str, start: int, opener: str, closer: str) -> int:
    """Index just past the closer matching an opener at ``start``; len(text) when it never closes."""
    j = text.find(closer, start + len(opener))
    return len(text) if j < 0 else j + len(closer)


def _env_end(text: str, start: int, name: str) -> int:
    """End of ``\\begin{name}`` at ``start``, counting nested environments of the same name."""
    begin, end = f"\\begin{{{name}}}", f"\\end{{{name}}}"
    depth, i = 0, start
    while i < len(text):
        if text.startswith(begin, i):
            depth, i = depth + 1, i + len(begin)
        elif text.startswith(end, i):
            depth, i = depth - 1, i + len(end)
            if depth == 0:
                return i
        else:
            i += 1
    return len(text)


def _math_tokens(text: str) -> list[tuple[str, str]]:
    """Cut ``text`` into (kind, chunk): kind is "asy", "display", "inline", "ws" (whitespace) or "word".

    Diagrams and math are atomic, so no step boundary ever falls inside them. A "$" whose partner lies beyond a
    blank line is taken as a literal dollar sign (MATH has unescaped prices like "$120 dollars").
    """
    tokens: list[tuple[str, str]] = []
    i, n = 0, len(text)
    while i < n:
        if text.startswith("[asy]", i):
            j, kind = _find_close(text, i, "[asy]", "[/asy]"), "asy"
        elif text.startswith("$$", i):
            j, kind = _find_close(text, i, "$$", "$$"), "display"
        elif text.startswith("\\[", i):
            j, kind = _find_close(text, i, "\\[", "\\]"), "display"
        elif text.startswith("\\(", i):
            j, kind = _find_close(text, i, "\\(", "\\)"), "inline"
        elif (m := _ENV_BEGIN.match(text, i)):
            j, kind = _env_end(text, i, m.group(1)), "display"
        elif text[i] == "$" and (i == 0 or text[i - 1] != "\\"):
            j = i + 1
            while j < n and not (text[j] == "$" and text[j - 1] != "\\"):
                j += 1
            if j < n and not _BLANK_LINE.search(text, i, j):
                j, kind = j + 1, "inline"
            else:
                j, kind = i + 1, "word"
        elif text[i].isspace():
            j = i
            while j < n and text[j].isspace():
                j += 1
            kind = "ws"
        else:
            j = i + 1
            while j < n and not text[j].isspace() and text[j] not in "$[\\":
                j += 1
            if j == i + 1 and text[i] in "[\\":  # a lone "[" or a command such as "\frac": keep scanning
                while j < n and not text[j].isspace() and text[j] not in "$":
                    if text.startswith(("\\[", "\\(", "\\begin{", "[asy]"), j):
                        break
                    j += 1
            kind = "word"
        if kind == "word" and tokens and tokens[-1][0] == "word":
            tokens[-1] = ("word", tokens[-1][1] + text[i:j])
        else:
            tokens.append((kind, text[i:j]))
        i = j
    return tokens


def _ends_sentence(kind: str, chunk: str) -> bool:
    if kind == "asy":
        return True
    if kind == "word":
        return bool(_SENTENCE_END.search(chunk)) and chunk.lower() not in _ABBREVIATIONS
    inner = chunk.strip("$").removeprefix("\\[").removesuffix("\\]").removeprefix("\\(").removesuffix("\\)")
    inner = re.sub(r"\\end\{[^}]*\}$", "", inner.strip()).rstrip(" \t\n\\")
    return bool(re.search(r"[.!?]$", inner))


def text_to_steps(text: str, cut_at_newlines: bool = False) -> list[str]:
    """Split LaTeX prose into sentence-level steps; no step contains a blank line, no character is lost.

    A boundary falls where a sentence ends (``.``, ``!``, ``?``, also inside math as in ``$x = 5.$``, or after an
    ``[asy]`` diagram) and is followed either by a line break or by a capitalised word; with ``cut_at_newlines``
    every line break outside math is a boundary too (MetaMath writes one step per line). Math and diagrams are
    never cut, and a diagram stays in the step before it. Blank lines inside a step become single newlines.
    """
    tokens = _math_tokens(text.strip())
    steps, current = [], []
    for t, (kind, chunk) in enumerate(tokens):
        if (kind != "ws" and current and tokens[t - 1][0] != "ws"
                and _cut(tokens[t - 1], None, (kind, chunk), cut_at_newlines)):
            steps.append(current)
            current = []
        if kind == "ws" and 0 < t < len(tokens) - 1 and _cut(tokens[t - 1], chunk, tokens[t + 1], cut_at_newlines):
            steps.append(current)
            current = []
            continue
        current.append(chunk)
    steps.append(current)
    out = [collapse_blank_lines("".join(s)).strip() for s in steps]
    return [s for s in out if s]


def _cut(prev: tuple[str, str], ws: str | None, nxt: tuple[str, str], cut_at_newlines: bool) -> bool:
    """Whether a step boundary goes between ``prev`` and ``nxt`` (separated by whitespace ``ws``, or touching)."""
    if nxt[0] == "asy":
        return False
    if cut_at_newlines and ws is not None and "\n" in ws:
        return True
    if not _ends_sentence(*prev):
        return False
    if ws is not None and "\n" in ws:
        return True
    return nxt[0] == "word" and nxt[1][:1].isupper()


def math_solution_to_steps(solution: str) -> tuple[list[str], str | None]:
    """A MATH reference solution as (steps, answer): sentence-level steps and the last ``\\boxed{}`` content.

    The answer is None only when the solution has no box (no MATH file lacks one). The boxed text stays in its
    step, so ``format_solution(steps, answer)`` shows the answer twice, as the paper's SFT data does.
    """
    return text_to_steps(solution), last_boxed(solution)
