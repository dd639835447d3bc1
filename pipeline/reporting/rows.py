"""Reading what `stance score` wrote: pair rows and summary rows, in any of its formats.

An input is a .jsonl, .csv or .parquet file, or a folder (every such file below it,
in name order: the `pairs/` and `summary/` parts of a Dask run). Each file is pair
rows or summary rows, told apart by its columns. Every problem is a `DataError`
naming the file (and line), raised before the report is written.
"""

from __future__ import annotations

import collections
import csv
import io
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.data.labels import LABELS, UNCERTAIN, csv_reason, repeated_column, scored_article_stance
from pipeline.errors import DataError
from pipeline.files import (
    LONG_NUMBER,
    MAX_ARTICLE_CHARS,
    NotText,
    decode_text,
    file_format,
    files_below,
    iso_date,
    repeated_json_key,
    repeated_message,
)

FORMATS = (".jsonl", ".csv", ".parquet")  # and .ndjson, read as .jsonl (`file_format`), as `stance score` writes it
FORMATS_NAMED = ".jsonl (or .ndjson), .csv or .parquet"
PAIR_COLUMNS = ("article_id", "sentence_index", "sentence", "actor", "stance", "confidence")
SUMMARY_COLUMNS = ("article_id", "actor", "pairs", "stance")
ROW_FIELDS = (*dict.fromkeys(PAIR_COLUMNS + SUMMARY_COLUMNS), "date", "explanation")  # every field a row is read by
PAIR_STANCES = (*LABELS, UNCERTAIN)  # uncertain: below `stance score --min-confidence`
SUMMARY_STANCES = (*LABELS, "mixed", UNCERTAIN, "no_actors")


@dataclass
class ScoredRows:
    """Every pair row and summary row of the inputs, in input order, with the file each came from."""

    pairs: list[dict] = field(default_factory=list)
    summaries: list[dict] = field(default_factory=list)
    files: list[str] = field(default_factory=list)


def read_scored(inputs: list[str]) -> ScoredRows:
    scored = ScoredRows()
    seen: set[tuple[int, int]] = set()
    file_of: dict[tuple[str, str], tuple[Path, int]] = {}  # (kind, article id): the file and line of its first row
    first_date_of: dict[str, tuple[str, str]] = {}  # an article's date: (the date, where it was first read)
    for path in _files(inputs):
        status = path.stat()  # a file named twice, through a link or inside a folder given: its rows count once
        if (status.st_dev, status.st_ino) in seen:
            continue
        seen.add((status.st_dev, status.st_ino))
        kind, rows = _read_file(path)
        line_of: dict[tuple, int] = {}  # a row's key in this file: its line
        for line, row in rows:
            # `stance score` writes an article's rows to one file (a Dask run, to one part), each key once.
            # Rows of one id in two files are a file given twice, or two articles under one id (two feeds,
            # or shards whose ids repeat): they would be counted twice or merged into one article.
            first_file, first_line = file_of.setdefault((kind, row["article_id"]), (path, line))
            if first_file != path:
                where = f"{first_file}:{first_line}"
                raise DataError(path, line, f"article {row['article_id']!r} has {kind} rows at {where} too; {_ONE_ID}")
            key = (row["article_id"], row.get("sentence_index"), row["actor"])
            if key in line_of:
                raise DataError(path, line, f"{_row_named(row, kind)} again (first at line {line_of[key]}); {_ONE_ID}")
            line_of[key] = line
            if row["date"] is not None:  # every row of an article carries its one date (or none)
                date, where = first_date_of.setdefault(row["article_id"], (row["date"], f"{path}:{line}"))
                if date != row["date"]:
                    message = f"article {row['article_id']!r} is dated {row['date']} here and {date} at {where}"
                    raise DataError(path, line, message)
        (scored.pairs if kind == "pairs" else scored.summaries).extend(row for _, row in rows)
        scored.files.append(str(path))
    if not scored.pairs and not scored.summaries:
        raise DataError(
            inputs[0], None, "no scored rows in the inputs; give the --output or --summary of `stance score`"
        )
    _check_summaries_agree(scored)
    return scored


