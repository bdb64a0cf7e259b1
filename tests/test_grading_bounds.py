"""The grader's hard time bound: hostile inputs return a bool within timeout + slack, in threads and workers too.

These assert a correctness bound (a call never hangs), not speed: elapsed < timeout + 3 s.
"""

import multiprocessing
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from e2h.grading import bounded, clear_cache, grade, grade_many, grading_stats

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


def test_adversarial_inputs_from_many_threads():
    pairs = [(p, g) for g, p in ADVERSARIAL] + [(g, p) for g, p in ADVERSARIAL]
    pairs += [("x+1", "1+x"), ("\\sqrt{8}", "2\\sqrt{2}")] * 4  # legitimate work mixed in

    def timed(pair):
        start = time.monotonic()
        verdict = grade(pair[0], pair[1], timeout=TIMEOUT)
        return verdict, time.monotonic() - start

    clear_cache()  # the single-thread test above cached these verdicts; decide them again, concurrently
    with ThreadPoolExecutor(max_workers=8) as executor:
        results = list(executor.map(timed, pairs))
    assert all(isinstance(v, bool) for v, _ in results)
    # Eight threads share the child pool, so a call may also wait for a free child, within its own deadline.
    assert max(t for _, t in results) < TIMEOUT + SLACK


def test_a_runaway_sympy_call_is_killed_and_the_pool_recovers():
    """Bypass the cheap guards: sympy really starts computing 9^(9^9), and the deadline must stop it."""
    bounded.get_pool().warm(1)
    before = grading_stats()
    start = time.monotonic()
    assert bounded.symbolic_equal("9^{9^{9}}", "x", time.monotonic() + 1.0) is False
    assert time.monotonic() - start < 1.0 + SLACK
    after = grading_stats()
    assert after.get("timeouts", 0) == before.get("timeouts", 0) + 1
    assert after.get("child_restarts", 0) == before.get("child_restarts", 0) + 1
    # The replacement child answers normal questions.
    assert bounded.symbolic_equal("\\frac{\\sqrt{2}}{2}", "\\frac{1}{\\sqrt{2}}", time.monotonic() + 30.0) is True


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


def test_no_ready_child_in_time_is_not_cached_as_a_verdict():
    bounded.shutdown()  # the next child must import sympy first, which takes far longer than 50 ms
    clear_cache()
    before = grading_stats().get("timeouts_waiting", 0)
    assert grade("\\frac{1}{\\sqrt{2}}", "\\frac{\\sqrt{2}}{2}", timeout=0.05) is False
    assert grading_stats().get("timeouts_waiting", 0) == before + 1
    assert grade("\\frac{1}{\\sqrt{2}}", "\\frac{\\sqrt{2}}{2}", timeout=30.0) is True  # decided now, not cached
