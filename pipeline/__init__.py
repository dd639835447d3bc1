"""stance: the stance news articles give each actor toward one target, described by data (data/targets/)."""

import os

# Nothing in this package may reach a hub: datasets reads only local Parquet files and the
# optional encoder is bundled in its package. Library progress bars stay off users' output.
for _name in (
    "HF_HUB_OFFLINE",
    "HF_DATASETS_OFFLINE",
    "TRANSFORMERS_OFFLINE",
    "HF_DATASETS_DISABLE_PROGRESS_BARS",
    "HF_HUB_DISABLE_PROGRESS_BARS",
):
    os.environ.setdefault(_name, "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
