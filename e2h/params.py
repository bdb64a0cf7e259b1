"""Run parameters: one YAML file per run (``params/<name>.yaml``), validated against the dataclasses below.

A params file is a few plain sections. Every key must be one declared here: a typo fails at load time with one
line naming the file, the key and the allowed keys or values, never halfway through a GPU run. Each stage owns one
section; a section's defaults are the CPU defaults, and GPU files override what differs.

Strings may use environment variables, ``${VAR}`` or ``${VAR:-default}``. Relative paths are resolved against the
project root (the folder holding ``params/``), so a notebook run from ``notebooks/`` and a runner started at the
top level read the same files.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Optional

import yaml


class ParamsError(ValueError):
    """A params file that does not match the schema; the message names the file and the key."""


def path_field(default, *, must_exist: bool = True, kind: str = "folder", **metadata):
    """A string field holding a path; resolved against the project root and checked at load time."""
    return field(default=default, metadata={"path": True, "must_exist": must_exist, "kind": kind, **metadata})


def value_range(low=None, high=None, *, low_open: bool = False, high_open: bool = False) -> dict:
    """Field metadata: a number (or each number of a list) must lie in [low, high]; ``None`` stays allowed where
    the type allows it; ``low_open`` / ``high_open`` exclude the bound itself."""
    return {"range": {"low": low, "high": high, "low_open": low_open, "high_open": high_open}}


def bounded(default, *, low=None, high=None, low_open: bool = False, high_open: bool = False, **metadata):
    """A number field that must lie in a range (``value_range``); a callable default is a default factory."""
    meta = {**value_range(low, high, low_open=low_open, high_open=high_open), **metadata}
    if callable(default):
        return field(default_factory=default, metadata=meta)
    return field(default=default, metadata=meta)


def positive(default, **metadata):
    """A count that must be >= 1."""
    return bounded(default, low=1, **metadata)


def non_negative(default, **metadata):
    return bounded(default, low=0, **metadata)


def fraction(default, *, high_open: bool = False, low_open: bool = False, **metadata):
    """A number in [0, 1] (ends excluded as asked)."""
    return bounded(default, low=0, high=1, low_open=low_open, high_open=high_open, **metadata)


def added_field(default, **metadata):
    """A field added after runs were made: at its default it is left out of ``Params.digest``, so those runs keep
    their digests and are not redone. A callable default is a default factory (a section added later)."""
    if callable(default):
        return field(default_factory=default, metadata={"added": True, **metadata})
    if isinstance(default, list):  # a list default must be a fresh copy for every instance
        return field(default_factory=lambda: list(default), metadata={"added": True, **metadata})
    return field(default=default, metadata={"added": True, **metadata})


def _default(f: dataclasses.Field):
    return f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default


def _digest_view(obj):
    """``obj`` as a dict for hashing, without the added fields that sit at their defaults."""
    if not dataclasses.is_dataclass(obj):
        return obj
    return {f.name: _digest_view(getattr(obj, f.name)) for f in dataclasses.fields(obj)
            if not (f.metadata.get("added") and getattr(obj, f.name) == _default(f))}


@dataclass
class DataParams:
    """Stage 00: which problems the run uses."""

    source: Literal["math", "embedded"] = "math"
    # Root holding hendrycks_math/ and prm800k_math_splits/ (the layout of ../shared/data); null reads
    # $E2H_DATA_DIR. Only the math source needs it.
    data_dir: Optional[str] = path_field(None)
    seed: int = non_negative(0)  # the validation draw
    val_size: int = non_negative(500)
    # Cap problems per split for tiny runs; null keeps all.
    max_train: Optional[int] = positive(None)
    max_test: Optional[int] = positive(None)
    # The embedded task (e2h.embedded_task): problems per level 1..5 in each split, generated from data.seed.
    task_train: list[int] = non_negative(lambda: [2000, 2000, 2000, 2000, 2000], length=5)
    task_val: list[int] = non_negative(lambda: [50, 50, 50, 50, 50], length=5)
    task_test: list[int] = non_negative(lambda: [60, 60, 60, 200, 200], length=5)
    # Digits per number in the embedded task's questions and steps, zero-padded (0: as is). With digit tokens
    # (model.tiny_split_digits) a fixed width keeps every level the same length: docs/embedded_task.md.
    task_width: int = added_field(0, **value_range(0))
    # A dev split, drawn like the test set from the val split's problems (none of val's): design choices are made
    # on it, test is only reported. eval_split names the split stages 04-06 sample, score and re-rank.
    task_dev: list[int] = added_field([0, 0, 0, 0, 0], length=5, **value_range(0))
    eval_split: Literal["test", "dev"] = added_field("test")


@dataclass
class SampleParams:
    """Stages 02 and 04: sampling solutions (``e2h.sampling``). Defaults are tiny CPU settings."""

    backend: Literal["auto", "hf", "vllm"] = "auto"  # auto: vLLM when it imports and a CUDA GPU is present
    policy: Optional[str] = None  # hub id or folder to sample from; null: the run's SFT policy (<run_dir>/sft)
    n: int = positive(4)  # samples per test problem (paper: 1024)
    temperature: float = non_negative(0.7)  # 0 = greedy
    top_k: int = non_negative(0)  # 0 = off
    top_p: float = fraction(1.0, low_open=True)
    max_new_tokens: int = positive(256)
    seed: int = non_negative(0)
    shard_size: int = positive(32)  # problems per shard file: the unit of resume
    batch_size: int = positive(32)  # sequences per generate call (hf backend)
    hf_cache: Literal["dynamic", "static"] = "dynamic"  # static: compiled decoding on a GPU
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    tensor_parallel_size: int = positive(1)  # vLLM
    gpu_memory_utilization: float = fraction(0.9, low_open=True)  # vLLM
    # Stage 02, ORM data: samples of the SFT policy on easy training problems (paper: 32, top-k 20, T 0.7).
    reward_n: int = positive(32)
    reward_top_k: int = non_negative(20)
    reward_temperature: float = non_negative(0.7)
    reward_max_problems: Optional[int] = positive(None)  # cap for tiny runs; null keeps all easy training problems


@dataclass
class ModelParams:
    """The base model that the policy (stage 01) and the reward models (stage 03) start from."""

    # A hub id or a local folder; "tiny" builds a small random Llama (head dim 64) with a tokenizer trained on the
    # run's training text, saved to <run_dir>/base (CPU runs and tests).
    base: str = "tiny"
    tiny_hidden_size: int = positive(64)
    tiny_layers: int = positive(2)
    tiny_heads: int = positive(1)
    tiny_vocab_size: int = positive(512)
    tiny_max_positions: int = positive(1024)
    tiny_split_digits: bool = False  # one token per digit, as Llama's tokenizer (docs/embedded_task.md says why)
    # Pretraining of the tiny base on the embedded task's arithmetic facts (e2h.embedded_task.fact_corpus), standing
    # in for the mathematical pretraining of Llemma: documents of facts, no problems, no solutions, no labels.
    # 0 = random.
    tiny_pretrain_docs: int = non_negative(0)
    tiny_pretrain_epochs: int = positive(5)
    tiny_pretrain_zipf: float = non_negative(1.0)  # a fact with subtrahend b is drawn with weight 1/b**zipf
    tiny_pretrain_judged: float = fraction(0.0)  # share of checked-fact documents (embedded_task.fact_corpus)


@dataclass
class TrainParams:
    """Shared by SFT and reward-model training. Defaults are the CPU ones; the paper's (batch 128, bf16, frozen
    embeddings and norms, lr 2e-5 at 7b, 1e-5 at 34b) live in params/7b.yaml and params/34b.yaml."""

    lr: float = bounded(1e-3, low=0, low_open=True)
    epochs: int = positive(3)
    batch_size: int = positive(128)  # effective batch per optimizer step, over accumulation and processes
    micro_batch_size: int = positive(16)  # sequences per forward pass and process
    max_length: int = positive(768)  # tokens; longer examples are cut on the right
    lr_schedule: Literal["cosine", "linear", "constant", "constant_with_warmup"] = "cosine"
    warmup_ratio: float = fraction(0.03, high_open=True)
    weight_decay: float = non_negative(0.0)
    max_grad_norm: float = non_negative(1.0)  # 0 = no clipping
    max_steps: Optional[int] = positive(None)  # stop early (tiny runs); null trains all epochs
    dtype: Literal["float32", "bfloat16"] = "float32"  # weights; bf16 compute comes from mixed_precision
    mixed_precision: Literal["auto", "no", "bf16"] = "auto"  # auto: bf16 autocast on a GPU that supports it
    freeze_embeddings_and_norms: bool = False  # paper: true (its base model is pretrained; tiny ones are not)
    gradient_checkpointing: bool = False
    lora_r: int = non_negative(0)  # > 0 trains LoRA adapters (peft) of this rank, merged into the saved model
    lora_alpha: int = positive(16)
    lora_dropout: float = fraction(0.0, high_open=True)
    seed: int = non_negative(0)
    # Several processes: launched with `accelerate launch` and this config (params/accelerate/*.yaml).
    num_processes: int = positive(1)
    accelerate_config: Optional[str] = path_field(None, kind="file")


@dataclass
class SFTParams(TrainParams):
    """Stage 01: the policy. ``auto`` data: the embedded task's solutions, or MATH reference solutions in steps."""

    source: Literal["auto", "math", "prm800k", "metamath"] = "auto"
    source_files: list[str] = field(default_factory=list)  # PRM800K phase files / the MetaMathQA file
    levels: list[int] = field(default_factory=lambda: [1, 2, 3])  # easy-to-hard; [1, 2, 3, 4, 5] = full data
    eval_max_new_tokens: int = positive(256)  # greedy accuracy on val in the notebook
    eval_max_problems: Optional[int] = positive(None)
    # Checkpoint selection: every select_every steps, greedy accuracy on the *easy* (levels 1-3) validation
    # problems; training stops at the first checkpoint reaching select_target. Hard levels are never looked at.
    select_target: Optional[float] = fraction(None)
    select_every: int = positive(25)


