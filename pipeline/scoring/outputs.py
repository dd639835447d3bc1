"""Streaming row writers for the scorer: JSONL, CSV or Parquet, chosen by the file's extension.

Rows are written as they come, to a temporary file beside the target that is
renamed onto it only when the run finishes. A writer takes rows, or rows already
`encode`d into the file's form where they were scored (JSONL or CSV text, an Arrow
record batch), so that with several workers the writing process only writes. An interrupted run never leaves a
half-written file under the real name, and a good file from an earlier run
survives until its replacement is whole. With no path (or "-"), JSONL goes to
standard output.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import functools
import io
import json
import os
import select
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.data.labels import LABELS, PROBABILITY_FIELDS
from pipeline.errors import DataError
from pipeline.files import atomic_outputs, file_format, os_reason, output_errors
from pipeline.scoring.provenance import METADATA_KEY, sidecar_path

PAIR_SCHEMA = pa.schema(
    [
        ("article_id", pa.string()),
        ("date", pa.string()),  # YYYY-MM-DD or YYYY-MM from a JSONL or Parquet input's `date`; else empty
        ("sentence_index", pa.int32()),
        ("sentence", pa.string()),
        ("actor", pa.string()),
        ("stance", pa.string()),
        ("confidence", pa.float64()),
        *[(name, pa.float64()) for name in PROBABILITY_FIELDS],
    ]
)
SUMMARY_SCHEMA = pa.schema(
    [
        ("article_id", pa.string()),
        ("date", pa.string()),
        ("actor", pa.string()),
        ("pairs", pa.int32()),
        *[(f"n_{label}", pa.int32()) for label in LABELS],
        ("n_uncertain", pa.int32()),  # pairs below --min-confidence (0 without it)
        *[(f"mean_{name}", pa.float64()) for name in PROBABILITY_FIELDS],
        ("stance", pa.string()),
    ]
)
EXPLANATION_FIELD = pa.field(
    "explanation", pa.list_(pa.struct([("feature", pa.string()), ("contribution", pa.float64())]))
)
FORMATS = (".jsonl", ".csv", ".parquet")  # and .ndjson, written as .jsonl (`file_format`)
PARQUET_ROW_GROUP = 50_000


def pair_schema(explain: bool = False) -> pa.Schema:
    """The pair rows' schema; `--explain K` adds the explanation column."""
    return PAIR_SCHEMA.append(EXPLANATION_FIELD) if explain else PAIR_SCHEMA


def output_problem(path: str) -> str | None:
    """Why `path` cannot be a pair or summary output; None where it can ("-" is standard output)."""
    if not path:
        return "an empty path; give a .jsonl, .csv or .parquet file, or - for standard output"
    if path != "-" and file_format(path) not in FORMATS:
        if Path(path).is_dir():
            return f"{path}: is a folder; give a file path (.jsonl, .csv or .parquet)"
        suffix = Path(path).suffix.lower() or "(none)"
        return f"{path}: unknown output format {suffix!r}; use .jsonl (or .ndjson), .csv or .parquet"
    return None


def output_format(path: str | None) -> str:
    """The output's format, as one of FORMATS (JSONL for standard output)."""
    if path in (None, "-"):
        return ".jsonl"
    if problem := output_problem(path):
        raise DataError(path or "''", None, problem.removeprefix(f"{path}: "))
    return file_format(path)


@dataclass(frozen=True)
class Encoded:
    """Rows in the form their output file takes: JSONL or CSV text (no header), or an Arrow record batch."""

    payload: str | pa.RecordBatch
    rows: int


def encode(rows: list[dict], kind: str, schema: pa.Schema | None = None) -> Encoded:
    """What `write` would turn these rows into for an output of this kind (`output_format`);
    CSV and Parquet need the output's schema."""
    if kind == ".parquet":
        # Column lists first: Arrow builds a batch from them in a third of from_pylist's time.
        columns = [arrow_array([row.get(field.name) for row in rows], field.type) for field in schema]
        return Encoded(pa.RecordBatch.from_arrays(columns, schema=schema), len(rows))
    buffer = io.StringIO(newline="")
    if kind == ".jsonl":
        buffer.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    else:
        writer = csv.DictWriter(buffer, fieldnames=schema.names, lineterminator="\n")
        # A list (the explanation) is one cell of JSON text.
        writer.writerows(
            {
                key: json.dumps(value, ensure_ascii=False) if isinstance(value, list) else value
                for key, value in row.items()
            }
            for row in rows
        )
    return Encoded(buffer.getvalue(), len(rows))


