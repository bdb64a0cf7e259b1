"""Answer keys and keyed grouping: a key never separates answers the grader calls equal, so keyed grouping gives
the pairwise grouping's clusters; the in-process values read elements as latex2sympy does; the child's shortcuts."""

import json
import random
from fractions import Fraction

import pytest

from e2h.grading import bounded, grade, grading_stats, normalize_answer, reset_grading_stats
from e2h.grading import keys as K
from e2h.grading.group import cluster, cluster_pairwise, group_answers
from e2h.grading.numeric import differ, ends, point, value
from e2h.grading.structure import Atom, Matrix, Seq, parse

from test_grading import CASES


@pytest.fixture(scope="module")
def math500(data_dir):
    rows = [json.loads(line) for line in (data_dir / "prm800k_math_splits" / "test.jsonl").read_text().splitlines()
            if line.strip()]
    assert len(rows) == 500
    return rows


def same(a: str, b: str) -> bool:
    return grade(a, b) or grade(b, a)


# ---------------------------------------------------------------------------------------------------------------
# Keys are a necessary condition of the grader's verdict.

def test_every_pair_of_the_case_table_the_grader_calls_equal_shares_a_key():
    pairs = [(normalize_answer(c.values[0]), normalize_answer(c.values[1])) for c in CASES if c.values[2]]
    keys = K.answer_keys([a for pair in pairs for a in pair], progress=False)
    split = [(g, p, keys[g], keys[p]) for g, p in pairs if None not in (keys[g], keys[p]) and keys[g] != keys[p]]
    assert not split
    assert sum(None not in (keys[g], keys[p]) for g, p in pairs) >= 0.9 * len(pairs)  # keys that say something


@pytest.mark.parametrize("a, b", [
    ("2\\sqrt{2}", "\\sqrt{8}"), ("\\frac{\\sqrt{3}}{3}", "\\frac{1}{\\sqrt{3}}"), ("\\frac{1}{2}", "2^{-1}"),
    ("\\frac{2}{4}", "2^{-1}"), ("(x+1)^2", "x^2+2x+1"), ("(1, \\sqrt{8})", "(1, 2\\sqrt{2})"),
    ("1, \\sqrt{8}", "\\{2\\sqrt{2}, 1\\}"), ("x+y=5", "5=y+x"), ("x-1=0", "1-x=0"), ("x > 3", "3 < x"),
    ("10+7.5\\pi", "10+\\frac{15}{2}\\pi"), ("\\sqrt{10}", "\\frac{\\sqrt{40}}{2}"),
    ("2\\cos 15^\\circ", "\\frac{\\sqrt{6}+\\sqrt{2}}{2}"), ("\\sin^2 x + \\cos^2 x", "\\sqrt{1}"),
])
def test_equal_spellings_share_a_key(a, b):
    assert same(a, b)
    keys = K.answer_keys([normalize_answer(a), normalize_answer(b)], progress=False)
    assert keys[normalize_answer(a)] is not None and keys[normalize_answer(a)] == keys[normalize_answer(b)]


@pytest.mark.parametrize("a, b", [
    ("2", "\\frac{4}{2}"), ("5", "\\sqrt{25}"), ("\\text{odd}", "\\text{even}"), ("(1, 2)", "[1, 2]"),
    ("(1, 2)", "1, 2"), ("\\sqrt{2}", "\\sqrt{3}"), ("x^2", "x^3"), ("x = 1", "x > 1"), ("\\infty", "-\\infty"),
])
def test_answers_of_different_kinds_or_values_have_different_keys(a, b):
    assert not same(a, b)
    keys = K.answer_keys([normalize_answer(a), normalize_answer(b)], progress=False)
    assert keys[normalize_answer(a)] != keys[normalize_answer(b)]


def test_elements_the_grader_compares_as_strings_are_keyed_by_their_spelling():
    for text in ("monday", "\\infty", "3 4", "9^{9^{9}}", "x" * 700):
        assert K.local_key(text) == "s:" + text
    assert K.local_key("12") == "i:12" and K.local_key("-3") == "i:-3"
    assert K.fingerprint_key("@@", ["unparsed"]) == "s:@@"


