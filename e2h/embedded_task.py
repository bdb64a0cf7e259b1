"""The embedded task: chains of subtraction in five difficulty levels, small enough to learn on a CPU.

Every problem has exactly four steps, ``Compute 75 - 3 - 12 - 5 - 21.`` solved as ``75 - 3 = 72``,
``72 - 12 = 60``, … . Level L has L-1 two-digit subtrahends (10-29) among one-digit ones, so harder levels need
more borrows while the chain length stays the same. (Planning prototypes showed that hard levels made of *longer*
chains fail for a different reason: the policy stops at the step count it saw in training, leaving nothing for a
reward model to re-rank.) All numbers stay in 0-99, so a word-level tokenizer holds each as one token.

``check_steps`` is exact: it plays the human labeller of PRM800K. The pipeline calls it on easy levels only; hard
problems are judged by the easy-trained reward models, as in the paper. Train, val and test are disjoint by
construction: a hash of the problem text picks its split.
"""

from __future__ import annotations

import hashlib
import random
import re

from e2h.format import STEP_SEP, format_solution, split_steps

LEVELS = (1, 2, 3, 4, 5)
NUM_STEPS = 4
MAX_VALUE = 99
SPLIT_OF_BUCKET = ("test", "val", "train", "train", "train")  # by hash of the problem text
STEP_WORK = re.compile(r"^\s*(\d+)\s*-\s*(\d+)\s*=\s*(\d+)\s*$")  # a step's work, a - b = c
_STEP_IN = re.compile(r"(\d+) - (\d+) = (\d+)")  # a step's work, inside a step that may carry the answer


def _subtrahends(rng: random.Random, level: int) -> list[int]:
    two_digit = set(rng.sample(range(NUM_STEPS), level - 1))
    return [rng.randint(10, 29) if i in two_digit else rng.randint(1, 9) for i in range(NUM_STEPS)]


def number_text(x: int, width: int = 0) -> str:
    """A number as the task writes it: zero-padded to ``width`` digits (0: as is). With digit tokens, a fixed
    width gives every level the same length, so a hard problem is not also a longer one."""
    if width and width < len(str(MAX_VALUE)):
        raise ValueError(f"number width must be 0 or at least {len(str(MAX_VALUE))}, got {width}")
    return str(x).zfill(width)


def fact_text(a: int, b: int, c: int, width: int = 0) -> str:
    """``a - b = c`` as a step of a solution (and a line of the pretraining corpus) writes it."""
    return f"{number_text(a, width)} - {number_text(b, width)} = {number_text(c, width)}"


def make_problem(rng: random.Random, level: int, width: int = 0) -> dict:
    """One problem of ``level`` as a record shaped like MATH's (problem, solution, answer, level, subject).
    Numbers in the question and the steps are written ``width`` digits wide (``number_text``); the answer as is,
    as MATH's answers are."""
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}, got {level!r}")
    while True:
        subs = _subtrahends(rng, level)
        if sum(subs) <= MAX_VALUE:
            break
    start = rng.randint(sum(subs), MAX_VALUE)
    steps, value = [], start
    for s in subs:
        steps.append(fact_text(value, s, value - s, width))
        value -= s
    problem = "Compute " + " - ".join(number_text(x, width) for x in [start, *subs]) + "."
    return {"unique_id": f"arith/{problem[8:-1].replace(' ', '')}", "problem": problem,
            "solution": format_solution(steps, str(value)), "answer": str(value), "level": level,
            "subject": "arithmetic"}


def split_of(problem: str) -> str:
    """The one split a problem text may appear in."""
    return SPLIT_OF_BUCKET[int(hashlib.sha256(problem.encode()).hexdigest(), 16) % len(SPLIT_OF_BUCKET)]


def generate(n_per_level: dict[int, int] | int, *, split: str, seed: int, width: int = 0, stream: str = "",
             exclude=()) -> list[dict]:
    """Distinct problems of one split (train / val / test), ``n_per_level`` per level, deterministic for a seed;
    numbers ``width`` digits wide (``number_text``). ``stream`` draws another set from the same split (the dev set
    is a second stream of the val split), never one of the problems in ``exclude``."""
    if split not in SPLIT_OF_BUCKET:
        raise ValueError(f"split must be one of {sorted(set(SPLIT_OF_BUCKET))}, got {split!r}")
    counts = n_per_level if isinstance(n_per_level, dict) else {lvl: n_per_level for lvl in LEVELS}
    rng = random.Random(f"{seed}/{split}" + (f"/{stream}" if stream else ""))
    excluded = set(exclude)
    out = []
    for level, n in sorted(counts.items()):
        seen: set[str] = set(excluded)
        found = 0
        for _ in range(100 * n + 1000):
            if found == n:
                break
            rec = make_problem(rng, level, width)
            if split_of(rec["problem"]) == split and rec["problem"] not in seen:
                seen.add(rec["problem"])
                out.append(rec)
                found += 1
        else:
            raise ValueError(f"level {level}: could not draw {n} distinct {split} problems")
    return out


