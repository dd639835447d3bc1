"""Where worker processes come from: a fork server that has imported the scorer and loaded the model once.

Kept apart from the scorer, with nothing heavy imported here, so that `stance score
--workers N` can start the server before it imports the scorer itself: the server's
imports (numpy, scipy, pyarrow and the scorer: about 0.3 s) then run beside the
command's own, on another core, instead of before the first worker can fork. The server
also loads the model the command names and scores one short text with it
(pipeline.scoring.warm), so every worker forks with the model loaded and its regexes and
lookup tables built, instead of each spending a fifth of a second on that first. A run
that stops at once (a missing model) has started it for nothing; it exits with the run.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.connection
import multiprocessing.forkserver
import multiprocessing.pool
import os
import signal
import threading

# What every worker needs before it scores; the last loads the model named in WORKER_MODEL.
PRELOAD = [
    "pipeline.scoring.own_group",
    "pipeline.scoring.scorer",
    "pipeline.modeling.plain",
    "pipeline.scoring.outputs",
    "pipeline.scoring.warm",
]
# The model the server loads: the server reads only its environment and module names, so the path goes here.
WORKER_MODEL = "STANCE_WORKER_MODEL"
# Beyond this many workers per CPU, more processes only share the CPUs, and each holds a model.
MAX_WORKERS_PER_CPU = 4
STOPS = (signal.SIGINT, signal.SIGTERM)  # the signals that end a run
# The size asked for the pool's two pipes: more than a batch (about 0.2 MB) or its encoded rows (about 0.5 MB).
PIPE_BYTES = 2**20
END_WAIT_SECONDS = 10  # for the end of a pool one of whose workers died (`end_broken_pool`)


def available_cpus() -> int:
    """The CPUs this process may run on (its affinity, where the system has one)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def worker_limit() -> int:
    """The most worker processes a run may ask for: MAX_WORKERS_PER_CPU per CPU it may use."""
    return MAX_WORKERS_PER_CPU * available_cpus()


def pool_context(model_path=None):
    """Workers fork from a server process that has imported the scorer once (where the platform has one),
    so each worker only loads the model, or with `model_path` finds it loaded; elsewhere each worker
    starts afresh.

    Starts the server if it is not running yet; it imports in the background while this process
    goes on, and the pool's first fork waits for it. `model_path` counts only for the call that
    starts the server; a worker given another model loads that one itself."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(PRELOAD)
        if model_path is not None:
            os.environ[WORKER_MODEL] = os.path.abspath(model_path)
        try:
            with _ctrl_c_left_to_the_run():
                multiprocessing.forkserver.ensure_running()
        finally:  # the server took its environment as it started; nothing else started later inherits this
            os.environ.pop(WORKER_MODEL, None)
        return context
    return multiprocessing.get_context("spawn")


@contextlib.contextmanager
def _ctrl_c_left_to_the_run():
    """Start the server with SIGINT ignored: it keeps that through exec, and so does every worker it
    forks. Ctrl-C reaches the terminal's whole process group; the run answers it (`interrupted`,
    exit 130) and ends the pool, where each worker and the server would each have printed a
    KeyboardInterrupt traceback. Only the main thread may set a handler; elsewhere nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def start_pool(context, workers: int, **options):
    """`context.Pool(workers, **options)`, with Ctrl-C and SIGTERM answered only once it has started.

    Interrupted half-way, the run removed the pool's semaphores while workers were still starting,
    and each of them printed a traceback. Here a signal that comes meanwhile is noted; once the pool
    is whole it is ended (its workers terminated and waited for), and the signal is then answered as
    it would have been. Noted, not blocked: a signal may reach any thread, and Python runs its
    handler in the main thread whichever thread it reached."""
    if threading.current_thread() is not threading.main_thread():  # only the main thread sets handlers
        return context.Pool(workers, **options)
    came: list[int] = []
    previous = {signum: signal.signal(signum, lambda signum, frame: came.append(signum)) for signum in STOPS}

    def ends_the_run(signum: int) -> bool:  # a handler, or the default action; not a signal the caller ignores
        return callable(previous[signum]) or previous[signum] == signal.SIG_DFL

    def answer_what_came() -> None:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        for signum in came:
            if callable(previous[signum]):
                previous[signum](signum, None)
            elif previous[signum] == signal.SIG_DFL:
                signal.raise_signal(signum)

    try:
        pool = context.Pool(workers, **options)
    except BaseException:
        answer_what_came()  # a `kill` of the whole group also ends the server, so the pool fails: the kill is the news
        raise
    if any(ends_the_run(signum) for signum in came):
        pool.terminate()
    answer_what_came()
    return pool