_NUMPY_TYPES = {pa.int32(): np.int32, pa.int64(): np.int64, pa.float64(): np.float64}


def arrow_array(values: list, data_type: pa.DataType) -> pa.Array:
    """`pa.array(values, data_type)`, built from buffers for the output's plain columns (text,
    whole numbers, floats; None is null). The first time pyarrow converts Python values it imports
    pandas to ask whether they are pandas objects: 0.3 s in every scoring process, for nothing."""
    valid = [value is not None for value in values]
    nulls = len(values) - sum(valid)
    validity = pa.py_buffer(np.packbits(valid, bitorder="little")) if nulls else None
    present = [value for value in values if value is not None]
    if data_type == pa.string() and all(isinstance(value, str) for value in present):
        encoded = [value.encode("utf-8") if value is not None else b"" for value in values]
        offsets = np.zeros(len(values) + 1, dtype=np.int64)
        np.cumsum(np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded)), out=offsets[1:])
        if offsets[-1] < 2**31:  # a string array's offsets are int32; pyarrow handles longer columns
            buffers = [validity, pa.py_buffer(offsets.astype(np.int32)), pa.py_buffer(b"".join(encoded))]
            return pa.Array.from_buffers(data_type, len(values), buffers, nulls)
    elif data_type in _NUMPY_TYPES and _plain_numbers(present, _NUMPY_TYPES[data_type]):
        data = np.array([0 if value is None else value for value in values], dtype=_NUMPY_TYPES[data_type])
        return pa.Array.from_buffers(data_type, len(values), [validity, pa.py_buffer(data)], nulls)
    return pa.array(values, type=data_type)  # the explanations' lists, and anything unusual


def _plain_numbers(values: list, dtype) -> bool:
    """Numbers numpy stores as pyarrow would: floats for a float column; ints (not bools) in range."""
    if dtype is np.float64:
        return all(isinstance(value, float) for value in values)
    limits = np.iinfo(dtype)
    return all(
        isinstance(value, int) and not isinstance(value, bool) and limits.min <= value <= limits.max for value in values
    )


def check_outputs(inputs: list[str], outputs: dict[str, str | None]) -> None:
    """Refuse, before anything is read or written, outputs that would overwrite an input or each other.

    `outputs` maps an option name (--output, --summary) to its path: None for no output,
    "-" for standard output, which only one output may use. Paths are compared after resolving
    symlinks (and as files, so a hard link counts); an output inside an input folder counts
    as overwriting it, and so does an output folder holding an input (the Dask runner's).
    """
    to_stdout = [option for option, path in outputs.items() if path == "-"]
    if len(to_stdout) > 1:
        raise DataError(to_stdout[1], None, f"{' and '.join(to_stdout)} would both go to standard output; give a path")
    if to_stdout and sys.stdout is None:  # started with it closed (`>&-`, some daemons)
        raise DataError(to_stdout[0], None, "standard output is closed; give a file path (nothing was written)")
    seen: dict[Path, str] = {}
    for option, name in outputs.items():
        if name in (None, "-"):
            continue
        path = _resolved(name)
        twin = next((seen[other] for other in seen if other == path or _same_file(other, path)), None)
        if twin:
            raise DataError(name, None, f"{twin} and {option} are the same file; give each its own path")
        seen[path] = option
        for input_name in inputs:
            if input_name == "-":
                if _is_standard_input(path):
                    raise DataError(
                        name,
                        None,
                        f"{option} is the file standard input reads; write it elsewhere (nothing was written)",
                    )
                continue
            source = _resolved(input_name)
            if path == source or _same_file(path, source):
                where = "is"
            elif not source.is_file() and path.is_relative_to(source):  # a folder, or one not made yet
                where = "is inside"
            elif source.is_relative_to(path):
                where = "holds"
            else:
                continue
            raise DataError(
                name, None, f"{option} {where} the input {input_name}; write it elsewhere (nothing was written)"
            )


