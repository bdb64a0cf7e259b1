"""Final-answer extraction and grading for MATH-style answers, with a hard time bound per call.

The paper grades with the PRM800K grader; this package follows its rules (reimplemented, not copied) so that
accuracies are comparable, and adds what a pool of 500 x 1024 samples needs: a cache and a bound on time.

Extraction (:func:`extract_answer`): the text after the last ``# Answer`` header (the paper's solution format),
cut at an EOS marker or a blank line; else the content of the last ``\\boxed{}``; else None.

Normalization (:func:`normalize_answer`, also the voting key of the pool): drop ``$``, ``\\left``/``\\right``,
spacing commands, ``^\\circ`` (kept, as ``^{\\circ}``, next to a trig function), ``\\%``, ``\\boxed{}`` and
``\\text{}`` wrappers, trailing units and periods, thousands separators (``1,000``, ``1{,}000``, ``10,\\!080``,
``1\\,000``; but a comma before a space separates answers: ``81, 256`` is two), spaces (but ``3 4`` is not 34), and
``x =`` prefixes when ``x`` does not occur after them (``x = 2x + 3`` stays an equation; ``a = 3, b = 4`` keeps its
labels); ``\\dfrac``/``\\tfrac`` become ``\\frac``; ``\\frac12`` and ``\\sqrt3`` get their braces; integers lose
leading zeros, decimals become exact fractions (``0.5`` is ``\\frac{1}{2}``), mixed numbers become improper
fractions, but an unreduced fraction stays unreduced; letters are lower-cased. Tuples, intervals, sets, lists of
answers, unions and matrices are normalized element by element. Linear in the input, never raises on a str, and
idempotent (tested on every MATH answer, on any text, and on generated answers).

Verdict (:func:`grade`), each rule with its reason:

1. Equal normalized strings are correct; ``None`` or an empty prediction is wrong.
2. Shapes must agree: a tuple or interval needs the same brackets (``(1,2]`` is not ``(1,2)``) and the same
   elements in order; a list of several answers (``1, -2``) or a set matches in any order; a matrix needs the
   same shape. Then each element pair is judged by rules 3-6.
3. When either element is an integer, the other must be the same integer literal: ``\\frac{4}{2}``, ``2^{10}``
   or ``\\sqrt{4}`` do not answer ``2``/``1024`` (PRM800K: a problem asking for an integer wants it evaluated).
4. Two literal fractions must be spelled the same: ``\\frac{2}{4}`` does not answer ``\\frac{1}{2}``
   (PRM800K: an unreduced fraction is not a final answer).
5. Words and expressions with more than two distinct letters, infinities, very long or explosive inputs
   (towers of powers, huge factorials) are compared as strings only.
6. Otherwise sympy decides: both sides are parsed by latex2sympy2_extended (no home-made LaTeX parser), decimals
   become exact, angles in degrees become radians, and ``simplify(gold - pred) == 0`` must hold (equations and
   matrices side by side). This is where ``\\sqrt{8}`` answers ``2\\sqrt{2}`` and ``\\frac{\\sqrt{3}}{3}`` answers
   ``\\frac{1}{\\sqrt{3}}``. Shortcuts that change no verdict come first: plain arithmetic whose values differ
   (``numeric``, in the caller) is told apart without sympy; each element is parsed once per child.

Time bound: rules 1-5 are linear string work in the caller (milliseconds; answers over 20,000 characters or nested
over 32 deep are compared as plain strings). Rule 6 runs in a child process. ``timeout`` (default 5 s) is the sympy
work the pair may cost, in seconds of that child's CPU time; a child that spends it without an answer is killed: a
timeout, counted, and cached as False for that budget (a larger ``timeout`` tries again). Waiting for a child (to
start and import sympy, or to become free) is not the pair's time: it comes out of a separate allowance
(``bounded.LOAD_ALLOWANCE``, 60 s); the call's questions may take ``bounded.STARVE_GRACE`` (2 s) of wall time beyond
the budget (a child starved of CPU by other load). Past either, the call answers False *without a verdict*, counted
and never cached (``grade_many`` retries such pairs when its children are free). So a call returns within
``timeout + STARVE_GRACE`` plus a small constant once it has a ready child, and within ``LOAD_ALLOWANCE`` more
whatever happens, in any thread, kernel or worker process; and load can withhold a verdict but never change one, so
a pool graded under load gets the verdicts it gets alone.

Answer grouping (:mod:`e2h.grading.group`, behind ``e2h.pool.add_answer_keys``) merges a problem's answers as the
grader decides, comparing only answers whose keys (:mod:`e2h.grading.keys`) agree.

See ``docs/grading.md`` for the design and for how the verdicts differ from math-verify's.
"""

from e2h.grading.audit import grading_stats, reset_grading_stats
from e2h.grading.bounded import shutdown
from e2h.grading.core import clear_cache, grade, grade_many
from e2h.grading.extract import extract_answer
from e2h.grading.normalize import normalize_answer

__all__ = ["extract_answer", "normalize_answer", "grade", "grade_many", "grading_stats", "reset_grading_stats",
           "clear_cache", "shutdown"]
