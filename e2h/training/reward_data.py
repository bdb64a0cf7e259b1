"""Reward-model data: step labels laid out on tokens, the layout self-test, and ORM labels with per-question balance.

A *labelled solution* is a dict ``{"problem", "solution", "labels"}``: ``solution`` is the text after the prompt in
the paper's format and ``labels`` holds one entry per step of ``split_steps(solution)`` (1 good, 0 bad), possibly
shorter (PRM800K labellers stop at the first error: later steps are unlabelled) or with ``None`` holes.

Two token layouts (``layout``):
- ``"every_token"`` (the paper's): every token of a step, its trailing blank line included, carries the step's label;
  the last step's tokens and the EOS carry the last label. The prompt never does.
- ``"separator"`` (TRL's): only the token where the step's score is read carries the label (first token of the blank
  line after the step, EOS for the last step).
Both put each step's label on the token where scoring reads it, so a model trained either way is scored the same way.
An ORM's labelled solution labels every step with the final-answer verdict; an OPRM trains on both sets.
"""

from __future__ import annotations

import hashlib
import random
from typing import Iterable, Literal

from e2h.data.splits import EASY_LEVELS, HARD_LEVELS
from e2h.format import format_prompt, split_steps
from e2h.models.spans import encode
from e2h.training.loop import IGNORE

Layout = Literal["every_token", "separator"]
LAYOUTS = ("every_token", "separator")
KINDS = ("prm", "orm", "oprm")
# A kind with this suffix (``prm_all``, ...) is the full-supervision reference: the same model trained on labelled
# problems of every level. The plain kinds only ever see levels 1-3 (and PRM800K problems that are not in MATH).
FULL_SUFFIX = "_all"


def kind_levels(kind: str) -> tuple[str, tuple]:
    """(base kind, levels of its training problems); ``None`` stands for problems outside MATH's levels."""
    base = kind.removesuffix(FULL_SUFFIX)
    if base not in KINDS:
        raise ValueError(f"reward kind {kind!r}: expected one of {KINDS}, optionally with the suffix {FULL_SUFFIX!r}")
    return base, ((*EASY_LEVELS, *HARD_LEVELS, None) if kind.endswith(FULL_SUFFIX) else (*EASY_LEVELS, None))


def needs_hard_problems(kinds: Iterable[str]) -> bool:
    """Whether any of the kinds is an all-levels reference, whose data includes hard training problems."""
    return any(kind.endswith(FULL_SUFFIX) for kind in kinds)


def is_heldout(problem_key: str, fraction: float, seed: int) -> bool:
    """A seeded, order-free choice of held-out problems: a hash of the key against the fraction."""
    h = int(hashlib.sha256(f"{seed}/{problem_key}".encode()).hexdigest()[:8], 16)
    return h / 0xFFFFFFFF < fraction


def reward_example(tokenizer, record: dict, *, layout: Layout, max_length: int | None = None) -> dict | None:
    """Token ids and per-token float labels (-100 = no loss) for one labelled solution; None if nothing is labelled
    after truncation."""
    if layout not in LAYOUTS:
        raise ValueError(f"label layout {layout!r}: expected one of {LAYOUTS}")
    enc = encode(tokenizer, format_prompt(record["problem"]), record["solution"], max_length=max_length)
    labels = list(record["labels"])
    if len(labels) > len(enc.read_positions):
        raise ValueError(f"{record.get('problem_id', record['problem'][:40])!r}: {len(labels)} labels for "
                         f"{len(enc.read_positions)} steps")
    y = [float(IGNORE)] * len(enc.input_ids)
    if layout == "every_token":
        for t, k in enumerate(enc.step_of_token):
            if 0 <= k < len(labels) and labels[k] is not None:
                y[t] = float(labels[k])
    else:
        for k, pos in enumerate(enc.read_positions):
            if pos is not None and k < len(labels) and labels[k] is not None:
                y[pos] = float(labels[k])
    if all(v == IGNORE for v in y):
        return None
    return {"input_ids": enc.input_ids, "labels": y}


def reward_examples(tokenizer, records: Iterable[dict], *, layout: Layout, max_length: int | None = None,
                    check: int = 8) -> list[dict]:
    """``reward_example`` for each record (dropping those left without a label); the first ``check`` records
    go through ``check_label_layout`` first, so a silent mask bug stops training before it starts."""
    records = list(records)
    check_label_layout(tokenizer, records[:check], layout=layout)
    out = (reward_example(tokenizer, r, layout=layout, max_length=max_length) for r in records)
    return [e for e in out if e is not None]


class LabelLayoutError(AssertionError):
    """The labelled tokens are not the intended ones."""


def labelled_spans(tokenizer, example: dict) -> list[tuple[str, float]]:
    """Decode maximal runs of consecutive labelled tokens with equal labels: what the loss actually sees."""
    runs, current, label = [], [], None
    for tid, y in zip(example["input_ids"], example["labels"]):
        if current and (y == IGNORE or y != label):
            runs.append((tokenizer.decode(current), label))
            current = []
        if y != IGNORE:
            current.append(tid)
            label = y
    if current:
        runs.append((tokenizer.decode(current), label))
    return runs