@dataclass
class RewardParams(TrainParams):
    """Stage 03: PRM / ORM / OPRM, each from the base model (not the SFT policy) unless ``init_from`` says."""

    kinds: list[str] = field(default_factory=lambda: ["prm", "orm", "oprm"])
    label_layout: Literal["every_token", "separator"] = "every_token"
    init_from: Optional[str] = None  # null: model.base; "sft": the run's policy; or a hub id / folder
    # auto: the embedded task's exact step checker on stage-02 samples, or PRM800K files for MATH.
    prm_source: Literal["auto", "checker", "prm800k", "shepherd"] = "auto"
    prm_files: list[str] = field(default_factory=list)  # PRM800K phase*_train.jsonl or Math-Shepherd files
    # Checker source only: per training solution, this many copies with one step's subtrahend or result moved by
    # 1-3, labelled by the checker (e2h.embedded_task.corrupt_solution): more slips than the policy makes on easy
    # problems.
    prm_corrupt: int = non_negative(0)
    orm_max_ratio: float = bounded(3.0, low=1)  # per question, positives:negatives kept within 1:r … r:1
    max_length: int = positive(1024)
    epochs: int = positive(2)
    # Of the PRM data, kept out of training for the step AUROC in the notebook.
    heldout_fraction: float = fraction(0.1, high_open=True)
    # The all-levels references (prm_all ...) train on as many solutions as their easy counterpart, a seeded
    # subsample of every level's: false gives them all levels' data (twice the easy data in the default).
    match_full_size: bool = added_field(False)


