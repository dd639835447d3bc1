"""The one exception users see: an expected problem with an input, printed as one line."""

from __future__ import annotations

import os


def shown(text: str) -> str:
    """`text` as a message prints it: a character that is not printable as its escape (`\\n`, `\\x1b`;
    a byte of a file name that is not UTF-8 as `\\xff`), so that a file's name can neither break a
    one-line message in two nor send the terminal a command, and says which file it is."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else _escape(c) for c in text)


def _escape(character: str) -> str:
    code = ord(character)
    if 0xDC80 <= code <= 0xDCFF:  # how Python reads a byte of a file name that is not UTF-8
        return f"\\x{code - 0xDC00:02x}"
    return repr(character)[1:-1]


class DataError(Exception):
    """An expected problem with an input file: `path:line: what is wrong; what to do`, never a traceback."""

    def __init__(self, path: str | os.PathLike, line: int | None, message: str):
        super().__init__(shown(f"{path}:{line}: {message}" if line else f"{path}: {message}"))

    def __reduce__(self):
        # Pickled as the same one line (and any `problems`): a worker process's error reaches the parent whole.
        return (_restored, (str(self),), self.__dict__)


def _restored(text: str) -> DataError:
    error = DataError.__new__(DataError)
    Exception.__init__(error, text)
    return error


# Exit codes scripts can rely on; `stance --help` and the README show this table.
EXIT_OK = 0  # done: every input was used
EXIT_ERROR = 1  # the run could not go on (bad params, model or input; --fail-fast); nothing half-written
EXIT_USAGE = 2  # the command line is wrong (click's usage error: unknown option, bad value)
EXIT_SKIPPED = 3  # done, but some input was skipped; each one is named on stderr
EXIT_INTERRUPTED = 130  # stopped by Ctrl-C or SIGTERM; outputs of earlier runs are left intact
EXIT_CODES = {
    EXIT_OK: "done",
    EXIT_ERROR: "the run could not go on (bad params, model or input, --fail-fast); nothing half-written",
    EXIT_USAGE: "usage error: an unknown option or a bad value on the command line",
    EXIT_SKIPPED: "finished, but some input was skipped (each named on stderr)",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C, SIGTERM); earlier outputs left intact",
}
