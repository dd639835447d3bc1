"""Reading articles to score: .txt files, folders of them, JSONL and Parquet files and standard input.

`read_inputs` yields, in input order, either an `Article` or a `Problem`. A problem
is one line naming the input (and line or row, for JSONL and Parquet) that the scorer reports before
going on with the rest of the batch. Nothing here raises for bad input.
"""

from __future__ import annotations

import codecs
import datetime
import io
import json
import os
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import BinaryIO

from pipeline.errors import shown
from pipeline.files import (
    LONG_NUMBER,
    MAX_ARTICLE_CHARS,  # longer ones are skipped (raise it with --max-article-chars)
    NotText,
    decode_text,
    file_format,
    files_below,
    iso_date,
    repeated_json_key,
    repeated_message,
    text_encoding,
)

BINARY_SNIFF_BYTES = 8192  # a NUL byte this early says binary; one later names its line
# A NUL would reach every output (a CSV cell, a terminal) and no article holds one.
NUL_IN_TEXT = "the text holds a NUL character (U+0000); not scored"
# A JSONL line longer than an article can be is passed over, up to this many bytes or 16 times the
# longest line, whichever is more; past that (a device or pipe that never ends) its input is left unread.
MAX_PASSED_BYTES = 2**30
# A UTF-16/32 code unit that is no character (a lone surrogate, a value past U+10FFFF, a last odd byte)
# decodes to this lone surrogate, which no valid text holds: its line alone is then named and skipped.
# Left to raise, the error would surface chunks of lines later and end the whole input there.
_MARK_BAD_CODE_UNIT = "stance-bad-code-unit"
codecs.register_error(_MARK_BAD_CODE_UNIT, lambda err: ("\udfff", err.end))


@dataclass(frozen=True)
class Article:
    id: str
    text: str
    origin: str  # "path" or "path:line", for messages
    date: str | None = None  # YYYY-MM-DD or YYYY-MM, from a JSONL record's or Parquet row's `date`; kept in the rows


@dataclass(frozen=True)
class Problem:
    origin: str
    message: str
    skipped: bool  # False: a warning, the article was still scored

    def __str__(self) -> str:
        return shown(f"{'skipped' if self.skipped else 'warning'}: {self.origin}: {self.message}")


def expand_inputs(inputs: Iterable[str]) -> Iterator[tuple[str, str] | Problem]:
    """(kind, path) for every source the inputs name, in order, each file once; kind is txt, jsonl, parquet or stdin.

    A file named twice (on its own and inside a folder given, or under another name: a link) is read
    the first time only, as `stance report` reads its rows: scored twice, its pairs counted twice.
    """
    seen: set[tuple[int, int]] = set()
    for source in _named_sources(inputs):
        if not isinstance(source, Problem) and source[0] != "stdin":
            try:
                status = os.stat(source[1])
            except OSError:  # a link to nothing, a file gone since: its reader names it
                status = None
            if status is not None and status.st_ino:  # 0: a file system without inode numbers, nothing to compare
                if (status.st_dev, status.st_ino) in seen:
                    continue
                seen.add((status.st_dev, status.st_ino))
        yield source


def _named_sources(inputs: Iterable[str]) -> Iterator[tuple[str, str] | Problem]:
    """(kind, path) for every source the inputs name, in order; kind is txt, jsonl, parquet or stdin.

    A folder is read as every .txt below it; a folder with no .txt files is read as its
    .jsonl and .parquet files (shards of a large corpus). Beside .txt files a .jsonl is most
    often the articles' metadata (seeds/SOURCES.jsonl), so it is left alone, as `--help` says;
    any other data file left so is named in a warning.
    A link to a folder below, a folder that cannot be read, a pipe or a device is named and skipped.
    A file named on its own is read as text unless its extension says it is data this
    reader does not take (.json, .csv...): read as text, its syntax would be scored as sentences.
    """
    inputs = list(inputs)
    named_files = {os.path.realpath(name) for name in inputs if name != "-" and not os.path.isdir(name)}
    for name in inputs:
        path = Path(name)
        if name == "-":
            yield "stdin", name
        elif path.is_dir():
            below, not_read = files_below(path)
            files = [p for p in below if p.suffix.lower() == ".txt"]
            data_files = [p for p in below if file_format(p) in _DATA_KINDS]
            shards = [p for p in data_files if p.name != ARTICLES_METADATA and os.path.realpath(p) not in named_files]
            if not any(p.is_file() for p in files):  # no article file: shards of a corpus, if any
                not_read += [(p, NOT_REGULAR) for p in files if p.exists()]  # a pipe or device stays named
                files = data_files
            elif shards:  # left alone by the rule, but never without a word (shards beside a README.txt)
                yield Problem(str(path), _data_files_left(files, shards, path), skipped=False)
            for folder_or_file, reason in not_read:
                yield Problem(str(folder_or_file), reason, skipped=True)
            for file in files:
                if file.exists() and not file.is_file():  # a pipe or a device: reading it could wait forever
                    yield Problem(str(file), NOT_REGULAR, skipped=True)
                else:  # a link to nothing is named by its reader, not dropped unseen
                    yield _kind(file), str(file)
            if not files and not not_read:
                yield Problem(str(path), "folder holds no .txt, .jsonl, .ndjson or .parquet files", skipped=True)
        elif not path.exists():
            yield Problem(str(path), "no such file or folder", skipped=True)
        elif path.suffix.lower() in NOT_ARTICLES:
            yield Problem(str(path), NOT_ARTICLES[path.suffix.lower()], skipped=True)
        else:
            yield _kind(path), str(path)


