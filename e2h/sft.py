"""Stage 01: supervised fine-tuning of the policy on easy solutions, loss on solution tokens only.

Data sources (``sft.source``):
- ``math``: MATH reference solutions of the run's training split, cut into sentence-level steps;
- ``prm800k``: PRM800K's chosen paths (the paper's setting): the steps rated > 0; a path whose every step is
  rated > 0 is a whole solution (EOS included), a shorter good prefix is trained without the EOS so the policy
  never learns to stop after it;
- ``metamath``: MetaMathQA responses of easy MATH problems (and GSM8K);
- ``auto``: the embedded task's own solutions when ``data.source`` is ``embedded``, else ``math``.
"""

from __future__ import annotations

from pathlib import Path

from e2h.format import STEP_SEP, format_prompt, format_solution, math_solution_to_steps
from e2h.spans import encode
from e2h.train import IGNORE


def resolve_source(p) -> str:
    if p.sft.source != "auto":
        return p.sft.source
    return "embedded" if p.data.source == "embedded" else "math"


def sft_records(p) -> list[dict]:
    """Training solutions as ``{"problem", "solution", "eos"}`` (solution = text after the prompt)."""
    from e2h.data.splits import load_split

    source, levels = resolve_source(p), set(p.sft.levels)
    if source in ("embedded", "math"):
        out = []
        for r in load_split(p.run_dir, "train"):
            if r.get("level") not in levels:
                continue
            if source == "embedded":
                out.append({"problem": r["problem"], "solution": r["solution"], "eos": True})
                continue
            steps, answer = math_solution_to_steps(r["solution"])
            if steps and answer is not None:
                out.append({"problem": r["problem"], "solution": format_solution(steps, answer), "eos": True})
        return out
    if not p.sft.source_files:
        raise ValueError(f"sft.source {source!r} needs sft.source_files (the downloaded data files)")
    data_dir = _data_dir(p)
    if source == "prm800k":
        from e2h.data.prm800k import load_prm800k_train

        out = []
        for r in load_prm800k_train(p.sft.source_files, data_dir, levels=sorted(levels)):
            good = r["sft_steps"]
            if not good:
                continue
            whole = len(good) == len(r["steps"])
            out.append({"problem": r["problem"], "solution": STEP_SEP.join(good) + ("" if whole else STEP_SEP),
                        "eos": whole})
        return out
    if source == "metamath":
        from e2h.data.metamath import load_metamath_easy

        return [{"problem": r["problem"], "solution": format_solution(r["steps"], r["answer"]), "eos": True}
                for f in p.sft.source_files for r in load_metamath_easy(f, data_dir, levels=sorted(levels))]
    raise ValueError(f"sft.source {source!r}: expected auto, math, prm800k or metamath")


def _data_dir(p) -> str:
    import os

    d = p.data.data_dir or os.environ.get("E2H_DATA_DIR")
    if not d:
        raise ValueError("data.data_dir (or $E2H_DATA_DIR) is needed to filter the training data against MATH")
    return d


def sft_example(tokenizer, record: dict, max_length: int | None = None) -> dict:
    """Token ids and next-token targets: the solution's tokens (and EOS) are targets, the prompt's are not."""
    enc = encode(tokenizer, format_prompt(record["problem"]), record["solution"], eos=record.get("eos", True),
                 max_length=max_length)
    return {"input_ids": enc.input_ids,
            "labels": [t if m else IGNORE for t, m in zip(enc.input_ids, enc.solution_mask)]}


BASE_META = "e2h_base.json"  # what a tiny base was built from: its settings and the texts of its tokenizer


def base_settings(p) -> dict:
    """Everything that decides the tiny base besides its texts: the seed, the model section and, when it is
    pretrained, the training settings pretraining takes from the sft section."""
    import dataclasses

    from e2h.pretrain import pretrain_config

    cfg = pretrain_config(p) if p.model.tiny_pretrain_docs else None
    return {"seed": p.seed, "task_width": p.data.task_width, "model": dataclasses.asdict(p.model),
            "pretrain": dataclasses.asdict(cfg) if cfg else None}