@dataclass
class ScoreParams:
    """Stage 05: step scores of the test pool from every reward model."""

    rms: list[str] = field(default_factory=lambda: ["prm", "orm", "oprm"])  # trained ones, under <run_dir>/rm
    released: dict[str, str] = field(default_factory=dict)  # name -> hub id / folder of a mean-logit checkpoint
    batch_size: int = positive(16)
    shard_size: int = positive(512)  # pool rows per shard file: the unit of resume
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"


@dataclass
class RerankParams:
    """Stage 06: re-ranking curves (``e2h.rerank``) and stage 08's figures of them."""

    ns: Optional[list[int]] = positive(None)  # sample counts N; null: 1, 2, 4, … and the pool size
    resamples: int = positive(1000)  # subset draws per N (and paired problem bootstraps)
    seed: int = non_negative(0)
    aggregators: list[Literal["min", "prod", "mean", "max", "last"]] = field(
        default_factory=lambda: ["min", "prod", "mean", "max", "last"])
    methods: list[Literal["majority", "best_of_n", "weighted", "pass@n", "single"]] = field(
        default_factory=lambda: ["majority", "best_of_n", "weighted", "pass@n", "single"])
    ci_level: float = fraction(0.95, low_open=True, high_open=True)
    # A voting tie: "priority" goes to the answer of higher seeded priority (one draw); "expected" is credited
    # with its expectation under random tie-breaking (the share of the tied answers that is correct).
    ties: Literal["priority", "expected"] = added_field("priority")


