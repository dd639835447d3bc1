"""No run destroys or silently drops a user's data, and the files everyday tools write are read.

Each test drives the real command line (`stance ...` in a subprocess) with the mistakes
people make: text saved by spreadsheets and Windows editors, the same article id twice,
an output that is an input, a read-only folder, a full disk, two runs at once. The last
test checks the property behind the overwrite rules for any combination of paths.

The read-only folder and the full disk are real where the tests run as root (a read-only
bind mount and a 64 KB tmpfs, as on CI); elsewhere the read-only folder is a chmod and the
full disk is simulated in-process, which the test's name then says.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import errno
import hashlib
import io
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from conftest import BIN, ROOT, TARGET, earlier_output, own_signal_handlers, run, target_folder, unboxed
from filelock import FileLock
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.data.actors import ActorRegistry
from pipeline.data.candidates import article_candidates
from pipeline.errors import DataError
from pipeline.scoring.dask_runner import run_dask

# One article, with a curly apostrophe so that the encoding matters, in two lines.
TEXT = "France blocked the liaison office.\nJapan welcomed it, said Tokyo’s envoy to NATO.\n"
ANNOTATION_ARTICLES = ROOT / "tests/fixtures/annotation/articles"


def stance(*args: str, cwd: Path = ROOT, **kwargs) -> subprocess.CompletedProcess:
    return run(["stance", *args], cwd, check=False, **kwargs)


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def one_error_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 1, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


# --- files as everyday tools write them ---


def test_text_saved_by_windows_editors_and_spreadsheets_is_scored_exactly_as_utf8(trained_model, tmp_path):
    crlf = TEXT.replace("\n", "\r\n")
    files = {
        "plain.txt": TEXT.encode("utf-8"),
        "notepad_utf16.txt": crlf.encode("utf-16"),  # Notepad's "Unicode": UTF-16 LE with a mark
        "utf16_be.txt": codecs.BOM_UTF16_BE + crlf.encode("utf-16-be"),
        "excel_bom.txt": b"\xef\xbb\xbf" + crlf.encode("utf-8"),
        "legacy.txt": crlf.encode("cp1252"),  # "’" is byte 0x92
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    record = {"id": "from_jsonl", "text": TEXT}
    # PowerShell's `>` writes UTF-16 with CRLF; an editor may add a mark and blank lines at the end.
    (tmp_path / "powershell.jsonl").write_bytes((json.dumps({**record, "id": "ps"}) + "\r\n").encode("utf-16"))
    (tmp_path / "bom.jsonl").write_bytes(
        b"\xef\xbb\xbf" + (json.dumps({**record, "id": "bom"}, ensure_ascii=False) + "\r\n\r\n\n").encode("utf-8")
    )
    legacy_line = '{"id": "legacy_line", "text": "' + TEXT.replace("\n", " ") + '"}\n'
    (tmp_path / "mixed.jsonl").write_bytes(
        (json.dumps({**record, "id": "good_line"}) + "\n").encode("utf-8") + legacy_line.encode("cp1252")
    )
    # Parquet with more columns than id and text, in another order.
    table = pa.table({"source": ["wire"], "text": [TEXT], "date": ["2023-05-04"], "id": ["parquet"]})
    pq.write_table(table, tmp_path / "wide.parquet")

    inputs = sorted(str(p) for p in tmp_path.iterdir())
    result = stance("score", "--model", str(trained_model), *inputs, "--output", str(tmp_path / "o.jsonl"))

    assert result.returncode == 3, result.stderr  # the two legacy inputs were skipped
    in_text, in_line = TEXT.splitlines()[1].index("’") + 1, legacy_line.index("’") + 1
    assert sorted(result.stderr.strip().splitlines()) == [
        f"skipped: {tmp_path / 'legacy.txt'}:2: not UTF-8 (byte 0x92 at column {in_text}); save the file as UTF-8",
        f"skipped: {tmp_path / 'mixed.jsonl'}:2: not UTF-8 (byte 0x92 at column {in_line}); save the file as UTF-8",
    ]
    rows = read_jsonl(tmp_path / "o.jsonl")
    by_article: dict[str, list] = {}
    for row in rows:
        by_article.setdefault(row.pop("article_id"), []).append(row)
    assert set(by_article) == {
        "plain",
        "notepad_utf16",
        "utf16_be",
        "excel_bom",
        "ps",
        "bom",
        "good_line",
        "parquet",
    }
    assert len(by_article["plain"]) == 3  # france, japan and nato
    # The Parquet file's date column is kept in its rows; apart from it, every input's rows are the same.
    assert {row.pop("date") for row in by_article["parquet"]} == {"2023-05-04"}
    for article_id, article_rows in by_article.items():
        if article_id != "parquet":
            assert {row.pop("date") for row in article_rows} == {None}, article_id
    for article_id, article_rows in by_article.items():
        assert article_rows == by_article["plain"], article_id  # same sentences, same probabilities
    assert not any("\r" in row["sentence"] or "\ufeff" in row["sentence"] for row in rows)


def test_a_bad_code_unit_in_utf16_or_utf32_jsonl_skips_its_line_alone(trained_model, tmp_path):
    def lines(ids: list[str], codec: str) -> list[bytes]:
        return [(json.dumps({"id": i, "text": TEXT}) + "\n").encode(codec) for i in ids]

    utf16 = lines(["a1", "a2", "a3"], "utf-16-le")
    utf16[1] = utf16[1][:20] + b"\x00\xd8" + utf16[1][20:]  # a high surrogate with no low one after it
    utf32 = lines(["b1", "b2", "b3"], "utf-32-le")
    utf32[1] = utf32[1][:40] + b"\xff\xff\xff\xff" + utf32[1][40:]  # past U+10FFFF
    (tmp_path / "ps16.jsonl").write_bytes(codecs.BOM_UTF16_LE + b"".join(utf16) + b"\x00")  # a last odd byte
    (tmp_path / "ps32.jsonl").write_bytes(codecs.BOM_UTF32_LE + b"".join(utf32))

    inputs = [str(tmp_path / "ps16.jsonl"), str(tmp_path / "ps32.jsonl")]
    result = stance("score", "--model", str(trained_model), *inputs, "--output", str(tmp_path / "o.jsonl"))

    assert result.returncode == 3, result.stderr
    unit = "(a code unit that is no character)"
    assert result.stderr.strip().splitlines() == [
        f"skipped: {inputs[0]}:2: not valid UTF-16 here {unit}",
        f"skipped: {inputs[0]}:4: not valid UTF-16 here {unit}",
        f"skipped: {inputs[1]}:2: not valid UTF-32 here {unit}",
    ]
    scored = {row["article_id"] for row in read_jsonl(tmp_path / "o.jsonl")}
    assert scored == {"a1", "a3", "b1", "b3"}  # the lines after a bad one are read


def test_a_file_name_with_control_characters_or_not_utf8_is_shown_escaped_on_one_line(trained_model, tmp_path):
    folder = os.fsencode(tmp_path / "in")
    os.mkdir(folder)
    names = {b"two\nlines.txt": "\x92".encode("latin-1"), b"\x1b[31mred.csv": b"x", b"latin\xe9.txt": TEXT.encode()}
    for name, data in names.items():
        with open(os.path.join(folder, name), "wb") as handle:
            handle.write(data)
    shown = tmp_path / "in"
    result = stance("score", "--model", str(trained_model), str(shown), str(shown / "\x1b[31mred.csv"))

    assert result.returncode == 3, result.stderr
    assert result.stderr.splitlines() == [
        f"warning: {shown}/latin\\xe9.txt: the file name is not UTF-8; its article id is 'latin\\xe9'",
        f"skipped: {shown}/two\\nlines.txt:1: not UTF-8 (byte 0x92 at column 1); save the file as UTF-8",
        f"skipped: {shown}/\\x1b[31mred.csv: a table is not read; write it as .parquet or .jsonl with the id and text fields",
    ]
    assert {json.loads(line)["article_id"] for line in result.stdout.splitlines()} == {"latin\\xe9"}
    report = stance("report", str(shown / "\x1b[31mred.csv"), "--output", str(tmp_path / "r.html"))
    assert report.returncode == 1 and report.stderr == (
        f"error: {shown}/\\x1b[31mred.csv: no column 'article_id' for summary rows; "
        "give the --output or --summary of `stance score`\n"
    )


@pytest.fixture
def prepare_project(tmp_path):
    """A folder to run `stance prepare` in, with its own copies of the registry and the gold file."""

    def make(name: str, convert=lambda name, data: data) -> Path:
        folder = tmp_path / name
        (folder / "data").mkdir(parents=True)
        params = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
        params["prepare"]["synthetic"] = params["prepare"]["rewrites"] = (
            False  # the real articles are enough here, and faster
        )
        params["data"]["articles"] = str(ROOT / params["data"]["articles"])
        for file in ("actors.yaml", "labels.csv"):
            (folder / "data" / file).write_bytes(convert(file, (TARGET / file).read_bytes()))
        params["data"]["target"] = target_folder(
            folder / "target", actors=folder / "data/actors.yaml", labels=folder / "data/labels.csv"
        )
        (folder / "params.yaml").write_text(yaml.safe_dump(params), encoding="utf-8")
        return folder

    return make


def test_gold_labels_and_registry_saved_by_excel_or_notepad_prepare_the_same_bytes(prepare_project):
    def windows(name: str, data: bytes) -> bytes:
        text = data.decode("utf-8").replace("\n", "\r\n")
        # Excel's "CSV UTF-8" (a mark, CRLF); Notepad's "Unicode" for the YAML registry.
        return b"\xef\xbb\xbf" + text.encode("utf-8") if name.endswith(".csv") else text.encode("utf-16")

    original, converted = prepare_project("original"), prepare_project("windows", windows)
    for folder in (original, converted):
        result = stance("prepare", "--params", "params.yaml", cwd=folder)
        assert result.returncode == 0, result.stderr
    for table in ("train.parquet", "test.parquet", "summary.json"):
        prepared = Path("data/prepared") / table
        assert (converted / prepared).read_bytes() == (original / prepared).read_bytes(), table


def test_gold_labels_in_a_legacy_encoding_stop_prepare_at_their_line_and_write_nothing(prepare_project):
    def legacy(name: str, data: bytes) -> bytes:
        return data.decode("utf-8").encode("cp1252", errors="replace") if name.endswith(".csv") else data

    folder = prepare_project("legacy", legacy)
    data = (folder / "data/labels.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError) as caught:  # where Python's own decoder first fails
        data.decode("utf-8")
    start = caught.value.start
    line = data.count(b"\n", 0, start) + 1
    column = start - (data.rfind(b"\n", 0, start) + 1) + 1  # the bytes before it on its line are ASCII
    byte = data[start]
    error = one_error_line(stance("prepare", "--params", "params.yaml", cwd=folder))
    assert error == (
        f"error: {folder / 'target/labels.csv'}:{line}: not UTF-8 (byte 0x{byte:02x} at column {column}); "
        "save the file as UTF-8"
    )
    assert not (folder / "data/prepared").exists()


@pytest.fixture
def label_project(tmp_path):
    """A folder to run `stance label import` in: the shipped articles, a copy of the gold file,
    and the annotation fixtures' articles as the exported ones."""
    folder = tmp_path / "project"
    labels = tmp_path / "labels.csv"
    shutil.copy(TARGET / "labels.csv", labels)
    params = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    params["data"]["articles"] = str(ROOT / params["data"]["articles"])
    # The target's folder at its usual place inside the project, so the store is found where users find it.
    target_folder(folder / params["data"]["target"], labels=labels, annotation_articles=ANNOTATION_ARTICLES)
    (folder / "params.yaml").write_text(yaml.safe_dump(params), encoding="utf-8")
    return folder