def test_box_keys_are_exact_and_refuse_boundaries():
    one = Fraction(1)
    assert K.box_key(Fraction(0), Fraction(0)) == "0"
    assert K.box_key(Fraction(-1, 10 ** 40), Fraction(1, 10 ** 40)) is None  # zero or not: no scale
    assert K.box_key(one / 2, one / 2) == K.box_key(one / 2 - one / 10 ** 25, one / 2 + one / 10 ** 25)
    assert K.box_key(one / 2, one / 2) != K.box_key(one / 2 + one / 10 ** 9, one / 2 + one / 10 ** 9)
    cell = Fraction(10) ** -12  # 1.5 is on the scale of 10^0: a cell is 10^-12 wide
    assert K.box_key(Fraction(3, 2) + cell / 2 - cell / 10 ** 6, Fraction(3, 2) + cell / 2 + cell / 10 ** 6) is None
    boundary = Fraction(5011872336272722, 10 ** 15)  # 10^0.7 = 5.0118723362727228...: a decade cut
    assert K.box_key(boundary, boundary + cell) is None
    for exact in (10, 100, Fraction(1, 10)):  # powers of ten are no cut
        assert K.box_key(Fraction(exact), Fraction(exact)) is not None
    child = K._child_value_key("2.82842712474619009760337744842", "0.0")
    assert child == K.box_key(*ends(value("2\\sqrt{2}")))


# ---------------------------------------------------------------------------------------------------------------
# Keyed grouping gives the pairwise grouping's clusters.

def _spellings(rng: random.Random) -> list[list[str]]:
    """Values, each in spellings the grader holds equal (and an unreduced fraction it does not)."""
    out = []
    for _ in range(40):
        kind = rng.randrange(7)
        a, b = rng.randint(1, 9), rng.choice([2, 3, 5, 6, 7])
        if kind == 0:
            out.append([str(rng.randint(-5, 30))])
        elif kind == 1:
            out.append([f"\\frac{{{a}}}{{{b + 5}}}", f"\\frac{{{2 * a}}}{{{2 * b + 10}}}", f"{a}/{b + 5}"])
        elif kind == 2:
            out.append([f"{a}\\sqrt{{{b}}}", f"\\sqrt{{{a * a * b}}}"])
        elif kind == 3:
            out.append([f"\\frac{{{a}\\pi}}{{{b}}}", f"\\frac{{{a}}}{{{b}}}\\pi"])
        elif kind == 4:
            p, q = rng.randint(-4, 4), rng.randint(-4, 4)
            out.append([f"(x{p:+d})(x{q:+d})", f"x^2{p + q:+d}x{p * q:+d}"])
        elif kind == 5:
            out.append([f"({a}, {b})", f"({a}, \\sqrt{{{b * b}}})"])
        else:
            out.append([f"{a}, -{b}", f"-{b}, {a}", f"\\{{{a}, -{b}\\}}"])
    out.append(["2^{-1}", "\\frac{1}{2}", "\\frac{2}{4}", "0.5"])  # equal to 2^{-1}, unequal among themselves
    return out


def _problem(rng: random.Random) -> list[str]:
    answers = [s for spellings in _spellings(rng) for s in spellings]
    rng.shuffle(answers)
    return list(dict.fromkeys(normalize_answer(a) for a in answers))


def test_keyed_grouping_equals_pairwise_grouping_on_generated_answers():
    rng = random.Random(0)
    problems = {f"p{i}": _problem(rng) for i in range(4)}
    reset_grading_stats()
    grouped, counts = group_answers(problems, workers=2, progress=False)
    assert counts["unmerged"] == 0 and counts["answers"] == sum(map(len, problems.values()))
    merged = 0
    for pid, answers in problems.items():
        pairwise = cluster_pairwise(answers, same)
        assert grouped[pid] == pairwise
        merged += sum(pairwise[a] != a for a in answers)
    assert merged >= 40  # the test would notice keys that keep equal spellings apart
    assert counts["calls"] < 0.2 * sum(len(a) ** 2 for a in problems.values()) / 2


def test_keyed_grouping_equals_pairwise_grouping_on_math500_variants(math500):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from grading import correct_variants, wrong_variants

    rng = random.Random(1)
    rows = rng.sample(math500, 25)
    golds = [r["answer"] for r in math500]
    problems = {}
    for row in rows:
        answers = correct_variants(row["answer"]) + wrong_variants(row["answer"], rng.sample(golds, 30))
        # spelled otherwise but equal for sympy (not for an integer gold: the integer rule keeps those apart)
        answers += [f"{w}({a})" for a in answers[:12] if "," not in a and "=" not in a for w in ("1\\cdot", "0+")]
        rng.shuffle(answers)
        problems[row["unique_id"]] = list(dict.fromkeys(normalize_answer(a) for a in answers))
    grouped, counts = group_answers(problems, workers=2, progress=False)
    merged = 0
    for pid, answers in problems.items():
        pairwise = cluster_pairwise(answers, same)
        assert grouped[pid] == pairwise, pid
        merged += sum(pairwise[a] != a for a in answers)
    assert merged >= 25  # the rewrites of non-integer answers merge with them


def test_the_order_decides_as_in_the_pairwise_grouping():
    """2^{-1} equals 1/2 and 2/4, which are unequal to each other: the first cluster found takes both."""
    answers = [normalize_answer(a) for a in ("\\frac{1}{2}", "\\frac{2}{4}", "2^{-1}")]
    keys = K.answer_keys(answers, progress=False)
    assert len(set(keys.values())) == 1
    grouped, _ = cluster(answers, keys, same)
    assert grouped == cluster_pairwise(answers, same)
    assert grouped[answers[2]] == answers[0] and grouped[answers[1]] == answers[1]