RL_METHODS = ("more_sft", "rest_em", "dpo", "ppo_outcome", "ppo_prm")


@dataclass
class MoreSFTParams(TrainParams):
    """Stage 07's baseline: the SFT policy trained further on the easy SFT data, checkpoint chosen as RL's."""

    lr: float = bounded(1e-3, low=0, low_open=True)
    lr_schedule: Literal["cosine", "linear", "constant", "constant_with_warmup"] = "constant"
    warmup_ratio: float = fraction(0.0, high_open=True)
    batch_size: int = positive(64)
    micro_batch_size: int = positive(64)
    max_length: int = positive(768)
    epochs: int = positive(100)  # an upper bound: max_steps decides
    # Optimizer updates; null: as many as PPO makes (rl.ppo.steps x rollouts / batch_size), so RL is compared
    # with more training of the same length, not with the early-stopped checkpoint alone.
    max_steps: Optional[int] = positive(None)
    eval_every: int = positive(8)  # optimizer updates between checks on easy val


@dataclass
class RestParams(TrainParams):
    """ReST-EM (``e2h.training.rl.rest``): sample, keep the accepted solutions, fine-tune the SFT weights on them."""

    iterations: int = positive(2)
    n: int = positive(32)  # samples per training question (paper: 32, top-k 40, T 1.0)
    top_k: int = non_negative(40)
    temperature: float = bounded(1.0, low=0, low_open=True)
    max_per_problem: int = positive(10)  # accepted solutions kept per question (paper: 10)
    hard: bool = True  # hard questions too, their solutions accepted by the PRM; false: easy ones alone
    # The PRM threshold of hard solutions; null: chosen on easy val samples of the SFT policy as the lowest one whose
    # accepted samples are right at least min_precision of the time.
    hard_threshold: Optional[float] = fraction(None)
    min_precision: float = fraction(0.9, low_open=True)
    threshold_samples: int = positive(4)  # samples per easy val problem for choosing the threshold
    lr: float = bounded(1e-3, low=0, low_open=True)
    lr_schedule: Literal["cosine", "linear", "constant", "constant_with_warmup"] = "constant"
    warmup_ratio: float = fraction(0.0, high_open=True)
    batch_size: int = positive(64)
    micro_batch_size: int = positive(64)
    max_length: int = positive(768)
    epochs: int = positive(1)  # over the accepted solutions, per M-step (max_steps caps it)
    eval_every: int = positive(8)