def _data_files_left(articles: list[Path], data_files: list[Path], folder: Path) -> str:
    names = [str(p.relative_to(folder)) for p in data_files]
    shown_names = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    return (
        f"read as its {len(articles)} .txt file(s); its {len(names)} .jsonl/.parquet file(s) ({shown_names}) "
        "are not read: name one to score it"
    )


_AS_TABLE = "a table is not read; write it as .parquet or .jsonl with the id and text fields"
NOT_ARTICLES = {
    ".json": "a .json file is not read; write one JSON object a line, as .jsonl",
    ".csv": _AS_TABLE,
    ".tsv": _AS_TABLE,
    ".xlsx": _AS_TABLE,
    ".xls": _AS_TABLE,
}


NOT_REGULAR = "not a regular file; name it on its own to read a pipe"
ARTICLES_METADATA = "SOURCES.jsonl"  # the dates and sources of a folder's .txt articles (seeds/SOURCES.jsonl)
_DATA_KINDS = {".jsonl": "jsonl", ".parquet": "parquet"}  # by `file_format`, so .ndjson too


def _kind(path: Path) -> str:
    return _DATA_KINDS.get(file_format(path), "txt")


def read_source(
    kind: str,
    name: str,
    id_field: str = "id",
    text_field: str = "text",
    max_chars: int = MAX_ARTICLE_CHARS,
    stdin: BinaryIO | None = None,
) -> Iterator[Article | Problem]:
    if kind == "stdin":  # a feed that came out empty (its producer failed, say) must not wipe an earlier output
        yield from _named_if_empty(
            "<stdin>", _read_jsonl(stdin or _standard_input(), "<stdin>", id_field, text_field, max_chars)
        )
    elif kind == "txt":
        yield from _read_text_file(Path(name), max_chars)
    else:
        try:
            if kind == "jsonl":
                with open(name, "rb") as handle:
                    yield from _named_if_empty(name, _read_jsonl(handle, name, id_field, text_field, max_chars))
            else:
                yield from _named_if_empty(name, _read_parquet(name, id_field, text_field, max_chars))
        except OSError as err:
            yield Problem(name, f"cannot read: {err.strerror or err}", skipped=True)


def _standard_input() -> BinaryIO:
    """Standard input's bytes; none at all where it is closed (`stance score - <&-`, some daemons)."""
    return sys.stdin.buffer if sys.stdin is not None else io.BytesIO()


def _named_if_empty(name: str, events: Iterator[Article | Problem]) -> Iterator[Article | Problem]:
    """A data file's events, or one problem when it holds no record: as an empty .txt is named,
    so is a feed that came out empty."""
    empty = True
    for event in events:
        if isinstance(event, Article) or event.skipped:  # a warning alone (on the date column) is no record
            empty = False
        yield event
    if empty:
        yield Problem(name, "empty: no records", skipped=True)


def read_inputs(
    inputs: Iterable[str],
    id_field: str = "id",
    text_field: str = "text",
    max_chars: int = MAX_ARTICLE_CHARS,
    stdin: BinaryIO | None = None,
    distinct: bool = True,
) -> Iterator[Article | Problem]:
    """Articles and problems of every input, in order; with `distinct`, no two articles share an id."""
    events = (
        event
        for source in expand_inputs(inputs)
        for event in (
            [source]
            if isinstance(source, Problem)
            else read_source(*source, id_field=id_field, text_field=text_field, max_chars=max_chars, stdin=stdin)
        )
    )
    yield from distinct_ids(events) if distinct else events


