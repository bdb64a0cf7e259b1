"""Step scores of a sample pool from a reward model: one probability per step (``scores_<rm>`` column).

Two checkpoint formats go through the same interface:
- ``head``: ours, an ``AutoModelForTokenClassification`` with one label (a base LM plus a scalar head);
- ``mean_logits``: the released ``ScalableMath/llemma-7b-{prm,orm,oprm}-prm800k-level-1to3-hf`` models, plain causal
  LMs whose reward at a token is the mean of the logits over the vocabulary. That mean is ``h · mean_v(W_v)`` (+ the
  mean bias), so it is computed as a scalar head built from the LM head's mean row, without the vocabulary-wide
  logits.
Either way the reward is read at each step's read-out token (``e2h.models.spans``) and the step probability is its
sigmoid.
A PRM/OPRM gives one score per step; an ORM one score, read at EOS.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import torch
from e2h.progress import tqdm

from e2h.provenance import digest, model_fingerprint
from e2h.format import format_prompt
from e2h.models.loading import load_tokenizer, resolve_device, resolve_dtype
from e2h.models.spans import encode

Format = Literal["auto", "head", "mean_logits"]
META = "e2h_reward.json"  # written beside our reward models: kind, what it scores, label layout, training data


class RewardScorer:
    """A reward model that turns (problem, solution) pairs into per-step probabilities. Its weights are loaded on
    the first call that needs them, so a run whose score shards are all on disk never loads a 7b model."""

    def __init__(self, name_or_path: str | os.PathLike, *, fmt: Format = "auto", kind: str | None = None,
                 dtype: str = "auto", device: str | None = None):
        from transformers import AutoConfig

        path = str(name_or_path)
        config = AutoConfig.from_pretrained(path)
        archs = config.architectures or []
        if fmt == "auto":
            if any(a.endswith("ForTokenClassification") for a in archs):
                fmt = "head"
            elif any(a.endswith("ForCausalLM") for a in archs):
                fmt = "mean_logits"
            else:
                raise ValueError(f"{path}: architectures {archs} are neither a token-classification reward model "
                                 f"nor a causal LM read through its mean logit; pass fmt explicitly")
        self.fmt, self.path = fmt, path
        self.device = resolve_device(device)
        self.dtype = resolve_dtype(dtype, self.device)
        self.tokenizer = load_tokenizer(path)
        self.kind = kind or _kind_of(path)
        self.max_length = getattr(config, "max_position_embeddings", None)
        # What decides the scores: the model's files, how they are read, the precision.
        self.fingerprint = digest({"model": model_fingerprint(path), "fmt": fmt, "kind": self.kind,
                                   "dtype": str(self.dtype), "max_length": self.max_length})
        self._loaded = None

    def _weights(self):
        """(transformer body, head vector, head bias) on the device, loaded once."""
        if self._loaded is None:
            from transformers import AutoModelForCausalLM, AutoModelForTokenClassification

            cls = AutoModelForTokenClassification if self.fmt == "head" else AutoModelForCausalLM
            model = cls.from_pretrained(self.path, dtype=self.dtype).to(self.device).eval()
            if self.fmt == "head":
                weight, bias = model.score.weight[0].float(), model.score.bias
            else:
                lm_head = model.get_output_embeddings()
                weight, bias = lm_head.weight.float().mean(0), lm_head.bias
            self._loaded = (model.base_model, weight, None if bias is None else bias.float().mean())
        return self._loaded

    @torch.no_grad()
    def rewards_at(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                   positions: list[list[int]]) -> list[list[float]]:
        """Raw rewards (logits) of a right-padded batch at the given token positions of each row."""
        # Right padding under causal attention: no real token sees a pad, so the mask changes nothing at the
        # positions read (a left-padded batch would need it, and is refused).
        if attention_mask is not None and bool((attention_mask[:, 1:] > attention_mask[:, :-1]).any()):
            raise ValueError("rewards_at expects a right-padded batch (ones, then zeros, in every mask row)")
        base, weight, bias = self._weights()
        hidden = base(input_ids=input_ids.to(self.device), use_cache=False).last_hidden_state
        rows = torch.tensor([i for i, ps in enumerate(positions) for _ in ps], device=self.device)
        cols = torch.tensor([p for ps in positions for p in ps], device=self.device)
        r = hidden[rows, cols].float() @ weight
        if bias is not None:
            r = r + bias
        out, flat = [], r.cpu().tolist()
        for ps in positions:
            out.append(flat[:len(ps)])
            flat = flat[len(ps):]
        return out

    def score(self, problems: list[str], solutions: list[str], *, batch_size: int = 16,
              progress: bool = False) -> list[list[float]]:
        """Per-step probabilities for each (problem, solution); an ORM keeps only the last (EOS) one.

        A sequence longer than the model's context is cut: steps whose read-out falls beyond it get no score (and
        the EOS read-out is lost), so their list is shorter than the solution's steps.
        """
        encs = [encode(self.tokenizer, format_prompt(p), s, max_length=self.max_length)
                for p, s in zip(problems, solutions)]
        order = sorted(range(len(encs)), key=lambda i: len(encs[i].input_ids))  # similar lengths share a batch
        result: list[list[float]] = [[] for _ in encs]
        pad = self.tokenizer.pad_token_id
        for b in tqdm(range(0, len(order), batch_size), desc="score", disable=not progress, leave=False):
            idx = order[b:b + batch_size]
            width = max(len(encs[i].input_ids) for i in idx)
            ids = torch.tensor([encs[i].input_ids + [pad] * (width - len(encs[i].input_ids)) for i in idx])
            mask = torch.tensor([[1] * len(encs[i].input_ids) + [0] * (width - len(encs[i].input_ids)) for i in idx])
            # A cut-off or empty solution still gets one score, at its last token.
            pos = [[p for p in encs[i].read_positions if p is not None] or [len(encs[i].input_ids) - 1]
                   for i in idx]
            for i, r in zip(idx, self.rewards_at(ids, mask, pos)):
                probs = torch.sigmoid(torch.tensor(r, dtype=torch.float64)).tolist()
                result[i] = probs[-1:] if self.kind == "orm" else probs
        return result


def _kind_of(path: str) -> str:
    """prm / orm / oprm: what the model scores, from its ``e2h_reward.json``, else from a released model's name
    (``...-orm-...``)."""
    meta = Path(path) / META
    if meta.is_file():
        from e2h.io import read_json

        record = read_json(meta, what="reward model record")
        # An all-levels reference ("prm_all") scores as its plain kind; a record that says what the model scores
        # (written since) decides, one written before (the shipped weights) goes by the kind alone.
        kind = str(record["kind"]).split("_")[0]
        if "scores" in record:
            return "orm" if record["scores"] == "outcome" else ("prm" if kind == "orm" else kind)
        return kind
    name = Path(path).name.lower()
    for kind in ("oprm", "orm", "prm"):
        if f"-{kind}-" in f"-{name}-":
            return kind
    return "prm"


def score_pool(pool, scorer: RewardScorer, name: str, problems: dict[str, str], *, shard_dir: str | os.PathLike,
               shard_size: int = 512, batch_size: int = 16):
    """Add ``scores_<name>`` to ``pool`` (a DataFrame, returned as a copy) from ``scorer``.

    Rows are scored in shards of ``shard_size`` written atomically under ``shard_dir/<name>/<scorer
    fingerprint>/``, so an interrupted scoring run resumes. A shard is reused only when it was computed by the same
    model (the folder) from the same inputs: each shard stores a digest of every row's (problem, solution) text,
    and a shard whose digests differ from the rows at hand (a resampled pool, other problems) is rescored and
    replaced. ``problems`` maps ``problem_id`` to the problem text.
    """
    import pandas as pd

    from e2h.provenance import row_digests
    from e2h.io import write_parquet

    missing = sorted({str(q) for q in pool["problem_id"] if q not in problems})
    if missing:
        raise KeyError(f"score_pool: no problem text for problem_id(s) {missing[:5]} ({len(missing)} in all)")
    folder = Path(shard_dir) / name / scorer.fingerprint
    n_shards = (len(pool) + shard_size - 1) // shard_size
    scores: list = []
    for k in tqdm(range(n_shards), desc=f"score {name}", unit="shard"):
        part = pool.iloc[k * shard_size:(k + 1) * shard_size]
        texts = [problems[q] for q in part["problem_id"]], list(part["text"])
        rows = pd.DataFrame({"problem_id": part["problem_id"].to_numpy(), "sample_idx": part["sample_idx"].to_numpy(),
                             "input_sha": row_digests(*texts)})
        path = folder / f"shard_{k:05d}.parquet"
        if path.is_file():
            done = pd.read_parquet(path)
            if "input_sha" in done.columns and list(done["input_sha"]) == list(rows["input_sha"]):
                scores += list(done["scores"])
                continue
        got = scorer.score(*texts, batch_size=batch_size)
        write_parquet(path, rows.assign(scores=got))
        scores += got
    out = pool.copy()
    out[f"scores_{name}"] = [list(map(float, s)) for s in scores]
    return out