@dataclass
class DPOParams(TrainParams):
    """Iterative DPO (``e2h.training.rl.dpo``): pairs of the policy's samples ranked by PRM + final answer."""

    iterations: int = positive(1)  # paper: up to 5
    n: int = positive(8)  # samples per training question (paper: 8)
    top_k: int = non_negative(0)
    temperature: float = bounded(1.0, low=0, low_open=True)
    gap: float = non_negative(1.0)  # a pair when the scores differ by more than this (paper: 1.0)
    max_pairs: int = positive(3)  # per question (paper: 3)
    # How the PRM's score enters: logit (the default; hard questions pair too) or probability (they never do).
    prm_scale: Literal["logit", "probability"] = "logit"
    aggregator: Literal["min", "prod", "mean", "last"] = "min"
    beta: float = bounded(0.1, low=0, low_open=True)
    loss: Literal["sigmoid", "ipo"] = "sigmoid"
    label_smoothing: float = fraction(0.0, high_open=True)  # > 0: conservative DPO
    lr: float = bounded(2e-6, low=0, low_open=True)  # paper: 2e-6, batch 64, beta 0.1
    lr_schedule: Literal["cosine", "linear", "constant", "constant_with_warmup"] = "constant"
    warmup_ratio: float = fraction(0.0, high_open=True)
    batch_size: int = positive(64)  # pairs per update
    micro_batch_size: int = positive(16)
    max_length: int = positive(768)
    epochs: int = positive(1)  # over each iteration's pairs (max_steps caps it)
    eval_every: int = positive(8)


@dataclass
class PPOParams(TrainParams):
    """PPO (``e2h.training.rl.ppo``) with the paper's rewards (``e2h.training.rl.rewards``)."""

    steps: int = positive(500)  # rollout batches (paper: 500)
    rollouts: int = positive(512)  # questions rolled out per step, one sample each (paper: 512)
    batch_size: int = positive(64)  # rollouts per update: rollouts / batch_size updates per step (paper: 8 x 64)
    micro_batch_size: int = positive(16)
    ppo_epochs: int = positive(1)  # passes over each rollout batch (paper: 1)
    lr: float = bounded(2e-5, low=0, low_open=True)
    lr_schedule: Literal["cosine", "linear", "constant", "constant_with_warmup"] = "cosine"
    warmup_steps: int = non_negative(5)  # optimizer updates of linear warm-up (paper: 5)
    temperature: float = bounded(0.7, low=0, low_open=True)  # rollouts and the log-probs of both policies
    top_k: int = non_negative(0)
    kl_coef: float = non_negative(0.01)  # on the clamped k1 estimate, every token
    clip: float = bounded(0.2, low=0, low_open=True)
    value_clip: float = bounded(0.2, low=0, low_open=True)
    vf_coef: float = non_negative(0.1)
    gamma: float = fraction(1.0)
    lam: float = fraction(1.0)
    whiten_rewards: bool = True  # divide by the batch's std, mean kept
    penalty: float = bounded(-1.0, high=0)  # times the format factor (e2h.training.rl.rewards.FORMAT_FACTORS)
    hard_terminal: float = bounded(0.25, low=-1, high=1)  # a hard question's terminal reward (its answer unread)
    start_min: float = fraction(0.5)  # the running minimum's start in the PRM shaping
    step_bonus: float = non_negative(0.25)  # shared by a solution's steps
    outcome_levels: list[int] = bounded(lambda: [1, 2, 3], low=1, high=5)  # ppo_outcome's questions
    prm_levels: list[int] = bounded(lambda: [1, 2, 3, 4, 5], low=1, high=5)  # ppo_prm's questions
    eval_every: int = positive(10)  # PPO steps between checks on easy val

    def __post_init__(self):
        if self.rollouts % self.batch_size:
            raise ParamsError(f"rl.ppo.rollouts: {self.rollouts} is not a multiple of batch_size {self.batch_size} "
                              "(every update takes batch_size rollouts)")
        for key in ("outcome_levels", "prm_levels"):
            if not getattr(self, key):
                raise ParamsError(f"rl.ppo.{key}: empty; expected levels among 1-5")