def base_model_path(p, texts: list[str] | None = None) -> str:
    """``model.base``, or for ``tiny`` the run's tiny Llama at ``<run_dir>/base``, built from ``texts`` (and
    pretrained on arithmetic facts when ``model.tiny_pretrain_docs`` asks, ``e2h.pretrain``).

    An existing base is reused only if it was built from the same settings (and, when ``texts`` are given, the
    same texts); otherwise it is rebuilt, or, without texts to rebuild it from (stage 03), refused.
    """
    from e2h.fingerprint import digest
    from e2h.io import atomic_dir, read_json, write_json

    if p.model.base != "tiny":
        return p.model.base
    path = Path(p.run_dir) / "base"
    want = {"settings": digest(base_settings(p)), "texts": digest(texts) if texts else None}
    if (path / "config.json").is_file():
        have = read_json(path / BASE_META, what="base record") if (path / BASE_META).is_file() else None
        if have is None and texts is None:
            return str(path)  # built before bases recorded their settings: nothing to compare
        if have is not None and (have == want or (texts is None and have["settings"] == want["settings"])):
            return str(path)
    if not texts:
        raise FileNotFoundError(f"{path}: no tiny base built for these params; stage 01 builds it from the "
                                "training text (run notebooks/01_sft)")
    with atomic_dir(path, marker="config.json") as tmp:
        if p.model.tiny_pretrain_docs:
            from e2h.pretrain import pretrain_tiny_base

            pretrain_tiny_base(p, texts, tmp)
        else:
            make_tiny_base(p, texts, tmp)
        write_json(tmp / BASE_META, want)
    return str(path)


def make_tiny_base(p, texts: list[str], out_dir: str | Path) -> Path:
    """A random tiny Llama shaped by ``model.tiny_*``, with a tokenizer trained on ``texts``."""
    from e2h.models import make_tiny_model

    m = p.model
    return make_tiny_model(out_dir, texts, hidden_size=m.tiny_hidden_size, num_layers=m.tiny_layers,
                           num_heads=m.tiny_heads, vocab_size=m.tiny_vocab_size, seed=p.seed,
                           max_position_embeddings=m.tiny_max_positions, split_digits=m.tiny_split_digits)


def train_sft(p, *, out_dir: str | Path | None = None, accelerator=None) -> Path:
    """Train the policy from ``model.base`` on ``sft_records(p)``; writes ``<run_dir>/sft`` (HF folder with
    ``losses.json`` and ``loss_curve.png``) and returns its path."""
    from e2h.models import load_model
    from e2h.train import make_accelerator, train

    acc = accelerator or make_accelerator(p.sft)
    records = sft_records(p)
    if not records:
        raise ValueError(f"no SFT data: source {resolve_source(p)!r} at levels {p.sft.levels} gave no solutions")
    with acc.main_process_first():  # one process builds a tiny base model, the others then read it
        base = base_model_path(p, [format_prompt(r["problem"]) + r["solution"] for r in records])
    # Loaded on the CPU: accelerate moves (or, under FSDP, shards) it onto the devices.
    model, tok = load_model(base, dtype=p.sft.dtype, device="cpu")
    examples = [sft_example(tok, r, p.sft.max_length) for r in records]
    out = Path(out_dir or Path(p.run_dir) / "sft")
    selection = EasyValSelector(p, tok) if p.sft.select_target is not None else None
    train(model, tok, examples, p.sft, out, kind="lm", desc="SFT", accelerator=acc,
          callback=selection, callback_every=p.sft.select_every,
          extra_json={"e2h_train.json": {"stage": "sft", "source": resolve_source(p), "base": base,
                                         "examples": len(examples), "params_digest": p.digest(),
                                         "selection": selection.history if selection else None}})
    return out



