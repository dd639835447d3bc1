"""Imported first by the workers' fork server (pool.PRELOAD): the server, and every worker it forks, leave
the process group of the command that started them.

Ctrl-C reaches a terminal's whole foreground process group, and `kill -TERM -PGID` a whole group. A worker
that such a signal killed while it waited for a task held the task queue's lock, and the pool's end then
waited for that lock forever; each worker also printed a KeyboardInterrupt traceback. In a group of its
own the server and its workers hear only the run: it answers the signal, ends the pool (SIGTERM to each
worker, which takes it as the pool expects) and exits. A worker still ends with the run if the run is
killed outright (its task queue closes), and the server too (its pipe to the run closes).
"""

from __future__ import annotations

import contextlib
import os

if hasattr(os, "setpgid"):
    with contextlib.suppress(OSError):  # not permitted (a session leader): the run's own answer still holds
        os.setpgid(0, 0)
