"""e2h.grading on the real MATH answers: every answer grades equal to itself and to rewrites of itself.

The JSON is read directly here (e2h.data is developed separately); the fixture ``data_dir`` skips without data.
"""

import json
import re

import pytest

from e2h.grading import extract_answer, grade_many, normalize_answer
from e2h.format import last_boxed


@pytest.fixture(scope="module")
def math_answers(data_dir):
    files = sorted((data_dir / "hendrycks_math").glob("*/*/*.json"))
    assert len(files) == 12500, f"expected the 12,500 MATH files under {data_dir / 'hendrycks_math'}"
    return {f.relative_to(data_dir / "hendrycks_math").as_posix(): last_boxed(json.loads(f.read_text())["solution"])
            for f in files}


@pytest.fixture(scope="module")
def math500(data_dir):
    path = data_dir / "prm800k_math_splits" / "test.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    assert len(rows) == 500, f"{path}: expected 500 MATH500 rows, got {len(rows)}"
    return rows


def test_every_math_answer_grades_equal_to_itself(math_answers):
    names, answers = list(math_answers), list(math_answers.values())
    assert all(a is not None for a in answers), "every MATH solution has a closed \\boxed{}"
    # Two training solutions box nothing ("\boxed{}"): they have no answer to grade.
    empty = sorted(n for n, a in math_answers.items() if not a.strip())
    assert empty == ["train/number_theory/7115.json", "train/number_theory/7117.json"]
    verdicts = grade_many(answers, answers, progress=False)
    wrong = [n for n, a, v in zip(names, answers, verdicts) if a.strip() and not v]
    assert not wrong, f"answers not equal to themselves: {wrong[:10]}"


def test_every_math_answer_grades_equal_to_its_normal_form(math_answers):
    answers = [a for a in math_answers.values() if a.strip()]
    normal = [normalize_answer(a) for a in answers]
    assert all(normalize_answer(n) == n for n in normal), "normalization must be idempotent"
    verdicts = grade_many(normal, answers, progress=False)
    assert all(verdicts), [a for a, v in zip(answers, verdicts) if not v][:10]


def test_math_lists_of_numbers_stay_several_answers(math_answers):
    """train/intermediate_algebra/1463 boxes "81, 256" (the two solutions): not the number 81256."""
    lists = [a.strip() for a in math_answers.values() if re.fullmatch(r"\s*-?\d+(?:,\s+-?\d+)+\s*", a)]
    assert "81, 256" in lists
    parts = [[p.strip() for p in a.split(",")] for a in lists]
    assert all(grade_many([", ".join(reversed(p)) for p in parts], lists, progress=False))
    assert not any(grade_many(["".join(p) for p in parts], lists, progress=False))


def test_math500_boxed_answer_matches_answer_field(math500):
    boxed = [last_boxed(r["solution"]) for r in math500]
    assert sum(grade_many(boxed, [r["answer"] for r in math500], progress=False)) == 500


def test_math500_answer_extracted_from_paper_format(math500):
    texts = [f"# Question\n\n{r['problem']}\n\n# Solution\n\nSteps.\n\n# Answer\n\n{r['answer']}</s>" for r in math500]
    preds = [extract_answer(t) for t in texts]
    assert sum(grade_many(preds, [r["answer"] for r in math500], progress=False)) == 500


REWRITES = {
    "dfrac": lambda a: a.replace("\\frac", "\\dfrac"),
    "dollars": lambda a: f"${a}$",
    "boxed": lambda a: f"\\boxed{{{a}}}",
    # Spaces around the commas between answers, not inside a number: "58, 500" is two answers, not 58500.
    "spaces": lambda a: re.sub(r",(?!\d{3}(?!\d)|\\!)\s*", " ,  ", a).replace("+", " + "),
    "left-right": lambda a: f"\\left({a[1:-1]}\\right)" if a.startswith("(") and a.endswith(")") else a,
    "period": lambda a: a + ".",
}


@pytest.mark.parametrize("rewrite", list(REWRITES))
def test_math500_rewritten_answers_still_correct(math500, rewrite):
    golds = [r["answer"] for r in math500]
    preds = [REWRITES[rewrite](g) for g in golds]
    verdicts = grade_many(preds, golds, progress=False)
    assert all(verdicts), [(g, p) for g, p, v in zip(golds, preds, verdicts) if not v][:10]


def test_math500_other_problems_answers_are_wrong_unless_identical(math500):
    golds = [r["answer"] for r in math500]
    others = golds[1:] + golds[:1]
    verdicts = grade_many(others, golds, progress=False)
    same_key = [normalize_answer(g) == normalize_answer(o) for g, o in zip(golds, others)]
    assert verdicts == same_key
    assert sum(same_key) < 10  # neighbours rarely share an answer