def batch_rows(count: int, skip: int = 0) -> list[list[str]]:
    """Rows of a filled export: real candidate pairs of the fixture articles, with a note column."""
    registry = ActorRegistry.load(ROOT / "data/targets/nato-tokyo-office/actors.yaml")
    pairs = [
        candidate
        for path in sorted(ANNOTATION_ARTICLES.glob("*.txt"))
        for candidate in article_candidates(path.stem, path.read_text(encoding="utf-8"), registry)
    ]
    unique = list({(p["article_id"], p["sentence"], p["actor"]): None for p in pairs})
    return [[*key, "neutral", "Tokyo’s view, unclear"] for key in unique[skip : skip + count]]


def write_batch(path: Path, rows: list[list[str]], encoding: str = "utf-8", newline: str = "\n") -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=newline)
    writer.writerow(["article_id", "sentence", "actor", "label", "note"])
    writer.writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def test_label_import_reads_a_spreadsheets_csv_and_refuses_a_legacy_one_storing_nothing(label_project):
    rows = batch_rows(3)
    legacy = write_batch(label_project / "legacy.csv", rows, encoding="cp1252", newline="\r\n")
    error = one_error_line(stance("label", "import", str(legacy), "--annotator", "alice", cwd=label_project))
    column = legacy.read_bytes().splitlines()[1].index(b"\x92") + 1  # the rest of the line is ASCII
    assert error == f"error: {legacy}:2: not UTF-8 (byte 0x92 at column {column}); save the file as UTF-8"
    assert not (label_project / "data/targets/nato-tokyo-office/annotation/passes").exists()

    excel = write_batch(label_project / "excel.csv", rows, encoding="utf-8-sig", newline="\r\n")
    result = stance("label", "import", str(excel), "--annotator", "alice", cwd=label_project)
    assert result.returncode == 0, result.stderr
    stored = list(
        csv.reader(
            io.StringIO(
                (label_project / "data/targets/nato-tokyo-office/annotation/passes/alice.csv").read_text("utf-8")
            )
        )
    )
    assert stored == [["article_id", "sentence", "actor", "label"], *[row[:4] for row in rows]]


