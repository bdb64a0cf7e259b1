"""Checkpoint selection during training: stop at the first checkpoint whose greedy accuracy reaches a target.

A fully trained policy solves every level of the embedded task, leaving nothing to re-rank, so the policy is the
first checkpoint that is good enough on the problems it is judged on; stage 01 passes the *easy* validation
problems only, since choosing on hard ones would leak the evaluation into training.
"""

from __future__ import annotations


class TargetSelector:
    """Training callback (``e2h.training.loop.train(callback=...)``): greedy accuracy on ``problems`` (records with
    ``problem`` and ``answer``); stop once it reaches ``target``. When that checkpoint overshoots the target by
    more than the one before it falls short, the one before is kept (its weights are held in memory between
    checks)."""

    def __init__(self, problems: list[dict], tokenizer, target: float, *, max_new_tokens: int, batch_size: int,
                 what: str = "easy val"):
        from e2h.sampling.base import SamplingConfig

        if not problems:
            raise ValueError("checkpoint selection needs problems to judge checkpoints on")
        self.problems, self.tokenizer, self.target, self.what = problems, tokenizer, target, what
        self.config = SamplingConfig(n=1, temperature=0.0, max_new_tokens=max_new_tokens, batch_size=batch_size)
        self.history: list[dict] = []
        self._before: tuple[float, dict] | None = None  # the last checkpoint below the target: accuracy, weights

    def accuracy(self, model) -> float:
        """Greedy accuracy of ``model`` on the problems."""
        from e2h.format import format_prompt
        from e2h.grading import extract_answer, grade_many
        from e2h.sampling.hf import HFSampler

        sampler = HFSampler.from_loaded(model, self.tokenizer)
        prompts = [format_prompt(r["problem"]) for r in self.problems]
        samples = sampler.generate(prompts, self.config, seeds=[0] * len(prompts))
        answers = [extract_answer(s[0].text) for s in samples]
        self.tokenizer.padding_side = "right"  # the sampler switched it to left; training pads right
        return sum(grade_many(answers, [r["answer"] for r in self.problems], progress=False)) / len(answers)

    def __call__(self, step: int, model) -> bool:
        accuracy = self.accuracy(model)
        self.history.append({"step": step, "easy_val_accuracy": accuracy})
        print(f"step {step}: greedy accuracy on {len(self.problems)} {self.what} problems {accuracy:.3f}", flush=True)
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