def test_the_bound_on_calls_leaves_answers_unmerged_and_counts_them():
    answers = ["1", "\\sqrt{4}", "\\frac{4}{2}", "\\frac{6}{3}", "2^{1}"]
    calls = []
    grouped, counts = cluster(answers, {}, lambda a, b: calls.append((a, b)) or False, max_calls=3)
    assert calls == [("\\sqrt{4}", "1"), ("\\frac{4}{2}", "1"), ("\\frac{4}{2}", "\\sqrt{4}")]
    assert counts == {"calls": 3, "unmerged": 2}  # 6/3 and 2^1 had clusters to be compared with, and no calls left
    assert grouped == {a: a for a in answers}
    grouped, counts = cluster(answers, {a: a for a in answers}, lambda a, b: calls.append((a, b)) or True, 0)
    assert counts == {"calls": 0, "unmerged": 0}  # each in a bucket of its own: no call was needed
    with pytest.raises(ValueError, match="lists an answer twice"):
        group_answers({"p": ["1", "1"]}, progress=False)


# ---------------------------------------------------------------------------------------------------------------
# The in-process values are latex2sympy's values.

def _atoms(node):
    if isinstance(node, Atom):
        yield node.text
    elif isinstance(node, Seq):
        for item in node.items:
            yield from _atoms(item)
    elif isinstance(node, Matrix):
        for row in node.rows:
            for cell in row:
                yield from _atoms(cell)


def _agrees_with_sympy(text: str) -> bool:
    import sympy

    from e2h.grading import symbolic

    v = value(text)
    e = symbolic.to_sympy(text)
    e = e.xreplace({s: symbolic._point(s) for s in e.free_symbols})
    lo, hi = (sympy.Rational(f.numerator, f.denominator) for f in ends(v))
    x = e if e.is_Rational else e.evalf(80)
    if abs(x) < sympy.Rational(1, 10 ** 60):  # an unevaluated 0 (latex2sympy builds 1-1 unevaluated)
        x = sympy.Integer(0) if sympy.simplify(e) == 0 else x
    tolerance = abs(x) * sympy.Rational(1, 10 ** 60)
    return bool(x.is_real) and lo - tolerance <= x <= hi + tolerance


SOUP = ["1", "2", "3", "12", "0.5", "x", "y", "e", "i", "n", "\\pi", "\\pi ", "\\frac{", "\\sqrt{", "\\sqrt[3]{", "}",
        "{", "}{", "^{2}", "^{-1}", "+", "-", "\\cdot", "/", "(", ")", "2x", "x^{2}", "\\sqrt{2}"]


def _expression(rng: random.Random, depth: int = 0) -> str:
    if depth > 3 or rng.random() < 0.3:
        return rng.choice(["1", "2", "3", "7", "10", "x", "y", "e", "i", "n", "\\pi", "\\sqrt{2}", "\\sqrt{3}", "0"])
    a, b = _expression(rng, depth + 1), _expression(rng, depth + 1)
    k = rng.choice(["2", "3", "-1", "\\frac{1}{2}", "-\\frac{2}{3}"])  # no towers: sympy would take minutes
    return rng.choice([f"{a}+{b}", f"{a}-{b}", f"{a}{b}", f"{a}\\cdot{b}", f"\\frac{{{a}}}{{{b}}}", f"\\sqrt{{{a}}}",
                       f"({a})^{{{k}}}", f"{a}^{{{k}}}", f"-{a}", f"{a}/{b}", f"\\sqrt[3]{{{a}}}"])


def test_in_process_values_are_latex2sympys_on_every_math_answer(data_dir):
    from e2h.format import last_boxed

    texts = set()
    for path in sorted((data_dir / "hendrycks_math").glob("*/*/*.json")):
        boxed = last_boxed(json.loads(path.read_text())["solution"])
        texts |= set(_atoms(parse(normalize_answer(boxed)))) if boxed else set()
    accepted = [t for t in sorted(texts) if value(t) is not None]
    assert len(accepted) >= 2500  # of some 3,200 distinct elements
    assert [t for t in accepted if not _agrees_with_sympy(t)] == []


def test_in_process_values_are_latex2sympys_on_generated_expressions():
    rng = random.Random(0)
    texts = {"".join(rng.choice(SOUP) for _ in range(rng.randint(1, 8))) for _ in range(1500)}
    texts |= {_expression(rng) for _ in range(500)}
    letters = [f"{w}".replace("c", c) for c in "abcdefghijklmnopqrstuvwxyz"
               for w in ("c", "3c", "c^{2}\\pi", "c\\pi", "c\\sqrt{2}", "c\\cdot2", "\\frac{1}{c}", "2c+1")]
    accepted = [t for t in sorted(texts | set(letters)) if value(t) is not None]
    assert len(accepted) >= 300
    assert [t for t in accepted if not _agrees_with_sympy(t)] == []


