"""Final-answer extraction from a generated solution (the paper's "# Answer" format, or MATH's \\boxed{})."""

from __future__ import annotations

import re

from e2h.format import last_boxed

# Markers a tokenizer may leave where the model stopped; the answer line ends there.
_EOS_MARKERS = ("</s>", "<|endoftext|>", "<|im_end|>", "<|eot_id|>", "<|end_of_text|>", "<eos>", "<|end|>")
_ANSWER_HEADER = re.compile(r"#[ \t]*Answer[ \t]*\n")


def extract_answer(text: str | None) -> str | None:
    """The final answer of a solution, or None when it has none.

    The paper's solutions end ``\\n\\n# Answer\\n\\n{answer}`` then EOS: the answer is the text after the LAST
    ``# Answer`` header, cut at an EOS marker or a blank line (a model that keeps generating after its answer
    does not get the extra text graded). Without a non-empty answer section, the content of the last
    ``\\boxed{}`` is used (MATH's own solutions box their answers).
    """
    if not text:
        return None
    header = None
    for header in _ANSWER_HEADER.finditer(text):
        pass
    if header is not None:
        ans = text[header.end():]
        for marker in _EOS_MARKERS:
            ans = ans.split(marker, 1)[0]
        ans = ans.strip().split("\n\n", 1)[0].strip()
        if ans:
            boxed = last_boxed(ans)
            if ans.startswith(("\\boxed{", "\\fbox{")) and boxed == ans[ans.index("{") + 1:-1]:
                return boxed.strip() or None  # "# Answer\n\n\boxed{5}": the box is only decoration
            return ans
    boxed = last_boxed(text)
    return (boxed.strip() or None) if boxed is not None else None
