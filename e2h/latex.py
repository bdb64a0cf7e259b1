"""Small LaTeX helpers shared by the data layer and the grader."""

from __future__ import annotations

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