def widen_pipes(pool) -> None:
    """Give the pool's task and result pipes room for a whole batch, where the system allows it (Linux).

    A batch and its encoded rows are several times the kernel's default 64 KB pipe, so a worker
    that had scored a batch waited, a chunk at a time, for the parent to read its rows before it
    could take the next batch; on a machine whose cores the workers keep busy, the parent often
    had no core to read with. With room for the whole message the worker hands it over and goes on
    (at 40k sentences with 2 workers, each worker's waits between batches fell from about 0.08 to
    0.04 s). The pipes are the pool's own, `_inqueue` and `_outqueue`; where they are not there, or
    the system refuses the size (a user over its pipe quota), the pool runs as it was.
    """
    try:
        import fcntl
    except ImportError:  # Windows
        return
    if not hasattr(fcntl, "F_SETPIPE_SZ"):  # not Linux
        return
    for queue in (getattr(pool, "_inqueue", None), getattr(pool, "_outqueue", None)):
        with contextlib.suppress(AttributeError, OSError, ValueError):
            fcntl.fcntl(queue._reader.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)


# A pool one of whose workers died is ended through CPython's Pool internals (3.11 to 3.13: `_worker_handler`,
# `_change_notifier`, `_pool`, `_ctx`, the queues' `_rlock` and `_wlock`); the public `terminate` alone waits
# for ever on what the dead worker held.


def a_worker_ended(started: list) -> bool:
    """Whether a worker of `started` (the pool's workers as it began) has ended.

    A pool's workers end only with the pool. One that ends before (the system killed it when memory
    ran out, say) took its batch with it, and the pool, which starts a new worker in its place, would
    wait for that batch for ever; if it died waiting for a task, it held the task queue's lock, and
    every worker after it waits for that lock. This only looks whether the worker's exit status can
    be read, and reads nothing: the pool's own thread reads it, and a second reader finds nothing
    and takes 255."""
    return bool(multiprocessing.connection.wait([worker.sentinel for worker in started], timeout=0))


def end_broken_pool(pool, started: list) -> int | None:
    """End a pool one of whose workers died, without waiting on what the dead worker held; return the
    exit code of the first worker of `started` that ended (255 if the workers' server ended with it).

    `Pool.terminate` takes the task queue's read lock and the result queue's write lock, and a worker
    killed at the wrong moment holds one of them for ever. So: fresh locks in the queues' places (a
    thread of this process that holds an old one releases that one), no new workers, the exit code
    read now that the pool's thread no longer reads it, every worker that may live killed, fresh locks
    again (for a new worker killed now), then the pool's own end, given at most END_WAIT_SECONDS: a
    worker killed half-way through sending its rows left half a message, whose rest it would wait for;
    one killed half-way through reading a task left the rest, which the end reads as garbage."""
    _fresh_locks(pool)  # before the pool's threads end: the task handler's last message takes the write lock
    handler = getattr(pool, "_worker_handler", None)
    if handler is not None:  # no worker started in the place of one that ends from now on
        handler._state = multiprocessing.pool.TERMINATE
        with contextlib.suppress(Exception):
            pool._change_notifier.put(None)
        handler.join(timeout=END_WAIT_SECONDS)
    with contextlib.suppress(Exception):  # the task handler's signal to end, which a handler killed by the
        pool._taskqueue.put(None)  # server's end never sent; a second one is never read
    code = next((worker.exitcode for worker in started if worker.exitcode is not None), None)
    for worker in {*started, *getattr(pool, "_pool", [])}:
        # By pid: with the server gone every worker reads as ended (255), alive or not, and Process.kill
        # then does nothing. A worker with a status of its own is gone, and its pid may be another's now.
        if worker.exitcode in (None, 255):
            with contextlib.suppress(OSError):
                os.kill(worker.pid, signal.SIGKILL)
    _fresh_locks(pool)
    ending = threading.Thread(target=_terminate_quietly, args=(pool,), name="end of a broken pool", daemon=True)
    ending.start()
    ending.join(timeout=END_WAIT_SECONDS)
    return code


def _terminate_quietly(pool) -> None:
    """`pool.terminate()`, whose failure is not printed: it reads what is left in the task queue, and a worker
    killed half-way through reading a task left the rest of it there, which reads as garbage. The workers are
    dead by then, and the run says what happened in one line."""
    with contextlib.suppress(Exception):
        pool.terminate()


def _fresh_locks(pool) -> None:
    """New locks in the place of the queues' own. The old ones stay referenced until the pool is gone: a lock
    no longer referenced here is unlinked, and a worker the pool is starting at that moment could not open it
    (a traceback)."""
    context = getattr(pool, "_ctx", None)
    kept = pool.__dict__.setdefault("_replaced_locks", [])
    for queue, name in ((getattr(pool, "_inqueue", None), "_rlock"), (getattr(pool, "_outqueue", None), "_wlock")):
        if context is not None and getattr(queue, name, None) is not None:  # None: not this platform's queues
            kept.append(getattr(queue, name))
            setattr(queue, name, context.Lock())


@contextlib.contextmanager
def quiet_when_broken(pool, started: list):
    """While the pool runs, an exception in its worker handler thread once a worker has ended is not printed:
    when the workers' server is killed, that thread may fail to start a worker through it (a traceback), and
    the run says what happened in one line. Any other thread's exception is printed as before."""
    previous = threading.excepthook

    def hook(args):
        if args.thread is getattr(pool, "_worker_handler", None) and a_worker_ended(started):
            return
        previous(args)

    threading.excepthook = hook
    try:
        yield
    finally:
        threading.excepthook = previous