def check_replaceable(outputs: dict[str, str | None]) -> dict[Path, tuple | None]:
    """Refuse, before anything is read or written, to replace a file that `stance score` did not write.

    An earlier output is known by its provenance (the `.meta.json` sidecar of a JSONL or CSV file,
    the key-value metadata of a Parquet file); an empty file holds nothing to lose, and a symlink
    is replaced itself, never what it points to. Anything else (`--output data/…/labels.csv`, a
    colleague's spreadsheet) would be gone once the run finished; so would a `<output>.meta.json`
    of another program's, which the run's own sidecar replaces.

    Returns what is at each output and sidecar now, for `check_unchanged` just before the renames.
    """
    found = {}
    for option, name in outputs.items():
        if name in (None, "-"):
            continue
        path, sidecar = Path(name), sidecar_path(name)
        found |= {path: file_identity(path), sidecar: file_identity(sidecar)}
        if holds_data(path):
            if output_format(path) == ".parquet":
                if _has_provenance(path):
                    continue
                why = f"no {METADATA_KEY!r} metadata naming a model in it"
            elif _is_provenance(sidecar):
                continue
            else:
                why = f"no {sidecar.name} beside it"
            raise DataError(
                name,
                None,
                f"{option} exists and has no provenance of `stance score` ({why}: another program's file, "
                "or rows sent to standard output); move it or give another path (nothing was written)",
            )
        # The output itself is new, empty or a link; its sidecar, which the run writes too, must be ours as well.
        if output_format(path) != ".parquet" and holds_data(sidecar) and not _is_provenance(sidecar):
            raise DataError(
                sidecar,
                None,
                "exists and is not the provenance record of an earlier `stance score` (another program's file), "
                f"and {option} {path.name} would replace it with one; move it or give another path (nothing was written)",
            )
    return found


# Another run renames its output, then its sidecar: a look between the two waits this long and looks again.
BETWEEN_RENAMES_SECONDS = 0.2


def check_unchanged(outputs: dict[str, str | None], found: dict[Path, tuple | None]) -> None:
    """Refuse to rename onto an output that another program wrote while the run was going.

    `check_replaceable` looks before the run and cannot see a file saved there during it (a
    spreadsheet saved over an earlier output, a new file where there was none). Another
    `stance score` run that ends first is no such file (the last to finish wins, as before): it
    replaces a JSONL or CSV output together with its sidecar, and a Parquet output carries its
    provenance inside. Called with what `check_replaceable` returned, just before the renames."""
    problem = _changed_without_provenance(outputs, found)
    if problem is not None and problem[2]:  # perhaps another run between its two renames
        time.sleep(BETWEEN_RENAMES_SECONDS)
        problem = _changed_without_provenance(outputs, found)
    if problem is not None:
        path, why, _ = problem
        raise DataError(
            path,
            None,
            f"was changed while the run was going ({why}: another program's file); it is kept as it is, "
            "and no output file of this run was written; score again to another path",
        )


def _changed_without_provenance(outputs, found) -> tuple[Path, str, bool] | None:
    """(the file, why it is another program's, whether only a JSONL or CSV output changed and not its sidecar)."""
    for option, name in outputs.items():
        if name in (None, "-"):
            continue
        path, sidecar = Path(name), sidecar_path(name)
        output_changed = file_identity(path) != found.get(path)
        if output_format(path) == ".parquet":
            if output_changed and holds_data(path) and not _has_provenance(path):
                return path, f"no {METADATA_KEY!r} metadata naming a model in it now", False
            continue
        sidecar_changed = file_identity(sidecar) != found.get(sidecar)
        if sidecar_changed and holds_data(sidecar) and not _is_provenance(sidecar):
            return sidecar, f"not the provenance record of {option} {path.name} now", False
        if output_changed and holds_data(path) and not sidecar_changed:
            return path, f"its provenance, {sidecar.name}, did not change with it", True
        if output_changed and holds_data(path) and not _is_provenance(sidecar):
            return path, f"no {sidecar.name} beside it now", False
    return None


def file_identity(path: Path) -> tuple | None:
    """What tells one file at `path` from another, or from itself rewritten; None where there is none."""
    try:
        found = os.lstat(path)
    except OSError:
        return None
    # Not st_ctime: a link made by a backup tool, a chmod or a file put back after a failed run change it, not the bytes.
    return (found.st_dev, found.st_ino, found.st_size, found.st_mtime_ns)


def holds_data(path: Path) -> bool:
    """A non-empty file there, not a link: something a rename onto that name would lose (`label export` asks too)."""
    try:
        return not path.is_symlink() and path.is_file() and path.stat().st_size > 0
    except OSError:  # unreadable: the writer names the reason
        return False


def _has_provenance(path: Path) -> bool:
    """A Parquet file `stance score` wrote: its `stance` metadata is a record naming the model's SHA-256."""
    try:
        value = (pq.read_schema(path).metadata or {}).get(METADATA_KEY.encode())
    except Exception:  # not a Parquet file at all (pyarrow raises several kinds)
        return False
    return value is not None and _names_a_model(value)


