"""The rules of stage 07 that are not rewards: DPO's pairs, ReST-EM's filters and caps, the hard threshold, the
checkpoint choice, and the accuracy table's intervals."""

import math

import numpy as np
import pandas as pd
import pytest
import torch

from e2h.rerank.greedy import accuracy_table, headline
from e2h.training.rl.checkpoint import BestOnVal
from e2h.training.rl.dpo import make_pairs, question_pairs, solution_score
from e2h.training.rl.rest import accepted, choose_threshold
from e2h.training.rl.rollout import Rollout


def test_pairs_need_a_strictly_larger_gap():
    assert make_pairs([2.0, 1.0], gap=1.0) == []           # a gap of exactly 1.0 is not enough
    assert make_pairs([2.0001, 1.0], gap=1.0) == [(0, 1)]
    assert make_pairs([1.0, 2.5], gap=1.0) == [(1, 0)]     # the higher score is the chosen one


def test_at_most_three_pairs_largest_gaps_first_each_rejected_once():
    scores = [3.0, 0.5, 0.4, 0.3, 0.2, 2.9]
    pairs = make_pairs(scores, gap=1.0, max_pairs=3)
    assert len(pairs) == 3
    # gaps > 1: 0 over 4, 3, 2, 1 (2.8, 2.7, 2.6, 2.5) and 5 over them (2.7 ... 2.4); 5 over 4 comes after 0 over 3
    # and 4 is already rejected, so the third pair is 0 over 2
    assert pairs == [(0, 4), (0, 3), (0, 2)]
    assert len({j for _, j in pairs}) == 3                 # no sample rejected twice
    assert all(scores[i] - scores[j] > 1.0 for i, j in pairs)
    gaps = [scores[i] - scores[j] for i, j in pairs]
    assert gaps == sorted(gaps, reverse=True)
    assert len(make_pairs(scores, gap=1.0, max_pairs=10)) <= len(scores)


def test_identical_texts_are_never_paired():
    assert make_pairs([3.0, 0.0], texts=["a", "a"]) == []


def test_solution_score_scales():
    # logit of the min step probability + the final-answer score
    assert solution_score([0.9, 0.5], True) == pytest.approx(0.0 + 1.0)
    assert solution_score([0.8, 0.95], None) == pytest.approx(math.log(0.8 / 0.2))
    assert solution_score([0.8, 0.95], False, scale="probability") == pytest.approx(0.8)
    assert solution_score([], None, scale="probability") == 0.0


def _roll(pid, text="x", finished=True):
    return Rollout(pid, None, [1], [2, 3], text, finished, [1])


def test_hard_questions_pair_under_the_logit_reading_and_never_under_the_probability_one():
    """The ambiguity the issue names: PRM as a probability leaves a hard question (no answer score) without pairs;
    as a logit, a confident and a doubtful solution of a hard question do pair."""
    rolls = [_roll("h", "a"), _roll("h", "b"), _roll("e", "c"), _roll("e", "d")]
    verdicts = [None, None, True, False]
    probs = [[0.95, 0.9], [0.3, 0.6], [0.6], [0.7]]
    cfg = type("C", (), {"prm_scale": "logit", "aggregator": "min", "gap": 1.0, "max_pairs": 3})
    pairs, _ = question_pairs(rolls, verdicts, probs, cfg)
    # hard: logit(0.9) - logit(0.3) = 2.20 + 0.85 = 3.04 > 1; easy: 1 + logit(0.6) - logit(0.7) = 0.56, no pair
    assert pairs == [(0, 1)]
    cfg.prm_scale = "probability"
    pairs, _ = question_pairs(rolls, verdicts, probs, cfg)
    assert pairs == []  # easy: 1.6 - 0.7 = 0.9 is not > 1.0; hard: at most 0.6
    probs[2] = [0.8]
    assert question_pairs(rolls, verdicts, probs, cfg)[0] == [(2, 3)]  # 1.8 - 0.7 > 1: the easy pair only


