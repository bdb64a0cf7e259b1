import json
from collections import Counter

import pytest
import yaml

from e2h.data import (DataFormatError, DataLeakError, assert_no_test_leak, filter_levels, is_easy,
                      is_hard, math_splits, parse_level, read_math500, read_math_all, read_math_dir,
                      read_math_jsonl)
from e2h.stages.s00_data import build_splits, load_split
from e2h.format import last_boxed
from e2h.params import load_params

MATH500_LEVELS = {1: 43, 2: 90, 3: 105, 4: 128, 5: 134}


def strata(records):
    return Counter((r["subject"], r["level"]) for r in records)


@pytest.fixture(scope="module")
def splits(data_dir):
    return math_splits(data_dir, seed=0)


# --- levels and the leak guard -----------------------------------------------------------------------------------

def test_levels():
    assert parse_level("Level 3", "x") == 3 and parse_level(5, "x") == 5 and parse_level("Level ?", "x") is None
    with pytest.raises(DataFormatError, match="f.json:1: level 'Level 9'"):
        parse_level("Level 9", "f.json:1")
    assert [is_easy(v) for v in (1, 3, 4, None)] == [True, True, False, False]
    assert [is_hard(v) for v in (3, 4, 5, None)] == [False, True, True, False]
    recs = [{"level": v} for v in (1, 2, 4, None, 5)]
    assert filter_levels(recs, (4, 5)) == [{"level": 4}, {"level": 5}]


def test_leak_guard_names_leaks_by_id_and_by_text():
    test = [{"unique_id": "test/a/1.json", "problem": "What is  $1+1$?"},
            {"unique_id": "test/a/2.json", "problem": "Find $x$."}]
    assert_no_test_leak([{"unique_id": "train/a/1.json", "problem": "Other."}], test)
    with pytest.raises(DataLeakError, match="test/a/1.json"):
        assert_no_test_leak([{"unique_id": "test/a/1.json", "problem": "reworded"}], test)
    # Same text up to whitespace, no unique_id (a PRM800K record): caught and named.
    with pytest.raises(DataLeakError, match=r"1 test problems leaked into the PRM set: test/a/2.json"):
        assert_no_test_leak([{"problem": "Find\n$x$. "}], test, "PRM set")


# --- readers on small files --------------------------------------------------------------------------------------

def _write_math_tree(root, files):
    for rel, obj in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(obj if isinstance(obj, str) else json.dumps(obj))


def test_read_math_dir_small(tmp_path):
    _write_math_tree(tmp_path, {
        "train/algebra/0.json": {"problem": "P0", "level": "Level 2", "type": "Algebra", "solution": "$\\boxed{4}$"},
        "train/geometry/1.json": {"problem": "P1", "level": "Level ?", "type": "Geometry", "solution": "no box"},
        "test/algebra/5.json": {"problem": "P5", "level": "Level 5", "type": "Algebra", "solution": "\\boxed{x}"},
    })
    recs = read_math_dir(tmp_path)
    assert [r["unique_id"] for r in recs] == ["test/algebra/5.json", "train/algebra/0.json", "train/geometry/1.json"]
    assert recs[1] == {"unique_id": "train/algebra/0.json", "problem": "P0", "solution": "$\\boxed{4}$",
                       "answer": "4", "level": 2, "subject": "Algebra"}
    assert recs[2]["level"] is None and recs[2]["answer"] is None


def test_read_math_dir_errors_name_the_file(tmp_path):
    _write_math_tree(tmp_path, {"train/algebra/0.json": '{"problem": "P", "level": "Level 1",\n "type": }',
                                "test/algebra/0.json": {"problem": "P", "level": "Level 1", "solution": "s"}})
    with pytest.raises(DataFormatError, match=r"train/algebra/0.json:1: not valid JSON.*noticed at line 2"):
        read_math_dir(tmp_path, splits=("train",))
    with pytest.raises(DataFormatError, match=r"test/algebra/0.json:1: missing key 'type'"):
        read_math_dir(tmp_path, splits=("test",))
    with pytest.raises(FileNotFoundError, match="original layout"):
        read_math_dir(tmp_path / "nowhere")


def test_read_math_jsonl_small(tmp_path):
    path = tmp_path / "hf.jsonl"
    rows = [{"problem": "A", "level": "Level 1", "type": "Algebra", "solution": "\\boxed{1}"},
            {"problem": "B", "level": 4, "subject": "Geometry", "solution": "\\boxed{2}", "answer": "two",
             "unique_id": "test/geometry/9.json"}]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    with pytest.warns(UserWarning, match="1 records keep an 'answer'"):
        recs = read_math_jsonl(path)
    assert recs[0]["unique_id"] == "hf.jsonl:1" and recs[0]["answer"] == "1" and recs[0]["level"] == 1
    assert recs[1]["unique_id"] == "test/geometry/9.json" and recs[1]["answer"] == "two"
    path.write_text(json.dumps(rows[0]) + "\n{not json\n")
    with pytest.raises(DataFormatError, match=r"hf.jsonl:2: not valid JSON"):
        read_math_jsonl(path)


# --- the real files ----------------------------------------------------------------------------------------------