def _is_provenance(sidecar: Path) -> bool:
    """A sidecar `stance score` wrote: a JSON object naming the model's SHA-256 (any other `.meta.json` is not one)."""
    try:
        return _names_a_model(sidecar.read_bytes())
    except OSError:  # missing, unreadable
        return False


def _names_a_model(text: bytes) -> bool:
    """A provenance record: a JSON object with the model's SHA-256 (another program's `{}` or "stance" is not one)."""
    try:
        record = json.loads(text)
    except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested too deep for the parser
        return False
    return isinstance(record, dict) and "model_sha256" in record


def _resolved(name: str) -> Path:
    """The absolute path with symlinks followed; a symlink loop as it is written (its reader names it)."""
    try:
        return Path(name).resolve()
    except (RuntimeError, OSError):  # a loop: RuntimeError before Python 3.13, OSError since
        return Path(os.path.abspath(name))


def _is_standard_input(path: Path) -> bool:
    """`stance score - --output feed.jsonl < feed.jsonl`: the output would replace the file being read."""
    try:
        stdin, output = os.fstat(sys.stdin.fileno()), os.stat(path)
    except (OSError, ValueError, AttributeError):  # no standard input, or no output yet
        return False
    return (stdin.st_dev, stdin.st_ino) == (output.st_dev, output.st_ino)


def _same_file(first: Path, second: Path) -> bool:
    """Two names of one existing file: a hard link, or a case-insensitive file system."""
    try:
        return os.path.samefile(first, second)
    except OSError:  # one of them does not exist yet
        return False


@contextlib.contextmanager
def row_writer(path: str | None, schema: pa.Schema, provenance: dict | None = None) -> Iterator:
    """Yield `write(rows)`; the file appears under `path` only if the block completes (see `row_writers`)."""
    with row_writers([(path, schema)], provenance) as (write,):
        yield write


@contextlib.contextmanager
def row_writers(
    outputs: list[tuple[str | None, pa.Schema]], provenance: dict | None = None, before_renames=None
) -> Iterator[list]:
    """Yield one `write(rows)` per (path, schema); the files appear only if the block completes, all together.

    `provenance` goes into a Parquet file's key-value metadata, or for JSONL and CSV into the
    sidecar `<path>.meta.json`; a path of None or "-" is stdout, which has no sidecar. Every file
    and sidecar is renamed into place with `atomic_outputs`: a rename that fails never leaves a
    new summary or sidecar beside an earlier output. `before_renames` is `atomic_outputs`'s.
    """
    files = [Path(path) for path, _ in outputs if path not in (None, "-")]
    sidecars = {
        path: sidecar_path(path) for path in files if provenance is not None and output_format(path) != ".parquet"
    }
    # Each output before its sidecar: a folder that cannot be written is named by the path the user gave.
    places = [place for path in files for place in (path, sidecars.get(path)) if place is not None]
    # Each file's own errors are named by _file_writer; one naming no file is another's (stdout's).
    with atomic_outputs(places, unnamed_errors_are_ours=False, before_renames=before_renames) as temporaries:
        temporary = dict(zip(places, temporaries))
        with contextlib.ExitStack() as stack:
            writes = []
            for path, schema in outputs:
                if path in (None, "-"):
                    writes.append(functools.partial(_standard_output, _StandardOutputWriter().write))
                else:
                    opened = _file_writer(Path(path), temporary[Path(path)], schema, provenance)
                    writes.append(stack.enter_context(opened))
            yield writes
            if len(files) < len(outputs):  # stdout, flushed once the rows are whole (not into a closed pipe)
                _standard_output(sys.stdout.flush)
        for sidecar in sidecars.values():  # written once the rows are whole
            with output_errors(sidecar, temporary[sidecar]):
                temporary[sidecar].write_text(json.dumps(provenance, indent=2, sort_keys=True) + "\n", encoding="utf-8")


@contextlib.contextmanager
def _file_writer(path: Path, temporary: Path, schema: pa.Schema, provenance: dict | None) -> Iterator:
    """`write(rows)` into `temporary`, in `path`'s format; a full disk is named by `path`, the name the user gave.

    Only this file's own opening, writes and closing are its to explain: an error from another
    output (stdout's closed pipe, say) or an input passes through as it is.
    """
    kind = output_format(path)
    if provenance is not None and kind == ".parquet":
        schema = schema.with_metadata({METADATA_KEY: json.dumps(provenance, sort_keys=True)})
    with contextlib.ExitStack() as stack:
        with output_errors(path, temporary):
            if kind == ".parquet":
                writer = _ParquetWriter(temporary, schema)
                close, write = writer.close, writer.write
            else:
                handle = open(temporary, "w", encoding="utf-8", newline="")
                stack.callback(_own_errors, path, temporary, handle.close)
                write = (_JsonlWriter(handle) if kind == ".jsonl" else _CsvWriter(handle, schema)).write
        if kind == ".parquet":
            stack.callback(_own_errors, path, temporary, close)
        yield functools.partial(_own_errors, path, temporary, write)