def distinct_ids(events: Iterable[Article | Problem]) -> Iterator[Article | Problem]:
    """A repeated article id (two a.txt in different folders, an id twice in a JSONL file) gets `#2`, `#3`...

    Pair and summary rows of the two articles then stay apart instead of reading as one
    article; a warning names both places. The first article keeps its id.
    """
    first: dict[str, str] = {}  # article id -> origin of the article that holds it
    tried: dict[str, int] = {}  # article id -> the last `#n` given for it, so the next search starts there
    for event in events:
        if isinstance(event, Article):
            if event.id in first:
                occurrence = tried.get(event.id, 1) + 1
                while f"{event.id}#{occurrence}" in first:
                    occurrence += 1
                tried[event.id] = occurrence
                renamed = f"{event.id}#{occurrence}"
                yield Problem(
                    event.origin,
                    f"article id {event.id!r} is also {first[event.id]}; its rows are kept apart as {renamed!r}",
                    skipped=False,
                )
                event = replace(event, id=renamed)  # all else kept: its date is its own
            first[event.id] = event.origin
        yield event


def _read_text_file(path: Path, max_chars: int) -> Iterator[Article | Problem]:
    origin = str(path)
    too_large = Problem(origin, f"larger than {max_chars} characters; not an article (see --max-article-chars)", True)
    try:
        # UTF-8 uses at most 4 bytes per character, so a file this large is certainly too long.
        if path.stat().st_size > 4 * max_chars:
            yield too_large
            return
        # A device or a pipe says size 0 whatever it holds: read no more than an article can be.
        with open(path, "rb") as handle:
            raw = handle.read(4 * max_chars + 1)
    except OSError as err:
        yield Problem(origin, f"cannot read: {err.strerror}", skipped=True)
        return
    if len(raw) > 4 * max_chars:
        yield too_large
        return
    if _is_unicode(path.stem):
        yield from _article_from_bytes(raw, path.stem, origin, max_chars)
        return
    article_id = shown(path.stem)  # a name in another encoding: the id is the name as messages show it
    for event in _article_from_bytes(raw, article_id, origin, max_chars):
        if isinstance(event, Article):
            yield Problem(origin, f"the file name is not UTF-8; its article id is '{article_id}'", skipped=False)
        yield event


def _article_from_bytes(raw: bytes, article_id: str, origin: str, max_chars: int) -> Iterator[Article | Problem]:
    # UTF-16 text (a Windows editor's "Unicode") is full of NUL bytes: its mark says it is text.
    if text_encoding(raw) in ("utf-8", "utf-8-sig") and b"\x00" in raw[:BINARY_SNIFF_BYTES]:
        yield Problem(origin, "binary file (NUL bytes), not text", skipped=True)
        return
    text, problem = decode(raw, origin, whole_file=True)
    if problem:
        yield problem
        return
    yield from _checked_article(article_id, text, origin, max_chars, whole_file=True)


def decode(raw: bytes, origin: str, whole_file: bool = False) -> tuple[str | None, Problem | None]:
    """(text, None), or (None, the problem) for bytes that are not UTF-8 (nor UTF-16/32 with a mark).

    Such an article is skipped rather than scored with replacement characters: its words
    (Windows-1252 quotes and accents) would be scored wrong, and which legacy encoding it
    is cannot be known for certain.
    """
    try:
        return decode_text(raw), None
    except NotText as err:
        return None, Problem(f"{origin}:{err.line}" if whole_file else origin, err.message, skipped=True)


def _checked_article(
    article_id: str, text: str, origin: str, max_chars: int, date: str | None = None, whole_file: bool = False
) -> Iterator[Article | Problem]:
    """The article, or the one problem that keeps it from being scored; `whole_file`: the text is a whole
    file's, so a NUL is named at its line (a record's origin already names its line)."""
    if len(text) > max_chars:
        yield Problem(
            origin,
            f"article has {len(text)} characters, more than {max_chars}; skipped (see --max-article-chars)",
            True,
        )
    elif not text.strip():
        yield Problem(origin, "empty article", skipped=True)
    elif (nul := text.find("\x00")) >= 0:
        yield Problem(f"{origin}:{text.count(chr(10), 0, nul) + 1}" if whole_file else origin, NUL_IN_TEXT, True)
    elif "\x00" in article_id:
        yield Problem(origin, "the id holds a NUL character (U+0000); not scored", skipped=True)
    else:
        yield Article(article_id, text, origin, date)


