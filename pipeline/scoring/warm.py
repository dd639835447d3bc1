"""Imported once by the workers' fork server (pool.PRELOAD): loads the model `stance score` named
(pool.WORKER_MODEL) and scores one short text with it, so that every worker forks ready to score.

Anything that goes wrong here is left to the workers, which load the model themselves and report
the error with the first batch, as they do without this.
"""

from __future__ import annotations

import os

from pipeline.scoring.pool import WORKER_MODEL
from pipeline.scoring.scorer import preload

if os.environ.get(WORKER_MODEL):
    preload(os.environ[WORKER_MODEL])  # never raises: an error here would stop the server