# --- the same article id twice ---


def test_a_repeated_article_id_is_named_and_its_rows_kept_apart_in_the_summary(trained_model, tmp_path):
    for folder, text in (("monday", "France blocked the liaison office."), ("tuesday", "France backed the office.")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "report.txt").write_text(text + "\n", encoding="utf-8")
    feed = tmp_path / "feed.jsonl"
    feed.write_text(
        "".join(
            json.dumps({"id": "a7", "text": text, "date": date}) + "\n"
            for text, date in (
                ("Japan welcomed the office.", "2023-07-09"),
                ("Russia condemned the office.", "2023-07"),
            )
        ),
        encoding="utf-8",
    )
    monday, tuesday = tmp_path / "monday/report.txt", tmp_path / "tuesday/report.txt"
    result = stance(
        "score",
        "--model",
        str(trained_model),
        str(tmp_path / "monday"),
        str(tmp_path / "tuesday"),
        str(feed),
        "--output",
        str(tmp_path / "pairs.jsonl"),
        "--summary",
        str(tmp_path / "summary.csv"),
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip().splitlines() == [
        f"warning: {tuesday}: article id 'report' is also {monday}; its rows are kept apart as 'report#2'",
        f"warning: {feed}:2: article id 'a7' is also {feed}:1; its rows are kept apart as 'a7#2'",
    ]
    with open(tmp_path / "summary.csv", newline="", encoding="utf-8") as handle:
        summary = {(row["article_id"], row["actor"]): row["stance"] for row in csv.DictReader(handle)}
    assert summary == {
        ("report", "france"): "oppose",
        ("report#2", "france"): "support",
        ("a7", "japan"): "support",
        ("a7#2", "russia"): "oppose",
    }
    pairs = read_jsonl(tmp_path / "pairs.jsonl")
    assert [(row["article_id"], row["date"], row["sentence"]) for row in pairs] == [
        ("report", None, "France blocked the liaison office."),
        ("report#2", None, "France backed the office."),
        ("a7", "2023-07-09", "Japan welcomed the office."),
        ("a7#2", "2023-07", "Russia condemned the office."),  # renamed, still with its own date
    ]


# --- the environment ---


def _mount(*args: str) -> bool:
    return os.geteuid() == 0 and subprocess.run(["mount", *args], capture_output=True).returncode == 0


@contextlib.contextmanager
def read_only_folder(folder: Path):
    """A folder no process may write to: a read-only bind mount as root, else chmod 555."""
    folder.mkdir()
    if _mount("--bind", "-o", "ro", str(folder), str(folder)):
        try:
            yield folder
        finally:
            subprocess.run(["umount", str(folder)], check=True)
    elif os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            yield folder
        finally:
            folder.chmod(0o755)
    else:
        pytest.skip("running as root where mount is not allowed: no folder is read-only to root")


def test_an_output_in_a_read_only_folder_is_one_line_and_nothing_is_written(trained_model, tmp_path):
    with read_only_folder(tmp_path / "readonly") as folder:
        output = folder / "pairs.jsonl"
        error = one_error_line(
            stance("score", "--model", str(trained_model), str(ROOT / "seeds"), "--output", str(output))
        )
        assert error.startswith(f"error: {output}: cannot write here (")
        assert error.endswith("); choose another place (nothing was written)")
        assert list(folder.iterdir()) == []


def test_a_full_disk_keeps_the_previous_output_whole(trained_model, tmp_path):
    folder = tmp_path / "small_disk"
    folder.mkdir()
    if not _mount("-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)):
        pytest.skip("no tmpfs can be mounted here; test_a_full_disk_simulated_in_process covers the same path")
    try:
        output = folder / "pairs.jsonl"
        earlier_output(output, "the previous run's rows\n")
        # The pair rows of the shipped articles are several hundred KB: they cannot fit.
        error = one_error_line(
            stance("score", "--model", str(trained_model), str(ROOT / "seeds"), "--output", str(output))
        )
        assert error == f"error: {output}: could not be written (disk full); the previous file is unchanged"
        assert output.read_text(encoding="utf-8") == "the previous run's rows\n"
        assert sorted(p.name for p in folder.iterdir()) == ["pairs.jsonl", "pairs.jsonl.meta.json"]  # no temporary
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def test_a_full_disk_simulated_in_process(trained_model, tmp_path, monkeypatch):
    """The same path where no tmpfs can be mounted: the writer fails with ENOSPC part-way."""
    from pipeline.scoring import outputs

    def full(self, rows):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(outputs._CsvWriter, "write", full)
    output = tmp_path / "pairs.csv"
    earlier_output(output, "the previous run's rows\n")
    with own_signal_handlers():
        result = CliRunner().invoke(
            app, ["score", "--model", str(trained_model), str(ROOT / "seeds"), "--output", str(output)]
        )
    assert result.exit_code == 1
    assert result.stderr == f"error: {output}: could not be written (disk full); the previous file is unchanged\n"
    assert output.read_text(encoding="utf-8") == "the previous run's rows\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pairs.csv", "pairs.csv.meta.json"]


@pytest.mark.e2e  # several processes at once
def test_two_runs_writing_one_output_at_once_leave_one_whole_output(trained_model, tmp_path):
    seeds = sorted((ROOT / "seeds").glob("*.txt"))
    halves = {"first": seeds[: len(seeds) // 2], "second": seeds[len(seeds) // 2 :]}
    output = tmp_path / "pairs.jsonl"
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    processes = {
        name: subprocess.Popen(
            ["stance", "score", "--model", str(trained_model), *map(str, files), "--output", str(output)],
            cwd=ROOT,
            env=env,
            stderr=subprocess.PIPE,
        )
        for name, files in halves.items()
    }
    for process in processes.values():
        assert process.wait(timeout=300) == 0, process.stderr.read().decode()
    written = {row["article_id"] for row in read_jsonl(output)}
    (winner,) = [name for name, files in halves.items() if written == {f.stem for f in files}]
    alone = tmp_path / "alone.jsonl"
    result = stance("score", "--model", str(trained_model), *map(str, halves[winner]), "--output", str(alone))
    assert result.returncode == 0
    assert output.read_bytes() == alone.read_bytes()  # one run's whole output, not a mix
    # each output and its provenance sidecar, and no temporary file left behind
    names = ["alone.jsonl", "alone.jsonl.meta.json", "pairs.jsonl", "pairs.jsonl.meta.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == names


@pytest.mark.e2e  # several processes at once
def test_a_label_import_waits_for_another_and_an_interrupted_one_leaves_the_pass_whole(label_project):
    first = write_batch(label_project / "first.csv", batch_rows(2))
    assert stance("label", "import", str(first), "--annotator", "alice", cwd=label_project).returncode == 0
    stored = label_project / "data/targets/nato-tokyo-office/annotation/passes/alice.csv"
    before = stored.read_bytes()
    second = write_batch(label_project / "second.csv", batch_rows(2, skip=2))
    command = [str(BIN / "stance"), "label", "import", str(second), "--annotator", "alice"]
    lock = FileLock(label_project / "data/targets/nato-tokyo-office/annotation/.lock")
    for ending in ("interrupt", "release"):
        errors = label_project / f"stderr-{ending}.txt"
        with lock, open(errors, "w", encoding="utf-8") as stderr:  # another label command holds the store
            process = subprocess.Popen(command, cwd=label_project, stderr=stderr)
            deadline = time.monotonic() + 60
            while "waiting for another" not in errors.read_text(encoding="utf-8") and time.monotonic() < deadline:
                assert process.poll() is None, errors.read_text(encoding="utf-8")
                time.sleep(0.05)
            assert process.poll() is None and stored.read_bytes() == before  # validated, waiting, nothing stored
            if ending == "interrupt":
                process.send_signal(signal.SIGTERM)
                assert process.wait(timeout=60) == 130
        if ending == "release":
            assert process.wait(timeout=60) == 0
        text = errors.read_text(encoding="utf-8")
        assert "Traceback" not in text, text
        if ending == "interrupt":
            assert text.strip().endswith("interrupted") and stored.read_bytes() == before
    with open(stored, newline="", encoding="utf-8") as handle:
        assert [row[:3] for row in list(csv.reader(handle))[1:]] == [row[:3] for row in batch_rows(4)]


def scored_into_a_closed_pipe(model, arguments: str, unbuffered: bool = False) -> subprocess.CompletedProcess:
    """`stance score ARGUMENTS | head -c 10`: the reader takes 10 bytes and closes the pipe. `unbuffered`:
    with PYTHONUNBUFFERED set, as many container images set it (standard output's text layer then writes
    straight to the pipe, and ignored the partial write the closed pipe gave: the rows were lost, exit 0)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    return subprocess.run(
        f"'{BIN / 'stance'}' score --model '{model}' {arguments} | head -c 10; exit ${{PIPESTATUS[0]}}",
        shell=True,
        capture_output=True,
        text=True,
        executable="/bin/bash",
        env={**env, "PYTHONUNBUFFERED": "1"} if unbuffered else env,
    )


@pytest.mark.parametrize("unbuffered", [False, True], ids=["buffered", "unbuffered"])
def test_scoring_into_a_closed_pipe_ends_quietly(trained_model, unbuffered):
    result = scored_into_a_closed_pipe(trained_model, f"'{ROOT / 'seeds'}'", unbuffered)
    assert result.returncode == 1  # the run could not go on
    assert len(result.stdout) == 10 and "Traceback" not in result.stderr and "Error" not in result.stderr


@pytest.mark.parametrize("unbuffered", [False, True], ids=["buffered", "unbuffered"])
def test_scoring_into_a_closed_pipe_with_a_summary_file_says_the_summary_was_not_written(
    trained_model, tmp_path, unbuffered
):
    """The pipe broke on stdout: the summary of a run that did not finish is not written, and one line says
    so without blaming the summary (before, nothing was said, and an earlier summary.csv looked current)."""
    summary = tmp_path / "summary.csv"
    # The seeds' pair rows are several times what a pipe holds, so the writer meets the closed pipe.
    result = scored_into_a_closed_pipe(trained_model, f"'{ROOT / 'seeds'}' --summary '{summary}'", unbuffered)
    assert len(result.stdout) == 10 and result.returncode == 1
    assert result.stderr == (
        "error: standard output was closed by its reader before the run ended; "
        f"--summary {summary} not written (any earlier file there is kept)\n"
    )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full, a file every write to fails as disk full")
@pytest.mark.parametrize("unbuffered", [False, True], ids=["buffered", "unbuffered"])
def test_a_full_disk_on_standard_output_is_named_and_the_summary_file_is_kept(trained_model, tmp_path, unbuffered):
    """`stance score seeds > rows.jsonl` on a full volume said only `error: disk full`, naming no file."""
    earlier_output(tmp_path / "summary.csv", "article_id\nearlier\n")
    before = snapshot(tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"} | (
        {"PYTHONUNBUFFERED": "1"} if unbuffered else {}
    )
    args = [
        str(BIN / "stance"),
        "score",
        "--model",
        str(trained_model),
        str(ROOT / "seeds"),
        "--summary",
        "summary.csv",
    ]
    with open("/dev/full", "w") as full:
        result = subprocess.run(args, cwd=tmp_path, stdout=full, stderr=subprocess.PIPE, text=True, env=env)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr == (
        "error: standard output: could not be written (disk full); the run stopped there and wrote no file\n"
    )
    assert snapshot(tmp_path) == before


# --- outputs that would overwrite an input, or each other: the property ---

INPUT_CHOICES = ["feed.jsonl", "folder", "folder/a.txt", "folder/sub", "link.jsonl", "linkdir", "hard.jsonl"]
OUTPUT_CHOICES = [
    *INPUT_CHOICES,
    "folder/new.jsonl",
    "folder/sub/new.csv",
    "linkdir/new.parquet",
    "linkdir/a.txt",
    "out.jsonl",
    "out.csv",
    "out.parquet",
    "-",
]


def make_tree(root: Path) -> None:
    (root / "folder/sub").mkdir(parents=True)
    (root / "feed.jsonl").write_text(
        json.dumps({"id": "f1", "text": "France blocked the office."}) + "\n", encoding="utf-8"
    )
    (root / "folder/a.txt").write_text("Japan welcomed the office.\n", encoding="utf-8")
    (root / "folder/sub/b.txt").write_text("China opposes the office.\n", encoding="utf-8")
    (root / "link.jsonl").symlink_to("feed.jsonl")
    (root / "linkdir").symlink_to("folder", target_is_directory=True)
    os.link(root / "feed.jsonl", root / "hard.jsonl")


def snapshot(root: Path) -> dict[str, str]:
    """Every entry under root: a file's SHA-256, a symlink's target."""
    entries = {}
    for folder, names, files in os.walk(root):
        for name in names + files:
            path = Path(folder) / name
            key = str(path.relative_to(root))
            if path.is_symlink():
                entries[key] = "-> " + os.readlink(path)
            elif path.is_file():
                entries[key] = hashlib.sha256(path.read_bytes()).hexdigest()
    return entries


def must_refuse(inputs: list[str], outputs: list[str]) -> bool:
    """The overwrite rules, written independently of the code: real paths and files compared."""
    files = [o for o in outputs if o != "-"]
    if len(files) < len(outputs) - 1 or any(Path(o).suffix not in (".jsonl", ".csv", ".parquet") for o in files):
        return True

    def same(a: str, b: str) -> bool:
        both_exist = os.path.exists(a) and os.path.exists(b)
        return os.path.realpath(a) == os.path.realpath(b) or (both_exist and os.path.samefile(a, b))

    if any(same(a, b) for i, a in enumerate(files) for b in files[i + 1 :]):
        return True
    # a file with something in it that no earlier run wrote (no provenance sidecar: this tree has none);
    # a symlink is replaced itself, never what it points to
    if any(os.path.isfile(o) and not os.path.islink(o) and os.path.getsize(o) > 0 for o in files):
        return True
    return any(
        same(target, source)
        or (os.path.isdir(source) and os.path.realpath(target).startswith(os.path.realpath(source) + os.sep))
        for source in inputs
        for target in files
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    inputs=st.lists(st.sampled_from(INPUT_CHOICES), min_size=1, max_size=3, unique=True),
    output=st.sampled_from(OUTPUT_CHOICES),
    summary=st.one_of(st.none(), st.sampled_from(OUTPUT_CHOICES)),
)
def test_any_input_and_output_paths_are_refused_before_the_run_or_leave_every_input_unchanged(
    trained_model, tmp_path, inputs, output, summary
):
    with tempfile.TemporaryDirectory(dir=tmp_path) as scratch, contextlib.chdir(scratch):
        root = Path(scratch)
        make_tree(root)
        before = snapshot(root)
        args = ["score", "--model", str(trained_model), *inputs, "--output", output]
        args += ["--summary", summary] if summary else []
        refuse = must_refuse(inputs, [output, *([summary] if summary else [])])
        with own_signal_handlers():
            result = CliRunner().invoke(app, args)
        assert "Traceback" not in result.stderr
        assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
        after = snapshot(root)
        if any(p != "-" and Path(p).suffix not in (".jsonl", ".csv", ".parquet") for p in (output, summary) if p):
            # a folder, a .txt: no output format
            assert result.exit_code == 2 and "Invalid value for '--" in result.stderr, (args, result.stderr)
            assert after == before  # a usage error, before anything was read or written
        elif refuse:
            assert result.exit_code == 1, (args, result.stderr)
            assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
            assert after == before  # refused before anything was written
        else:
            assert result.exit_code == 0, (args, result.stderr)
            outputs = [p for p in (output, summary) if p and p != "-"]
            sidecars = [p + ".meta.json" for p in outputs if not p.endswith(".parquet")]  # provenance
            written = {os.path.realpath(p) for p in outputs + sidecars}
            changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
            assert {os.path.realpath(k) for k in changed} <= written  # the outputs, and no other file
            inputs_real = [os.path.realpath(i) for i in inputs]
            assert not [k for k in changed if any(Path(os.path.realpath(k)).is_relative_to(i) for i in inputs_real)]


def test_an_output_inside_a_symlinked_input_folder_is_refused_through_the_command(trained_model, tmp_path):
    make_tree(tmp_path)
    before = snapshot(tmp_path)
    result = stance(
        "score", "--model", str(trained_model), "linkdir", "--summary", "folder/sub/summary.csv", cwd=tmp_path
    )
    assert one_error_line(result) == (
        "error: folder/sub/summary.csv: --summary is inside the input linkdir; write it elsewhere (nothing was written)"
    )
    assert snapshot(tmp_path) == before


def test_a_dask_output_folder_may_neither_sit_inside_an_input_nor_hold_one(trained_model, tmp_path):
    shards = tmp_path / "shards"
    shards.mkdir()
    (shards / "s1.jsonl").write_text(json.dumps({"id": "a", "text": "France blocked it."}) + "\n", encoding="utf-8")
    (tmp_path / "scored/pairs").mkdir(parents=True)  # a previous run's parts, given back as input by mistake
    pq.write_table(
        pa.table({"id": ["b"], "text": ["Japan welcomed it."]}), tmp_path / "scored/pairs/part-00000.parquet"
    )
    cases = [
        (shards, shards / "scored", "--output's pairs/ folder is inside the input"),
        (tmp_path / "scored/pairs", tmp_path / "scored", "--output's pairs/ folder is the input"),
        (tmp_path / "scored/pairs/part-00000.parquet", tmp_path / "scored", "--output's pairs/ folder holds the input"),
    ]
    before = snapshot(tmp_path)
    for source, output, words in cases:  # in-process: each is refused before a cluster is asked for
        with pytest.raises(DataError, match=re.escape(words)):
            run_dask([str(source)], "local:1", str(output), trained_model)
    source, output, words = cases[1]  # and one through the command
    args = ["score", "--model", str(trained_model), "--dask", "local:1", str(source), "--output", str(output)]
    error = one_error_line(stance(*args))
    assert words in error and error.endswith("(nothing was written)"), error
    assert snapshot(tmp_path) == before


def test_a_label_export_may_not_overwrite_the_gold_file_or_write_into_the_store(trained_model, label_project):
    gold = "data/targets/nato-tokyo-office/labels.csv"  # as params.yaml names it
    before = snapshot(label_project)
    for output, words in (
        (gold, f"--output is the input {gold}"),
        (
            "data/targets/nato-tokyo-office/annotation/passes/batch.csv",
            "--output is inside the input data/targets/nato-tokyo-office/annotation",
        ),
    ):
        args = ["label", "export", str(ANNOTATION_ARTICLES), "--n", "2", "--model", str(trained_model)]
        error = one_error_line(stance(*args, "--output", output, cwd=label_project))
        assert error == f"error: {output}: {words}; write it elsewhere (nothing was written)"
    assert snapshot(label_project) == before


def test_score_replaces_only_its_own_earlier_output(trained_model, label_project):
    """`stance score … --output data/…/labels.csv` replaced the gold file with pair rows: the scorer
    knows no project, but it knows its own outputs by their provenance, and replaces nothing else."""
    article = str(ROOT / "seeds/000_5ea5e603efdd03d0.txt")
    gold = "data/targets/nato-tokyo-office/labels.csv"
    (label_project / gold).unlink()  # a file, as in a clone (the project links it; a link would be replaced itself)
    shutil.copy(TARGET / "labels.csv", label_project / gold)
    pq.write_table(pa.table({"id": ["b"], "text": ["Japan welcomed it."]}), label_project / "feed.parquet")
    for name, value in (("other", "a pipeline of another team"), ("bare", "{}"), ("deep", "[" * 100_000)):
        stamped = pa.table({"id": ["c"]}).replace_schema_metadata({"stance": value})
        pq.write_table(stamped, label_project / f"{name}.parquet")  # the key, but no record the scorer wrote
    (label_project / "notes.csv").write_text("a colleague's notes\n", encoding="utf-8")
    (label_project / "notes.csv.meta.json").write_text("{}\n", encoding="utf-8")  # no sidecar the scorer wrote
    (label_project / "deep.csv").write_text("a colleague's table\n", encoding="utf-8")
    (label_project / "deep.csv.meta.json").write_text("[" * 100_000, encoding="utf-8")  # too deep to parse: no record
    before = snapshot(label_project)
    for output, why in (
        (gold, "no labels.csv.meta.json beside it"),
        ("feed.parquet", "no 'stance' metadata naming a model in it"),
        *((f"{name}.parquet", "no 'stance' metadata naming a model in it") for name in ("other", "bare", "deep")),
    ):
        args = ["score", "--model", str(trained_model), article, "--output", output]
        error = one_error_line(stance(*args, cwd=label_project))
        assert error == (
            f"error: {output}: --output exists and has no provenance of `stance score` ({why}: another program's "
            "file, or rows sent to standard output); move it or give another path (nothing was written)"
        )
    summary = one_error_line(
        stance("score", "--model", str(trained_model), article, "--summary", gold, cwd=label_project)
    )
    assert summary.startswith(f"error: {gold}: --summary exists and has no provenance of `stance score`")
    notes = one_error_line(
        stance("score", "--model", str(trained_model), article, "--output", "notes.csv", cwd=label_project)
    )
    assert notes.startswith("error: notes.csv: --output exists and has no provenance of `stance score`")
    deep = one_error_line(
        stance("score", "--model", str(trained_model), article, "--output", "deep.csv", cwd=label_project)
    )
    assert deep.startswith("error: deep.csv: --output exists and has no provenance of `stance score`")
    assert snapshot(label_project) == before
    (label_project / "empty.jsonl").touch()  # holds nothing to lose
    (label_project / "link.jsonl").symlink_to("feed.parquet")  # the link is replaced, never what it points to
    for output in ("pairs.csv", "pairs.csv", "pairs.parquet", "pairs.parquet", "empty.jsonl", "link.jsonl"):
        args = ["score", "--model", str(trained_model), article, "--output", output]  # an earlier run's is replaced
        assert stance(*args, cwd=label_project).returncode == 0, output
    assert (label_project / "empty.jsonl").stat().st_size > 0
    assert (
        not (label_project / "link.jsonl").is_symlink()
        and snapshot(label_project)["feed.parquet"] == before["feed.parquet"]
    )


def scored_while(trained_model: Path, folder: Path, output: str, change) -> subprocess.CompletedProcess:
    """`stance score - --output OUTPUT`, with `change()` made while it runs: once its output's temporary
    file is there (the check before the run is done), before its input ends."""
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    args = ["stance", "score", "--model", str(trained_model), "-", "--output", output]
    with subprocess.Popen(
        args, cwd=folder, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    ) as process:
        process.stdin.write(json.dumps({"id": "a", "text": TEXT}) + "\n")
        process.stdin.flush()
        deadline = time.monotonic() + 120
        while not list(folder.glob(f".{output}.*.tmp")) and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert process.poll() is None, process.stderr.read()
        change()
        stdout, stderr = process.communicate(json.dumps({"id": "b", "text": TEXT}) + "\n", timeout=120)
    return subprocess.CompletedProcess(args, process.returncode, stdout, stderr)


def test_a_file_saved_over_the_output_while_the_run_goes_is_kept(trained_model, tmp_path):
    """The check before the run cannot see a file saved at the output during it: a spreadsheet saved
    over an earlier output, or a new file where there was none, was replaced when the run ended."""
    earlier_output(tmp_path / "pairs.csv", "article_id\nold\n")
    saved = "my own edits, saved while the run went\n"
    cases = {  # output: the change made during the run
        "pairs.csv": lambda: (tmp_path / "pairs.csv").write_text(saved, encoding="utf-8"),
        "new.jsonl": lambda: (tmp_path / "new.jsonl").write_text(saved, encoding="utf-8"),
        "new.parquet": lambda: pq.write_table(pa.table({"mine": [1]}), tmp_path / "new.parquet"),
        "side.jsonl": lambda: (tmp_path / "side.jsonl.meta.json").write_text('{"mine": 1}\n', encoding="utf-8"),
    }
    for output, change in cases.items():
        result = scored_while(trained_model, tmp_path, output, change)
        changed = "side.jsonl.meta.json" if output == "side.jsonl" else output
        why = {
            "pairs.csv": "its provenance, pairs.csv.meta.json, did not change with it",
            "new.jsonl": "its provenance, new.jsonl.meta.json, did not change with it",
            "new.parquet": "no 'stance' metadata naming a model in it now",
            "side.jsonl": "not the provenance record of --output side.jsonl now",
        }[output]
        assert one_error_line(result) == (
            f"error: {changed}: was changed while the run was going ({why}: another program's file); it is kept "
            "as it is, and no output file of this run was written; score again to another path"
        )
        assert not list(tmp_path.glob(".*.tmp"))
    assert (tmp_path / "pairs.csv").read_text(encoding="utf-8") == saved
    assert (tmp_path / "pairs.csv.meta.json").read_text(encoding="utf-8") == '{"model_sha256": "an earlier model"}\n'
    assert (tmp_path / "new.jsonl").read_text(encoding="utf-8") == saved
    assert not (tmp_path / "new.jsonl.meta.json").exists() and not (tmp_path / "side.jsonl").exists()
    assert pq.read_table(tmp_path / "new.parquet").column_names == ["mine"]

    # Another `stance score` run that ends first renames a new output and sidecar into place: the last to finish wins.
    def another_run_ends_first():
        earlier_output(tmp_path / "other.csv", "article_id\nthe other run's\n")
        os.replace(tmp_path / "other.csv", tmp_path / "race.csv")
        os.replace(tmp_path / "other.csv.meta.json", tmp_path / "race.csv.meta.json")

    earlier_output(tmp_path / "race.csv", "article_id\nold\n")
    assert scored_while(trained_model, tmp_path, "race.csv", another_run_ends_first).returncode == 0
    assert (tmp_path / "race.csv").read_text(encoding="utf-8").startswith("article_id,date,sentence_index")
    unchanged = scored_while(trained_model, tmp_path, "pairs.jsonl", lambda: None)
    assert unchanged.returncode == 0 and len(read_jsonl(tmp_path / "pairs.jsonl")) > 1


def test_score_refuses_a_pipe_as_output_and_another_programs_sidecar(trained_model, tmp_path):
    """A named pipe given as --output was renamed over by a file, its reader left waiting for ever; a
    `pairs.jsonl.meta.json` of the user's own was replaced by the run's provenance without a word."""
    article = str(ROOT / "seeds/000_5ea5e603efdd03d0.txt")
    os.mkfifo(tmp_path / "rows.jsonl")
    (tmp_path / "pairs.jsonl.meta.json").write_text('{"note": "my own metadata"}\n', encoding="utf-8")
    before = snapshot(tmp_path)
    pipe = one_error_line(
        stance("score", "--model", str(trained_model), article, "--output", "rows.jsonl", cwd=tmp_path)
    )
    assert pipe == (
        "error: rows.jsonl: is a named pipe, not a file: the output is written beside it and renamed into place, "
        "which would replace it; give a file path (nothing was written)"
    )
    sidecar = one_error_line(
        stance("score", "--model", str(trained_model), article, "--output", "pairs.jsonl", cwd=tmp_path)
    )
    assert sidecar == (
        "error: pairs.jsonl.meta.json: exists and is not the provenance record of an earlier `stance score` "
        "(another program's file), and --output pairs.jsonl would replace it with one; move it or give another "
        "path (nothing was written)"
    )
    assert snapshot(tmp_path) == before and (tmp_path / "rows.jsonl").is_fifo()


def test_a_folder_nested_a_thousand_deep_is_read_like_any_other(trained_model, tmp_path):
    """The folder walk recursed, so a thousand nested folders ended the run with RecursionError."""
    folders = [tmp_path / "corpus"]
    for _ in range(1000):  # one at a time: mkdir(parents=True) itself recurses too deep for this
        folders.append(folders[-1] / "d")
    try:
        for folder in folders:
            folder.mkdir()
        (folders[-1] / "x.txt").write_text(TEXT, encoding="utf-8")
        output = tmp_path / "pairs.jsonl"
        result = stance("score", "--model", str(trained_model), str(folders[0]), "--output", str(output))
        assert result.returncode == 0, result.stderr
        assert {row["article_id"] for row in read_jsonl(output)} == {"x"}
    finally:  # removed here, deepest first: pytest's own clean-up (shutil.rmtree) recurses too deep for it
        (folders[-1] / "x.txt").unlink(missing_ok=True)
        for folder in reversed(folders):
            if folder.exists():
                folder.rmdir()


# --- odd command lines and file systems: one line or a usage error, never a traceback ---

ONE_ARTICLE = '{"id": "a", "text": "France opposes the NATO office in Japan."}\n'


def test_a_closed_standard_output_or_error_is_a_clear_stop_or_no_matter(trained_model, tmp_path):
    """`>&-`: an AttributeError traceback; `2>&-`: exit 1 and nothing written, with no word anywhere."""
    article, output = ROOT / "seeds/000_5ea5e603efdd03d0.txt", tmp_path / "pairs.jsonl"

    def score(redirect: str) -> subprocess.CompletedProcess:
        command = f"'{BIN / 'stance'}' score --model '{trained_model}' '{article}' {redirect}"
        return subprocess.run(command, shell=True, capture_output=True, text=True, executable="/bin/bash")

    no_stdout = score(">&-")
    assert no_stdout.returncode == 1 and no_stdout.stderr == (
        "error: --output: standard output is closed; give a file path (nothing was written)\n"
    )
    no_stderr = score(f"--output '{output}' 2>&-")
    assert no_stderr.returncode == 0 and output.read_text(encoding="utf-8").count("\n") > 10


def test_a_closed_standard_input_is_an_empty_feed_not_a_traceback(trained_model, tmp_path):
    """`stance score - <&-` (stdin closed, as some daemons run): sys.stdin is None."""
    output = tmp_path / "pairs.jsonl"
    result = subprocess.run(
        f"'{BIN / 'stance'}' score --model '{trained_model}' - --output '{output}' <&-",
        shell=True,
        capture_output=True,
        text=True,
        executable="/bin/bash",
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "skipped: <stdin>: empty: no records" in result.stderr and not output.exists()


def test_a_symlink_loop_among_inputs_or_as_output_is_no_traceback(trained_model, tmp_path):
    """A loop (`ln -s a a`) made Path.resolve raise RuntimeError while outputs were checked against inputs."""
    (tmp_path / "good.jsonl").write_text(ONE_ARTICLE, encoding="utf-8")
    (tmp_path / "loop.jsonl").symlink_to("loop.jsonl")
    (tmp_path / "out.jsonl").symlink_to("out.jsonl")
    scored = run(
        ["stance", "score", "--model", str(trained_model), "loop.jsonl", "good.jsonl", "--output", "pairs.jsonl"],
        tmp_path,
        check=False,
    )
    assert scored.returncode == 3 and scored.stderr == "skipped: loop.jsonl: no such file or folder\n"
    assert json.loads((tmp_path / "pairs.jsonl").read_text(encoding="utf-8").splitlines()[0])["actor"] == "france"
    into_loop = run(
        ["stance", "score", "--model", str(trained_model), "good.jsonl", "--output", "out.jsonl"], tmp_path, check=False
    )
    assert into_loop.returncode == 0 and into_loop.stderr == ""  # the looping link is replaced, as any link is
    assert (tmp_path / "out.jsonl").read_bytes() == (tmp_path / "pairs.jsonl").read_bytes()
    report = run(
        ["stance", "report", "loop.jsonl", "--output", "r.html", "--target", str(TARGET)], tmp_path, check=False
    )
    assert report.returncode == 1 and report.stderr == "error: loop.jsonl: no such file or folder\n"


@pytest.mark.parametrize(
    ("options", "says"),
    [
        (["--max-article-chars", str(2**63 - 1)], "less than or equal to 1000000000000"),
        (["--dask", "local:abc"], "local:N takes a number of workers from 1 to"),
        (["--dask", "local:0"], "local:N takes a number of workers from 1 to"),
        (["--dask", "nonsense"], "'nonsense' is not host:port"),
        (["--dask", "foo://x:1"], "'foo://x:1': the scheme 'foo' is not one a scheduler listens on"),
        (["--dask", "h:abc"], "'h:abc': the port 'abc' is not a number from 1 to 65535"),
        (["--dask", "inproc://x"], "'inproc://x': the scheme 'inproc' is not one a scheduler listens on"),
        (["--dask", "tcp://::1:8786"], "an IPv6 host needs brackets, as in tcp://[::1]:8786"),
        (["--dask", "[::1]"], "'[::1]' is not host:port"),
        (["--dask", "LOCAL:1"], "'LOCAL:1': write local in lower case"),
        (["--dask", ""], "'' is not host:port"),
        (["--dask", "local:1", "--summary", "s.csv"], "'--summary': not used with --dask"),
        (["--dask", "local:1", "--workers", "2"], "'--workers': not used with --dask: give local:N"),
    ],
)
def test_values_the_run_cannot_use_are_usage_errors_before_anything_starts(trained_model, tmp_path, options, says):
    """Before: an OverflowError or ValueError traceback (an unknown scheme's too, and int()'s own words for
    a port that is no number), `local:0` waited for workers forever, and `--summary` with `--dask` was
    silently not written, nor `--workers` used."""
    (tmp_path / "good.jsonl").write_text(ONE_ARTICLE, encoding="utf-8")
    command = ["stance", "score", "--model", str(trained_model), "good.jsonl", "--output", "out", *options]
    result = run(command, tmp_path, check=False, timeout=60)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert says in unboxed(result.stderr)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["good.jsonl"]


@pytest.mark.parametrize(
    "address",
    [
        "local",
        "local:1",
        "scheduler:8786",
        "tcp://10.0.0.5:8786",
        "tls://scheduler.example.org:8786",
        "ws://scheduler:8786",
        "wss://scheduler:443",
        "[::1]:8786",
        "tcp://[fe80::1%eth0]:8786",
        "localhost:8786",
    ],
)
def test_addresses_a_dask_scheduler_serves_are_accepted(address):
    from pipeline.scoring.dask_runner import address_problem

    assert address_problem(address) is None


def test_a_dangling_txt_link_in_an_input_folder_is_named_not_dropped(trained_model, tmp_path):
    """A folder's .txt that is a link to nothing was left out without a word (exit 0)."""
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "a.txt").write_text("France opposes the NATO office in Japan.\n", encoding="utf-8")
    (folder / "b.txt").symlink_to("gone.txt")
    result = run(["stance", "score", "--model", str(trained_model), "articles"], tmp_path, check=False)
    assert (
        result.returncode == 3 and result.stderr == "skipped: articles/b.txt: cannot read: No such file or directory\n"
    )
    assert json.loads(result.stdout.splitlines()[0])["article_id"] == "a"
    shards = tmp_path / "shards"  # with no real .txt, a link to nothing does not hide the folder's shards
    shards.mkdir()
    (shards / "a.jsonl").write_text(ONE_ARTICLE, encoding="utf-8")
    (shards / "README.txt").symlink_to("gone.txt")
    result = run(["stance", "score", "--model", str(trained_model), "shards"], tmp_path, check=False)
    assert result.returncode == 0 and json.loads(result.stdout.splitlines()[0])["actor"] == "france"


def test_linked_folders_pipes_and_unreadable_folders_in_an_input_folder_are_named_not_dropped(trained_model, tmp_path):
    """`Path.rglob` left linked folders out, and unreadable folders, pipes and devices, without a word (exit 0).
    A linked folder is named, not followed: followed, `up -> ..` would read the folder's neighbours."""
    folder, elsewhere = tmp_path / "articles", tmp_path / "elsewhere"
    folder.mkdir()
    elsewhere.mkdir()
    (folder / "a.txt").write_text("France opposes the NATO office in Japan.\n", encoding="utf-8")
    (elsewhere / "b.txt").write_text("Japan welcomes the NATO office in Tokyo.\n", encoding="utf-8")
    (folder / "more").symlink_to(elsewhere, target_is_directory=True)
    (folder / "up").symlink_to("..", target_is_directory=True)
    os.mkfifo(folder / "pipe.txt")
    (folder / "zero.txt").symlink_to("/dev/zero")
    command = [
        "stance",
        "score",
        "--model",
        str(trained_model),
        "articles",
        "--summary",
        "s.csv",
        "--output",
        "o.jsonl",
    ]
    result = run(command, tmp_path, check=False, timeout=120)
    assert result.returncode == 3 and result.stderr.splitlines() == [
        "skipped: articles/more: a link to a folder, not followed; give that folder itself",
        "skipped: articles/up: a link to a folder, not followed; give that folder itself",
        "skipped: articles/pipe.txt: not a regular file; name it on its own to read a pipe",
        "skipped: articles/zero.txt: not a regular file; name it on its own to read a pipe",
    ]
    assert {row["article_id"] for row in read_jsonl(tmp_path / "o.jsonl")} == {"a"}
    shards = tmp_path / "shards"  # a pipe named .txt among a corpus's shards is named too, the shards read
    shards.mkdir()
    (shards / "a.jsonl").write_text(ONE_ARTICLE, encoding="utf-8")
    os.mkfifo(shards / "pipe.txt")
    result = run(["stance", "score", "--model", str(trained_model), "shards"], tmp_path, check=False, timeout=120)
    assert result.returncode == 3 and result.stderr == (
        "skipped: shards/pipe.txt: not a regular file; name it on its own to read a pipe\n"
    )
    assert json.loads(result.stdout.splitlines()[0])["actor"] == "france"
    report = run(["stance", "report", "articles", "--output", "r.html", "--target", str(TARGET)], tmp_path, check=False)
    assert report.returncode == 1 and report.stderr == (
        "error: articles/more: a link to a folder, not followed; give that folder itself\n"
    )
    as_user = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search"] if os.geteuid() == 0 else []
    if as_user and not shutil.which("setpriv"):
        pytest.skip("root reads any folder, and setpriv is not here to drop that")
    for link in ("more", "up", "pipe.txt", "zero.txt"):
        (folder / link).unlink()
    locked = folder / "locked"
    locked.mkdir(mode=0)
    try:
        result = run([*as_user, *command], tmp_path, check=False, timeout=120)
    finally:
        locked.chmod(0o755)
    assert (
        result.returncode == 3 and result.stderr == "skipped: articles/locked: cannot read folder: permission denied\n"
    )


def test_a_report_reads_a_summary_csv_a_spreadsheet_saved_with_a_byte_order_mark(trained_model, tmp_path):
    """The mark was read as part of `article_id`, so the column was said to be missing."""
    (tmp_path / "good.jsonl").write_text(ONE_ARTICLE, encoding="utf-8")
    run(["stance", "score", "--model", str(trained_model), "good.jsonl", "--summary", "s.csv"], tmp_path)
    (tmp_path / "excel.csv").write_bytes(b"\xef\xbb\xbf" + (tmp_path / "s.csv").read_bytes())
    for name in ("s.csv", "excel.csv"):
        run(["stance", "report", name, "--output", f"{name}.html", "--target", str(TARGET)], tmp_path)
    assert (tmp_path / "excel.csv.html").read_bytes() == (tmp_path / "s.csv.html").read_bytes().replace(
        b"s.csv", b"excel.csv"
    )