def _read_jsonl(
    handle: BinaryIO, name: str, id_field: str, text_field: str, max_chars: int
) -> Iterator[Article | Problem]:
    problems: list[Problem] = []  # a broken UTF-16 stream, found while reading it
    # Bytes: an article of max_chars characters as JSON may write it (json.dumps escapes a character
    # outside ASCII as \uXXXX, one past U+FFFF as two: 12 bytes), and its record's other fields.
    longest = 12 * max_chars + 1024
    for number, raw in enumerate(_utf8_lines(handle, name, problems, longest), start=1):
        origin = f"{name}:{number}"
        if raw is None:
            yield Problem(
                origin,
                f"line too long for an article of at most {max_chars} characters; skipped (see --max-article-chars)",
                True,
            )
            continue
        if isinstance(raw, str):  # a line of a UTF-16/32 file with a code unit that is no character
            yield Problem(origin, raw, skipped=True)
            continue
        if not raw.strip():
            continue
        if b"\x00" in raw:
            yield Problem(origin, "NUL bytes in line, not JSON text", skipped=True)
            continue
        line, problem = decode(raw, origin)
        if problem:
            yield problem
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            # json's messages for some errors end in " at" already ("Invalid control character at")
            message = f"not valid JSON ({err.msg.removesuffix(' at')} at column {err.colno})"
            if err.msg == "Extra data" and line[err.pos - 1 : err.pos] == "\r":
                # A classic Mac file: its records end in CR alone, which JSON Lines does not split at.
                message += "; its records end in a carriage return, where JSON Lines ends each with a newline"
            yield Problem(origin, message, skipped=True)
            continue
        except RecursionError:
            yield Problem(origin, "not valid JSON here (nested too deeply)", skipped=True)
            continue
        except ValueError:
            yield Problem(origin, LONG_NUMBER, skipped=True)
            continue
        if not isinstance(record, dict):
            yield Problem(origin, f"a JSON object with {id_field!r} and {text_field!r} is expected", skipped=True)
            continue
        if repeated := repeated_json_key(line, (text_field, id_field, "date")):
            # json keeps the last of two equal keys without a word: the article would be half the record
            yield Problem(origin, repeated_message(repeated, "field"), skipped=True)
            continue
        text, article_id = record.get(text_field), record.get(id_field)
        if not isinstance(text, str):
            yield Problem(origin, _field_problem(record, text_field, "string", "--text-field"), skipped=True)
            continue
        if not isinstance(article_id, (str, int)) or isinstance(article_id, bool):
            yield Problem(origin, _field_problem(record, id_field, "string or integer", "--id-field"), skipped=True)
            continue
        if not str(article_id).strip():  # the field is there: naming it again would not help
            yield Problem(origin, f"{id_field!r} is empty; every article needs an id", skipped=True)
            continue
        if "\\u" in line and not _is_unicode(text, str(article_id)):
            # JSON can escape half of a surrogate pair ("\ud800"), which is no character and cannot be written.
            yield Problem(
                origin, "text or id holds an unpaired surrogate escape (\\ud800-\\udfff), not Unicode text", True
            )
            continue
        date, problem = _record_date(record.get("date"), origin)
        if problem:
            yield problem
        yield from _checked_article(str(article_id), text, origin, max_chars, date)
    yield from problems


def _field_problem(record: dict, field: str, expected: str, option: str) -> str:
    """A record whose field is missing is pointed to the option that names it; one whose field holds
    another kind of value (a number for the text, true for the id) is told what it holds."""
    if field not in record:
        return f"no {expected} field {field!r} (set the name with {option})"
    value = record[field]
    shown_value = "null" if value is None else json.dumps(value)[:40]
    return f"field {field!r} is {shown_value}, not a {expected}"


SHOWN_CHARS = 60  # of a bad value in a warning: a megabyte pasted into a date field is not echoed whole