def _own_errors(path: Path, temporary: Path, action, *args):
    with output_errors(path, temporary):
        return action(*args)


class _JsonlWriter:
    def __init__(self, handle):
        self.handle = handle

    def write(self, rows: list[dict] | Encoded) -> None:
        self.handle.write(self.text_of(rows))

    @staticmethod
    def text_of(rows: list[dict] | Encoded) -> str:
        return (rows if isinstance(rows, Encoded) else encode(rows, ".jsonl")).payload


def _standard_output(action, *args):
    """`action(*args)` on standard output: a full disk there (`> /dev/full`, a full volume) is one line naming it.

    Its reader quitting (a BrokenPipeError) passes through: the run's endings name that themselves."""
    try:
        return action(*args)
    except BrokenPipeError:
        raise
    except OSError as err:
        if err.filename is not None:  # another file's error
            raise
        raise DataError(
            "standard output", None, f"could not be written ({os_reason(err)}); the run stopped there and wrote no file"
        ) from None


class _StandardOutputWriter(_JsonlWriter):
    """JSONL rows to standard output: every byte, or an error.

    Under PYTHONUNBUFFERED (or `python -u`, as many container images set it) the text layer writes
    straight to the file and ignores what a partial write left: rows into a pipe whose reader had
    quit were dropped, and the run ended 0 with its summary written. There, and only there, the rows
    are encoded here (one encoder for the run, so a byte-order mark comes once, and line ends as the
    text layer writes them) and written to the file until every byte is out, so a closed pipe is a
    BrokenPipeError. Buffered, the text layer's own buffer already writes every byte or raises."""

    def __init__(self):
        super().__init__(sys.stdout)
        raw = getattr(self.handle, "buffer", None)
        self.raw = raw if isinstance(raw, io.RawIOBase) else None
        if self.raw is not None:
            self.encoder = codecs.getincrementalencoder(self.handle.encoding or "utf-8")(self.handle.errors or "strict")

    def write(self, rows: list[dict] | Encoded) -> None:
        if self.raw is None:
            super().write(rows)
            return
        payload = self.text_of(rows)
        self.handle.flush()  # anything written as text before goes first
        if os.linesep != "\n":  # Windows: the text layer writes each line end as CR LF
            payload = payload.replace("\n", os.linesep)
        data = memoryview(self.encoder.encode(payload))
        while data:
            written = self.raw.write(data)
            if written is None:  # a non-blocking file that is full for now: wait until it takes more
                _wait_until_writable(self.raw)
                continue
            data = data[written:]


def _wait_until_writable(raw) -> None:
    try:
        select.select([], [raw.fileno()], [])
    except (OSError, ValueError):  # no select for this file (Windows): try again shortly
        time.sleep(0.01)


class _CsvWriter:
    def __init__(self, handle, schema: pa.Schema):
        self.handle, self.schema = handle, schema
        csv.DictWriter(handle, fieldnames=schema.names, lineterminator="\n").writeheader()

    def write(self, rows: list[dict] | Encoded) -> None:
        self.handle.write((rows if isinstance(rows, Encoded) else encode(rows, ".csv", self.schema)).payload)


class _ParquetWriter:
    def __init__(self, path: Path, schema: pa.Schema):
        self.schema = schema
        self.writer = pq.ParquetWriter(str(path), schema)
        self.buffer: list[pa.RecordBatch] = []
        self.buffered = 0

    def write(self, rows: list[dict] | Encoded) -> None:
        encoded = rows if isinstance(rows, Encoded) else encode(rows, ".parquet", self.schema)
        self.buffer.append(encoded.payload)
        self.buffered += encoded.rows
        if self.buffered >= PARQUET_ROW_GROUP:
            self.flush()

    def flush(self) -> None:
        if self.buffer:
            # One row group of contiguous columns per flush, whatever the batches it came in.
            table = pa.Table.from_batches(self.buffer).combine_chunks()
            self.writer.write_table(table.replace_schema_metadata(self.schema.metadata))
            self.buffer, self.buffered = [], 0

    def close(self) -> None:
        self.flush()
        self.writer.close()
