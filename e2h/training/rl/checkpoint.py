"""The RL checkpoint rule: the best checkpoint by greedy accuracy on the *easy* validation problems.

The paper keeps the PPO checkpoint with the best validation accuracy over every level of its validation set; here
only levels 1-3 are looked at (stricter: hard answers stay unread until the test), and the caller passes those
problems, never test ones. Candidates are the checkpoints *after* training began (every ``every`` updates and the
last one): a method whose every checkpoint is worse than the start reports the best of them, not the start. Ties
go to the earlier checkpoint (fewer updates away from the SFT policy).
"""

from __future__ import annotations


class BestOnVal:
    """A training callback (``e2h.training.loop.train(callback=..., callback_every=1)``) and a PPO hook: greedy
    accuracy on ``problems`` every ``every`` updates and at update ``total``; the best weights are held in memory
    and loaded back into the model at the last update (``restore``)."""

    def __init__(self, problems: list[dict], tokenizer, *, every: int, total: int, max_new_tokens: int,
                 batch_size: int, offset: int = 0, what: str = "easy val"):
        if not problems:
            raise ValueError("checkpoint choice needs validation problems to judge checkpoints on")
        if any(r.get("split", "val") == "test" for r in problems):
            raise ValueError("checkpoint choice was handed test problems; it reads validation problems only")
        self.problems, self.tokenizer, self.what = problems, tokenizer, what
        self.every, self.total, self.offset = max(1, every), total, offset
        self.max_new_tokens, self.batch_size = max_new_tokens, batch_size
        self.history: list[dict] = []
        self.best: tuple[float, int, dict] | None = None  # accuracy, update, weights

    def accuracy(self, model) -> float:
        from e2h.grading import extract_answer, grade_many
        from e2h.training.rl.rollout import generate

        outs = generate(model, self.tokenizer, self.problems, temperature=0.0, max_new_tokens=self.max_new_tokens,
                        batch_size=self.batch_size, seed=0)
        verdicts = grade_many([extract_answer(o.text) for o in outs], [r["answer"] for r in self.problems],
                              progress=False)
        return sum(map(bool, verdicts)) / len(outs)

    def due(self, update: int) -> bool:
        return update % self.every == 0 or update == self.total

    def check(self, update: int, model) -> float:
        acc = self.accuracy(model)
        self.history.append({"update": self.offset + update, "val_accuracy": acc})
        if self.best is None or acc > self.best[0]:
            self.best = (acc, self.offset + update,
                         {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()})
        print(f"update {self.offset + update}: greedy accuracy on {len(self.problems)} {self.what} problems "
              f"{acc:.3f} (best {self.best[0]:.3f} at {self.best[1]})", flush=True)
        return acc

    def restore(self, model) -> None:
        if self.best is not None:
            model.load_state_dict(self.best[2])

    def __call__(self, update: int, model) -> bool:
        if self.due(update):
            self.check(update, model)
        if update >= self.total:
            self.restore(model)
            return True
        return False

    @property
    def chosen(self) -> dict:
        return {"update": self.best[1], "val_accuracy": self.best[0]} if self.best else {}
