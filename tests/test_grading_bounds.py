"""The grader's hard time bound: hostile inputs return a bool within timeout + slack, in threads and workers too;
and the verdicts it reaches do not depend on how busy the machine (or the child pool) is.

These assert a correctness bound (a call never hangs), not speed: elapsed < timeout + 3 s (plus the waiting
allowance where a call may wait for a child).
"""

import multiprocessing
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from e2h.grading import (bounded, clear_cache, extract_answer, grade, grade_many, grading_stats, normalize_answer,
                         reset_grading_stats)

TIMEOUT = 2.0
SLACK = 3.0


def _matrix(cell, n):
    return "\\begin{pmatrix}" + "\\\\".join("&".join(cell(i, j) for j in range(n)) for i in range(n)) \
        + "\\end{pmatrix}"


ADVERSARIAL = [
    ("9^{9^{9^9}}", "1"),
    ("9^{9^{9^9}}", "x"),
    ("10^{10^{10}}", "10^{10^{10}}+1"),
    ("2^{2^{2^{2^{2}}}}", "x"),
    ("(10^{100})!", "1"),
    ("100000!", "5"),
    ("1000000!", "2x"),
    ("123456789^{99999}", "y"),
    ("123456789^{12345}", "x+1"),
    ("x^{1000000}-1", "(x-1)(x^{999999}+1)"),
    ("9" * 10000, "9" * 9999),
    ("x+" * 5000 + "1", "1+x"),
    ("\\sqrt{2}+" * 2000 + "1", "x"),
    ("(" * 500 + "x" + ")" * 500, "x"),
    ("((((((((((((((((((((x))))))))))))))))))))", "x"),
    ("\\sqrt{" * 200 + "x" + "}" * 200, "x^{2^{-200}}"),
    ("\\frac{1}{1+" * 150 + "x" + "}" * 150, "x"),
    ("e^{e^{e^{e^{e^{x}}}}}", "x"),
    ("\\sin(" * 100 + "x" + ")" * 100, "x"),
    ("{" * 1000 + "1", "1"),
    ("}" * 1000, "1"),
    ("\\frac{" * 300, "1"),
    ("\\left(" * 400, "x"),
    ("\\text{" * 500, "a"),
    ("\U0001F600" * 1000, "1"),
    ("\u6570\u5b66", "\u6570\u5b66 "),
    ("\x00", "0"),
    ("", "1"),
    ("\\frac{1}{0}", "\\infty"),
    ("\\frac{1}{0}", "\\frac{1}{0}+x"),
    ("\\sum_{n=1}^{10^{9}} n^{x}", "x"),
    ("\\int_0^1 x^{2}\\,dx", "\\frac13"),
    ("1," * 3000 + "1", "1," * 3000 + "2"),
    (",".join(f"x+{i}" for i in range(3000)), ",".join(f"{i}+x" for i in reversed(range(3000)))),
    ("\\$" * 10000, "1"),
    (" " * 20000 + "cm", "1"),
    ("\\frac{" * 3000, "\\frac{" * 3001),
    ("x" * 100000, "x" * 100001),
    (_matrix(lambda i, j: f"x+{i * j}", 60), _matrix(lambda i, j: f"{i * j}+x", 60)),
    (_matrix(lambda i, j: str(i + j), 300), _matrix(lambda i, j: str(i + j), 300) + " "),
]


@pytest.mark.parametrize("gold, pred", ADVERSARIAL, ids=[f"adv{i}" for i in range(len(ADVERSARIAL))])
def test_adversarial_inputs_return_in_time(gold, pred):
    for g, p in ((gold, pred), (pred, gold)):
        start = time.monotonic()
        verdict = grade(p, g, timeout=TIMEOUT)
        elapsed = time.monotonic() - start
        assert isinstance(verdict, bool)
        assert elapsed < TIMEOUT + SLACK, f"grade took {elapsed:.1f}s on {p[:40]!r} vs {g[:40]!r}"


def test_adversarial_inputs_from_many_threads(monkeypatch):
    pairs = [(p, g) for g, p in ADVERSARIAL] + [(g, p) for g, p in ADVERSARIAL]
    pairs += [("x+1", "1+x"), ("\\sqrt{8}", "2\\sqrt{2}")] * 4  # legitimate work mixed in
    allowance = 2.0
    monkeypatch.setattr(bounded, "LOAD_ALLOWANCE", allowance)  # the cap on waiting is what is tested here

    def timed(pair):
        start = time.monotonic()
        verdict = grade(pair[0], pair[1], timeout=TIMEOUT)
        return verdict, time.monotonic() - start

    clear_cache()  # the single-thread test above cached these verdicts; decide them again, concurrently
    with ThreadPoolExecutor(max_workers=8) as executor:
        results = list(executor.map(timed, pairs))
    assert all(isinstance(v, bool) for v, _ in results)
    # Eight threads share the child pool: a call may also wait for a free child, up to the allowance.
    assert max(t for _, t in results) < TIMEOUT + allowance + SLACK