def _record_date(value, origin: str, kind: str = "field") -> tuple[str | None, Problem | None]:
    """A record's optional `date`: YYYY-MM-DD (from any ISO date or time), or YYYY-MM when only the month is known.

    A value that is neither is dropped with a warning naming the `kind` (a JSONL field, a Parquet
    column); the article is still scored. A Parquet date or timestamp reaches here as the ISO text
    `_parquet_dates` gives it.
    """
    if value is None:
        return None, None
    try:
        return iso_date(value, times=True), None
    except (TypeError, ValueError):
        shown = (
            repr(value)
            if len(repr(value)) <= SHOWN_CHARS
            else f"{repr(value)[:SHOWN_CHARS]}… ({len(str(value))} characters)"
        )
        message = f"{kind} 'date' is {shown}, not an ISO date (YYYY-MM-DD or YYYY-MM); scored without a date"
        return None, Problem(origin, message, skipped=False)


def _is_unicode(*texts: str) -> bool:
    try:
        for text in texts:
            text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _utf8_lines(handle: BinaryIO, name: str, problems: list[Problem], longest: int) -> Iterator[bytes | str | None]:
    """The stream's lines as UTF-8 bytes; UTF-16/32 with a mark (PowerShell's `>` writes UTF-16) transcoded.

    A line longer than `longest` bytes (characters, in UTF-16/32) is None, named at once and then
    read past without holding it; past MAX_PASSED_BYTES (an input that never ends, such as
    /dev/zero) the rest of the input is left unread, with a problem saying so. A UTF-16/32 line
    holding a code unit that is no character is the message saying so, and reading goes on."""
    encoding = text_encoding(handle.peek(4)[:4]) if hasattr(handle, "peek") else "utf-8"
    if encoding in ("utf-8", "utf-8-sig"):
        stream, newline, transcode = handle, b"\n", False
    else:
        stream = io.TextIOWrapper(handle, encoding=encoding, errors=_MARK_BAD_CODE_UNIT, newline=None)
        newline, transcode = "\n", True
    label = encoding.upper()
    number = 0  # the line being read
    try:
        while True:
            number += 1
            line = stream.readline(longest + 1)
            if not line:
                return
            if len(line) <= longest or line.endswith(newline):
                if not transcode:
                    yield line
                    continue
                try:
                    yield line.encode("utf-8")
                except UnicodeEncodeError:  # the mark of a bad code unit, or a lone surrogate the file holds
                    yield f"not valid {label} here (a code unit that is no character)"
                continue
            yield None
            passed = len(line)
            while (rest := stream.readline(2**20)) and not rest.endswith(newline):
                passed += len(rest)
                if passed > max(MAX_PASSED_BYTES, 16 * longest):
                    message = f"the line goes on past {passed} bytes; the rest of the input was not read"
                    problems.append(Problem(f"{name}:{number}", message, skipped=True))
                    return
    finally:
        if transcode:
            stream.detach()  # the caller closes its own handle


def _read_parquet(name: str, id_field: str, text_field: str, max_chars: int) -> Iterator[Article | Problem]:
    """Articles from a Parquet file's id, text and (if it has one) date columns, read in batches (memory stays flat)."""
    import pyarrow.parquet as pq

    try:
        source = pq.ParquetFile(name)
    except Exception as err:  # pyarrow raises several kinds for a file that is not Parquet
        yield Problem(name, f"not a readable Parquet file ({type(err).__name__})", skipped=True)
        return
    missing = [f for f in (id_field, text_field) if f not in source.schema_arrow.names]
    if missing:
        yield Problem(name, f"no column {missing[0]!r} (set the name with --id-field / --text-field)", skipped=True)
        return
    names = source.schema_arrow.names
    if repeated := next((f for f in (text_field, id_field, "date") if names.count(f) > 1), None):
        yield Problem(name, repeated_message(repeated, "column"), skipped=True)
        return
    dated = "date" in names
    if dated:
        # The type is known before any row: one that cannot hold a date is named once, not on every row.
        date_type = source.schema_arrow.field(source.schema_arrow.names.index("date")).type
        if not _may_hold_dates(date_type):
            message = f"column 'date' is {date_type}, not a date or text; scored without dates"
            yield Problem(name, message, skipped=False)
            dated = False
    columns = list(dict.fromkeys([id_field, text_field, *(["date"] if dated else [])]))
    row = 0
    for batch in _batches(source, columns):
        if isinstance(batch, str):  # a page pyarrow cannot decode: the rows before it were read
            yield Problem(name, f"cannot be read past row {row} ({batch}); the rest of the file was not read", True)
            return
        # By name: `--id-field date` reads one column twice.
        column = {field: batch.column(batch.schema.names.index(field)) for field in columns}
        ids, texts = _values(column[id_field]), _values(column[text_field])
        dates = _parquet_dates(column["date"]) if dated else [None] * batch.num_rows
        for article_id, text, value in zip(ids, texts, dates):
            row += 1
            origin = f"{name}:{row}"
            if text is _NOT_UTF8 or article_id is _NOT_UTF8:
                field = text_field if text is _NOT_UTF8 else id_field
                yield Problem(origin, f"{field!r} holds bytes that are not UTF-8, not text", skipped=True)
                continue
            if not isinstance(text, str):
                yield Problem(origin, f"row lacks a string {text_field!r}", skipped=True)
                continue
            # As in JSONL: an id is a string or an integer; a float or a list would be written as some other id.
            if not isinstance(article_id, (str, int)) or isinstance(article_id, bool):
                yield Problem(origin, f"row lacks a string or integer {id_field!r}", skipped=True)
                continue
            if not str(article_id).strip():
                yield Problem(origin, f"{id_field!r} is empty; every article needs an id", skipped=True)
                continue
            date, problem = _record_date(value, origin, "column")
            if problem:
                yield problem
            yield from _checked_article(str(article_id), text, origin, max_chars, date)