def test_real_math_and_math500(data_dir):
    everything = read_math_all(data_dir)
    assert len(everything) == 12500
    assert Counter(r["unique_id"].split("/")[0] for r in everything) == {"train": 7500, "test": 5000}
    assert sorted(r["unique_id"] for r in everything if r["level"] is None) == \
        ["train/geometry/377.json", "train/geometry/471.json"]
    no_box = [r["unique_id"] for r in everything if r["answer"] is None]
    assert no_box == [r["unique_id"] for r in everything if last_boxed(r["solution"]) is None]
    assert len(no_box) == 0  # measured: every MATH solution has a \boxed{}
    m500 = read_math500(data_dir)
    assert Counter(r["level"] for r in m500) == MATH500_LEVELS
    by_id = {r["unique_id"]: r for r in everything}
    for r in m500:  # the file's answer is kept, and it is the last box of the same MATH file
        assert r["answer"] == by_id[r["unique_id"]]["answer"]
        assert (r["problem"], r["level"], r["subject"]) == (lambda m: (m["problem"], m["level"], m["subject"]))(
            by_id[r["unique_id"]])


def test_split_sizes_and_strata(splits):
    assert {k: len(v) for k, v in splits.items()} == {"train": 11500, "val": 500, "test": 500}
    assert Counter(r["level"] for r in splits["test"]) == MATH500_LEVELS
    assert strata(splits["val"]) == strata(splits["test"])
    assert all(r["unique_id"].startswith("test/") for r in splits["val"])
    ids = [r["unique_id"] for v in splits.values() for r in v]
    assert len(ids) == len(set(ids)) == 12500
    assert sum(r["answer"] is None for v in splits.values() for r in v) == 0


def test_no_math500_in_train_or_val(splits):
    test_ids = {r["unique_id"] for r in splits["test"]}
    test_text = {" ".join(r["problem"].split()) for r in splits["test"]}
    for name in ("train", "val"):
        assert not test_ids & {r["unique_id"] for r in splits[name]}
        assert not test_text & {" ".join(r["problem"].split()) for r in splits[name]}


def test_splits_are_deterministic_per_seed(data_dir, splits):
    again = math_splits(data_dir, seed=0)
    assert [r["unique_id"] for r in again["val"]] == [r["unique_id"] for r in splits["val"]]
    other = math_splits(data_dir, seed=1)
    assert {r["unique_id"] for r in other["val"]} != {r["unique_id"] for r in splits["val"]}
    assert strata(other["val"]) == strata(splits["test"])


def test_smaller_val_keeps_proportions(data_dir):
    s = math_splits(data_dir, seed=0, val_size=50)
    assert len(s["val"]) == 50 and len(s["train"]) == 11950
    levels = Counter(r["level"] for r in s["val"])
    for level, n in MATH500_LEVELS.items():  # 1/10 of MATH500's count, up to rounding per stratum
        assert abs(levels[level] - n / 10) <= 3


# --- stage helper ------------------------------------------------------------------------------------------------

def _params(tmp_path, data_dir, **data):
    path = tmp_path / "params" / "tiny.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(yaml.safe_dump({"runs_dir": str(tmp_path / "runs"),
                                    "data": {"source": "math", "data_dir": str(data_dir), **data}}))
    return load_params(path)


def test_build_splits_writes_and_reads_back(tmp_path, data_dir):
    p = _params(tmp_path, data_dir, max_train=40, max_test=20, val_size=10, seed=3)
    summary = build_splits(p)
    assert summary["counts"] == {"train": 40, "val": 10, "test": 20}
    assert sum(summary["levels"]["test"].values()) == 20 and set(summary["levels"]["val"]) <= set("12345?")
    for name in ("train", "val", "test"):
        assert (p.run_dir / "data" / f"{name}.jsonl").is_file()
    train = load_split(p.run_dir, "train")
    assert len(train) == 40 and set(train[0]) == {"unique_id", "problem", "solution", "answer", "level", "subject"}
    assert json.loads((p.run_dir / "data" / "summary.json").read_text())["counts"]["test"] == 20
    # The caps are a seeded sample: the same params give the same files.
    first = (p.run_dir / "data" / "test.jsonl").read_text()
    build_splits(p)
    assert (p.run_dir / "data" / "test.jsonl").read_text() == first
    with pytest.raises(ValueError, match="split 'dev2'"):
        load_split(p.run_dir, "dev2")
    with pytest.raises(FileNotFoundError, match="no dev split in this run: data.task_dev asks for none"):
        load_split(p.run_dir, "dev")


def test_build_splits_embedded(tmp_path):
    from e2h.params import load_params

    (tmp_path / "params").mkdir()
    (tmp_path / "params" / "e.yaml").write_text(
        "data: {source: embedded, task_train: [5, 5, 5, 0, 0], task_val: [2, 2, 2, 2, 2], task_test: [1, 1, 1, 3, 3]}\n")
    p = load_params(tmp_path / "params" / "e.yaml")
    summary = build_splits(p)
    assert summary["counts"] == {"train": 15, "val": 10, "test": 9}
    assert summary["levels"]["train"] == {"1": 5, "2": 5, "3": 5}
    assert load_split(p.run_dir, "test")[0]["problem"].startswith("Compute ")
    p.data.task_test = [1, 1]
    with pytest.raises(ValueError, match=r"data.task_test: expected 5 counts"):
        build_splits(p)


def test_data_layer_does_not_import_torch():
    import subprocess
    import sys

    code = ("import sys, e2h.data, e2h.format; "
            "bad = [m for m in ('torch', 'transformers') if m in sys.modules]; assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)