@dataclass
class RLParams:
    """Stage 07: RL from the SFT policy with reward models trained on easy problems (``e2h.training.rl``)."""

    methods: list[Literal["more_sft", "rest_em", "dpo", "ppo_outcome", "ppo_prm"]] = field(
        default_factory=lambda: list(RL_METHODS))
    seeds: list[int] = non_negative(lambda: [0])  # each method trained once per seed from the same SFT policy
    prm: str = "prm"  # the reward model (rm/<prm>, or the shipped weights'): rewards, pairs, filter, value init
    # Training questions per level (a seeded draw per seed from the train split); hard ones enter without answers.
    problems_per_level: Optional[int] = positive(None)
    val_max_problems: Optional[int] = positive(None)  # easy validation problems judging checkpoints; null: all
    max_new_tokens: int = positive(256)  # rollouts and greedy evaluation
    generate_batch_size: int = positive(256)
    eval_batch_size: int = positive(256)
    # Also sample sample.n solutions per test problem from each RL policy (first seed) and re-rank them with
    # score.rms, as stages 04-06 do for the SFT policy.
    rerank: bool = False
    resamples: int = positive(1000)  # problem bootstraps of the results table
    more_sft: MoreSFTParams = field(default_factory=MoreSFTParams)
    rest_em: RestParams = field(default_factory=RestParams)
    dpo: DPOParams = field(default_factory=DPOParams)
    ppo: PPOParams = field(default_factory=PPOParams)

    def __post_init__(self):
        for key in ("methods", "seeds"):
            values = getattr(self, key)
            if not values or len(set(values)) != len(values):
                raise ParamsError(f"rl.{key}: {values!r}; expected a non-empty list without repeats")


@dataclass
class Params:
    name: str = ""  # defaults to the file's stem; letters, digits, ".", "_", "-" (it names a folder under runs_dir)
    seed: int = non_negative(0)
    stages: Optional[str] = None  # the runner's default --stages (e.g. "00,04-08" when nothing is trained); null: all
    # A folder of shipped weights (e2h.weights): stage 04 samples from its sft/, stage 05 scores with its rm/<name>
    # instead of the run's own; null: the run's own models.
    weights: Optional[str] = path_field(None, added=True)
    # Processes for the independent jobs of a stage (03's reward models, 02's and 04's sample shards, 05's reward
    # models), run side by side with the cores shared out evenly; the results are those of the jobs run one after
    # another at that many threads, so no stage's digest reads it. GPU runs keep 1.
    workers: int = added_field(1, **value_range(1))
    runs_dir: str = path_field("runs", must_exist=False)
    # Where stage 08 writes <name>_<figure>.png/.pdf; null: the run folder's figures/. Only the main job
    # (params/default.yaml) names the project's figures/, so other runs never overwrite the README's figures.
    figures_dir: Optional[str] = path_field(None, must_exist=False)
    data: DataParams = field(default_factory=DataParams)
    sample: SampleParams = field(default_factory=SampleParams)
    model: ModelParams = field(default_factory=ModelParams)
    sft: SFTParams = field(default_factory=SFTParams)
    reward: RewardParams = field(default_factory=RewardParams)
    score: ScoreParams = field(default_factory=ScoreParams)
    rerank: RerankParams = field(default_factory=RerankParams)
    rl: RLParams = added_field(RLParams)  # stage 07, added after the first runs (their digests stay)

    @property
    def run_dir(self) -> Path:
        """Where every stage of this run reads and writes its artifacts."""
        return Path(self.runs_dir) / self.name

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def digest(self, keys: list[str] | None = None, ignore: tuple[str, ...] = ()) -> str:
        """Short hash of the resolved params, or of ``keys`` only: sections (``"sft"``) or single fields
        (``"data.source"``), without the fields named in ``ignore`` (``"sample.n"``) — what one stage reads."""
        d = _digest_view(self)
        if keys is not None:
            picked: dict = {}
            for key in keys:
                section, _, name = key.partition(".")
                if section not in d:
                    continue
                if name:
                    if name in d[section]:
                        picked.setdefault(section, {})[name] = d[section][name]
                else:
                    picked[section] = d[section]
            d = picked
        for key in ignore:
            section, _, name = key.partition(".")
            if isinstance(d.get(section), dict):
                d[section] = {k: v for k, v in d[section].items() if k != name}
        if d.get("weights") and (Path(d["weights"]) / "MANIFEST.json").is_file():
            # regenerated weights in the same folder make a new run
            d["weights"] = hashlib.sha256((Path(d["weights"]) / "MANIFEST.json").read_bytes()).hexdigest()
        base = d.get("model", {}).get("base")
        if base and base != "tiny" and (Path(base) / "MANIFEST.json").is_file():  # a shipped base, the same way
            d["model"] = {**d["model"], "base": hashlib.sha256((Path(base) / "MANIFEST.json").read_bytes()).hexdigest()}
        blob = json.dumps(d, sort_keys=True, default=str).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


