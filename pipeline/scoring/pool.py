"""Where worker processes come from: a fork server that has imported the scorer once.

Kept apart from the scorer, with nothing heavy imported here, so that `stance score
--workers N` can start the server before it imports the scorer itself: the server's
imports (numpy, scipy, pyarrow and the scorer: about 0.3 s) then run beside the
command's own, on another core, instead of before the first worker can fork. A run that
stops at once (a missing model) has started it for nothing; it exits with the run.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.forkserver

# What every worker needs imported before it loads the model.
PRELOAD = ["pipeline.scoring.scorer", "pipeline.modeling.plain", "pipeline.scoring.outputs"]


def pool_context():
    """Workers fork from a server process that has imported the scorer once (where the platform has one),
    so each worker only loads the model; elsewhere each worker starts afresh.

    Starts the server if it is not running yet; it imports in the background while this process
    goes on, and the pool's first fork waits for it."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(PRELOAD)
        multiprocessing.forkserver.ensure_running()
        return context
    return multiprocessing.get_context("spawn")