def test_a_runaway_sympy_call_is_killed_and_the_pool_recovers():
    """Bypass the cheap guards: sympy really starts computing 9^(9^9), and the budget must stop it."""
    bounded.get_pool().warm(1)
    before = grading_stats()
    start = time.monotonic()
    budget = bounded.Budget(1.0)
    assert bounded.symbolic_equal("9^{9^{9}}", "x", budget) is False
    assert time.monotonic() - start < 1.0 + SLACK
    assert budget.timed_out and not budget.unreached
    after = grading_stats()
    assert after.get("timeouts", 0) == before.get("timeouts", 0) + 1
    assert after.get("child_restarts", 0) == before.get("child_restarts", 0) + 1
    # The replacement child answers normal questions.
    assert bounded.symbolic_equal("\\frac{\\sqrt{2}}{2}", "\\frac{1}{\\sqrt{2}}", bounded.Budget(30.0)) is True


def test_timeout_zero_still_returns_and_fast_paths_still_work():
    assert grade("\\frac{1}{\\sqrt{3}}", "\\frac{\\sqrt{3}}{3}" + "  ", timeout=0) is False  # sympy needed, no time
    assert grade("\\dfrac{1}{2}", "0.5", timeout=0) is True  # string rules need no time budget


def _grade_in_worker(pair):
    return grade(pair[0], pair[1], timeout=10.0)


def test_grade_works_inside_daemonic_pool_workers():
    """multiprocessing.Pool workers are daemonic and may not start multiprocessing children; ours are subprocesses."""
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(2) as workers:
        verdicts = workers.map(_grade_in_worker, [("\\sqrt{8}", "2\\sqrt{2}"), ("9^{9^{9^9}}", "1"), ("3", "3.0")])
    assert verdicts == [True, False, True]


KERNEL_CODE = r"""
import time
from concurrent.futures import ThreadPoolExecutor
from e2h.grading import clear_cache, grade
pairs = [("9^{9^{9}}", "x"), ("x+1", "1+x"), ("\\left(" * 400, "x"), ("\\sqrt{8}", "2\\sqrt{2}")]

def timed(pair):
    start = time.monotonic()
    return grade(pair[0], pair[1], timeout=2.0), time.monotonic() - start

direct = [timed(p) for p in pairs]
clear_cache()
with ThreadPoolExecutor(4) as ex:
    threaded = list(ex.map(timed, pairs))
print("RESULT", [v for v, _ in direct], [v for v, _ in threaded], max(t for _, t in direct + threaded))
"""


def test_grade_works_inside_a_jupyter_kernel():
    """A kernel runs user code in its main thread under an event loop; grading must work there and in its threads."""
    jupyter_client = pytest.importorskip("jupyter_client")
    outputs = []
    km, kc = jupyter_client.manager.start_new_kernel(kernel_name="e2h")
    try:
        reply = kc.execute_interactive(KERNEL_CODE, timeout=120, output_hook=outputs.append)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    assert reply["content"]["status"] == "ok", reply["content"]
    text = "".join(m["content"].get("text", "") for m in outputs if m["msg_type"] == "stream")
    assert "RESULT [False, True, False, True] [False, True, False, True]" in text, text
    assert float(text.split()[-1]) < TIMEOUT + SLACK, text


def test_a_child_that_cannot_start_is_a_loud_error(monkeypatch):
    """A broken installation must not pass silently as "every symbolic answer is wrong"."""
    bounded.shutdown()
    monkeypatch.setattr(bounded, "CHILD_COMMAND", [sys.executable, "-c", "import sys; sys.exit('no sympy here')"])
    try:
        with pytest.raises(bounded.ChildStartError, match="no sympy here"):
            grade("\\frac{1}{\\sqrt{2}}", "\\frac{\\sqrt{2}}{2}", timeout=30.0)
        clear_cache()
        with pytest.raises(bounded.ChildStartError, match="no sympy here"):
            grade_many(["x+1"], ["1+x"], progress=False)
    finally:
        bounded.shutdown()