def _check_summaries_agree(scored: ScoredRows) -> None:
    """An article given as pair rows and as summary rows must be the same run's: each summary row
    is its actor's pair count and the summary rule over their stances. Rows of two runs (another
    model, another --min-confidence, a file edited since) would put two answers on one page."""
    pairs_of: dict[str, dict[str, list[str]]] = collections.defaultdict(lambda: collections.defaultdict(list))
    for row in scored.pairs:
        pairs_of[row["article_id"]][row["actor"]].append(row["stance"])
    summarised: dict[str, set[str]] = collections.defaultdict(set)
    for row in scored.summaries:
        article = row["article_id"]
        if article not in pairs_of:
            continue  # an article given only as summary rows: nothing to hold them against
        stances = pairs_of[article].get(row["actor"], [])
        summarised[article].add(row["actor"])
        if row["actor"] is None:  # `no_actors`, where pair rows name some
            problem = f"says no actor is named, but the pair rows name {len(pairs_of[article])}"
        elif not stances:
            problem = f"says {row['pairs']} pairs, {row['stance']}, but there are no pair rows for it (or they were left out of the pairs file)"
        elif (row["pairs"], row["stance"]) != (found := (len(stances), scored_article_stance(stances))):
            problem = f"says {row['pairs']} pairs, {row['stance']}, but the pair rows give {found[0]} pairs, {found[1]}"
        else:
            continue
        raise DataError(row["origin"], None, f"{_row_named(row, 'summary')} {problem}; {_ONE_RUN}")
    for article, actors in summarised.items():
        if missing := [actor for actor in pairs_of[article] if actor not in actors]:
            row = next(r for r in scored.pairs if r["article_id"] == article and r["actor"] == missing[0])
            raise DataError(
                row["origin"], None, f"actor {missing[0]!r} of article {article!r} has no summary row; {_ONE_RUN}"
            )


_ONE_RUN = "give the --output and --summary of one run"


_ONE_ID = (
    "give each run's rows once, and each article an id of its own "
    "(`stance score` keeps a repeated id apart as id#2, a --dask run only within one partition)"
)


def _row_named(row: dict, kind: str) -> str:
    actor = "no actor" if row["actor"] is None else f"actor {row['actor']!r}"
    if kind == "pairs":
        return f"the row of article {row['article_id']!r}, sentence {row['sentence_index']}, {actor}"
    return f"the summary row of article {row['article_id']!r}, {actor}"


def _files(inputs: list[str]) -> Iterator[Path]:
    for name in inputs:
        path = Path(name)
        if path.is_dir():
            below, not_read = files_below(path)
            for folder, reason in not_read:
                raise DataError(folder, None, reason)
            files = [p for p in below if file_format(p) in FORMATS]
            for file in files:
                if not file.is_file():  # a pipe would wait forever; a link to nothing holds no rows
                    raise DataError(file, None, "not a regular file" if file.exists() else "a link to nothing")
            if not files:
                raise DataError(name, None, f"folder holds no {FORMATS_NAMED} files of scored rows")
            yield from files
        elif not path.exists():
            raise DataError(name, None, "no such file or folder")
        elif file_format(path) not in FORMATS:
            raise DataError(name, None, f"unknown format {path.suffix or '(none)'!r}; give {FORMATS_NAMED} files")
        else:
            yield path


def _read_file(path: Path) -> tuple[str, list[tuple[int, dict]]]:
    """("pairs" | "summary", [(line or row number, the row checked and typed)])."""
    suffix = file_format(path)
    try:
        if suffix == ".parquet":
            columns, records = _parquet_records(path)
        else:
            # As `stance score` reads text: a spreadsheet's CSV starts with a UTF-8 mark, and PowerShell's `>`
            # writes UTF-16 with one; the mark is dropped, and bytes that are neither are named at their line.
            handle = io.StringIO(decode_text(path.read_bytes()), newline="")
            columns, records = (_jsonl_records if suffix == ".jsonl" else _csv_records)(path, handle)
    except OSError as err:
        raise DataError(path, None, f"cannot read: {err.strerror or err}") from None
    except NotText as err:
        raise DataError(path, err.line, err.message) from None
    if repeated := repeated_column(columns):  # a spreadsheet's own column of that name: which one is meant?
        raise DataError(path, 1 if suffix != ".parquet" else None, f"the column {repeated!r} appears twice")
    kind = _kind(path, columns)
    check = _pair_row if kind == "pairs" else _summary_row
    return kind, [(line, check(path, line, record)) for line, record in records]