def test_rest_accepts_right_easy_answers_and_confident_hard_solutions_capped():
    rolls = ([_roll("e", f"t{i}") for i in range(14)] + [_roll("e", "t0")]  # a duplicate of t0
             + [_roll("e", "cut", finished=False)] + [_roll("h", f"h{i}") for i in range(4)])
    verdicts = [True] * 12 + [False, False] + [True] + [True] + [None] * 4
    probs = [[0.1]] * 16 + [[0.9, 0.8], [0.9, 0.5], [0.7], [0.79]]
    keep = accepted(rolls, verdicts, probs, hard_threshold=0.7, max_per_problem=10, seed=0)
    easy = [i for i in keep if rolls[i].problem_id == "e"]
    assert len(easy) == 10 and all(verdicts[i] for i in easy)          # right answers, at most 10 kept
    assert 14 not in keep and 15 not in keep                           # the duplicate and the unfinished one
    assert [i for i in keep if rolls[i].problem_id == "h"] == [16, 18, 19]  # min step >= 0.7; 0.5 is not
    assert accepted(rolls, verdicts, probs, hard_threshold=None, max_per_problem=10, seed=0) == easy
    again = accepted(rolls, verdicts, probs, hard_threshold=0.7, max_per_problem=10, seed=0)
    assert again == keep and accepted(rolls, verdicts, probs, hard_threshold=0.7, max_per_problem=10, seed=1) != keep


def test_the_hard_threshold_is_the_lowest_with_the_wanted_precision():
    scores = [0.95, 0.9, 0.8, 0.7, 0.6, 0.5]
    right = [True, True, True, False, True, False]
    got = choose_threshold(scores, right, min_precision=0.75)
    # accepted at 0.6: 4 right of 5 = 0.8 >= 0.75; at 0.5: 4 of 6 < 0.75
    assert got["threshold"] == 0.6 and got["precision"] == pytest.approx(0.8)
    assert got["accepted_share"] == pytest.approx(5 / 6)
    strict = choose_threshold(scores, right, min_precision=1.0)
    assert strict["threshold"] == 0.8
    none = choose_threshold([0.9, 0.8], [False, False], min_precision=0.9)
    assert none["threshold"] == 0.9 and none["precision"] == 0.0  # none reach it: the highest precision, higher t


class _Scripted(BestOnVal):
    """Accuracies read from a script instead of greedy decoding: the choice rule alone."""

    def __init__(self, script, **kw):
        super().__init__([{"problem": "q", "answer": "1", "split": "val"}], None, max_new_tokens=1, batch_size=1,
                         **kw)
        self.script = list(script)

    def accuracy(self, model):
        return self.script.pop(0)


def test_best_checkpoint_on_val_ties_to_the_earlier_and_is_restored():
    model = torch.nn.Linear(1, 1, bias=False)
    sel = _Scripted([0.5, 0.7, 0.7, 0.6], every=2, total=7)
    for update in range(1, 8):
        with torch.no_grad():
            model.weight.fill_(float(update))
        stop = sel(update, model)
    assert stop and [h["update"] for h in sel.history] == [2, 4, 6, 7]
    assert sel.chosen == {"update": 4, "val_accuracy": 0.7}  # 0.7 at 4 and 6: the earlier
    assert float(model.weight.detach()) == 4.0  # the chosen weights are back in the model


def test_checkpoint_choice_refuses_test_problems():
    with pytest.raises(ValueError, match="test problems"):
        BestOnVal([{"problem": "q", "answer": "1", "split": "test"}], None, every=1, total=1, max_new_tokens=1,
                  batch_size=1)


def _results():
    rng = np.random.default_rng(0)
    rows = []
    levels = [1] * 20 + [4] * 30
    for method, p, seeds in (("sft", 0.3, [0]), ("ppo_prm", 0.6, [0, 1, 2])):
        for s in seeds:
            for i, lv in enumerate(levels):
                rows.append({"method": method, "seed": s, "problem_id": f"q{i}", "level": lv,
                             "correct": bool(rng.random() < p)})
    return pd.DataFrame(rows)