_ENV = re.compile(r"\$\{(\w+)(?::-([^}]*))?\}")


def _expand_env(value: str, where: str) -> str:
    def sub(m: re.Match) -> str:
        var, default = m.group(1), m.group(2)
        if var in os.environ:
            return os.environ[var]
        if default is not None:
            return default
        raise ParamsError(f"{where}: environment variable {var} is not set (value {value!r}); "
                          f"set it or write the path itself")
    return _ENV.sub(sub, value)


def _type_name(tp) -> str:
    if typing.get_origin(tp) is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    return getattr(tp, "__name__", str(tp))


def _convert(value, tp, where: str):
    """Check ``value`` against the annotation ``tp``; return it converted (ints accepted as floats)."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        errors = []
        for a in inner:
            try:
                return _convert(value, a, where)
            except ParamsError as e:
                errors.append(str(e))
        raise ParamsError(errors[0] if len(errors) == 1 else
                          f"{where}: expected {' or '.join(_type_name(a) for a in inner)}, got {value!r}")
    if origin is Literal:
        if value not in args:
            raise ParamsError(f"{where}: {value!r} is not allowed; expected {_type_name(tp)}")
        return value
    if origin is list:
        if not isinstance(value, list):
            raise ParamsError(f"{where}: expected a list, got {value!r}")
        return [_convert(v, args[0], f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ParamsError(f"{where}: expected a mapping, got {value!r}")
        return {k: _convert(v, args[1], f"{where}.{k}") for k, v in value.items()}
    if dataclasses.is_dataclass(tp):
        return _build(tp, value, where)
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp is float and isinstance(value, str):  # YAML 1.1 reads 2e-5 (no dot) as a string
        try:
            return float(value)
        except ValueError:
            raise ParamsError(f"{where}: expected float, got str {value!r}") from None
    if tp is bool and not isinstance(value, bool) or tp is not bool and isinstance(value, bool):
        raise ParamsError(f"{where}: expected {_type_name(tp)}, got {value!r}")
    if not isinstance(value, tp):
        raise ParamsError(f"{where}: expected {_type_name(tp)}, got {type(value).__name__} {value!r}")
    if tp is str:
        value = _expand_env(value, where)
    return value


def _check_bounds(value, metadata, where: str) -> None:
    """The ``value_range`` and ``length`` of a field's metadata (lists: every element)."""
    if value is None:
        return
    length = metadata.get("length")
    if length is not None and len(value) != length:
        raise ParamsError(f"{where}: expected {length} values, got {len(value)} ({value!r})")
    rng = metadata.get("range")
    if rng is None:
        return
    for i, v in enumerate(value if isinstance(value, list) else [value]):
        at = f"{where}[{i}]" if isinstance(value, list) else where
        lo, hi = rng["low"], rng["high"]
        too_low = lo is not None and (v <= lo if rng["low_open"] else v < lo)
        too_high = hi is not None and (v >= hi if rng["high_open"] else v > hi)
        if too_low or too_high:
            left = "any" if lo is None else ("> " if rng["low_open"] else ">= ") + repr(lo)
            right = "" if hi is None else (" and < " if rng["high_open"] else " and <= ") + repr(hi)
            raise ParamsError(f"{where if at == where else at}: {v!r} is out of range; expected a value {left}{right}")