def _kind(path: Path, columns: list[str]) -> str:
    if all(c in columns for c in PAIR_COLUMNS):
        return "pairs"
    if all(c in columns for c in SUMMARY_COLUMNS) and "sentence" not in columns:
        return "summary"
    if not columns:
        raise DataError(path, None, "empty file; give the --output or --summary of `stance score`")
    wanted = PAIR_COLUMNS if "sentence" in columns else SUMMARY_COLUMNS
    missing = [c for c in wanted if c not in columns]
    what = "pair rows" if wanted is PAIR_COLUMNS else "summary rows"
    raise DataError(
        path, None, f"no column {missing[0]!r} for {what}; give the --output or --summary of `stance score`"
    )


def _jsonl_records(path: Path, handle) -> tuple[list[str], list[tuple[int, dict]]]:
    records, columns = [], []
    for number, line in enumerate(handle, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            raise DataError(path, number, f"not valid JSON ({err.msg} at column {err.colno})") from None
        except RecursionError:
            raise DataError(path, number, "not valid JSON here (nested too deeply)") from None
        except ValueError:
            raise DataError(path, number, LONG_NUMBER) from None
        if not isinstance(record, dict):
            raise DataError(path, number, "a JSON object (one scored row) is expected")
        if repeated := repeated_json_key(line, ROW_FIELDS):
            raise DataError(path, number, repeated_message(repeated, "field"))
        if "\\u" in line:
            # JSON can escape half of a surrogate pair ("\ud800"): no character, and the page could not be written.
            try:
                json.dumps(record, ensure_ascii=False).encode("utf-8")
            except (UnicodeEncodeError, RecursionError):
                raise DataError(
                    path, number, "an unpaired surrogate escape (\\ud800-\\udfff), not Unicode text"
                ) from None
        columns = columns or list(record)
        records.append((number, record))
    return columns, records


def _csv_records(path: Path, handle) -> tuple[list[str], list[tuple[int, dict]]]:
    # A cell may be as long as an article the scorer read (its sentence, or an id that long), past the
    # csv module's 128 KB default; a quote left open then runs to the end and is named below.
    csv.field_size_limit(max(csv.field_size_limit(), 4 * MAX_ARTICLE_CHARS))
    reader = csv.DictReader(handle)
    try:
        columns = list(reader.fieldnames or [])
        return columns, _csv_rows(path, reader, columns)
    except csv.Error as err:
        raise DataError(path, reader.line_num, f"not valid CSV: {csv_reason(err)}") from None


def _csv_rows(path: Path, reader, columns: list[str]) -> list[tuple[int, dict]]:
    records = []
    for row in reader:
        # A row with fewer or more fields than the header: a file cut short or written by hand.
        # Every cell read is a string (empty ones too): None is a field the row lacks, as in csv_table.
        if None in row or None in row.values():
            fields = len(columns) + len(row.get(None, [])) - sum(v is None for v in row.values())
            raise DataError(path, reader.line_num, f"{fields} fields where the header has {len(columns)}")
        # CSV has no null: an empty cell is a missing value (no date, no actor).
        records.append((reader.line_num, {k: (v if v != "" else None) for k, v in row.items()}))
    return records


def _parquet_records(path: Path) -> tuple[list[str], list[tuple[int, dict]]]:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except OSError:
        raise  # a file that cannot be read: the caller says so
    except Exception as err:  # pyarrow raises several kinds for a file that is not Parquet
        raise DataError(path, None, f"not a readable Parquet file ({type(err).__name__})") from None
    try:
        records = table.to_pylist()
    except UnicodeDecodeError:  # a string cell written from bytes that are not UTF-8: name its column and row
        name, row = _first_failing_cell(table, UnicodeDecodeError)
        if name is None:
            raise DataError(path, None, "a text cell holds bytes that are not UTF-8") from None
        raise DataError(path, row, f"{name!r} holds bytes that are not UTF-8, not text") from None
    except (OverflowError, ValueError):  # a date or time past what Python holds (the year 9999), in any column
        name, row = _first_failing_cell(table, (OverflowError, ValueError))
        raise DataError(path, row, f"{name!r} holds a date or time Python cannot hold (past the year 9999)") from None
    return table.column_names, list(enumerate(records, start=1))


def _first_failing_cell(table, errors) -> tuple[str | None, int | None]:
    """The column and (1-based) row of the first cell whose conversion to Python raises one of `errors`."""
    name = next((name for name in table.column_names if not _converts(table.column(name), errors)), None)
    return (None, None) if name is None else (name, _first_bad_row(table.column(name), errors) + 1)


def _converts(column, errors) -> bool:
    try:
        column.to_pylist()
        return True
    except errors:
        return False


def _first_bad_row(column, errors) -> int:
    """The first row of a column that does not convert, found by halving: a few reads, not one per row."""
    low, high = 0, len(column)  # the first bad row is in [low, high)
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (low, middle) if not _converts(column.slice(low, middle - low), errors) else (middle, high)
    return low


def _pair_row(path: Path, line: int, record: dict) -> dict:
    row = {
        "article_id": _text(path, line, record, "article_id"),
        "date": _date(path, line, record),
        "sentence_index": _number(path, line, record, "sentence_index", int),
        "sentence": _text(path, line, record, "sentence"),
        "actor": _text(path, line, record, "actor"),
        "stance": _choice(path, line, record, PAIR_STANCES),
        "confidence": _number(path, line, record, "confidence", float),
        "explanation": _explanation(path, line, record.get("explanation")),
        "origin": f"{path}:{line}",
    }
    if not 0 <= row["confidence"] <= 1:
        raise DataError(path, line, f"confidence {row['confidence']} is not between 0 and 1")
    return row


def _summary_row(path: Path, line: int, record: dict) -> dict:
    stance = _choice(path, line, record, SUMMARY_STANCES)
    row = {
        "article_id": _text(path, line, record, "article_id"),
        "date": _date(path, line, record),
        "actor": None if stance == "no_actors" else _text(path, line, record, "actor"),
        "pairs": _number(path, line, record, "pairs", int),
        "stance": stance,
        "origin": f"{path}:{line}",
    }
    if row["pairs"] < 0:
        raise DataError(path, line, f"pairs {row['pairs']} is negative")
    return row


def _text(path, line, record, name) -> str:
    value = record.get(name)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or value == "":
        raise DataError(path, line, f"{name!r} is {value!r}; a non-empty string is expected")
    return value


def _number(path, line, record, name, kind):
    value = record.get(name)
    try:
        number = kind(value)
    except (TypeError, ValueError, OverflowError):  # int(inf) overflows
        number = None
    if number is None or isinstance(value, bool) or (kind is float and not math.isfinite(number)):
        raise DataError(path, line, f"{name!r} is {value!r}; a number is expected")
    if kind is int and isinstance(value, float) and value != number:  # int(2.7) would be sentence 2
        raise DataError(path, line, f"{name!r} is {value!r}; a whole number is expected")
    return number


def _choice(path, line, record, allowed) -> str:
    value = record.get("stance")
    if value not in allowed:
        raise DataError(path, line, f"stance {value!r} is not one of {', '.join(allowed)}")
    return value


def _date(path, line, record) -> str | None:
    """YYYY-MM-DD, or YYYY-MM where the source gave only the month (see pipeline/scoring/inputs.py)."""
    value = record.get("date")
    if value is None:
        return None
    try:  # a Parquet timestamp reads as "2024-01-15 00:00:00"; anything after a date that is no time is refused
        return iso_date(str(value), times=True)
    except ValueError:
        raise DataError(path, line, f"date {value!r} is not an ISO date (YYYY-MM-DD or YYYY-MM)") from None


def _explanation(path, line, value) -> list[dict] | None:
    """The optional `explanation` column of `stance score --explain`: [{feature, contribution}, ...]."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            value = None
    if not isinstance(value, list) or not all(
        isinstance(item, dict) and isinstance(item.get("feature"), str) for item in value
    ):
        raise DataError(path, line, "explanation is not a JSON list of {feature, contribution} objects")
    return value