# ---------------------------------------------------------------------------------------------------------------
# A verdict not reached is no verdict: waiting for a child is not the pair's time, and load changes no verdict.

# Passes every guard and the in-process value check (these are surds), then keeps sympy busy for seconds; the
# earlier pair, (x+1)^{5000} against x, is now rejected in 0.2 s by its value at the fixed point.
SLOW = ("(\\sqrt{2}+\\sqrt{3})^{5000}", "(\\sqrt{3}+\\sqrt{2})^{5000}+1")
EQUAL_WHATEVER_THE_LOAD = [  # (gold, pred, verdict): well under 1 s of sympy each; all but three need it (those
    # three, plain arithmetic of different values, are told apart in-process: e2h.grading.numeric)
    ("2\\sqrt{2}", "\\sqrt{8}", True), ("\\frac{\\sqrt{3}}{3}", "\\frac{1}{\\sqrt{3}}", True),
    ("12-8\\sqrt{2}", "4(3-2\\sqrt{2})", True), ("\\sqrt[3]{2}", "2^{1/3}", True), ("2x^2+3x", "x(2x+3)", True),
    ("\\frac{7\\sqrt{19}}{19}", "\\frac{7}{\\sqrt{19}}", True), ("10+\\frac{15}{2}\\pi", "10+7.5\\pi", True),
    ("2\\cos 15^\\circ", "\\frac{\\sqrt{6}+\\sqrt{2}}{2}", True), ("x+y=5", "y+x=5", True),
    ("x^2-7x+12", "(x-3)(x+4)", False), ("\\sqrt{3}-1", "1-\\sqrt{3}", False), ("2\\sqrt{2}", "\\sqrt{2}", False),
    ("\\frac{\\pi}{3}", "\\frac{\\pi}{6}", False), ("2\\cos 15^\\circ", "2\\cos 15", False),
]
# Four spellings of each prediction, so that concurrent calls also share normalized pairs (as a pool's samples do).
SPELLINGS = [lambda p: p, lambda p: f"${p}$", lambda p: f" {p} ", lambda p: f"\\boxed{{{p}}}"]
LOAD_PAIRS = [(g, spell(p), v) for g, p, v in EQUAL_WHATEVER_THE_LOAD for spell in SPELLINGS]
UNDECIDED = ("timeouts", "timeouts_waiting", "timeouts_starved", "unreached")  # these pairs must be decided


def _from_scratch():
    """A fresh process's grader: no children started, nothing cached, counters at zero."""
    bounded.shutdown()
    clear_cache()
    reset_grading_stats()


@pytest.mark.parametrize("timeout", [1.0, 0.25])
def test_a_fresh_process_waits_for_its_child_and_does_not_cache_a_guess(timeout):
    """Importing sympy in the new child takes longer than either timeout; the pair itself needs milliseconds."""
    code = ("from e2h.grading import grade, grading_stats\n"
            f"print(grade('2\\\\sqrt{{2}}', '\\\\sqrt{{8}}', timeout={timeout}),"
            f" grade('2\\\\sqrt{{2}}', '\\\\sqrt{{8}}', timeout={timeout}), sorted(grading_stats()))")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(Path(__file__).resolve().parents[1]),
                                                       os.environ.get("PYTHONPATH", "")]))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120,
                         check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[:2] == ["True", "True"], out.stdout
    assert not any(name in out.stdout for name in UNDECIDED), out.stdout


def _grade_from_threads(threads: int) -> tuple[list[bool], dict]:
    _from_scratch()
    with ThreadPoolExecutor(max_workers=threads) as executor:
        verdicts = list(executor.map(lambda case: grade(case[1], case[0], timeout=1.0), LOAD_PAIRS))
    return verdicts, grading_stats()


def test_verdicts_from_eight_threads_equal_verdicts_from_one():
    expected = [v for _, _, v in LOAD_PAIRS]
    crowded, crowded_stats = _grade_from_threads(8)  # 8 callers, 2+ children, all starting at once
    alone, alone_stats = _grade_from_threads(1)
    assert crowded == expected and alone == expected
    for stats in (crowded_stats, alone_stats):
        assert not any(stats.get(name) for name in UNDECIDED), stats


def test_grade_many_verdicts_do_not_depend_on_workers():
    golds, preds, expected = zip(*LOAD_PAIRS)
    results = []
    for workers in (1, 8):
        _from_scratch()
        results.append((grade_many(preds, golds, workers=workers, timeout=1.0, progress=False), grading_stats()))
    for verdicts, stats in results:
        assert verdicts == list(expected)
        assert not any(stats.get(name) for name in UNDECIDED), stats