def _batches(source, columns: list[str]):
    """The file's record batches, then, if pyarrow cannot decode one (a dictionary page that is not
    UTF-8, a page cut short), why, as text, and no more."""
    batches = source.iter_batches(columns=columns, batch_size=1024)
    while True:
        try:
            batch = next(batches)
        except StopIteration:
            return
        except Exception as err:  # pyarrow raises several kinds for a page it cannot decode
            yield str(err).splitlines()[0] if str(err) else type(err).__name__
            return
        yield batch


_NOT_UTF8 = object()  # a Parquet string cell whose bytes are not UTF-8 (a writer that never checked)


def _values(column) -> list:
    """A column's Python values; a string cell that is not UTF-8 is _NOT_UTF8, so only its row is skipped."""
    try:
        return column.to_pylist()
    except UnicodeDecodeError:
        values = []
        for index in range(len(column)):
            try:
                values.append(column[index].as_py())
            except UnicodeDecodeError:
                values.append(_NOT_UTF8)
        return values


def _is_text(arrow_type) -> bool:
    import pyarrow as pa

    return pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type) or pa.types.is_string_view(arrow_type)


def _may_hold_dates(arrow_type) -> bool:
    """Text (plain or dictionary-encoded), a date, a timestamp, or a column of nulls only."""
    import pyarrow as pa

    if pa.types.is_dictionary(arrow_type):
        return _is_text(arrow_type.value_type)
    return (
        _is_text(arrow_type)
        or pa.types.is_date(arrow_type)
        or pa.types.is_timestamp(arrow_type)
        or pa.types.is_null(arrow_type)
    )


def _decoded_or_named(scalar):
    try:
        return scalar.as_py()
    except UnicodeDecodeError:
        return "<bytes that are not UTF-8>"


def _parquet_dates(column) -> list:
    """A batch's date column as `_record_date` reads a JSONL date: a date or timestamp as its ISO date,
    a null as None, a string as it is (`_may_hold_dates` has let no other type through).

    A timestamp with a time zone gives the date in that zone, as an ISO time with that offset does in
    JSONL. A value Python cannot hold (past the year 9999, or in a time zone unknown here) is given as
    its type and the number Arrow stores (since 1970, in the type's unit), for the warning.
    """
    import pyarrow as pa

    if _is_text(column.type):
        try:
            return column.to_pylist()
        except UnicodeDecodeError:  # a cell written from bytes that are not UTF-8: that row's warning alone
            return [_decoded_or_named(scalar) for scalar in column]
    values = []
    for scalar in column:  # one at a time: a value Python cannot hold is that row's warning alone
        try:
            value = scalar.as_py()
        except (OverflowError, ValueError, pa.ArrowException):
            # Only a date or timestamp gets here. The stored number, not Arrow's text: that overflows for
            # a zoned timestamp past 9999 (showing another time), and an unknown zone has none.
            value = f"<{scalar.type} {scalar.value}>"
        if isinstance(value, datetime.datetime):
            value = value.date()
        values.append(value.isoformat() if isinstance(value, datetime.date) else value)
    return values
