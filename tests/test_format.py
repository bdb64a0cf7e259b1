import re

import pytest

from e2h.format import (ANSWER_SEP, PROMPT_TEMPLATE, format_prompt, format_solution, math_solution_to_steps,
                        parse_answer, split_steps, step_end_offsets, text_to_steps)
from e2h.format import last_boxed


def test_prompt_is_the_papers():
    assert PROMPT_TEMPLATE == "# Question\n\n{problem}\n\n# Solution\n\n"
    assert format_prompt("What is $1+1$?") == "# Question\n\nWhat is $1+1$?\n\n# Solution\n\n"


def test_format_solution_layout():
    text = format_solution(["First.", "Second, with\na line break."], "42")
    assert text == "First.\n\nSecond, with\na line break.\n\n# Answer\n\n42"
    assert parse_answer(text) == "42"
    assert format_solution([], "7") == "# Answer\n\n7"


@pytest.mark.parametrize("steps", [["a"], ["x = 1.", "y = 2.", "So $x + y = 3$."], ["one\ntwo", "three"]])
def test_round_trip_puts_the_answer_on_the_last_step(steps):
    out = split_steps(format_solution(steps, "3"))
    assert out == steps[:-1] + [steps[-1] + ANSWER_SEP + "3"]
    assert len(out) == len(steps)


def test_format_solution_rejects_steps_that_would_not_come_back():
    with pytest.raises(ValueError, match="step 1 contains a blank line"):
        format_solution(["ok", "two\n\nparagraphs"], "1")
    with pytest.raises(ValueError, match="step 0 is empty"):
        format_solution(["  "], "1")


def test_split_steps_tolerates_sloppy_answer_sections():
    assert split_steps("a\n\n\n  b  \n# Answer\n5\n") == ["a", "b" + ANSWER_SEP + "5"]
    assert split_steps("# Answer\n\n5") == ["# Answer\n\n5"]
    assert split_steps("no answer here\n\nat all") == ["no answer here", "at all"]
    assert parse_answer("no answer") is None
    # Only the LAST "# Answer" line counts; "# Answer" inside a line is text.
    assert parse_answer("x # Answer y\n\n# Answer\n\n1\n\n# Answer\n\n2") == "2"


def test_step_end_offsets_match_the_steps():
    text = format_solution(["a b", "c\nd", "e"], "5")
    offsets = step_end_offsets(text)
    assert len(offsets) == len(split_steps(text)) == 3
    assert [text[:o] for o in offsets[:2]] == ["a b", "a b\n\nc\nd"]
    assert text[offsets[0]:offsets[0] + 2] == "\n\n"
    assert offsets[-1] == len(text)  # the last step, answer included, is read at EOS
    assert step_end_offsets("# Answer\n\n5") == [len("# Answer\n\n5")]


def test_text_to_steps_keeps_math_and_diagrams_whole():
    sol = ("We have $x = 5.$  Then $y = 2x.$\n\n[asy]\ndraw((0,0)--(1,1));\n\nlabel(\"A\", (0,0));\n[/asy]\n\n"
           "Hence \\[y = 10.\\]Therefore the answer is $\\boxed{10}$.")
    steps = text_to_steps(sol)
    assert steps[0] == "We have $x = 5.$"
    assert steps[1].startswith("Then $y = 2x.$\n[asy]") and steps[1].endswith("[/asy]")  # diagram joins its step
    assert steps[2] == "Hence \\[y = 10.\\]"
    assert steps[3] == "Therefore the answer is $\\boxed{10}$."
    assert all("\n\n" not in s for s in steps)


def test_text_to_steps_does_not_cut_abbreviations_or_lowercase_continuations():
    assert text_to_steps("Mr. Smith paid $\\$5$. He left.") == ["Mr. Smith paid $\\$5$.", "He left."]
    assert text_to_steps("so \\[x = 1,\\]which gives $y.$") == ["so \\[x = 1,\\]which gives $y.$"]
    # A line break after an unfinished sentence introduces a display; it stays in the step.
    assert text_to_steps("and so\n\n\\begin{align*}\na &= b.\n\\end{align*}Thus $c$.") == \
        ["and so\n\\begin{align*}\na &= b.\n\\end{align*}", "Thus $c$."]
    assert text_to_steps("a = 1\nb = 2", cut_at_newlines=True) == ["a = 1", "b = 2"]


def test_math_solution_to_steps_answer_is_last_box():
    steps, answer = math_solution_to_steps("So $x = \\boxed{3}$. Also $\\boxed{\\frac{1}{2}}$.")
    assert answer == "\\frac{1}{2}" and len(steps) == 2
    assert math_solution_to_steps("No box.")[1] is None


@pytest.mark.slow
def test_converter_on_every_math_solution(data_dir):
    from e2h.data import read_math_all

    records = read_math_all(data_dir)
    assert len(records) == 12500
    bad = []
    for r in records:
        steps, answer = math_solution_to_steps(r["solution"])
        joined = "\n\n".join(steps)
        ok = (len(steps) >= 1 and answer == last_boxed(r["solution"]) and last_boxed(joined) == answer
              and all("\n\n" not in s for s in steps)
              # nothing but whitespace is lost or added
              and re.sub(r"\s", "", joined) == re.sub(r"\s", "", r["solution"])
              and split_steps(format_solution(steps, answer))
              == steps[:-1] + [steps[-1] + ANSWER_SEP + answer.strip()])
        if not ok:
            bad.append(r["unique_id"])
    assert not bad, f"{len(bad)} solutions mis-converted, e.g. {bad[:5]}"