def test_a_slow_pair_is_a_real_timeout_cached_for_its_budget_only():
    bounded.get_pool().warm(1)
    clear_cache()
    before = grading_stats()
    start = time.monotonic()
    assert grade(SLOW[1], SLOW[0], timeout=0.5) is False
    assert time.monotonic() - start < 0.5 + SLACK  # a ready child: the budget bounds the call
    middle = grading_stats()
    assert middle.get("timeouts", 0) == before.get("timeouts", 0) + 1
    assert grade(SLOW[1], SLOW[0], timeout=0.5) is False  # the same budget: the cached timeout
    assert grade(SLOW[1], SLOW[0], timeout=0.2) is False  # a smaller one: that too
    assert grading_stats().get("symbolic_calls", 0) == middle.get("symbolic_calls", 0)
    assert grade(SLOW[1], SLOW[0], timeout=1.0) is False  # a larger budget deserves its own try
    after = grading_stats()
    assert after.get("symbolic_calls", 0) == middle.get("symbolic_calls", 0) + 1
    assert after.get("timeouts", 0) == middle.get("timeouts", 0) + 1


def test_no_ready_child_within_the_allowance_is_counted_and_not_cached(monkeypatch):
    _from_scratch()  # the next child must import sympy first, which takes far longer than 50 ms
    monkeypatch.setattr(bounded, "LOAD_ALLOWANCE", 0.05)
    start = time.monotonic()
    assert grade("\\frac{1}{\\sqrt{2}}", "\\frac{\\sqrt{2}}{2}", timeout=30.0) is False
    assert time.monotonic() - start < 30.0  # it gave up waiting, it did not spend the budget
    stats = grading_stats()
    assert stats.get("timeouts_waiting") == 1 and stats.get("unreached") == 1 and not stats.get("timeouts")
    monkeypatch.undo()
    assert grade("\\frac{1}{\\sqrt{2}}", "\\frac{\\sqrt{2}}{2}", timeout=30.0) is True  # decided now, not cached


def test_waiting_for_a_busy_child_is_capped(monkeypatch):
    """All children busy with slow pairs: a waiting call gives up after the allowance, and tries again later."""
    pool = bounded.ChildPool(1)
    monkeypatch.setattr(bounded, "_pool", pool)
    monkeypatch.setattr(bounded, "_pool_pid", os.getpid())
    try:
        pool.warm(1)
        clear_cache()
        reset_grading_stats()
        allowance = bounded.LOAD_ALLOWANCE
        with ThreadPoolExecutor(max_workers=1) as executor:
            busy = executor.submit(grade, SLOW[1], SLOW[0], timeout=3.0)
            while not grading_stats().get("symbolic_calls"):  # until the slow pair holds the only child
                time.sleep(0.01)
            monkeypatch.setattr(bounded, "LOAD_ALLOWANCE", 1.0)
            start = time.monotonic()
            assert grade("\\sqrt{8}", "2\\sqrt{2}", timeout=2.0) is False
            assert time.monotonic() - start < 2.0 + 1.0 + SLACK
            assert busy.result() is False
        stats = grading_stats()
        assert stats.get("timeouts_waiting") == 1 and stats.get("timeouts") == 1, stats
        monkeypatch.setattr(bounded, "LOAD_ALLOWANCE", allowance)  # time for the replacement child to start
        assert grade("\\sqrt{8}", "2\\sqrt{2}", timeout=2.0) is True  # not cached: decided now
    finally:
        pool.shutdown()


def test_a_starved_child_gives_no_verdict(monkeypatch):
    """A child that gets no CPU (other load) has not used its budget: no timeout, but the call still ends."""
    bounded.get_pool().warm(1)
    clear_cache()
    reset_grading_stats()
    monkeypatch.setattr(bounded, "STARVE_GRACE", 0.5)
    monkeypatch.setattr(bounded, "_cpu_seconds", lambda pid: 0.0)  # as if the child never ran
    start = time.monotonic()
    assert grade(SLOW[1], SLOW[0], timeout=0.5) is False
    assert time.monotonic() - start < 0.5 + 0.5 + SLACK
    stats = grading_stats()
    assert stats.get("timeouts_starved") == 1 and stats.get("unreached") == 1 and not stats.get("timeouts")
    monkeypatch.undo()
    assert grade(SLOW[1], SLOW[0], timeout=0.5) is False  # not cached: tried again, now a real timeout
    assert grading_stats().get("timeouts") == 1