def _key(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _build(cls, raw, where: str):
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ParamsError(f"{where or 'top level'}: expected a mapping of {cls.__name__} keys, got {raw!r}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in raw:
        if key not in fields:
            raise ParamsError(f"{_key(where, key)}: unknown key; allowed keys: {', '.join(sorted(fields))}")
    values = {k: _convert(v, hints[k], _key(where, k)) for k, v in raw.items()}
    for k, v in values.items():
        _check_bounds(v, fields[k].metadata, _key(where, k))
    for name, f in fields.items():
        if name not in values and isinstance(f.default, str):  # env vars in defaults expand too
            values[name] = _convert(f.default, hints[name], _key(where, name))
    return cls(**values)


def _resolve_paths(obj, root: Path, where: str) -> None:
    for f in dataclasses.fields(obj):
        value, key = getattr(obj, f.name), _key(where, f.name)
        if dataclasses.is_dataclass(value):
            _resolve_paths(value, root, key)
        elif f.metadata.get("path") and value is not None:
            path = (root / value).resolve() if not Path(value).is_absolute() else Path(value)
            if f.metadata["must_exist"]:
                ok = path.is_dir() if f.metadata["kind"] == "folder" else path.is_file()
                if not ok:
                    raise ParamsError(f"{key}: {f.metadata['kind']} {str(path)!r} does not exist")
            setattr(obj, f.name, str(path))


def project_root(params_file: Path) -> Path:
    params_file = Path(params_file).resolve()
    return params_file.parent.parent if params_file.parent.name == "params" else params_file.parent


class _StrictLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a key written twice in one mapping (plain YAML keeps the last one silently)."""

    def construct_mapping(self, node, deep=False):
        seen = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise ParamsError(f"{key_node.start_mark.line + 1}: key {key!r} appears twice in one section "
                                  f"(first at line {seen[key]}); YAML would keep only the last one")
            seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep)


_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def parse_stage_spec(spec: str, where: str = "--stages") -> set[int]:
    """``"03-06"``, ``"04"`` or ``"00,04-06"`` as a set of stage numbers; anything else (empty included) raises."""
    wanted: set[int] = set()
    parts = [part.strip() for part in str(spec).split(",")]
    for part in parts:
        lo, dash, hi = part.partition("-")
        if not lo.isdigit() or (dash and not hi.isdigit()) or (hi and int(hi) < int(lo)):
            raise ParamsError(f"{where} {spec!r}: expected stage numbers like '03-06' or '00,04-06'")
        wanted.update(range(int(lo), int(hi or lo) + 1))
    return wanted


def load_params(path: str | os.PathLike, overrides: dict | None = None) -> Params:
    """Read, validate and resolve a params file. ``overrides`` (nested dict) wins over the file's keys."""
    path = Path(path)
    if not path.is_file():
        raise ParamsError(f"{path}: params file not found")
    try:
        raw = yaml.load(path.read_text(), Loader=_StrictLoader)
    except yaml.YAMLError as e:
        raise ParamsError(f"{path}: not valid YAML: {e}") from None
    except ParamsError as e:
        raise ParamsError(f"{path}:{e}") from None
    if raw is None:  # an empty file would silently mean "every default": a full MATH run
        raise ParamsError(f"{path}: the params file is empty; expected at least a data section "
                          "(e.g. data: {source: embedded})")
    if overrides:
        raw = _merge(raw, overrides)
    try:
        params = _build(Params, raw, "")
        params.name = params.name or path.stem
        if not _NAME.fullmatch(params.name) or params.name in (".", ".."):
            raise ParamsError(f"name: {params.name!r} is not a run name; expected letters, digits, '.', '_' and "
                              f"'-' (it names the folder runs_dir/<name>, so no path)")
        if params.stages is not None:
            parse_stage_spec(params.stages, "stages:")
        # A base model that is a folder of the project (a shipped base) is read from any working directory.
        if params.model.base != "tiny" and (project_root(path) / params.model.base).is_dir():
            params.model.base = str((project_root(path) / params.model.base).resolve())
        if params.data.source == "math" and params.data.data_dir is None:
            params.data.data_dir = os.environ.get("E2H_DATA_DIR")
            if not params.data.data_dir:
                raise ParamsError("data.data_dir: required when data.source is 'math' (or set E2H_DATA_DIR)")
        # Path checks come after the schema so that a typo is reported before a missing folder.
        _resolve_paths(params, project_root(path), "")
    except ParamsError as e:
        raise ParamsError(f"{path}: {e}") from None
    # Where these params came from, so that a job in a process of its own rebuilds the very same ones.
    params.params_file, params.overrides = path.resolve(), overrides
    return params


def _merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out.get(k) or {}, v) if isinstance(v, dict) else v
    return out