def parse_problem(problem: str) -> list[int]:
    """``"Compute 75 - 3 - 12."`` → ``[75, 3, 12]``."""
    m = re.fullmatch(r"Compute ((?:\d+ - )+\d+)\.", problem.strip())
    if not m:
        raise ValueError(f"not an embedded-task problem: {problem!r}")
    return [int(x) for x in m.group(1).split(" - ")]


def check_steps(problem: str, steps: list[str]) -> list[int]:
    """Step labels as a human labeller would give them: 1 for each correct step up to the first wrong one, which
    gets 0, and nothing after it (PRM800K's labellers also stop at the first error).

    A step is correct when it subtracts the next number of the problem from the running value and states the
    result exactly. Extra steps beyond the chain are wrong. A step that carries the ``# Answer`` section (the
    last one, in the paper's format) must also close the chain and state its result as the answer, as a PRM800K
    labeller would mark a final step whose answer contradicts the work or comes before the work is done.
    """
    numbers = parse_problem(problem)
    value, labels = numbers[0], []
    for i, step in enumerate(steps):
        work, has_answer, answer = step.partition("\n\n# Answer")
        m = STEP_WORK.match(work)
        ok = (m is not None and i + 1 < len(numbers) and int(m.group(1)) == value
              and int(m.group(2)) == numbers[i + 1] and int(m.group(3)) == value - numbers[i + 1])
        if ok and has_answer:  # the answer ends the solution: it must come after the last number's step
            ok = i + 2 == len(numbers) and answer.strip() == str(value - numbers[i + 1])
        labels.append(int(ok))
        if not ok:
            break
        value -= numbers[i + 1]
    return labels


def step_labels(problem: str, solution: str) -> list[int]:
    """``check_steps`` labels for every step of ``solution``, -1 for the unlabelled steps after the first error
    (the pool's ``step_labels`` convention)."""
    steps = split_steps(solution)
    labels = check_steps(problem, steps) if steps else []
    return labels + [-1] * (len(steps) - len(labels))


def corrupt_solution(solution: str, rng: random.Random) -> str | None:
    """The solution with one step's subtrahend or result moved by 1-3 (staying in 0-99): the slips a labeller
    sees, made on purpose. Later steps are left as written (the labels stop at the first error anyway). None when
    no step has the ``a - b = c`` form."""
    steps = split_steps(solution)
    spots = [(k, m) for k, st in enumerate(steps) for m in [_STEP_IN.search(st)] if m]
    if not spots:
        return None
    k, m = rng.choice(spots)
    group = rng.choice((2, 3))  # the subtrahend (a copying slip) or the result (an arithmetic slip)
    old = int(m.group(group))
    new = rng.choice([v for d in (1, 2, 3) for v in (old - d, old + d) if 0 <= v <= MAX_VALUE])
    st = steps[k]
    steps[k] = st[:m.start(group)] + str(new).zfill(len(m.group(group))) + st[m.end(group):]  # the same width
    return STEP_SEP.join(steps)


def fact_corpus(n_docs: int, *, seed: int, facts_per_doc: int = 8, zipf: float = 1.0,
                judged: float = 0.0, width: int = 0) -> list[str]:
    """Pretraining text for the tiny base model: documents of subtraction facts ``a - b = c``, blank-line
    separated, over the task's operands (a in 0-99, b in 1-29, a ≥ b).

    It plays the part of Llemma's mathematical pretraining: it holds the arithmetic a problem needs but no problem,
    no chain, no level and no label. Small subtrahends are more frequent (weight ``1/b**zipf``), as small numbers are
    in real text, so the base knows the facts of hard problems less well than those of easy ones.

    A share ``judged`` of the documents are *checked* facts, each line followed by ``right`` or ``wrong`` (half of
    them wrong, the result off by 1-3), under a ``# Check`` heading: mathematical text also marks wrong arithmetic
    as wrong, and a model pretrained on it can tell a wrong result when it reads one, not only write the right one.
    Numbers are written ``width`` digits wide, as the task writes them.
    """
    rng = random.Random(f"{seed}/facts")
    facts = [(a, b) for b in range(1, 30) for a in range(b, MAX_VALUE + 1)]
    weights = [b ** -zipf for _, b in facts]
    docs = []
    for _ in range(n_docs):
        drawn = rng.choices(facts, weights=weights, k=facts_per_doc)
        if not judged or rng.random() >= judged:  # no draw when off: the plain corpus stays as it was
            docs.append(STEP_SEP.join(fact_text(a, b, a - b, width) for a, b in drawn))
            continue
        lines = ["# Check"]
        for a, b in drawn:
            c = a - b
            if rng.random() < 0.5:
                c = rng.choice([v for d in (1, 2, 3) for v in (c - d, c + d) if 0 <= v <= MAX_VALUE])
            lines += [fact_text(a, b, c, width), "right" if c == a - b else "wrong"]
        docs.append(STEP_SEP.join(lines))
    return docs