def test_grade_many_retries_pairs_that_got_no_verdict(monkeypatch):
    """Each sympy pair first meets a machine too busy for it; grade_many tries it again once its pool is free."""
    real, refused = bounded.symbolic_equal, set()

    def busy_once(gold, pred, budget):
        if (gold, pred) not in refused:
            refused.add((gold, pred))
            budget.unreached = True
            return False
        return real(gold, pred, budget)

    monkeypatch.setattr(bounded, "symbolic_equal", busy_once)
    golds, preds, expected = zip(*EQUAL_WHATEVER_THE_LOAD)
    clear_cache()
    reset_grading_stats()
    assert grade_many(preds, golds, workers=2, timeout=5.0, progress=False) == list(expected)
    stats = grading_stats()
    assert stats.get("numeric_verdicts") == 3
    assert stats.get("retries") == len(EQUAL_WHATEVER_THE_LOAD) - 3 and not stats.get("unreached"), stats


# ---------------------------------------------------------------------------------------------------------------
# Normalization is linear and never raises, so the caller's share of a call is bounded too.

BRACKETS = [("{", "}"), ("(", ")"), ("[", "]"), ("\\{", "\\}"), ("\\left(", "\\right)"), ("\\frac{", "}{2}"),
            ("\\sqrt{", "}"), ("\\text{", "}"), ("\\begin{pmatrix}", "\\end{pmatrix}")]


def _hostile(opener: str, closer: str, size: int) -> dict[str, str]:
    """Answers of about ``size`` characters built from one bracket kind: nested, unclosed, unopened, in a row."""
    depth = max(1, (size - 1) // (len(opener) + len(closer)))
    return {"nested": opener * depth + "1" + closer * depth, "unclosed": opener * (size // len(opener)),
            "unopened": closer * (size // len(closer)), "in a row": (opener + "1" + closer + ", ") * (size // 10)}


@pytest.mark.parametrize("opener, closer", BRACKETS, ids=[o for o, _ in BRACKETS])
def test_hostile_nesting_returns_in_time_and_never_raises(opener, closer):
    for size in (1_000, 19_990, 100_000):  # the last is over MAX_ANSWER_CHARS: kept raw, compared as a string
        for shape, answer in _hostile(opener, closer, size).items():
            start = time.monotonic()
            normal = normalize_answer(answer)
            assert normalize_answer(normal) == normal, (opener, shape, size)
            assert extract_answer(answer) is None or isinstance(extract_answer(answer), str)
            assert isinstance(extract_answer(f"Steps.\n\n# Answer\n\n{answer}"), str)
            verdicts = [grade(answer, "1", timeout=TIMEOUT), grade("1", answer, timeout=TIMEOUT)]
            assert all(isinstance(v, bool) for v in verdicts)
            assert time.monotonic() - start < TIMEOUT + SLACK, (opener, shape, size)


def test_the_reported_hostile_answers():
    """From the issue: 23.7 s on 9,999 braces, a RecursionError after 33 s on 6,000 parentheses, and one already
    at 400 nested sets (which made every grade_many over such a pool fail)."""
    cases = [("{" * 9999 + "1" + "}" * 9999, True),  # braces group nothing: this is the answer 1
             ("(" * 6000 + "1" + ")" * 6000, False),  # too deep to be a shape: compared as a string
             ("\\{" * 400 + "1" + "\\}" * 400, False)]
    for answer, verdict in cases:
        start = time.monotonic()
        assert grade(answer, "1", timeout=2.0) is verdict
        assert time.monotonic() - start < 2.0 + SLACK
    preds = [answer for answer, _ in cases] + ["1"]
    assert grade_many(preds, ["1"] * len(preds), progress=False) == [v for _, v in cases] + [True]


RUNS = ["9", "1 ", "12 ", "1,", ",", ", ", "x", " ", ".5", "x=", "\\\\", "^2", "\\,", ",\\!", "{,}", "\\text{ ",
        "\\frac1", "\\sqrt[", "\\pm", "cm ", "\\circ", "&", "\\begin{pmatrix}", "\\boxed{", "\\cup"]


@pytest.mark.parametrize("unit", RUNS)
def test_long_runs_of_one_token_return_in_time(unit):
    """A regex that backtracks on a long run (digits before a space, say) would make this quadratic."""
    answer = unit * (19_990 // len(unit))
    for pred, gold in ((answer, "1"), ("1", answer), (answer, answer + "1")):
        start = time.monotonic()
        assert isinstance(grade(pred, gold, timeout=TIMEOUT), bool)
        assert time.monotonic() - start < TIMEOUT + SLACK, unit
