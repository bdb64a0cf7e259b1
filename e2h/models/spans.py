"""Where the steps of a solution are, in tokens: the one place SFT masks, reward labels and step scores are aligned.

``e2h.format`` defines the steps: a solution (the text after the prompt) has k steps separated by blank lines, the
``# Answer`` section belongs to the last one, and EOS follows. Step i owns its characters and the blank line after
it; its score is read at the first token of that blank line, and the last step's at EOS (or at the last token of a
generation cut off before EOS). So a k-step solution gets exactly k scores, one per ``split_steps`` element.

Working in character offsets (``step_end_offsets``) and mapping them to tokens through the fast tokenizer's offset
mapping keeps this independent of how a tokenizer splits ``\\n\\n`` (one token in the tiny models, two byte tokens
in Llama's).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from e2h.format import step_end_offsets


def step_bounds(solution: str) -> tuple[list[int], list[int]]:
    """(read-out characters, step starts): where each step's score is read (``len(solution)`` = at EOS) and the
    first character of each step after the first (the end of the blank line before it)."""
    reads = step_end_offsets(solution)
    starts = []
    for r in reads[:-1]:
        j = r
        while j < len(solution) and solution[j].isspace():
            j += 1
        starts.append(j)
    return reads, starts


@dataclass
class Encoded:
    input_ids: list[int]
    solution_mask: list[bool]  # tokens the policy is trained to produce (solution and EOS)
    step_of_token: list[int]  # step index per token; -1 for the prompt
    read_positions: list[int | None]  # per step: token index where its score is read; None if cut off


def encode(tokenizer, prompt: str, solution: str, *, eos: bool = True, max_length: int | None = None) -> Encoded:
    """Tokenize ``prompt + solution`` (+ EOS) once and align tokens to the solution's steps.

    With ``max_length`` the sequence is cut on the right; steps whose reading position is cut have
    ``read_positions`` become None. The last step, read at EOS, is dropped whenever the EOS is cut.
    """
    text = prompt + solution
    enc = tokenizer(text, return_offsets_mapping=True, add_special_tokens=True)
    ids, offsets = list(enc["input_ids"]), [tuple(o) for o in enc["offset_mapping"]]
    if eos and tokenizer.eos_token_id is not None:
        ids.append(tokenizer.eos_token_id)
        offsets.append((len(text), len(text)))
    special = set(tokenizer.all_special_ids)
    read_chars, starts = step_bounds(solution)
    solution_mask, step_of = [], []
    for i, (tid, (a, b)) in enumerate(zip(ids, offsets)):
        is_eos = eos and i == len(ids) - 1
        in_solution = is_eos or (b > len(prompt) and tid not in special)
        solution_mask.append(in_solution)
        # A step owns every character up to the start of the next step, its blank line included; a token is placed
        # by its last character, so one that begins with a blank and reaches into the next step (" Answer" after a
        # blank line) belongs to that step.
        last = max(b - 1, a) - len(prompt)
        step_of.append(bisect.bisect_right(starts, max(last, 0)) if in_solution and read_chars else -1)
    reads = [len(ids) - 1 if c >= len(solution) else _token_at(offsets, len(prompt) + c) for c in read_chars]
    if max_length is not None and len(ids) > max_length:
        ids, solution_mask, step_of = ids[:max_length], solution_mask[:max_length], step_of[:max_length]
        # The last step's reading position would move with the cut: drop it rather than read mid-step.
        reads = [r if r < max_length and read_chars[k] < len(solution) else None for k, r in enumerate(reads)]
    return Encoded(ids, solution_mask, step_of, reads)


def _token_at(offsets: list[tuple[int, int]], char: int) -> int:
    """Index of the token covering character ``char`` (the first token that ends after it)."""
    for i, (a, b) in enumerate(offsets):
        if a <= char < b:
            return i
    for i, (a, b) in enumerate(offsets):  # a tokenizer whose offsets skip whitespace: next token after it
        if a >= char and b > a:
            return i
    raise ValueError(f"no token covers character {char}")


def token_ends(tokenizer, ids: list[int]) -> list[int]:
    """The end (in characters of ``tokenizer.decode(ids, skip_special_tokens=True)``) of each token of ``ids``:
    where text generated as these ids lies, without tokenizing it again (which need not give the same ids).

    Decoding token by token is exact for byte-level tokenizers on whole characters; when the pieces do not add up
    to the whole (a SentencePiece space, a character split over tokens) every prefix is decoded instead."""
    full = tokenizer.decode(ids, skip_special_tokens=True)
    pieces = [tokenizer.decode([t], skip_special_tokens=True) for t in ids]
    if "".join(pieces) == full:
        ends, n = [], 0
        for piece in pieces:
            n += len(piece)
            ends.append(n)
        return ends
    return [len(tokenizer.decode(ids[:k + 1], skip_special_tokens=True)) for k in range(len(ids))]


def generated_read_positions(tokenizer, response_ids: list[int], text: str) -> list[int]:
    """Per step of a generated solution (``text``, its decoded ids without EOS), the index in ``response_ids``
    where its score is read: the first token of the blank line after it, and for the last step the final token
    (the EOS when the generation stopped, else the last token it wrote). The same rule as ``encode``, found from
    the ids the policy wrote."""
    reads = step_end_offsets(text)
    if not reads or not response_ids:
        return []
    ends = token_ends(tokenizer, response_ids)
    out = []
    for c in reads[:-1]:
        out.append(next(i for i, e in enumerate(ends) if e > c))
    return out + [len(response_ids) - 1]
