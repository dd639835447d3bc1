"""How a `stance score` run ends when it cannot finish: a signal to the terminal's whole process group
at any moment, a reader of standard output that quits early, a run that fails before its outputs are in
place; and the command-line values and inputs it refuses or reads once."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from conftest import ROOT, earlier_output, unboxed

from pipeline.scoring.inputs import Article, Problem, read_inputs
from pipeline.scoring.scorer import BATCH_ARTICLES

SEEDS = sorted((ROOT / "seeds").glob("*.txt"))


def feed(count: int, start: int = 0) -> bytes:
    """`count` JSONL articles, the seeds in turn, with ids a<start>, a<start+1>..."""
    texts = [p.read_text(encoding="utf-8") for p in SEEDS]
    lines = [json.dumps({"id": f"a{i}", "text": texts[i % len(texts)]}) + "\n" for i in range(start, start + count)]
    return "".join(lines).encode("utf-8")


def stance_from_stdin(model: Path, *options: str, stdout=subprocess.DEVNULL) -> subprocess.Popen:
    """`stance score -` as a terminal starts it: its own process group, which a Ctrl-C reaches whole."""
    command = [sys.executable, "-m", "pipeline", "score", "-", "--model", str(model), *options]
    return subprocess.Popen(
        command, cwd=ROOT, stdin=subprocess.PIPE, stdout=stdout, stderr=subprocess.PIPE, start_new_session=True
    )


def rows_written(folder: Path) -> bool:
    """Whether out.jsonl's temporary file in `folder` holds rows yet (its random name may start with "m": only
    the sidecar's is told apart by its name)."""
    rows = [t for t in folder.glob(".out.jsonl.*.tmp") if not t.name.startswith(".out.jsonl.meta.json.")]
    return any(t.stat().st_size for t in rows)


