"""Reading the files people edit, and writing outputs so that no run leaves one half-written.

YAML data files are parsed safely with line numbers kept, so every problem becomes a
`DataError` reading `path:line: what is wrong; what to do`. Outputs are written to a
temporary file and renamed into place, in a byte-identical form for equal data; outputs
that belong together are renamed into place all or none, and a stage's outputs all at its end
(`outputs_together`).
"""

from __future__ import annotations

import codecs
import contextlib
import contextvars
import csv
import datetime
import errno
import hashlib
import json
import os
import re
import stat
import sys
import tempfile
from pathlib import Path

import yaml

from pipeline.errors import DataError, shown


def files_sha256(paths) -> str:
    """SHA-256 of the files' bytes, in order: one file's is its usual checksum."""
    digest = hashlib.sha256()
    for path in paths:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def iso_date(text: str, times: bool = False) -> str:
    """A date as YYYY-MM-DD, or YYYY-MM where a source gives only the month; ValueError for what is neither.

    With `times`, an ISO date and time gives its date (what a scored record's `date` may hold).
    """
    if len(text) == 7:
        return datetime.date.fromisoformat(text + "-01").isoformat()[:7]
    if times:
        return datetime.datetime.fromisoformat(text).date().isoformat()
    return datetime.date.fromisoformat(text).isoformat()


# json.loads raises a bare ValueError, not a JSONDecodeError, for an integer longer than Python reads.
LONG_NUMBER = f"not read here: a number of more than {sys.get_int_max_str_digits():,} digits"


def files_below(folder: Path) -> tuple[list[Path], list[tuple[Path, str]]]:
    """(every file below `folder`, sorted; [(a folder below it that is not read, why)], sorted).

    A link to a folder is not followed but named: followed, it could lead out of the folder
    given (`up -> ../..`, or `/`), and which of two ways into one folder came first would depend
    on the file system's order. A folder that cannot be read is named too; `Path.rglob` passed over
    both without a word. The files are whatever is not a folder: links to nothing, pipes and devices too."""
    files, not_read = [], []
    waiting = [Path(folder)]  # folders still to read: a list, not recursion, so no depth is too deep
    while waiting:
        directory = waiting.pop()
        try:
            entries = list(os.scandir(directory))
        except OSError as err:
            not_read.append((directory, f"cannot read folder: {os_reason(err)}"))
            continue
        for entry in entries:
            path = Path(entry.path)
            try:
                is_folder = entry.is_dir()  # through a link
            except OSError:
                is_folder = False
            if is_folder and entry.is_symlink():
                not_read.append((path, "a link to a folder, not followed; give that folder itself"))
            elif is_folder:
                waiting.append(path)
            else:
                files.append(path)
    return sorted(files), sorted(not_read)


_SAME_FORMAT = {".ndjson": ".jsonl"}  # another name for JSONL: read and written as .jsonl


def file_format(path: str | os.PathLike) -> str:
    """The format a file's name says: its suffix in lower case, ".jsonl" for .ndjson too."""
    suffix = Path(path).suffix.lower()
    return _SAME_FORMAT.get(suffix, suffix)


# A registry or template file is a few kilobytes; anything far larger is a mistake
# (or an attack), and refusing it early keeps a YAML bomb from eating memory.
MAX_DATA_FILE_BYTES = 5_000_000
MAX_YAML_NODES = 200_000
# Longer articles are scraping accidents: refused in seeds/, skipped by the scorer.
MAX_ARTICLE_CHARS = 20_000_000
# An id written in a data file (an actor, a frame role): lower-case letters, digits and _.
IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]*$")


class LineStr(str):
    """A YAML string that remembers the line it came from (1-based)."""

    line: int = 0


class LineDict(dict):
    """A YAML mapping that remembers its line and the line of each key."""

    line: int = 0
    key_lines: dict


class LineList(list):
    line: int = 0


