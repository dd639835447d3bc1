"""`stance score --workers N`: the parent only reads and writes, yet a bad model still stops the run with one line."""

from __future__ import annotations

import pytest
from conftest import ROOT, run

from pipeline.errors import DataError


@pytest.mark.e2e
def test_a_corrupt_model_with_two_workers_stops_the_run_with_one_line_and_no_output(trained_model, tmp_path):
    bad = tmp_path / "model.skops"
    (tmp_path / "model.json").write_bytes(trained_model.with_suffix(".json").read_bytes())
    bad.write_bytes(trained_model.read_bytes()[:5000])  # metadata fine: only a worker finds out
    output = tmp_path / "pairs.jsonl"
    result = run(
        ["stance", "score", "--model", str(bad), "--workers", "2", "--output", str(output), str(ROOT / "seeds")],
        ROOT,
        check=False,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1 and "corrupt" in result.stderr and str(bad) in result.stderr
    assert not output.exists()


def test_a_data_error_crosses_a_process_boundary_whole():
    import pickle

    error = DataError("x.txt", 3, "bad line; fix it")
    error.problems = ["one", "two"]
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is DataError and str(copy) == "x.txt:3: bad line; fix it" and copy.problems == ["one", "two"]