def processes_of(session: int) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter():
        try:
            if os.getsid(process.pid) == session and process.status() != psutil.STATUS_ZOMBIE:
                found.append(process)
        except (ProcessLookupError, psutil.Error):
            continue
    return found


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
@pytest.mark.parametrize("moment", ["0.3 s", "0.6 s", "1.0 s", "rows written"])
def test_a_signal_to_the_whole_group_of_a_pooled_run_is_one_line_at_any_moment(trained_model, tmp_path, sig, moment):
    """Ctrl-C (or `kill` of the group) reaches the run, the workers' server and every worker. Before, each
    worker printed a KeyboardInterrupt traceback; a signal while the pool started its workers left them
    to find its semaphores gone (a traceback each); and a SIGTERM before the run's own handlers gave a
    bare exit 143. The moments fall in the imports, the server's start or the pool's, whichever this
    machine reaches then; the answer must be the same at each."""
    output = tmp_path / "out.jsonl"
    process = stance_from_stdin(trained_model, "--workers", "2", "--output", str(output))
    try:
        if moment == "rows written":
            # Ten batches and one more article: the pool holds a few batches in flight and the last two back
            # (standard input stays open, so they are not the last), and writes the first ones' rows.
            process.stdin.write(feed(10 * BATCH_ARTICLES + 1))
            process.stdin.flush()
            deadline = time.monotonic() + 120
            while not rows_written(tmp_path) and time.monotonic() < deadline:
                assert process.poll() is None, process.stderr.read().decode()
                time.sleep(0.05)
            assert rows_written(tmp_path), "no rows within 120 s"
        else:  # one batch and one more article, then standard input stays open: the run cannot finish first
            process.stdin.write(feed(BATCH_ARTICLES + 1))
            process.stdin.flush()
            time.sleep(float(moment.split()[0]))
        os.killpg(process.pid, sig)
        process.wait(timeout=60)
        stderr = process.stderr.read().decode()
        assert (process.returncode, stderr) == (130, "interrupted\n")
        assert not output.exists() and not list(tmp_path.glob(".out.jsonl.*.tmp"))
        deadline = time.monotonic() + 10  # the server and the workers end with the run
        while processes_of(process.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not processes_of(process.pid)
    finally:
        for left in processes_of(process.pid):  # a failed check leaves nothing running
            left.kill()
        process.stdin.close()


def workers_of(session: int) -> list[psutil.Process]:
    """The pool's workers: processes of the fork server's code whose parent is the fork server."""
    servers = [p for p in processes_of(session) if "forkserver" in " ".join(p.cmdline())]
    ids = {p.pid for p in servers}
    return [p for p in servers if p.ppid() in ids]


@pytest.mark.parametrize("moment", ["scoring", "idle", "server"])
def test_a_worker_killed_by_the_system_ends_the_run_in_one_line(trained_model, tmp_path, moment):
    """The system kills a worker that runs out of memory. Before, the pool started another in its place and
    waited for the dead one's batch for ever; a worker killed while waiting for a task held the task queue's
    lock, so no worker got one again. Killed while batches are scored (one worker) or while every worker
    waits for input (all of them, so one held that lock), the run now ends with one line and exit 1, writes
    no output, keeps the earlier file and leaves no process behind. So does a kill of the workers' server,
    which reads as every worker ending, with no traceback from the pool's thread that starts workers."""
    output = tmp_path / "out.jsonl"
    earlier_output(output, "earlier\n")
    process = stance_from_stdin(trained_model, "--workers", "2", "--output", str(output))
    try:
        # Standard input stays open, so the run holds the last two batches back and writes a batch's rows once
        # four more are in flight: with eight, six are scored and two written.
        process.stdin.write(feed((10 if moment == "scoring" else 8) * BATCH_ARTICLES + 1))
        process.stdin.flush()
        deadline = time.monotonic() + 120
        while not rows_written(tmp_path):
            assert process.poll() is None, process.stderr.read().decode()
            assert time.monotonic() < deadline, "no rows within 120 s"
            time.sleep(0.05)
        if moment == "idle":
            time.sleep(2)  # the six batches are scored by now, and the workers wait for the next
        workers = workers_of(process.pid)
        assert len(workers) == 2
        if moment == "server":
            (server,) = {psutil.Process(w.ppid()) for w in workers}
            server.kill()
        for worker in {"scoring": workers[:1], "idle": workers, "server": []}[moment]:
            worker.kill()
        process.stdin.close()  # the last article goes to the pool, and the run would end
        process.wait(timeout=60)
        stderr = process.stderr.read().decode()
        assert process.returncode == 1, stderr
        ended = {
            "server": "its exit status lost: the workers' server may have ended too",
            "scoring": "killed by signal 9, as the system kills a process when memory runs out; try fewer --workers",
        }
        assert stderr == (
            f"error: a worker process ended before the run did ({ended.get(moment, ended['scoring'])});"
            " no output was written\n"
        )
        assert output.read_text(encoding="utf-8") == "earlier\n" and not list(tmp_path.glob(".out.jsonl.*.tmp"))
        deadline = time.monotonic() + 10
        while processes_of(process.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not processes_of(process.pid)
    finally:
        for left in processes_of(process.pid):
            left.kill()
        with contextlib.suppress(OSError):
            process.stdin.close()


@pytest.mark.parametrize("start_method", ["forkserver", "spawn"])
def test_a_pool_whose_dead_worker_left_half_a_message_still_ends(start_method):
    """A worker killed half-way through sending its rows leaves the pool's result reader waiting for the rest
    of the message, and `Pool.terminate` waits for that reader. The run's end of such a pool gives up on it
    after END_WAIT_SECONDS, with every worker gone. Also with spawned workers, as on a system with no fork
    server (`pool_context`: macOS and Windows start workers so)."""
    import multiprocessing
    import struct

    from pipeline.scoring import pool as pools

    pool = multiprocessing.get_context(start_method).Pool(2)
    started, ended = list(pool._pool), None
    try:
        assert pool.apply_async(os.getpid).get(timeout=60) in {w.pid for w in started}
        # What a worker sends before its rows: the length of a message, then only its first bytes.
        os.write(pool._outqueue._writer.fileno(), struct.pack("!i", 100_000) + b"\x80" * 10)
        started[0].kill()
        deadline = time.monotonic() + 10
        while not pools.a_worker_ended(started) and time.monotonic() < deadline:
            time.sleep(0.05)
        began = time.monotonic()
        ended = pools.end_broken_pool(pool, started)
        assert time.monotonic() - began < pools.END_WAIT_SECONDS * 2 + 10
    finally:  # a failed check must not leave the pool's end to the interpreter's exit, which would wait for ever
        if ended is None:
            pools.end_broken_pool(pool, started)
    assert ended == -signal.SIGKILL
    deadline = time.monotonic() + 10
    everyone = {*started, *pool._pool}  # with the workers the pool started in the dead one's place
    while [w for w in everyone if psutil.pid_exists(w.pid) and psutil.Process(w.pid).status() != psutil.STATUS_ZOMBIE]:
        assert time.monotonic() < deadline, "a worker outlived its pool's end"
        time.sleep(0.1)


def test_a_reader_that_quits_early_is_named_when_the_run_also_wrote_a_file(trained_model, tmp_path):
    """`stance score ... --summary s.csv | head`: the pairs' reader quits, so the run stops. Before, it
    exited 1 without a word, and an earlier s.csv stood under the name as if the run had written it."""
    summary = tmp_path / "summary.csv"
    earlier_output(summary, "an earlier summary\n")
    process = stance_from_stdin(trained_model, "--summary", str(summary), stdout=subprocess.PIPE)
    process.stdin.write(feed(BATCH_ARTICLES + 1))
    process.stdin.flush()
    assert process.stdout.readline()  # the first pair row: the run is under way
    process.stdout.close()  # the reader quits
    with contextlib.suppress(BrokenPipeError):  # the run may have met the closed pipe and stopped already
        process.stdin.write(feed(BATCH_ARTICLES, start=BATCH_ARTICLES + 1))  # rows to write into the closed pipe
        process.stdin.close()
    process.wait(timeout=120)
    stderr = process.stderr.read().decode()
    assert process.returncode == 1
    assert stderr == (
        "error: standard output was closed by its reader before the run ended; "
        f"--summary {summary} not written (any earlier file there is kept)\n"
    )
    assert summary.read_text(encoding="utf-8") == "an earlier summary\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["summary.csv", "summary.csv.meta.json"]


def test_a_reader_that_quits_early_ends_a_run_that_wrote_only_to_it_quietly(trained_model):
    """`stance score ... | head`: the reader has what it wanted; nothing else was asked for."""
    process = stance_from_stdin(trained_model, stdout=subprocess.PIPE)
    process.stdin.write(feed(BATCH_ARTICLES + 1))
    process.stdin.flush()
    assert process.stdout.readline()
    process.stdout.close()
    with contextlib.suppress(BrokenPipeError):  # the run may have met the closed pipe and stopped already
        process.stdin.write(feed(BATCH_ARTICLES, start=BATCH_ARTICLES + 1))
        process.stdin.close()
    process.wait(timeout=120)
    assert (process.returncode, process.stderr.read().decode()) == (1, "")


def test_a_run_that_fails_leaves_no_folder_it_made_for_its_outputs(trained_model, tmp_path):
    """Before, `--output new/deep/p.jsonl` made new/deep even when the run then wrote nothing."""
    empty = tmp_path / "empty.txt"
    empty.write_text("", encoding="utf-8")
    outputs = ["--output", str(tmp_path / "new/deep/p.jsonl"), "--summary", str(tmp_path / "other/s.csv")]
    result = subprocess.run(
        [sys.executable, "-m", "pipeline", "score", str(empty), "--model", str(trained_model), *outputs],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1 and "no output was written" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.txt"]
    result = subprocess.run(
        [sys.executable, "-m", "pipeline", "score", str(SEEDS[0]), "--model", str(trained_model), *outputs],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "new/deep/p.jsonl").stat().st_size and (tmp_path / "other/s.csv").stat().st_size


@pytest.mark.parametrize(
    "path, message",
    [
        (
            "",
            "Invalid value for '--output': an empty path; give a .jsonl, .csv or .parquet file, or - for standard output",
        ),
        (
            "o.xlsx",
            "Invalid value for '--output': o.xlsx: unknown output format '.xlsx'; use .jsonl (or .ndjson), .csv or .parquet",
        ),
        (
            "o",
            "Invalid value for '--output': o: unknown output format '(none)'; use .jsonl (or .ndjson), .csv or .parquet",
        ),
    ],
)
def test_an_output_path_that_names_no_format_is_a_usage_error(trained_model, tmp_path, path, message):
    """A bad value on the command line is exit 2, as the exit-code table says (it was 1); nothing is made."""
    result = subprocess.run(
        [sys.executable, "-m", "pipeline", "score", str(SEEDS[0]), "--model", str(trained_model), "--output", path],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2 and message in unboxed(result.stderr), result.stderr
    assert not list(tmp_path.iterdir())


def test_ndjson_is_written_as_jsonl_and_read_back_by_the_report(trained_model, tmp_path):
    """Read as an input, refused as an output before: now both, and `stance report` reads it too."""
    pairs, summary = tmp_path / "pairs.ndjson", tmp_path / "summary.ndjson"
    command = [sys.executable, "-m", "pipeline", "score", str(SEEDS[0]), "--model", str(trained_model)]
    done = subprocess.run([*command, "--output", str(pairs), "--summary", str(summary)], cwd=ROOT, capture_output=True)
    assert done.returncode == 0, done.stderr
    as_jsonl = subprocess.run([*command], cwd=ROOT, capture_output=True)
    assert pairs.read_bytes() == as_jsonl.stdout
    page = tmp_path / "report.html"
    shown = subprocess.run(
        [sys.executable, "-m", "pipeline", "report", str(pairs), str(summary), "--output", str(page)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert shown.returncode == 0, shown.stderr
    assert "report of 1 articles" in shown.stdout + shown.stderr and page.stat().st_size


def test_ndjson_in_any_case_is_jsonl_to_every_reader_and_writer(trained_model, tmp_path):
    """One rule says a name's format: the scorer writes P.NDJSON as JSONL, the report finds it in a folder,
    and the Dask runner, whose --output is a folder, refuses a name in that format."""
    folder = tmp_path / "scored"
    folder.mkdir()
    command = [sys.executable, "-m", "pipeline", "score", str(SEEDS[0]), "--model", str(trained_model)]
    done = subprocess.run([*command, "--output", str(folder / "P.NDJSON")], cwd=ROOT, capture_output=True)
    assert done.returncode == 0, done.stderr
    assert (folder / "P.NDJSON").read_bytes() == subprocess.run(command, cwd=ROOT, capture_output=True).stdout
    page = tmp_path / "report.html"
    shown = subprocess.run(
        [sys.executable, "-m", "pipeline", "report", str(folder), "--output", str(page)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert shown.returncode == 0, shown.stderr
    assert "report of 1 articles" in shown.stdout + shown.stderr
    refused = subprocess.run(
        [*command, "--dask", "local:1", "--output", str(tmp_path / "run.ndjson")],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert refused.returncode != 0
    assert "with --dask, --output is a folder for partitioned Parquet" in refused.stderr
    assert not (tmp_path / "run.ndjson").exists()


@pytest.mark.parametrize(
    "record, message",
    [
        ({"id": True, "text": "France objected."}, "field 'id' is true, not a string or integer"),
        ({"id": None, "text": "France objected."}, "field 'id' is null, not a string or integer"),
        ({"id": 3.5, "text": "France objected."}, "field 'id' is 3.5, not a string or integer"),
        ({"text": "France objected."}, "no string or integer field 'id' (set the name with --id-field)"),
        ({"id": "a", "text": 5}, "field 'text' is 5, not a string"),
        ({"id": "a", "body": "France objected."}, "no string field 'text' (set the name with --text-field)"),
    ],
)
def test_a_record_is_told_whether_its_field_is_missing_or_holds_another_kind_of_value(tmp_path, record, message):
    """Before, `{"id": true}` was told to set the field's name with --id-field, though the field was there."""
    feed_file = tmp_path / "feed.jsonl"
    feed_file.write_text(json.dumps(record) + "\n", encoding="utf-8")
    events = list(read_inputs([str(feed_file)]))
    assert [str(e) for e in events if isinstance(e, Problem)][0] == f"skipped: {feed_file}:1: {message}"


def test_a_file_that_is_no_model_is_named_as_such(trained_model, tmp_path):
    """Before: `error: README.json: model metadata missing or unreadable`, a file the user never named."""
    result = subprocess.run(
        [sys.executable, "-m", "pipeline", "score", str(SEEDS[0]), "--model", "README.md"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert (result.returncode, result.stderr) == (
        1,
        "error: README.md: not a model file (a model is a .skops file; models/model.skops, say)\n",
    )


def test_a_file_named_twice_is_read_once(tmp_path):
    """On its own and inside a folder given, or under another name (a hard link): scored twice before,
    as `a` and `a#2`, so every pair and summary row of it counted twice."""
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "a.txt").write_text("France objected to the office.", encoding="utf-8")
    (folder / "b.txt").write_text("Japan welcomed the office.", encoding="utf-8")
    os.link(folder / "b.txt", tmp_path / "b-again.txt")
    events = list(read_inputs([str(folder / "a.txt"), str(folder), str(tmp_path / "b-again.txt")]))
    assert [e.id for e in events if isinstance(e, Article)] == ["a", "b"]
    assert not [e for e in events if isinstance(e, Problem)]