class _LineLoader(yaml.SafeLoader):
    """SafeLoader that records lines, refuses duplicate keys and refuses aliases (no YAML bombs)."""

    def __init__(self, stream, path: str):
        super().__init__(stream)
        self.path = path
        self.node_count = 0

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise DataError(
                self.path,
                event.start_mark.line + 1,
                "YAML anchors and aliases (*name) are not allowed in data files; write the value out",
            )
        self.node_count += 1
        if self.node_count > MAX_YAML_NODES:
            raise DataError(
                self.path, None, f"more than {MAX_YAML_NODES} YAML nodes; this is not a data file we can read"
            )
        return super().compose_node(parent, index)

    def construct_yaml_str(self, node):
        value = LineStr(super().construct_scalar(node))
        value.line = node.start_mark.line + 1
        return value

    def construct_mapping_with_lines(self, node):
        mapping = LineDict()
        mapping.line = node.start_mark.line + 1
        mapping.key_lines = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):  # `? [a, b]`: a list or mapping cannot be a key
                raise DataError(self.path, line, "a key must be a name, not a list or mapping")
            key = self.construct_object(key_node, deep=True)
            if key in mapping:
                raise DataError(
                    self.path, line, f"duplicate key {key!r} (first on line {mapping.key_lines[key]}); keep one"
                )
            mapping[key] = self.construct_object(value_node, deep=True)
            mapping.key_lines[key] = line
        return mapping

    def construct_sequence_with_lines(self, node):
        items = LineList(self.construct_object(child, deep=True) for child in node.value)
        items.line = node.start_mark.line + 1
        return items


