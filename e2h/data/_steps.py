"""Bring labelled step lists from other datasets into the step format of ``e2h.format``."""

from __future__ import annotations

from e2h.format import ANSWER_HEADER, ANSWER_SEP, STEP_SEP, collapse_blank_lines, split_answer


def merge_ratings(a, b):
    """Rating of two steps joined into one: the worse of the rated ones; None when neither was rated."""
    rated = [r for r in (a, b) if r is not None]
    return min(rated) if rated else None


def normalize_steps(texts: list[str], ratings: list) -> tuple[list[str], list]:
    """Steps whose ``"\\n\\n".join`` splits back into the same steps with ``e2h.format.split_steps``.

    Blank lines inside a step become single newlines; an answer section is written ``"\\n\\n# Answer\\n\\n" + a``
    and ends the list; a step that holds only the answer section (PRM800K's phase 2 writes ``"# Answer\\n\\n5"`` as
    its own step) is joined to the step before it, with ``merge_ratings`` of the two ratings. Empty steps end it.
    """
    steps, out = [], []
    for text, rating in zip(texts, ratings):
        body, answer = split_answer(text)
        body = collapse_blank_lines(body).strip()
        if answer is None:
            if not body:
                break
            steps.append(body)
            out.append(rating)
            continue
        answer = collapse_blank_lines(answer)
        if body:
            steps.append(body + ANSWER_SEP + answer)
            out.append(rating)
        elif steps:
            steps[-1] += ANSWER_SEP + answer
            out[-1] = merge_ratings(out[-1], rating)
        else:
            steps.append(ANSWER_HEADER + STEP_SEP + answer)
            out.append(rating)
        break
    return steps, out