class EasyValSelector:
    """Training callback: greedy accuracy on the easy validation problems; stop once it reaches
    ``sft.select_target``. A fully trained policy solves every level of the embedded task, leaving nothing to
    re-rank, so the policy is the first checkpoint that is good enough *on easy problems*; choosing it on hard
    ones would leak the evaluation into training. When that checkpoint overshoots the target by more than the one
    before it falls short, the one before is kept (its weights are held in memory between checks)."""

    def __init__(self, p, tokenizer):
        from e2h.data.splits import EASY_LEVELS, load_split
        from e2h.sampling.base import SamplingConfig

        easy = [r for r in load_split(p.run_dir, "val") if r.get("level") in EASY_LEVELS]
        if not easy:
            raise ValueError(f"sft.select_target needs level 1-3 problems in {p.run_dir}/data/val.jsonl")
        self.problems, self.tokenizer, self.target = easy, tokenizer, p.sft.select_target
        self.config = SamplingConfig(n=1, temperature=0.0, max_new_tokens=p.sft.eval_max_new_tokens,
                                     batch_size=max(p.sample.batch_size, 1))
        self.history: list[dict] = []
        self._before: tuple[float, dict] | None = None  # the last checkpoint below the target: accuracy, weights

    def __call__(self, step: int, model) -> bool:
        from e2h.format import format_prompt
        from e2h.grading import extract_answer, grade_many
        from e2h.sampling.hf import HFSampler

        sampler = HFSampler.from_loaded(model, self.tokenizer)
        prompts = [format_prompt(r["problem"]) for r in self.problems]
        samples = sampler.generate(prompts, self.config, seeds=[0] * len(prompts))
        answers = [extract_answer(s[0].text) for s in samples]
        accuracy = sum(grade_many(answers, [r["answer"] for r in self.problems], progress=False)) / len(answers)
        self.tokenizer.padding_side = "right"  # the sampler switched it to left; training pads right
        self.history.append({"step": step, "easy_val_accuracy": accuracy})
        print(f"step {step}: greedy accuracy on {len(answers)} easy val problems {accuracy:.3f}", flush=True)
        if accuracy < self.target:
            self._before = (accuracy, {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()})
            return False
        # The curve can jump over the target between two checks (0.41 -> 0.92 in one seed): keep whichever of this
        # checkpoint and the one before it is nearer the target, so the policy is not a fully trained one.
        if self._before is not None and self.target - self._before[0] < accuracy - self.target:
            model.load_state_dict(self._before[1])
            self.history.append({"step": self.history[-2]["step"], "easy_val_accuracy": self._before[0],
                                 "kept": True})
            print(f"kept step {self.history[-1]['step']} instead: {self._before[0]:.3f} is nearer "
                  f"{self.target}", flush=True)
        return True


def greedy_eval(p, split: str = "val", *, progress: bool = True):
    """Greedy accuracy of the run's policy on a split: one greedy sample per problem through ``e2h.sampling``,
    graded, written to ``<run_dir>/sft_eval/<split>_greedy.parquet`` (pool schema) and returned.
    ``sft.eval_max_problems`` keeps a seeded subset."""
    import dataclasses
    import random

    from e2h.data.splits import load_split
    from e2h.sampling import sample_pool

    problems = load_split(p.run_dir, split)
    cap = p.sft.eval_max_problems
    if cap is not None and cap < len(problems):
        problems = random.Random(p.seed).sample(problems, cap)
    greedy = dataclasses.replace(p.sample, n=1, temperature=0.0, top_k=0, top_p=1.0,
                                 max_new_tokens=p.sft.eval_max_new_tokens)
    return sample_pool(problems, Path(p.run_dir) / "sft", greedy,
                       Path(p.run_dir) / "sft_eval" / f"{split}_greedy.parquet", split=split, progress=progress)