def test_accuracy_table_means_over_seeds_with_paired_problem_bootstrap():
    res = _results()
    table = accuracy_table(res, resamples=400, seed=0)
    hard = table[(table.method == "ppo_prm") & (table.group == "hard")].iloc[0]
    per_seed = [res[(res.method == "ppo_prm") & (res.seed == s) & (res.level == 4)].correct.mean() for s in range(3)]
    assert hard["accuracy"] == pytest.approx(np.mean(per_seed)) and hard["per_seed"] == pytest.approx(per_seed)
    assert hard["lo"] < hard["accuracy"] < hard["hi"] and hard["seeds"] == 3 and hard["problems"] == 30
    sft_hard = res[(res.method == "sft") & (res.level == 4)].correct.mean()
    assert hard["minus_sft"] == pytest.approx(hard["accuracy"] - sft_hard)
    assert hard["minus_sft_lo"] < hard["minus_sft"] < hard["minus_sft_hi"]
    assert set(table.group) == {"all", "easy", "hard", "level 1", "level 4"}
    shown = headline(table)
    assert list(shown.index) == ["sft", "ppo_prm"] and "hard − sft, points" in shown.columns


def test_accuracy_table_refuses_policies_judged_on_other_problems():
    res = _results()
    with pytest.raises(ValueError, match="same test problems"):
        accuracy_table(res[~((res.method == "ppo_prm") & (res.seed == 1) & (res.problem_id == "q3"))])


def test_the_best_iteration_is_kept_and_a_method_without_any_data_says_so(tmp_path):
    import json

    from e2h.training.rl.iterate import RECORD, keep_best
    from e2h.training.rl.records import chosen_row

    folders = []
    for it in (1, 3):  # iteration 2 had no data and trained nothing
        f = tmp_path / f"iter{it}"
        f.mkdir()
        (f / "losses.json").write_text("{}")
        (f / "weights").write_text(str(it))
        folders.append(f)
    its = [{"iteration": 1, "loss": [0.5] * 4, "chosen": {"update": 4, "val_accuracy": 0.7}},
           {"iteration": 3, "loss": [0.4] * 4, "chosen": {"update": 2, "val_accuracy": 0.7}}]
    rec = keep_best(its, folders, tmp_path / "out", {"method": "dpo"})
    assert rec["chosen_iteration"] == 1 and (tmp_path / "out" / "weights").read_text() == "1"  # a tie: the earlier
    assert json.loads((tmp_path / "out" / RECORD).read_text())["chosen_iteration"] == 1
    its[1]["chosen"]["val_accuracy"] = 0.8
    rec = keep_best(its, folders, tmp_path / "out", {"method": "dpo"})
    assert rec["chosen_iteration"] == 3 and (tmp_path / "out" / "weights").read_text() == "3"
    row = chosen_row("dpo", 0, rec)
    assert row["iteration"] == 3 and row["update"] == 4 + 2  # counted from the method's start
    with pytest.raises(ValueError, match="no iteration had data"):
        keep_best([], [], tmp_path / "none", {"method": "rest_em"})


def test_the_easy_to_hard_effect_is_a_paired_difference():
    from e2h.rerank.greedy import paired

    res = _results()
    res = pd.concat([res, res[res.method == "ppo_prm"].assign(method="ppo_outcome", correct=False)])
    table = accuracy_table(res, resamples=200, seed=0)
    d = paired(table, "ppo_prm", "ppo_outcome", ["easy", "hard"])
    hard = table[(table.method == "ppo_prm") & (table.group == "hard")].iloc[0]
    assert d.loc["hard", "ppo_prm − ppo_outcome, points"] == pytest.approx(round(100 * hard["accuracy"], 1))
    assert d.loc["hard", "lo"] <= d.loc["hard", "ppo_prm − ppo_outcome, points"] <= d.loc["hard", "hi"]
    with pytest.raises(ValueError, match="no differences with 'dpo'"):
        paired(table, "ppo_prm", "dpo")
