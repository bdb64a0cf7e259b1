"""Final-answer extraction and grading for MATH-style answers, with a hard time bound per call.

The paper grades with the PRM800K grader; this package follows its rules (reimplemented, not copied) so that
accuracies are comparable, and adds what a pool of 500 x 1024 samples needs: a cache and a bound on time.

Extraction (:func:`extract_answer`): the text after the last ``# Answer`` header (the paper's solution format),
cut at an EOS marker or a blank line; else the content of the last ``\\boxed{}``; else None.

Normalization (:func:`normalize_answer`, also the voting key of the pool): drop ``$``, ``\\left``/``\\right``,
spacing commands, ``^\\circ``, ``\\%``, ``\\text{}`` wrappers, trailing units and periods, thousands separators
and ``x =`` prefixes; ``\\dfrac``/``\\tfrac`` become ``\\frac``; ``\\frac12`` and ``\\sqrt3`` get their braces;
integers lose leading zeros, decimals become exact fractions (``0.5`` is ``\\frac{1}{2}``), mixed numbers become
improper fractions, but an unreduced fraction stays unreduced; letters are lower-cased. Tuples, intervals, sets,
lists of answers, unions and matrices are normalized element by element.

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
   become exact, and ``simplify(gold - pred) == 0`` must hold (equations and matrices side by side). This is
   where ``\\sqrt{8}`` answers ``2\\sqrt{2}`` and ``\\frac{\\sqrt{3}}{3}`` answers ``\\frac{1}{\\sqrt{3}}``.

Time bound: rules 1-5 are string work in the caller; rule 6 runs in a child process that is killed when the call's
deadline (``timeout``, default 5 s) passes, so a call returns within the timeout plus process-kill slack in any
thread, kernel or worker process; a timeout counts as wrong and is counted in :func:`grading_stats`.
See ``docs/grading.md`` for the design and for how the verdicts differ from math-verify's.
"""

from e2h.grading.audit import grading_stats, reset_grading_stats
from e2h.grading.bounded import shutdown
from e2h.grading.core import clear_cache, grade, grade_many
from e2h.grading.extract import extract_answer
from e2h.grading.normalize import normalize_answer

__all__ = ["extract_answer", "normalize_answer", "grade", "grade_many", "grading_stats", "reset_grading_stats",
           "clear_cache", "shutdown"]
