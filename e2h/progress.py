"""Progress bars: tqdm's widgets in an interactive notebook, plain text where the output is kept for reading later.

A notebook that the runner executes is saved with its outputs, and a widget bar is saved as its first frame
("0%| | 0/22") or, in an HTML export, not at all. The runner's kernels set ``E2H_PROGRESS=text``: bars are then
text lines, redrawn every few seconds, whose last frame (the finished state) is what the saved notebook shows.
"""

from __future__ import annotations

import os
import sys

from tqdm.std import tqdm as _text_tqdm

TEXT_MODE = "E2H_PROGRESS"


class _TextBar(_text_tqdm):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("mininterval", 5.0)
        kwargs.setdefault("ascii", True)
        kwargs.setdefault("file", sys.stdout)
        kwargs["leave"] = True  # a bar that vanishes leaves nothing to read
        super().__init__(*args, **kwargs)


if os.environ.get(TEXT_MODE) == "text":
    tqdm = _TextBar
else:
    from tqdm.auto import tqdm  # noqa: F401
