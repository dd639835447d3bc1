"""`stance score --workers N`: the parent only reads and writes, yet a bad model still stops the run with one line."""

from __future__ import annotations

import json
import sys

import pytest
from conftest import ROOT, run, unboxed

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


def test_workers_that_cannot_start_stop_the_run_with_one_line(trained_model, tmp_path, monkeypatch):
    # The workers' server listens on a socket under TMPDIR; a path this long cannot be one.
    long_tmp = tmp_path / ("t" * 120)
    long_tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(long_tmp))
    article = tmp_path / "a.txt"
    article.write_text("France opposed the NATO office in Tokyo.\n", encoding="utf-8")
    output = tmp_path / "pairs.jsonl"
    result = run(
        ["stance", "score", "--model", str(trained_model), "--workers", "2", "--output", str(output), str(article)],
        ROOT,
        check=False,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1 and "path too long" in result.stderr
    assert not output.exists()


def test_more_workers_than_four_per_cpu_is_a_usage_error_before_any_worker_starts(trained_model, tmp_path):
    """`--workers 99999999999999999999` forked until the memory ran out; now it is refused, exit 2."""
    from pipeline.scoring.pool import worker_limit

    article = tmp_path / "a.txt"
    article.write_text("France opposed the NATO office in Tokyo.\n", encoding="utf-8")
    limit = worker_limit()
    for workers in (str(limit + 1), "99999999999999999999"):
        result = run(
            ["stance", "score", "--model", str(trained_model), "--workers", workers, str(article)], ROOT, check=False
        )
        assert result.returncode == 2 and "Traceback" not in result.stderr
        assert f"give at most {limit}" in unboxed(result.stderr)
        assert result.stdout == ""


WARM_PROBE = """
import os, sys
from pipeline.modeling.plain import plain_path
from pipeline.scoring import scorer

def uses_the_server_model(_):
    return any(scorer._worker_scorer is loaded for loaded in scorer._preloaded.values())

if __name__ == "__main__":
    model = sys.argv[1]
    context = scorer.pool_context(model)
    for step in ("as started", "rewritten"):
        if step == "rewritten":  # a model retrained in place: a new modification time
            os.utime(plain_path(model), ns=(0, os.stat(plain_path(model)).st_mtime_ns + 10**9))
        with context.Pool(2, initializer=scorer._init_worker, initargs=(model, 1, 0)) as pool:
            print(step, sorted(set(pool.map(uses_the_server_model, range(8)))))
"""


@pytest.mark.e2e
def test_workers_fork_with_the_named_model_loaded_and_never_a_stale_one(trained_model, tmp_path):
    """The workers' server loads the model the run names, so workers start warm; one changed since loads afresh."""
    for suffix in (".skops", ".json", ".npz"):
        (tmp_path / f"model{suffix}").write_bytes(trained_model.with_suffix(suffix).read_bytes())
    probe = tmp_path / "probe.py"  # a file, not -c: the workers import the probe's function from it
    probe.write_text(WARM_PROBE, encoding="utf-8")
    result = run([sys.executable, str(probe), str(tmp_path / "model.skops")], ROOT, timeout=300)
    assert result.stdout.splitlines() == ["as started [True]", "rewritten [False]"]


def test_a_model_path_that_cannot_be_read_leaves_the_server_cold_and_the_environment_as_it_was(tmp_path):
    """A symlink loop made Path.resolve raise in the server, which then died and left the pool waiting."""
    import os

    from pipeline.scoring import scorer
    from pipeline.scoring.pool import WORKER_MODEL, pool_context

    loop = tmp_path / "loop.skops"
    loop.symlink_to(loop)
    scorer._model_identity(loop)  # no exception (Python 3.11's resolve raises RuntimeError on a loop)
    scorer.preload(str(loop))  # returns: the workers load the model and report the error
    assert not scorer._preloaded
    pool_context(loop)
    assert WORKER_MODEL not in os.environ


def test_a_data_error_crosses_a_process_boundary_whole():
    import pickle

    error = DataError("x.txt", 3, "bad line; fix it")
    error.problems = ["one", "two"]
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is DataError and str(copy) == "x.txt:3: bad line; fix it" and copy.problems == ["one", "two"]


@pytest.mark.parametrize("kind", [".jsonl", ".csv", ".parquet"])
def test_rows_encoded_where_they_were_scored_write_as_the_rows_themselves(trained_model, tmp_path, kind):
    """With several workers each batch reaches the writer already encoded; the file is the same."""
    import pyarrow.parquet as pq

    from pipeline.scoring.outputs import PAIR_SCHEMA, encode, row_writer
    from pipeline.scoring.scorer import score_texts

    texts = {path.stem: path.read_text(encoding="utf-8") for path in sorted((ROOT / "seeds").glob("*.txt"))}
    rows = list(score_texts(texts, trained_model))
    halves = [rows[: len(rows) // 2], rows[len(rows) // 2 :]]
    written = {}
    for name, batches in (("rows", halves), ("encoded", [encode(half, kind, PAIR_SCHEMA) for half in halves])):
        path = tmp_path / f"{name}{kind}"
        with row_writer(str(path), PAIR_SCHEMA, {"model": "m"}) as write:
            for batch in batches:
                write(batch)
        written[name] = path
    if kind == ".parquet":
        first, second = (pq.read_table(written[name]) for name in ("rows", "encoded"))
        assert first.equals(second) and first.schema.metadata == second.schema.metadata
        assert first.num_rows == len(rows) > 100
    else:
        assert written["rows"].read_bytes() == written["encoded"].read_bytes()
        assert len(written["rows"].read_text(encoding="utf-8").splitlines()) == len(rows) + (kind == ".csv")


@pytest.mark.parametrize(
    ("args", "preloaded"),
    [
        (["score", "in.jsonl", "--workers", "2"], "models/model.skops"),
        (["score", "--workers=3", "--model=m.skops", "in.jsonl"], "m.skops"),
        (["score", "--model", "m.skops", "--workers", "2", "in.jsonl"], "m.skops"),
        (["score", "in.jsonl", "--workers", "1"], None),
        (["score", "in.jsonl"], None),
        (["score", "in.jsonl", "--workers", "two"], None),
        (["score", "in.jsonl", "--workers", "²"], None),  # a digit to str.isdigit, not to int()
        (["score", "in.jsonl", "--workers", "2", "--help"], None),
        (["score", "in.jsonl", "--workers"], None),
        (["score", "in.jsonl", "--workers", "2", "--dask", "local:2"], None),
        (["score", "in.jsonl", "--workers", "2", "--explain", "3"], None),
        (["score", "--", "--workers", "2"], None),
        (["score", "in.jsonl", "--workers", "2", "--workers=2"], None),  # refused by `score`: nothing to preload
        (["score", "in.jsonl", "--workers", "2", "--output", "a", "--output", "b"], None),
        (["score", "in.jsonl", "--workers", "2", "--", "--workers"], "models/model.skops"),
        (["report", "in.jsonl", "--workers", "2"], None),
        ([], None),
    ],
)
def test_the_entry_point_starts_the_server_only_for_arguments_that_plainly_ask_for_workers(args, preloaded):
    from pipeline.__main__ import early_pool_model

    assert early_pool_model(args) == preloaded


EARLY_PROBE = """
import sys

import pipeline.scoring.pool as pool

def record(model_path=None):
    print("typer imported" if "typer" in sys.modules else "typer not imported", model_path)
    raise SystemExit(0)

pool.pool_context = record
sys.argv = ["stance", "score", "in.jsonl", "--workers", "2", "--model", "m.skops"]
from pipeline.__main__ import main

main()
"""


def test_the_entry_point_starts_the_server_before_it_imports_the_cli(tmp_path):
    """What the early start is for: the server's imports run beside typer's, not after them."""
    probe = tmp_path / "probe.py"
    probe.write_text(EARLY_PROBE, encoding="utf-8")
    result = run([sys.executable, str(probe)], ROOT, timeout=60)
    assert result.stdout.splitlines() == ["typer not imported m.skops"]


PARENT_PROBE = """
import sys

from pipeline.scoring.scorer import run_score

if __name__ == "__main__":  # the workers' server imports this file too
    code = run_score([sys.argv[2]], model_path=sys.argv[1], output=sys.argv[3], workers=2)
    print(code, sorted({name.split(".")[0] for name in sys.modules} & {"scipy", "sklearn", "skops", "torch"}))
"""


def test_the_parent_of_a_pool_reads_and_writes_without_importing_what_the_workers_score_with(trained_model, tmp_path):
    """The parent's imports come before its first batch: scipy alone took it 0.1 s while the workers waited."""
    article = tmp_path / "a.txt"
    article.write_text("France opposed the NATO office in Tokyo. Japan welcomed it.\n", encoding="utf-8")
    output = tmp_path / "pairs.jsonl"
    probe = tmp_path / "probe.py"
    probe.write_text(PARENT_PROBE, encoding="utf-8")
    result = run([sys.executable, str(probe), str(trained_model), str(article), str(output)], ROOT, timeout=120)
    assert result.stdout.splitlines() == ["0 []"]
    assert {"france", "japan"} <= {row["actor"] for row in map(json.loads, output.read_text().splitlines())}


def test_the_workers_server_imports_no_pydantic_before_the_first_worker_forks(trained_model):
    """The server's imports are what the first worker waits for; pydantic's import and models took 0.09 s of them."""
    probe = (
        "import importlib, os, sys\n"
        "import pipeline.scoring.pool as pool\n"
        f"os.environ[pool.WORKER_MODEL] = {str(trained_model)!r}\n"
        "for name in pool.PRELOAD: importlib.import_module(name)\n"
        "import pipeline.scoring.scorer as scorer\n"
        "print(len(scorer._preloaded), sorted({m.split('.')[0] for m in sys.modules} & {'pydantic', 'sklearn', 'skops', 'torch'}))\n"
    )
    result = run([sys.executable, "-c", probe], ROOT, timeout=60)
    assert result.stdout.splitlines() == ["1 []"]  # the model is loaded, and none of them came with it


@pytest.mark.parametrize("articles", [130, 150, 200])
def test_a_pool_gets_the_last_two_batches_as_smaller_ones_and_every_article_once_in_order(tmp_path, articles):
    from pipeline.scoring.inputs import Problem, read_inputs
    from pipeline.scoring.scorer import BATCH_ARTICLES, batches

    texts = [path.read_text(encoding="utf-8") for path in sorted((ROOT / "seeds").glob("*.txt"))]
    lines = [json.dumps({"id": f"a{i}", "text": texts[i % len(texts)]}) for i in range(articles)]
    lines.insert(70, "{not json")  # read as a problem, in the middle of the second batch
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("\n".join(lines) + "\n", encoding="utf-8")

    def read():
        return read_inputs([str(corpus)], "id", "text", 10**7)

    whole = list(batches(read()))
    split = list(batches(read(), tail_pieces=4))
    for items in (whole, split):  # every article once, in input order, and the bad line as a problem
        assert [a.id for item in items if isinstance(item, list) for a in item] == [f"a{i}" for i in range(articles)]
        assert sum(isinstance(item, Problem) for item in items) == 1
    full = [item for item in whole if isinstance(item, list)]
    pieces = [item for item in split if isinstance(item, list)]
    assert all(len(batch) == BATCH_ARTICLES for batch in full[:-1])
    assert pieces[: len(full) - 2] == full[:-2]  # the batches before the last two are unchanged
    tail = pieces[len(full) - 2 :]
    last_two = len(full[-2]) + len(full[-1])
    assert len(tail) == 4 and max(map(len, tail)) == -(-last_two // 4) < BATCH_ARTICLES / 2


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="pipe sizes are set on Linux only")
def test_the_pools_pipes_hold_a_whole_batch_and_its_rows():
    import fcntl
    import multiprocessing
    import os
    from pathlib import Path

    from pipeline.scoring.pool import PIPE_BYTES, widen_pipes

    def sizes(pool):
        return [fcntl.fcntl(q._reader.fileno(), fcntl.F_GETPIPE_SZ) for q in (pool._inqueue, pool._outqueue)]

    # spawn, not the scorer's fork server: a server started here would serve later tests without their model
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        before = sizes(pool)
        assert max(before) < PIPE_BYTES  # the kernel's default: the pool does not widen them itself
        widen_pipes(pool)
        # Linux refuses more than fs.pipe-max-size (1 MB by default) to all but root; refused, nothing changes
        allowed = PIPE_BYTES <= int(Path("/proc/sys/fs/pipe-max-size").read_text()) or os.geteuid() == 0
        assert sizes(pool) == ([PIPE_BYTES, PIPE_BYTES] if allowed else before)
        assert pool.apply(len, ("x" * PIPE_BYTES,)) == PIPE_BYTES  # a message as large as the pipe still crosses


def test_the_last_batches_are_split_only_for_a_model_whose_numbers_do_not_depend_on_the_batch(trained_model, tmp_path):
    import shutil

    from pipeline.modeling.metadata import metadata_path, sealed
    from pipeline.modeling.plain import plain_path
    from pipeline.scoring.scorer import scores_each_pair_alone

    assert scores_each_pair_alone(trained_model)  # the plain model: each pair on its own
    assert not scores_each_pair_alone(trained_model, explain_top=3)  # explanations keep full batches
    # A model the plain format does not cover (the embeddings' MiniLM step) is scored by the skops pipeline
    copy = tmp_path / "model.skops"
    for source in (trained_model, metadata_path(trained_model), plain_path(trained_model)):
        shutil.copy(source, tmp_path / source.name)
    metadata = json.loads(metadata_path(copy).read_text(encoding="utf-8"))
    metadata["plain_model"]["covered"] = False
    metadata_path(copy).write_text(json.dumps(sealed(metadata)), encoding="utf-8")
    assert not scores_each_pair_alone(copy)
    metadata["plain_model"]["covered"] = True
    metadata_path(copy).write_text(json.dumps(sealed(metadata)), encoding="utf-8")
    assert scores_each_pair_alone(copy)
    plain_path(copy).unlink()  # copied without its plain file: the skops pipeline scores it
    assert not scores_each_pair_alone(copy)
    assert not scores_each_pair_alone(tmp_path / "missing.skops")  # the workers report it