# YAML 1.2's booleans and floats, as DVC writes params.yaml: PyYAML's YAML 1.1 read `1e-05` (what
# `dvc exp run -S train.C=0.00001` writes) as text, and `no`, `off` or `on` as booleans that DVC's tables
# show as text. Here only `true`/`false` are booleans, and a float has a dot or an exponent; integers
# stay YAML 1.1's (no data file here writes `010` or `1:30`).
_BOOL, _FLOAT = "tag:yaml.org,2002:bool", "tag:yaml.org,2002:float"
_LineLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in (_BOOL, _FLOAT)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_LineLoader.add_implicit_resolver(_BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
_LineLoader.add_implicit_resolver(
    _FLOAT,
    re.compile(
        r"^(?:[-+]?(?:\.[0-9]+|[0-9][0-9_]*\.[0-9_]*)(?:[eE][-+]?[0-9]+)?"  # a dot, perhaps an exponent
        r"|[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+"  # an exponent alone: 1e-05
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+0123456789."),
)
_LineLoader.add_constructor("tag:yaml.org,2002:str", _LineLoader.construct_yaml_str)
_LineLoader.add_constructor("tag:yaml.org,2002:map", _LineLoader.construct_mapping_with_lines)
_LineLoader.add_constructor("tag:yaml.org,2002:seq", _LineLoader.construct_sequence_with_lines)


class NotText(ValueError):
    """Bytes that cannot be read as text for certain: `line` (1-based) and what to do, for a message."""

    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.line = line
        self.message = message


# Byte-order marks, longest first (UTF-32's little-endian mark begins with UTF-16's).
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def text_encoding(raw: bytes) -> str:
    """The encoding a file's byte-order mark names, else UTF-8: only what is certain, never a guess."""
    return next((encoding for bom, encoding in _BOMS if raw.startswith(bom)), "utf-8")


def decode_text(raw: bytes) -> str:
    """Text from a file's bytes: UTF-8 (a byte-order mark is dropped), or UTF-16/32 with their mark.

    Windows editors save "Unicode" text as UTF-16 with a mark, and spreadsheets "CSV UTF-8"
    with one; both are read. Bytes that are none of these (a legacy 8-bit encoding such as
    Windows-1252) are refused with `NotText`, naming the line and the first bad byte: which
    legacy encoding it is cannot be known for certain, and a guess would change the text.
    """
    encoding = text_encoding(raw)
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as err:
        if encoding != "utf-8" and encoding != "utf-8-sig":
            label = encoding.upper()
            line = raw[: err.start].decode(encoding, errors="replace").count("\n") + 1  # where the bad unit is
            raise NotText(line, f"not valid {label} (a byte-order mark says {label}); save the file as UTF-8") from None
        line_start = raw.rfind(b"\n", 0, err.start) + 1
        line = raw.count(b"\n", 0, err.start) + 1
        column = len(raw[line_start : err.start].decode("utf-8-sig", errors="replace")) + 1
        raise NotText(
            line,
            f"not UTF-8 (byte 0x{raw[err.start]:02x} at column {column}); save the file as UTF-8",
        ) from None


def read_text_file(path: str | os.PathLike, max_bytes: int = MAX_DATA_FILE_BYTES) -> str:
    path = Path(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise DataError(path, None, "file not found") from None
    if size > max_bytes:
        raise DataError(path, None, f"file is {size} bytes, more than the {max_bytes} a data file may have")
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise DataError(path, None, f"cannot read: {err.strerror or err}") from None
    try:
        return decode_text(raw)
    except NotText as err:
        raise DataError(path, err.line, err.message) from None


def load_yaml(path: str | os.PathLike):
    """Parse a YAML data file safely, keeping line numbers on strings, lists and mappings."""
    text = read_text_file(path)
    try:
        loader = _LineLoader(text, str(path))
    except yaml.reader.ReaderError as err:  # the reader checks every character before any parsing
        line = text.count("\n", 0, err.position) + 1
        raise DataError(path, line, f"invalid YAML: character #x{err.character:02x} is not allowed") from None
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = mark.line + 1 if mark else None
        raise DataError(path, line, f"invalid YAML: {err.problem or err.context}") from None
    except yaml.YAMLError as err:
        raise DataError(path, None, f"invalid YAML: {err}") from None
    finally:
        loader.dispose()


def repeated_json_key(line: str, names) -> str | None:
    """The first of `names` that the JSON object on `line` holds twice at its top level, or None:
    `json.loads` keeps the last of two equal keys without a word.

    Only a line where one of the names appears twice as written, or that holds an escape (a name
    may be spelt "te\\u0078t"), is parsed again, so the common record costs a substring count.
    """
    if "\\u" not in line and not any(line.count(json.dumps(name, ensure_ascii=False)) > 1 for name in names):
        return None
    keys = [key for key, _ in json.loads(line, object_pairs_hook=lambda pairs: pairs)]
    return next((name for name in names if keys.count(name) > 1), None)


def repeated_message(name: str, what: str) -> str:
    """What to say of a field or column given twice (see `repeated_json_key`)."""
    return f"the {what} {name!r} appears twice; which one is meant cannot be known"


def line_of(value, default: int | None = None) -> int | None:
    return getattr(value, "line", None) or default


def kind(value) -> str:
    """What a YAML value is, in words a person editing the file knows."""
    for types, name in (
        (bool, "true/false"),
        (str, "a string"),
        (dict, "a mapping"),
        (list, "a list"),
        ((int, float), "a number"),
        (type(None), "nothing"),
    ):
        if isinstance(value, types):
            return name
    return type(value).__name__


def expect_mapping(value, path, what: str, line: int | None = None) -> LineDict:
    if not isinstance(value, dict):
        raise DataError(path, line_of(value, line), f"{what} must be a mapping (key: value), got {kind(value)}")
    return value


def expect_list_of_strings(value, path, what: str, line: int | None = None) -> list[LineStr]:
    if not isinstance(value, list):
        raise DataError(path, line_of(value, line), f"{what} must be a list of strings, got {kind(value)}")
    for item in value:
        if not isinstance(item, str):
            raise DataError(
                path, line_of(value, line), f"{what}: every entry must be a string, got {kind(item)} {item!r}"
            )
    return value


# The outputs held back by the innermost `outputs_together` block: output -> its written temporary file.
_held_outputs: contextvars.ContextVar[dict[Path, Path] | None] = contextvars.ContextVar("held_outputs", default=None)


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike):
    """Yield a temporary path beside `path`; rename it onto `path` only if the block succeeds.

    An interrupted or failed run therefore never leaves a half-written file under
    the real name, and a good file already there survives until its replacement is whole.
    Two runs writing one output at once each write their own temporary file, so the
    output is always one run's whole file: the last to finish wins. A folder that cannot
    be written to, or a full disk, is a `DataError` naming the output, not a traceback.
    Inside `outputs_together` the rename waits for the end of that block.
    """
    held = _held_outputs.get()
    if held is None:
        with atomic_outputs([path]) as (temporary,):
            yield temporary
        return
    path = Path(path)
    temporary = temporary_beside(path)
    try:
        with output_errors(path, temporary):
            yield temporary
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    if path in held:  # written twice in one stage: the later file is the output
        held.pop(path).unlink(missing_ok=True)
    held[path] = temporary


@contextlib.contextmanager
def outputs_together(folders=()):
    """Hold back every `atomic_output` written inside the block; rename them all into place at its end.

    A stage's outputs only make sense as one set (a train split beside the test split it was cut
    from, a model beside its metadata), and dvc.yaml keeps them in place while a stage runs
    (`persist: true`), so that a failed or interrupted run leaves the previous set whole and
    `dvc status` true. Within the block, code reads the previous files, not the new ones.
    `folders` are the stage's folder outputs: once the set is in place, any other file in them
    is removed (a stray note, an earlier run's file), as DVC removed it before the stage ran.
    Used as a decorator on each stage; a block inside another joins the outer one.
    """
    if _held_outputs.get() is not None:
        yield
        return
    held: dict[Path, Path] = {}
    token = _held_outputs.set(held)
    try:
        yield
        _held_outputs.reset(token)
        token = None
        if held:
            # Each written file moves onto a temporary of atomic_outputs (same folder: a rename), which
            # then puts the whole set in place, all or none.
            with atomic_outputs(list(held), unnamed_errors_are_ours=False) as temporaries:
                for written, temporary in zip(held.values(), temporaries):
                    os.replace(written, temporary)
        kept = {path.resolve() for path in held}
        for folder in map(Path, folders):
            for entry in sorted(folder.iterdir()) if folder.is_dir() else []:
                if entry.resolve() not in kept and not entry.is_dir():
                    entry.unlink(missing_ok=True)
    finally:
        if token is not None:
            _held_outputs.reset(token)
        for written in held.values():
            written.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_outputs(paths, unnamed_errors_are_ours: bool = True, before_renames=None):
    """Yield a temporary path beside each of `paths`, in order; rename them all into place only if the block succeeds.

    All or none, for outputs that only make sense together: a failed write or rename, or an
    interrupt before the last rename, leaves every output as it was. An output renamed before
    the last has its previous file set aside beside it until the last is in place, and put back
    if a later step fails; one that did not exist is removed. The last rename completes the set,
    so it needs no backup: with one output this is exactly `atomic_output`. The temporary files
    are made in order, so a folder that cannot be written is named by the first path (the output
    the user named; its companions after it). An OSError about one output is a `DataError`
    naming it; an error naming no file names the output only if it is the only one and
    `unnamed_errors_are_ours` (a caller with several, or that writes elsewhere too, wraps its
    writes in `output_errors`). `before_renames`, if given, is called once the block has
    succeeded and before the first rename: what it raises leaves every output as it was.
    """
    paths = [Path(path) for path in paths]
    if len(set(paths)) != len(paths):
        raise ValueError(f"outputs written together must be distinct: {[str(p) for p in paths]}")
    temporaries: list[Path] = []
    backups: dict[Path, Path] = {}  # output: its previous file, once set aside, until every output is in place
    # Folders the outputs need that are not there yet, deepest first: made for the temporaries, and
    # removed again (where still empty) if nothing is put in place, so a failed run leaves no trace.
    missing = sorted(
        {f for p in paths for f in p.absolute().parents if not os.path.lexists(f)}, key=lambda f: -len(f.parts)
    )
    undone = False  # set once every output is back as it was
    try:
        for path in paths:
            temporaries.append(temporary_beside(path))
        yield temporaries
        if before_renames is not None:
            before_renames()
        for index, (path, temporary) in enumerate(zip(paths, temporaries)):
            # Nothing comes after the last rename that could undo it, so only the others need a backup.
            if index < len(paths) - 1 and os.path.lexists(path):
                _set_aside(path, backups)
            os.replace(temporary, path)
    except BaseException as err:
        if not (temporaries and len(temporaries) == len(paths) and not temporaries[-1].exists()):
            _put_back(paths, temporaries, backups)  # else the last rename was done: every output is in place
            undone = True
        output = _output_named(err, paths, temporaries, backups) if isinstance(err, OSError) else None
        if output is not None and err.filename is None and not unnamed_errors_are_ours:
            output = None
        if output is None:
            raise
        raise DataError(output, None, f"could not be written ({os_reason(err)}); {_kept(paths)}") from None
    finally:
        for leftover in [*temporaries, *backups.values()]:
            leftover.unlink(missing_ok=True)
        for folder in missing if undone else []:  # emptied just above, unless someone else wrote there
            with contextlib.suppress(OSError):
                folder.rmdir()


def _set_aside(path: Path, backups: dict[Path, Path]) -> None:
    """Move `path`'s previous file to a backup beside it, to be put back if a later step fails."""
    backups[path] = temporary_beside(path)  # recorded first: an interrupt just after the move must undo it too
    try:
        os.replace(path, backups[path])
    except FileNotFoundError:  # gone meanwhile (another run set it aside): nothing to keep, nothing to put back
        backups.pop(path).unlink(missing_ok=True)


def _put_back(paths: list[Path], temporaries: list[Path], backups: dict[Path, Path]) -> None:
    """Undo the renames of outputs written together: each previous file back in place, each new one removed."""
    left = []
    for path, temporary in zip(paths, temporaries):
        renamed = not temporary.exists()  # os.replace moved it onto `path` whole, or did nothing
        try:
            if path in backups and (renamed or not os.path.lexists(path)):  # set aside, maybe replaced: put it back
                os.replace(backups[path], path)
            elif renamed:
                path.unlink()
        except OSError as err:
            reason = os_reason(err)
            if path in backups:
                backup = backups.pop(path)  # so not removed with the temporary files: it is the only previous copy
                left.append(
                    (path, f"could not be put back ({reason}); its previous file is {backup}: rename it to {path.name}")
                )
            else:
                left.append((path, f"written by a run that failed, and cannot be removed ({reason}): remove it"))
    if left:  # every file named, on one line: the user has to act on each
        (path, first), rest = left[0], [f"{other}: {message}" for other, message in left[1:]]
        raise DataError(path, None, "; ".join([first, *rest]))


def _output_named(err: OSError, paths: list[Path], temporaries: list[Path], backups: dict[Path, Path]) -> Path | None:
    """The output an OSError is about (by its name, its temporary's or its backup's); None if another file's.

    An error naming no file (a full disk while writing) is the output's only if there is one.
    """
    if err.filename is None:
        return paths[0] if len(paths) == 1 else None
    names = {str(path): path for path in paths}
    names.update({str(temporary): path for path, temporary in zip(paths, temporaries)})
    names.update({str(backup): path for path, backup in backups.items()})
    return names.get(err.filename)


def _kept(paths: list[Path]) -> str:
    """What a failed write left, once every output is as it was before."""
    if not any(os.path.lexists(path) for path in paths):
        return "nothing was written"
    return "the previous file is unchanged" if len(paths) == 1 else "the previous files are unchanged"


def temporary_beside(path: Path) -> Path:
    """A new empty file in `path`'s folder (made if missing), to be renamed onto `path` once written; the caller removes it."""
    if path.is_dir():  # the rename onto it would fail only after the work: refuse before it
        raise DataError(path, None, "is a folder; give a file path (nothing was written)")
    with contextlib.suppress(OSError):  # a pipe or device would be replaced by a file, its reader left waiting
        kind = os.lstat(path).st_mode
        if stat.S_ISFIFO(kind) or stat.S_ISCHR(kind) or stat.S_ISBLK(kind) or stat.S_ISSOCK(kind):
            what = "a named pipe" if stat.S_ISFIFO(kind) else "a socket" if stat.S_ISSOCK(kind) else "a device"
            raise DataError(
                path,
                None,
                f"is {what}, not a file: the output is written beside it and renamed into place, which would "
                "replace it; give a file path (nothing was written)",
            )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as err:
        blocker = next((p for p in path.parents if p.exists()), None)
        reason = f"{blocker} is a file, not a folder" if blocker and not blocker.is_dir() else os_reason(err)
        raise DataError(
            path, None, f"cannot write here ({reason}); choose another place (nothing was written)"
        ) from None
    os.close(fd)
    os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes 0600; give the file the user's usual mode
    return Path(temporary)


@contextlib.contextmanager
def output_errors(path: Path, temporary: Path):
    """Turn an OSError about `path` or its temporary file into a one-line `DataError` naming `path`."""
    try:
        yield
    except OSError as err:
        if err.filename not in (None, str(temporary), str(path)):
            raise  # about some other file (an input): not this output's to explain
        raise DataError(path, None, f"could not be written ({os_reason(err)}); {_kept([path])}") from None


def describe_os_error(err: OSError) -> str:
    """`path: disk full` for an error of the environment, in the form of every other message."""
    return shown(f"{err.filename}: {os_reason(err)}" if err.filename else os_reason(err))


def os_reason(err: OSError) -> str:
    """`disk full` rather than `[Errno 28] No space left on device` where the cause is a common one."""
    number = err.errno or next((n for n in _PLAIN_REASONS if f"errno {n}]" in str(err).lower()), None)
    return _PLAIN_REASONS.get(number) or err.strerror or str(err)


_PLAIN_REASONS = {
    errno.ENOSPC: "disk full",
    errno.EDQUOT: "disk quota exceeded",
    errno.EROFS: "read-only file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
}


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_json(path: str | os.PathLike, data) -> None:
    """JSON with sorted keys and a final newline: byte-identical for equal data."""
    with atomic_output(path) as temporary:
        temporary.write_text(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")


def write_csv(path: str | os.PathLike, fields: list[str], rows: list[dict]) -> None:
    """CSV with a header and Unix line ends, written atomically."""
    with atomic_output(path) as temporary:
        with open(temporary, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=fields, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
