"""The one exception users see: an expected problem with an input, printed as one line."""

from __future__ import annotations

import os


class DataError(Exception):
    """An expected problem with an input file: `path:line: what is wrong; what to do`, never a traceback."""

    def __init__(self, path: str | os.PathLike, line: int | None, message: str):
        super().__init__(f"{path}:{line}: {message}" if line else f"{path}: {message}")

    def __reduce__(self):
        # Pickled as the same one line (and any `problems`): a worker process's error reaches the parent whole.
        return (_restored, (str(self),), self.__dict__)


def _restored(text: str) -> DataError:
    error = DataError.__new__(DataError)
    Exception.__init__(error, text)
    return error
