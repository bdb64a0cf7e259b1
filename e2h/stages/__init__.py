"""The pipeline's stages: one numbered notebook each, its logic in one module here, read by the runner.

``STAGES`` is the single table of the pipeline: the stage number, its notebook, the module holding what the
notebook calls, what it writes into the run folder (``e2h.stages.layout``), and the params it reads. The runner
hashes exactly those params (field by field where a section serves two stages) into the stage's digest, so a new
``sample.n`` reruns stage 04 onward and never the reward data or the reward models; ``python -m e2h weights``
ships what the ``training`` stages wrote.

The library below (``e2h.data``, ``e2h.models``, ``e2h.training``, ``e2h.sampling``, ``e2h.rerank``, ...) never
imports this package; only the runner, the command line and the notebooks do.
"""

from __future__ import annotations

from dataclasses import dataclass

# The sample section serves stage 02 (n, top_k and temperature replaced by the reward_* fields), stage 04 (the
# reward_* fields unused) and stage 01's greedy evaluation (only the engine settings).
_REWARD_SAMPLING = ("sample.reward_n", "sample.reward_top_k", "sample.reward_temperature",
                    "sample.reward_max_problems")
_TEST_SAMPLING = ("sample.n", "sample.temperature", "sample.top_k")


@dataclass(frozen=True)
class Stage:
    number: int
    notebook: str           # notebooks/<notebook>.ipynb
    module: str             # e2h.stages.<module>: the functions the notebook calls
    outputs: tuple          # what it writes, relative to the run folder
    reads: tuple            # params keys: a section ("sft") or one field ("data.source")
    after: tuple            # the earlier stages whose outputs it reads: a rerun of one of them makes it stale
    ignores: tuple = ()     # fields of a section in `reads` that this stage does not read
    training: bool = False  # trains a model that `python -m e2h weights` ships

    @property
    def stem(self) -> str:
        return self.notebook


STAGES = (
    Stage(0, "00_data", "s00_data", ("data/",), ("data",), after=()),
    Stage(1, "01_sft", "s01_policy", ("base/", "sft/", "sft_eval/"),
          ("seed", "data.source", "data.data_dir", "data.task_width", "model", "sft", "sample"), after=(0,),
          ignores=_TEST_SAMPLING + _REWARD_SAMPLING + ("sample.top_p", "sample.max_new_tokens", "sample.policy"),
          training=True),
    Stage(2, "02_reward_data", "s02_reward_data", ("reward_data/",), ("sample", "reward.kinds"), after=(0, 1),
          ignores=_TEST_SAMPLING, training=True),
    Stage(3, "03_reward_models", "s03_reward_models", ("rm/",),
          ("seed", "data.source", "data.data_dir", "model.base", "reward"), after=(0, 1, 2), training=True),
    Stage(4, "04_sample", "s04_pool", ("pool/samples.parquet",), ("sample", "weights", "data.eval_split"),
          after=(0, 1), ignores=_REWARD_SAMPLING),
    Stage(5, "05_score", "s05_scores", ("pool/scored.parquet",),
          ("score", "weights", "data.source", "data.eval_split"), after=(0, 3, 4)),
    Stage(6, "06_rerank", "s06_rerank", ("rerank/",), ("rerank", "data.source", "data.eval_split"), after=(0, 5)),
    # Stage 07 reads the sample and score sections only with rl.rerank; its trained policies are skipped by their
    # own digests (e2h.stages.s07_rl.unit_digest) when only those or other methods' settings change.
    Stage(7, "07_rl", "s07_rl", ("rl/",), ("seed", "data", "weights", "sft.source", "sft.levels", "sft.max_length",
                                           "rl", "sample", "score", "rerank"), after=(0, 1, 3)),
    Stage(8, "08_figures", "s08_figures", ("figures/",), ("figures_dir", "data.source"), after=(6, 7)),
)
BY_NUMBER = {s.number: s for s in STAGES}


def stage(number: int) -> Stage | None:
    """The table's row for a stage number, or None (a notebook added without a row: it reads every param)."""
    return BY_NUMBER.get(number)


def training_stages() -> str:
    """The ``--stages`` spec of the training stages (and the data they need), e.g. ``"00-03"``."""
    last = max(s.number for s in STAGES if s.training)
    return f"00-{last:02d}"
