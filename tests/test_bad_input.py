"""Bad input across the command line (``run``, ``seeds``, ``weights``, ``python -m e2h.rerank``): each gets a
one-line error naming the file, key or line and what was expected, exit code 2, and leaves nothing on disk."""

import json
import os
import shutil
import subprocess
import sys
import time

import pandas as pd
import pytest

from e2h.__main__ import main as cli
from e2h.io import run_lock
from e2h.rerank.__main__ import main as rerank_main

from conftest import ROOT

GOOD = "data: {source: embedded, task_test: [1, 1, 1, 1, 1]}\n"


@pytest.fixture
def project(tmp_path):
    """A project folder (params/, runs/ beside it) holding nothing but what each test writes."""
    (tmp_path / "params").mkdir()
    shutil.copytree(ROOT / "notebooks", tmp_path / "notebooks")
    return tmp_path


def _files(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) if folder.exists() else []


def _fails(capsys, argv, *needles, main=cli):
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    # Progress bars of work done before the error may precede it; the error itself is one line, no traceback.
    errors = [line for line in err.splitlines() if "error:" in line]
    assert len(errors) == 1 and "Traceback" not in err, err
    for needle in needles:
        assert needle in errors[0], err
    return errors[0]


BAD_PARAMS = [
    ("sample: {n: 0}\n" + GOOD, "sample.n: 0 is out of range; expected a value >= 1"),
    ("rerank: {resamples: -1}\n" + GOOD, "rerank.resamples: -1 is out of range"),
    ("data: {source: embedded, task_test: [1, -2, 1, 1, 1]}\n", "data.task_test[1]: -2 is out of range"),
    ("data: {source: embedded, task_test: [1, 1, 1, 1]}\n", "data.task_test: expected 5 values"),
    ("sample: {temperature: -0.5}\n" + GOOD, "sample.temperature"),
    ("sample: {top_p: 0}\n" + GOOD, "sample.top_p: 0.0 is out of range; expected a value > 0 and <= 1"),
    ("rerank: {ci_level: 1.5}\n" + GOOD, "rerank.ci_level"),
    ("rerank: {ns: [1, 0]}\n" + GOOD, "rerank.ns[1]: 0"),
    ("sft: {lr: 0}\n" + GOOD, "sft.lr: 0.0 is out of range"),
    ("", "the params file is empty"),
    ("# only a comment\n", "the params file is empty"),
    ("rerank: {seed: 1}\n" + GOOD + "rerank: {seed: 2}\n", ":3: key 'rerank' appears twice"),
    ("data:\n  source: embedded\n  source: math\n", ":3: key 'source' appears twice"),
    ('name: "../../x"\n' + GOOD, "name: '../../x' is not a run name"),
    ('name: "/tmp/x"\n' + GOOD, "name: '/tmp/x' is not a run name"),
    ('stages: ""\n' + GOOD, "stages: '': expected stage numbers"),
    ('stages: "06-04"\n' + GOOD, "stages: '06-04'"),
    ("sample: {nn: 3}\n" + GOOD, "sample.nn: unknown key"),
    ("weights: nowhere\n" + GOOD, "weights: folder"),
]


@pytest.mark.parametrize("text, needle", BAD_PARAMS, ids=[b[1][:40] for b in BAD_PARAMS])
def test_bad_params_fail_at_load_with_the_key_named(project, capsys, text, needle):
    f = project / "params" / "bad.yaml"
    f.write_text(text)
    _fails(capsys, ["run", str(f)], str(f), needle)
    assert not (project / "runs").exists()  # not even a lock file: nothing ran


@pytest.mark.parametrize("spec", ["", "x", "4-", "06-04", "99"])
def test_bad_stage_selections_are_refused(project, capsys, spec):
    f = project / "params" / "ok.yaml"
    f.write_text(GOOD)
    _fails(capsys, ["run", str(f), "--stages", spec], "--stages")
    assert not (project / "runs").exists()


def test_a_missing_params_file(project, capsys):
    _fails(capsys, ["run", str(project / "params" / "nope.yaml")], "nope.yaml: params file not found")


def _weights_folder(tmp_path, manifest_text):
    folder = tmp_path / "w"
    shutil.copytree(ROOT / "weights" / "default", folder)
    (folder / "MANIFEST.json").write_text(manifest_text)
    return folder


