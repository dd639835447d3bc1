"""The `stance` command's entry point (and `python -m pipeline`): the CLI itself is pipeline.cli.

At exit the interpreter's last garbage collections walk every object numpy, scipy and pyarrow
made: 0.1 to 0.2 s of every command after its outputs are closed. The collector is frozen as the
last exit handler, so they skip them; every output is closed explicitly before (nothing is left
for a collection to flush), and the pool's and Dask's exit handlers are plain calls that still run.

`stance score --workers N` needs the workers' fork server as soon as possible: its imports and
model load (about half a second) are what the first worker waits for. Typer and the CLI take
about 0.15 s to import and parse before `score` can start it, so where the arguments plainly ask
for workers the server is started here first. This is a guess from the raw arguments, never a
decision: `score` still starts the server itself when this did not, and a worker given another
model than the one the server loaded loads its own (pipeline.scoring.pool).
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import os
import signal
import sys

from pipeline.paths import MODEL


def main() -> None:
    # Until a command's run starts (pipeline.cli.run_stage, which takes over and cleans up), nothing has
    # been written: Ctrl-C or `kill` during the imports and the parsing ends the process, with the run's
    # own `interrupted` and exit 130, not a traceback (SIGINT) or a bare 143 (SIGTERM).
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _stop_before_the_run)
    atexit.register(gc.freeze)  # first registered, so the last to run (handlers run last in, first out)
    if sys.stderr is None:  # started with it closed (`2>&-`, some daemons): the run goes on, its messages unread
        # On descriptor 2 itself: left free, the next file opened (an output) would take it and get the messages.
        devnull = os.open(os.devnull, os.O_WRONLY)
        if devnull != 2:
            os.dup2(devnull, 2)
            os.close(devnull)
        sys.stderr = open(2, "w", encoding="utf-8", closefd=False)  # open as long as the process
    model = early_pool_model(sys.argv[1:])
    if model is not None:
        from pipeline.scoring.pool import pool_context

        with contextlib.suppress(OSError):  # `score` tries again, and reports it in one line
            pool_context(model)
    from pipeline.cli import app

    app()


def _stop_before_the_run(signum, frame):
    with contextlib.suppress(OSError):  # standard error closed: the exit code still tells
        os.write(2, b"interrupted\n")
    # An exit, not os._exit: the exit handlers still run (the workers' server, if started, removes its
    # temporary folder). Neither click nor typer catches it, so no "Aborted!" either.
    raise SystemExit(130)  # EXIT_INTERRUPTED, without importing pipeline.errors for it


def early_pool_model(args: list[str]) -> str | None:
    """The model to preload when `args` plainly are `score ... --workers N` with N > 1; else None.

    Only the spellings `--option value` and `--option=value`; anything else (--dask, --explain,
    an unreadable count) leaves the server to `score`, which has parsed the arguments."""
    if not args or args[0] != "score" or "--help" in args or "-h" in args:
        return None
    options: dict[str, str] = {}
    given = set()  # the options seen so far
    for index, arg in enumerate(args[1:], start=1):
        if arg == "--":
            break
        name, equals, value = arg.partition("=")
        if name.startswith("--") and name in given:
            return None  # an option given twice: `score` refuses the run, so no server to start and wait for
        given.add(name)
        if name in ("--workers", "--model", "--dask", "--explain"):
            options[name] = value if equals else (args[index + 1] if index + 1 < len(args) else "")
    workers = options.get("--workers", "")
    if "--dask" in options or "--explain" in options or not (workers.isascii() and workers.isdigit()):
        return None  # isdigit alone takes "²", which int() refuses
    from pipeline.scoring.pool import worker_limit

    return options.get("--model", str(MODEL)) if 1 < int(workers) <= worker_limit() else None


if __name__ == "__main__":
    main()