def expected_labels(tokenizer, record: dict, input_ids: list[int], *, layout: Layout) -> list[float]:
    """The labels each token should carry, worked out without the offset mapping that ``encode`` uses.

    Decode every prefix of the token sequence and count its non-blank characters (decoders differ on spaces, not
    on the rest): a token belongs to the step whose non-blank characters it reaches into, and a token adding only
    blanks (the separator) belongs to the step before it. Quadratic in length: meant for a handful of records.
    """
    prompt_chars = _nonblank(format_prompt(record["problem"]))
    steps, labels = split_steps(record["solution"]), list(record["labels"])
    bounds, total = [], 0  # non-blank characters up to the end of each step
    for st in steps:
        total += _nonblank(st)
        bounds.append(total)
    want = []  # step index per token, None for the prompt
    for t in range(len(input_ids)):
        c = _nonblank(tokenizer.decode(input_ids[:t + 1], skip_special_tokens=True)) - prompt_chars
        is_eos = t == len(input_ids) - 1 and input_ids[t] == tokenizer.eos_token_id
        if c <= 0 and not is_eos:
            want.append(None)
            continue
        want.append(min(sum(b < c for b in bounds), len(steps) - 1))
    out = [float(IGNORE)] * len(input_ids)
    for k in range(min(len(labels), len(steps))):
        if labels[k] is None:
            continue
        if layout == "every_token":
            for t, kk in enumerate(want):
                if kk == k:
                    out[t] = float(labels[k])
        elif k == len(steps) - 1:
            out[len(input_ids) - 1] = float(labels[k])  # the EOS
        else:  # the first token after step k's last character that starts its blank line
            t = next(i for i, kk in enumerate(want)
                     if kk == k and _ends_step(tokenizer, input_ids, i, prompt_chars, bounds[k]))
            out[t] = float(labels[k])
    return out


def _ends_step(tokenizer, ids: list[int], t: int, prompt_chars: int, bound: int) -> bool:
    """Token t completes the step's characters and begins (or contains) the newline after it."""
    text = tokenizer.decode(ids[:t + 1], skip_special_tokens=True)
    if _nonblank(text) - prompt_chars != bound:
        return False
    return "\n" in text[len(text.rstrip()):]


def _nonblank(text: str) -> int:
    return sum(not ch.isspace() for ch in text)


def check_label_layout(tokenizer, records: Iterable[dict], *, layout: Layout,
                       examples: list[dict] | None = None) -> None:
    """Check that the labelled tokens of each record are exactly the intended ones, with the intended labels.

    Compares ``reward_example`` with ``expected_labels`` (an independent derivation by prefix decoding) token by
    token; raises ``LabelLayoutError`` naming the record, the token and both labels. ``examples`` (one per record)
    checks given examples instead of building them.
    """
    for n, rec in enumerate(records):
        where = f"record {n} ({rec.get('problem_id', rec['problem'][:40])!r}, layout {layout})"
        ex = examples[n] if examples is not None else reward_example(tokenizer, rec, layout=layout)
        if ex is None:
            continue
        want = expected_labels(tokenizer, rec, ex["input_ids"], layout=layout)
        for t, (got, exp) in enumerate(zip(ex["labels"], want)):
            if got != exp:
                context = tokenizer.decode(ex["input_ids"][max(0, t - 5):t + 1])
                raise LabelLayoutError(f"{where}: token {t} {tokenizer.decode([ex['input_ids'][t]])!r} (after "
                                       f"{context!r}) has label {got}, expected {exp}")


# --------------------------------------------------------------------------------------------------------------
# ORM: final-answer labels on policy samples, balanced per question
# --------------------------------------------------------------------------------------------------------------

def balance_per_question(rows: list[dict], *, max_ratio: float = 3.0, seed: int = 0) -> tuple[list[dict], dict]:
    """Subsample each question's samples so positives:negatives lies within 1:max_ratio … max_ratio:1.

    ``rows`` need ``problem_id`` and a boolean ``correct``. The larger class is cut to ``floor(max_ratio ×
    smaller)`` by a seeded draw per question (independent of row order). A question whose samples are all correct
    or all wrong has no ratio to keep, so it is dropped. Returns (kept rows, counts).
    """
    by_q: dict = {}
    for r in rows:
        by_q.setdefault(r["problem_id"], []).append(r)
    kept, stats = [], {"questions": len(by_q), "dropped_one_class": 0, "samples_in": len(rows), "subsampled": 0}
    for qid in sorted(by_q, key=str):
        group = sorted(by_q[qid], key=lambda r: r.get("sample_idx", 0))  # the draw must not depend on row order
        pos = [r for r in group if r["correct"]]
        neg = [r for r in group if not r["correct"]]
        if not pos or not neg:
            stats["dropped_one_class"] += 1
            continue
        rng = random.Random(f"{seed}/{qid}")
        cap_pos, cap_neg = int(max_ratio * len(neg)), int(max_ratio * len(pos))
        if len(pos) > cap_pos:
            pos = rng.sample(pos, cap_pos)
        if len(neg) > cap_neg:
            neg = rng.sample(neg, cap_neg)
        stats["subsampled"] += len(by_q[qid]) - len(pos) - len(neg)
        kept += sorted(pos + neg, key=lambda r: r.get("sample_idx", 0))
    stats["samples_out"] = len(kept)
    stats["positives_out"] = sum(bool(r["correct"]) for r in kept)
    return kept, stats


def orm_records(rows: list[dict], problems: dict[str, str]) -> list[dict]:
    """Labelled solutions for the ORM: every step of a sample carries its final-answer verdict.

    ``rows`` are pool rows (``problem_id``, ``text``, ``correct``); ``problems`` maps problem_id to problem text.
    """
    out = []
    for r in rows:
        n = len(split_steps(r["text"]))
        if n == 0:
            continue
        out.append({"problem_id": r["problem_id"], "problem": problems[r["problem_id"]], "solution": r["text"],
                    "labels": [int(bool(r["correct"]))] * n})
    return out
