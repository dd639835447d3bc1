"""stance: actor stance toward the proposed NATO liaison office in Tokyo."""

import os

# Nothing in this package may reach a hub: datasets reads only local parquet files.
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
