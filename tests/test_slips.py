"""Slip kinds of the embedded task and the per-slip AUROC and checker-vote diagnostics."""

import pandas as pd
import pytest

from e2h.slips import checker_vote, first_slip, reads_through, slip_auroc

PROBLEM = "Compute 20 - 3 - 12 - 1 - 2."
RIGHT = "20 - 3 = 17\n\n17 - 12 = 5\n\n5 - 1 = 4\n\n4 - 2 = 2\n\n# Answer\n\n2"


@pytest.mark.parametrize("solution, slip", [
    (RIGHT, None),
    ("20 - 3 = 17\n\n17 - 13 = 4\n\n4 - 1 = 3\n\n3 - 2 = 1\n\n# Answer\n\n1", (1, "subtrahend")),
    ("20 - 3 = 17\n\n17 - 12 = 6\n\n6 - 1 = 5\n\n5 - 2 = 3\n\n# Answer\n\n3", (1, "result")),
    ("20 - 3 = 17\n\n18 - 12 = 6\n\n6 - 1 = 5\n\n5 - 2 = 3\n\n# Answer\n\n3", (1, "running")),
    ("20 - 3 = 17\n\n17 - 12 = 5\n\n5 - 1 = 4\n\n# Answer\n\n4", (2, "form")),  # answers before the end
    ("20 - 3 = 17\n\n17 - 12 = 5\n\n5 - 1 = 4\n\n4 - 2 = 2\n\n# Answer\n\n3", (3, "form")),
    ("twenty", (0, "form")),
])
def test_first_slip(solution, slip):
    assert first_slip(PROBLEM, solution) == slip
    # the arithmetic-blind reader passes the right chain and the result slip (its later steps follow what was
    # written), and nothing else
    assert reads_through(PROBLEM, solution) == (slip in (None, (1, "result")))


def _pool(rows):
    return pd.DataFrame([{"problem_id": "p", "sample_idx": i, "level": 4, "text": t, "answer_key": t[-1],
                          "correct": t[-1] == "2", "scores_x": s} for i, (t, s) in enumerate(rows)])


def test_slip_auroc_sees_what_the_scores_separate_at_the_same_step():
    copy_slip = "20 - 3 = 17\n\n17 - 13 = 4\n\n4 - 1 = 3\n\n3 - 2 = 1\n\n# Answer\n\n1"
    fact_slip = "20 - 3 = 17\n\n17 - 12 = 6\n\n6 - 1 = 5\n\n5 - 2 = 3\n\n# Answer\n\n3"
    # The scorer catches the copying slip (0.1 at step 1) but rates the arithmetic slip like right steps.
    pool = _pool([(RIGHT, [0.9, 0.8, 0.9, 0.9]), (RIGHT, [0.9, 0.7, 0.9, 0.9]),
                  (copy_slip, [0.9, 0.1]), (fact_slip, [0.9, 0.75])])
    table = slip_auroc(pool, "scores_x", {"p": PROBLEM}).set_index(["group", "slip"])
    assert table.loc[("hard", "subtrahend"), "auroc"] == 1.0 and table.loc[("hard", "subtrahend"), "pairs"] == 1
    assert table.loc[("hard", "result"), "auroc"] == 0.5
    assert table.loc[("easy", "result"), "pairs"] == 0


def test_checker_vote_counts_only_samples_whose_steps_are_all_right():
    wrong = "20 - 3 = 17\n\n17 - 12 = 6\n\n6 - 1 = 5\n\n5 - 2 = 3\n\n# Answer\n\n3"
    pool = _pool([(RIGHT, [1.0])] + [(wrong, [1.0])] * 3)  # majority picks 3, the checker's vote picks 2
    row = checker_vote(pool, {"p": PROBLEM}).set_index("group").loc["hard"]
    assert row.problems == 1 and row.majority == 0.0 and row.checker_weighted == 100.0
    assert row.reader_weighted == 0.0  # the result slip reads through: 3 samples against 1
    copy_slip = "20 - 3 = 17\n\n17 - 13 = 4\n\n4 - 1 = 3\n\n3 - 2 = 1\n\n# Answer\n\n1"
    pool = _pool([(RIGHT, [1.0])] + [(copy_slip, [1.0])] * 3)
    assert checker_vote(pool, {"p": PROBLEM}).set_index("group").loc["hard"].reader_weighted == 100.0


def test_a_pool_problem_without_its_text_is_named():
    with pytest.raises(KeyError, match="no problem text for problem_id"):
        checker_vote(_pool([(RIGHT, [1.0])]), {})
