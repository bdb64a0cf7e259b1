"""``python -m e2h.rerank`` prints the curve table and writes it in full."""

import json
import math
import subprocess
import sys

import pandas as pd

from e2h.pool import write_pool
from e2h.rerank.__main__ import main
from e2h.rerank.synthetic import synthetic_pool


def test_cli_prints_and_writes_the_table(tmp_path, capsys):
    pool_path = write_pool(synthetic_pool(10, 8, seed=1), tmp_path / "scored.parquet")
    out = tmp_path / "curves.csv"
    code = main([str(pool_path), "--ns", "1", "4", "8", "--resamples", "20", "--rms", "prm", "--aggs", "min",
                 "prod", "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 0 and "weighted (prm, prod)" in printed and "B = 20" in printed and str(out) in printed
    table = pd.read_csv(out, keep_default_na=False)
    assert set(table["n"]) == {1, 4, 8} and set(table["ci"]) == {"subsets", "problems+subsets"}
    assert set(table["method"]) == {"majority", "best_of_n", "weighted", "pass@n", "single"}
    assert set(table["agg"]) == {"", "min", "prod"} and (table["resamples"] == 20).all()


def test_cli_in_a_fresh_process_with_the_default_output(tmp_path):
    pool_path = write_pool(synthetic_pool(6, 4, seed=2), tmp_path / "scored.parquet")
    run = subprocess.run([sys.executable, "-m", "e2h.rerank", str(pool_path), "--resamples", "10"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    table = pd.read_parquet(tmp_path / "scored.curves.parquet")
    assert sorted(set(table["n"])) == [1, 2, 4] and "orm" in set(table["rm"])


def test_cli_reads_openai_scored_samples_and_reports_errors(tmp_path, capsys):
    recs = [{"problem": "P", "answer": a, "is_correct": ok, "level": 4, "unique_id": "test/x/1.json",
             "steps": ["s"], "rating_probs": [{"1": p, "0": 0.0, "-1": 1 - p}], "prm_score": p, "orm_score": 0.5}
            for a, ok, p in (("1", True, 0.8), ("2", False, 0.6), ("2", False, 0.3))]
    path = tmp_path / "scored-test-samples.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in recs))
    code = main([str(path), "--methods", "best_of_n", "majority", "--rms", "prm", "--aggs", "prod",
                 "--resamples", "5", "--no-equivalence"])
    assert code == 0
    table = pd.read_parquet(tmp_path / "scored-test-samples.curves.parquet")
    at3 = table[(table.n == 3) & (table.ci == "subsets") & (table.group == "all")].set_index("method")["mean"]
    assert at3["best_of_n"] == 1.0 and at3["majority"] == 0.0 and not math.isnan(at3.sum())
    assert main([str(tmp_path / "nope.parquet")]) == 2
    assert "pool file not found" in capsys.readouterr().err
