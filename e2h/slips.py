"""The embedded task's samples, taken apart: where each first goes wrong, and how well an evaluator sees each slip.

A step ``a - b = c`` can slip in three ways, which need different checks:
- ``subtrahend``: ``b`` is not the problem's next number (a copying slip: find the number in the question);
- ``result``: ``c`` is not ``a - b`` (an arithmetic slip: know the fact);
- ``running``: ``a`` is not the previous result;
and ``form`` covers the rest (not a step, a step too many, an answer that comes early or contradicts the work).

``reads_through`` is a reader blind to arithmetic: it checks that each step copies the right number from the
question and the previous result, and that the answer closes the chain, but takes every written ``a - b = c`` on
trust. ``slip_auroc`` asks, per slip kind, whether a reward model's score at the slipped step is below its scores
for the right steps *at the same step of the same problem*: the comparison re-ranking depends on, free of how hard a
problem or a step position looks. ``checker_vote`` is the ceiling: a weighted vote whose weights are the checker's
verdicts (1 when every step is right), so it shows how much a perfect step verifier would gain over majority voting;
beside it, the same vote with the arithmetic-blind reader's verdicts: what seeing every slip but result slips gains.
All are diagnostics on test pools; nothing is trained or selected with them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from e2h.format import split_steps
from e2h.rerank.quality import auroc_per_group
from e2h.embedded_task import STEP_WORK, check_steps, parse_problem

SLIPS = ("subtrahend", "result", "running", "form")
GROUPS = (("easy", (1, 2, 3)), ("hard", (4, 5)))  # as e2h.rerank.select


def first_slip(problem: str, solution: str) -> tuple[int, str] | None:
    """(step index, slip kind) of the first wrong step by ``check_steps``, or None when every step is right."""
    steps = split_steps(solution)
    labels = check_steps(problem, steps)
    if all(labels) and steps:
        return None
    k = len(labels) - 1 if labels else 0
    numbers = parse_problem(problem)
    m = STEP_WORK.match(steps[k].partition("\n\n# Answer")[0]) if k < len(steps) else None
    if m is None or k + 1 >= len(numbers):
        return k, "form"
    a, b, c = map(int, m.groups())
    value = numbers[0] - sum(numbers[1:k + 1])
    if b != numbers[k + 1]:
        return k, "subtrahend"
    if a != value:
        return k, "running"
    if c != a - b:
        return k, "result"
    return k, "form"  # the work is right, the answer line is not


def reads_through(problem: str, solution: str) -> bool:
    """True when every step subtracts the question's next number from the previous step's *written* result and the
    answer, after the last step, is the last written result: ``check_steps`` with each result taken on trust."""
    numbers, steps = parse_problem(problem), split_steps(solution)
    if len(steps) != len(numbers) - 1:
        return False
    running = numbers[0]
    for k, step in enumerate(steps):
        work, has_answer, answer = step.partition("\n\n# Answer")
        m = STEP_WORK.match(work)
        if m is None or int(m.group(1)) != running or int(m.group(2)) != numbers[k + 1]:
            return False
        if bool(has_answer) != (k + 1 == len(steps)) or (has_answer and answer.strip() != str(int(m.group(3)))):
            return False
        running = int(m.group(3))
    return True


def _problem_texts(pool: pd.DataFrame, problems: dict[str, str]) -> list[str]:
    missing = sorted(set(pool["problem_id"]) - set(problems))
    if missing:
        raise KeyError(f"no problem text for problem_id(s) {missing[:5]} ({len(missing)} in all)")
    return [problems[q] for q in pool["problem_id"]]


def step_table(pool: pd.DataFrame, column: str, problems: dict[str, str]) -> pd.DataFrame:
    """One row per scored step up to each sample's first slip: problem, level, step, kind (``right`` or the slip)
    and the score in ``column``. ``problems`` maps ``problem_id`` to the problem text."""
    rows = []
    for r, problem in zip(pool.itertuples(), _problem_texts(pool, problems)):
        slip = first_slip(problem, r.text)
        last = slip[0] if slip else len(getattr(r, column)) - 1
        for k, score in enumerate(getattr(r, column)[:last + 1]):
            kind = slip[1] if slip and k == slip[0] else "right"
            rows.append((r.problem_id, r.level, k, kind, float(score)))
    return pd.DataFrame(rows, columns=["problem_id", "level", "step", "kind", "score"])


def slip_auroc(pool: pd.DataFrame, column: str, problems: dict[str, str], *, groups=GROUPS) -> pd.DataFrame:
    """Per group and slip kind: the mean over (problem, step) pairs holding both right and slipped steps of the
    AUROC of ``column``'s step score (right = positive), and the number of such pairs."""
    steps = step_table(pool, column, problems)
    out = []
    for name, levels in groups:
        g = steps[steps.level.isin(levels)]
        for kind in SLIPS:
            both = g[g.kind.isin(("right", kind))]
            pair = pd.MultiIndex.from_frame(both[["problem_id", "step"]]).factorize()[0]
            vals = auroc_per_group(both.score.to_numpy(), (both.kind == "right").to_numpy(), pair)
            out.append({"group": name, "slip": kind, "pairs": len(vals),
                        "auroc": float(vals.mean()) if len(vals) else float("nan")})
    return pd.DataFrame(out)


def checker_vote(pool: pd.DataFrame, problems: dict[str, str], *, groups=("easy", "hard"), seed: int = 0
                 ) -> pd.DataFrame:
    """Majority voting against verdict-weighted votes on the whole pool (every sample of a problem), per group:
    accuracy in % and the number of problems. ``checker_weighted``: the checker's verdict (1 when every step is
    right, else 0); ``reader_weighted``: the arithmetic-blind reader's (``reads_through``). A verdict is scored like
    a reward model by the re-ranking engine, with stage 06's tie rule (``seed`` = ``rerank.seed``): samples judged
    right outvote the others, and a problem with none falls back to majority voting."""
    from e2h.rerank import Variant, resample

    texts = _problem_texts(pool, problems)
    right = [check_steps(p, split_steps(t)) for p, t in zip(texts, pool.text)]
    pool = pool.assign(scores_checker=[[float(bool(x) and all(x))] for x in right],
                       scores_reader=[[float(reads_through(p, t))] for p, t in zip(texts, pool.text)])
    n = int(pool.groupby("problem_id").size().max())
    variants = {"majority": Variant("majority"), "checker_weighted": Variant("weighted", "checker", "min"),
                "reader_weighted": Variant("weighted", "reader", "min")}
    # At N = the pool size every subset draw is the whole pool, so one draw is exact.
    res = resample(pool, variants=list(variants.values()), ns=[n], resamples=1, seed=seed)
    out = []
    for g in groups:
        there = g in res.groups
        out.append({"group": g, "problems": res.group_sizes[res.groups.index(g)] if there else 0,
                    **{name: 100 * res.accuracy(v, n, g) if there else np.nan for name, v in variants.items()}})
    return pd.DataFrame(out)
