"""The pool contract: validation names what is wrong, writes are atomic, equivalent answers share a key."""

import numpy as np
import pandas as pd
import pytest

from e2h.pool import PoolError, add_answer_keys, read_pool, reward_models, score_columns, validate_pool, write_pool


def make_pool(**over) -> pd.DataFrame:
    df = pd.DataFrame({
        "problem_id": ["a", "a", "b"], "level": [1, 1, 4], "split": "test", "sample_idx": [0, 1, 0],
        "text": ["s1\n\n# Answer\n\n2", "s2", "s3"], "answer": ["2", None, "5"], "correct": [True, False, False],
        "answer_key": ["2", None, "5"],
        "scores_prm": [[0.9, 0.8], [0.5], [0.1, 0.2, 0.3]], "scores_orm": [[0.7], [0.2], [0.4]],
    })
    for k, v in over.items():
        df[k] = v
    return df


def test_a_good_pool_passes_and_lists_its_reward_models():
    df = make_pool()
    assert validate_pool(df) is df
    assert score_columns(df) == ["scores_prm", "scores_orm"] and reward_models(df) == ["prm", "orm"]


@pytest.mark.parametrize("change, message", [
    (lambda d: d.drop(columns=["correct"]), "missing column(s) correct"),
    (lambda d: d.assign(scores_prm=[[0.9], [], [0.1]]),
     "row 1 (problem_id='a', sample_idx=1): scores_prm is an empty"),
    (lambda d: d.assign(scores_prm=[[0.9], [0.5], [0.1, np.nan]]),
     "row 2 (problem_id='b', sample_idx=0): scores_prm has a NaN at step 1"),
    (lambda d: d.assign(scores_orm=[[0.7], [1.5], [0.4]]), "scores_orm has 1.5, outside [0, 1], at step 0"),
    (lambda d: d.assign(sample_idx=[0, 0, 0]),
     "row 1 (problem_id='a', sample_idx=0): duplicated (problem_id, sample_idx)"),
    (lambda d: d.assign(answer_key=["2", "x", "5"]), "answer_key must be null exactly when answer is null"),
    (lambda d: d.assign(correct=[True, True, False]), "correct is True but the sample has no answer"),
    (lambda d: d.assign(level=[1, 1.5, 4]), "level 1.5 is not an integer"),
    (lambda d: d.assign(correct=[1, 0, 0]), "correct has dtype int64; expected bool"),
    (lambda d: d.assign(step_labels=[[1, 1], [2], [0, 0, -1]]),
     "row 1 (problem_id='a', sample_idx=1): step_labels holds 2;"),
])
def test_bad_pools_are_refused_with_the_row_and_column(change, message):
    with pytest.raises(PoolError) as err:
        validate_pool(change(make_pool()), "pool.parquet")
    assert message in str(err.value) and str(err.value).startswith("pool.parquet")


def test_null_levels_are_allowed():
    validate_pool(make_pool(level=pd.array([1, 1, None], dtype="Int64")))


def test_write_then_read_round_trips_and_leaves_no_temporary_files(tmp_path):
    path = tmp_path / "pool" / "scored.parquet"
    write_pool(make_pool(), path)
    back = read_pool(path)
    assert list(back["scores_prm"].map(list)) == [[0.9, 0.8], [0.5], [0.1, 0.2, 0.3]]
    assert back["answer"][0] == "2" and pd.isna(back["answer"][1]) and back["answer"][2] == "5"
    assert [p.name for p in path.parent.iterdir()] == ["scored.parquet"]
    with pytest.raises(PoolError, match="empty step list"):
        write_pool(make_pool(scores_prm=[[0.9], [], [0.1]]), tmp_path / "bad.parquet")
    assert not (tmp_path / "bad.parquet").exists()
    with pytest.raises(PoolError, match="pool file not found"):
        read_pool(tmp_path / "missing.parquet")


def test_answers_the_grader_holds_equal_share_a_key():
    # "x+1" and "1+x" normalize differently; the grader says they are the same (wrong) answer.
    df = pd.DataFrame({"problem_id": "p", "level": 3, "split": "test", "sample_idx": range(6), "text": "",
                       "answer": ["x+1", "1+x", "x+1", "2x", "\\frac{1}{2}", None],
                       "correct": [False, False, False, False, True, False]})
    keyed = add_answer_keys(df, progress=False)
    keys = keyed["answer_key"].tolist()
    assert keys[0] == keys[1] == keys[2] != keys[3] and keys[3] != keys[4] and keys[5] is None
    plain = add_answer_keys(df, equivalence=False, progress=False)["answer_key"].tolist()
    assert plain[0] != plain[1]  # normalized strings only
    validate_pool(keyed)


def test_correct_answers_vote_together_even_when_written_differently():
    df = pd.DataFrame({"problem_id": "p", "level": 1, "split": "test", "sample_idx": range(4), "text": "",
                       "answer": ["0.5", "1/2", "2", "2"], "correct": [True, True, False, False]})
    keys = add_answer_keys(df, equivalence=False, progress=False)["answer_key"].tolist()
    assert keys[0] == keys[1] and keys[2] == keys[3] and keys[0] != keys[2]


def _spelled_pool() -> pd.DataFrame:
    answers = ["2\\sqrt{2}", "\\sqrt{8}", "\\sqrt{8}", "\\frac{1}{2}", "0.5", "\\frac{2}{4}", "2^{-1}", "7", "7", None,
               "(x+1)^2", "x^2+2x+1"]
    return pd.DataFrame({"problem_id": "p", "level": 5, "split": "test", "sample_idx": range(len(answers)),
                         "text": "", "answer": answers, "correct": [a == "7" for a in answers]})


def test_answer_keys_follow_the_grader_most_frequent_first():
    report = {}
    keyed = add_answer_keys(_spelled_pool(), progress=False, report=report)
    keys = dict(zip(keyed["answer"], keyed["answer_key"]))
    assert keys["2\\sqrt{2}"] == keys["\\sqrt{8}"] == "\\sqrt{8}"  # \sqrt{8} is the more frequent spelling
    assert keys["0.5"] == keys["\\frac{1}{2}"] == keys["2^{-1}"] == "\\frac{1}{2}"  # 0.5 and 1/2: one normal form
    assert keys["\\frac{2}{4}"] == "\\frac{2}{4}"  # unreduced: not 1/2's answer (nor 2^{-1}'s, which joined 1/2)
    assert keys["(x+1)^2"] == keys["x^2+2x+1"] and keys["7"] == "7" and keyed["answer_key"][9] is None
    assert report == {"answers": 7, "keyless": 0, "calls": report["calls"], "unmerged": 0, "problems_at_bound": 0}
    assert report["calls"] <= 4  # keys leave a handful of grader calls out of 7 * 6 / 2


def test_answer_keys_at_the_bound_warn_and_count_what_is_left():
    report = {}
    with pytest.warns(RuntimeWarning, match="left unmerged at the bound of 1 grader calls"):
        keyed = add_answer_keys(_spelled_pool(), progress=False, max_calls=1, report=report)
    assert report["unmerged"] >= 1 and report["problems_at_bound"] == 1
    validate_pool(keyed)