@pytest.mark.parametrize("text, needle", [
    ('{"files": {"sft/model.safetensors": {"sha', "weights manifest is not valid JSON at line 1"),
    ("{}", "weights manifest has no 'files' table"),
    ("[1, 2]", "should hold a JSON dict, got list"),
])
def test_a_broken_weights_manifest_is_named_before_any_stage(project, capsys, text, needle):
    folder = _weights_folder(project, text)
    f = project / "params" / "w.yaml"
    f.write_text(f"weights: {folder}\n" + GOOD)
    _fails(capsys, ["run", str(f)], str(folder / "MANIFEST.json"), needle)
    assert _files(project / "runs" / "w") == []


def test_seeds_refuses_bad_seeds_and_bad_params_before_writing(project, capsys):
    f = project / "params" / "s.yaml"
    f.write_text(GOOD)
    _fails(capsys, ["seeds", str(f), "--seeds", "1", "-1"], "--seeds 1 -1: expected distinct integers >= 0")
    _fails(capsys, ["seeds", str(f), "--seeds", "2", "2"], "expected distinct integers")
    f.write_text("sample: {n: 0}\n" + GOOD)
    _fails(capsys, ["seeds", str(f)], "sample.n: 0 is out of range")
    assert not (project / "runs").exists()


def test_weights_never_deletes_a_folder_it_did_not_write(project, capsys):
    dest = project / "thesis"
    dest.mkdir()
    (dest / "thesis.txt").write_text("three years of work")
    f = project / "params" / "t.yaml"
    f.write_text(GOOD)
    _fails(capsys, ["weights", str(f), str(dest)], str(dest), "not a folder this command wrote")
    assert (dest / "thesis.txt").read_text() == "three years of work"
    assert not (project / "runs").exists()  # refused before any training
    a_file = project / "notes.txt"
    a_file.write_text("x")
    _fails(capsys, ["weights", str(f), str(a_file)], "is not a folder")
    assert a_file.read_text() == "x"


def _pool_file(tmp_path, rows):
    path = tmp_path / "pool.parquet"
    pd.DataFrame(rows, columns=["problem_id", "level", "split", "sample_idx", "text", "answer", "correct"]) \
        .astype({"sample_idx": "int64", "correct": "bool"}).to_parquet(path)
    return path


def test_rerank_cli_validates_before_computing(tmp_path, capsys, data_dir):
    rows = [{"problem_id": "a", "level": 1, "split": "test", "sample_idx": i, "text": "t", "answer": "1",
             "correct": i == 0} for i in range(4)]
    pool = _pool_file(tmp_path, rows)
    out = tmp_path / "out.csv"
    _fails(capsys, [str(pool), "--level", "1.5", "--out", str(out)], "--level 1.5", main=rerank_main)
    _fails(capsys, [str(pool), "--resamples", "0", "--out", str(out)], "--resamples 0", main=rerank_main)
    _fails(capsys, [str(pool), "--ns", "0", "--out", str(out)], "--ns 0", main=rerank_main)
    _fails(capsys, [str(pool), "--out", str(tmp_path / "o.txt")], "expected a .parquet or .csv", main=rerank_main)
    _fails(capsys, [str(tmp_path / "absent.parquet")], "absent.parquet: pool file not found", main=rerank_main)
    empty = _pool_file(tmp_path, [])
    _fails(capsys, [str(empty), "--out", str(out)], "no samples", main=rerank_main)
    assert not out.exists()
    broken = tmp_path / "scored.jsonl"
    record = json.loads((data_dir / "reward-by-prm800k" / "RM-scored-example.json").read_text())
    line = json.dumps(record)
    broken.write_text(line + "\n" + line[:-1] + "\n" + line + "\n")  # line 2 lacks its closing brace
    _fails(capsys, [str(broken), "--out", str(out)], "scored.jsonl:2: not valid JSON", "noticed at line 3",
           main=rerank_main)
    assert not out.exists()


def test_a_second_run_of_the_same_folder_names_the_holder_and_exits(project):
    f = project / "params" / "l.yaml"
    f.write_text(GOOD)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    with run_lock(project / "runs" / "l"):
        proc = subprocess.run([sys.executable, "-m", "e2h", "run", str(f)], capture_output=True, text=True,
                              env=env, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert f"in use by process {os.getpid()}" in proc.stderr and "--wait" in proc.stderr
    assert _files(project / "runs" / "l") == [".lock"]


def test_wait_queues_behind_the_holder(tmp_path):
    code = ("import sys; from e2h.io import run_lock\n"
            f"with run_lock({str(tmp_path)!r}, wait=True): print('got it', flush=True)\n")
    with run_lock(tmp_path):
        proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env=dict(os.environ, PYTHONPATH=str(ROOT)))
        time.sleep(1.5)
        assert proc.poll() is None  # still waiting while we hold the lock
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0 and out.strip() == "got it" and "waiting for process" in err