@pytest.mark.parametrize("text", ["2(3)", "y(2)", "(2)(3)", "xy", "7\\frac{1}{10}", "1/2x", "2/3\\pi", "0.5x",
                                  "\\sqrt{-4}", "(-8)^{\\frac{1}{3}}", "\\frac{1}{0}", "x_1", "\\sin x", "3!", "x=1",
                                  "e2", "2^{3}4", "x^{2}^{3}", "+5", "\\pi  r"])
def test_what_latex2sympy_reads_its_own_way_is_refused(text):
    assert value(text) is None


def test_values_and_differences():
    assert value("\\frac{6}{4}") == Fraction(3, 2) and value("x^{2}") == point("x") ** 2
    assert value("\\sqrt[3]{8}") == 2 and value("-2^{2}") == -4 and value("2\\cdot(3)") == 6
    assert differ("2\\sqrt{2}", "\\sqrt{7}") and not differ("2\\sqrt{2}", "\\sqrt{8}")
    assert not differ("\\frac{1}{2}", "\\sin x")  # no value for one of them: nothing proven
    lo, hi = ends(value("\\pi"))
    pi = Fraction("3.14159265358979323846264338327950288419716939937510582097494459")
    assert lo <= pi + Fraction(1, 10 ** 60) and pi - Fraction(1, 10 ** 60) <= hi and hi - lo < Fraction(1, 10 ** 45)


def test_sll_parses_as_the_default_parse(math500):
    from latex2sympy2_extended import latex2sympy
    from sympy import srepr

    from e2h.grading import symbolic

    def parsed(parse_fn, text):
        try:
            return srepr(parse_fn(text))
        except Exception as exc:  # noqa: BLE001
            return type(exc).__name__

    texts = sorted({t for r in math500 for t in _atoms(parse(normalize_answer(r["answer"])))})[::3]
    assert [t for t in texts if parsed(symbolic._latex2sympy, t) != parsed(latex2sympy, t)] == []


# ---------------------------------------------------------------------------------------------------------------
# The child: fingerprints, and the shortcuts before simplify.

def test_child_fingerprints():
    def fp(text):
        return bounded.symbolic_fingerprint(text, bounded.Budget(30.0))
    assert fp("\\sqrt{8}")[0] == "num" and fp("@@") == ["unparsed"]
    assert fp("x-1=0") == fp("1-x=0") and fp("x-1=0")[0] == "eq"
    assert fp("x>3") == fp("3<x") and fp("x>3")[:2] == ["rel", "StrictGreaterThan"]
    assert fp("f(x)") is None and fp("\\frac{1}{0}") is None
    assert bounded.symbolic_fingerprint("\\sqrt{8}", bounded.Budget(0.0)) is None  # no budget: no key


@pytest.mark.parametrize("gold, pred, expected", [
    ("\\frac{9\\sqrt{11}}{4}", "\\frac{\\sqrt{891}}{4}", True), ("(x-5)(x-6)", "x^2-11x+30", True),
    ("(x-5)(x-6)", "x^2-11x+31", False), ("\\frac{x^2-1}{x-1}", "x+1", True), ("\\sqrt{x^2}", "x", False),
    ("\\sin^2 x+\\cos^2 x", "\\sqrt{1}", True), ("2x\\sqrt{2}", "x\\sqrt{8}", True), ("2x\\sqrt{2}", "x\\sqrt{7}", False),
])
def test_shortcuts_before_simplify_keep_the_verdicts(gold, pred, expected):
    assert grade(pred, gold) is expected


def test_small_jobs_start_one_child():
    assert bounded.children_for(1, 8) == 1 and bounded.children_for(bounded.QUESTIONS_PER_CHILD, 8) == 1
    assert bounded.children_for(bounded.QUESTIONS_PER_CHILD + 1, 8) == 2 and bounded.children_for(10 ** 6, 8) == 8


def test_grouping_counts_are_reported():
    reset_grading_stats()
    grouped, counts = group_answers({"p": [normalize_answer(a) for a in ("2\\sqrt{2}", "\\sqrt{8}", "7")]},
                                    progress=False)
    assert grouped["p"] == {"2\\sqrt{2}": "2\\sqrt{2}", "\\sqrt{8}": "2\\sqrt{2}", "7": "7"}
    assert counts == {"answers": 3, "keyless": 0, "calls": 1, "unmerged": 0, "problems_at_bound": 0}
    assert grading_stats().get("fingerprints", 0) == 0  # plain arithmetic is keyed in-process
    json.dumps(counts)
