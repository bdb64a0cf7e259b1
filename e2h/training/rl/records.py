"""Reading back what an RL method wrote beside its policy (``losses.json``, ``e2h_rl.json``): training curves in
one long format, and the checkpoint each method chose. Plain JSON handling, no torch."""

from __future__ import annotations


def curve_rows(method: str, seed: int, rec: dict, losses: dict) -> list[dict]:
    """Rows ``method, seed, iteration, update, metric, value``; ``update`` counts optimizer updates from the
    method's start (PPO: steps x updates per step; ReST-EM and DPO iterations end to end)."""
    def row(it, update, metric, value):
        return {"method": method, "seed": seed, "iteration": it, "update": update, "metric": metric, "value": value}

    out = []
    if "updates_per_step" in rec:  # PPO
        k = rec["updates_per_step"]
        for metric in ("reward", "kl", "value_loss", "loss", "train_accuracy"):
            out += [row(1, s * k, metric, v) for s, v in zip(losses["step"], losses[metric]) if v is not None]
        return out + [row(1, h["update"] * k, "val_accuracy", h["val_accuracy"]) for h in rec["history"]]
    iterations = rec.get("iterations") or [{"iteration": 1, "loss": losses["loss"], "history": rec["history"]}]
    offset = 0
    for it in iterations:
        out += [row(it["iteration"], offset + i + 1, "loss", v) for i, v in enumerate(it["loss"])]
        out += [row(it["iteration"], offset + h["update"], "val_accuracy", h["val_accuracy"]) for h in it["history"]]
        offset += len(it["loss"])
    return out


def chosen_row(method: str, seed: int, rec: dict) -> dict:
    """The checkpoint a method kept: its update (in optimizer updates), easy-val accuracy, iteration, and what
    the iterations trained on (accepted solutions, pairs: one number per iteration)."""
    its = rec.get("iterations")
    k = [i["iteration"] for i in its].index(rec["chosen_iteration"]) if its else 0  # skipped iterations are absent
    chosen = its[k]["chosen"] if its else rec["chosen"]
    offset = sum(len(i["loss"]) for i in its[:k]) if its else 0
    row = {"method": method, "seed": seed, "easy val accuracy": chosen["val_accuracy"],
           "update": offset + chosen["update"] * rec.get("updates_per_step", 1),
           "iteration": rec.get("chosen_iteration")}
    for key in ("accepted_easy", "accepted_hard", "pairs_easy", "pairs_hard"):
        if its and key in its[0]:
            row[key] = "/".join(str(i[key]) for i in its)
    if rec.get("hard_threshold") is not None:
        row["hard threshold"] = round(rec["hard_threshold"], 3)
    return row
