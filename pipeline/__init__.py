"""stance: the stance news articles give each actor toward one target, described by data (data/targets/)."""

import os
import platform

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

# A fitted model's bytes must not depend on the CPU (README: Reproducible to the byte). OpenBLAS
# picks its kernels by CPU, and they sum in different orders (or fuse multiply-adds), which moves the
# solver's coefficients in their last bits, so dvc.lock would record another model hash on another
# machine. Every x86-64 CPU numpy runs on has Nehalem's instructions (numpy's own baseline,
# x86-64-v2), so its kernels serve everywhere. On AVX-512 CPUs numpy computes float64 log and exp
# with Intel's SVML (X86_V4), elsewhere with the C library's, whose last bits can differ (TF-IDF's
# idf is a log), so its AVX-512 code paths are left out too. Both libraries read these when they
# load: this must run before numpy is first imported, as it does for `stance`, the DVC stages and
# the workers they start. A user's own setting of either wins (an empty one turns the pin off).
if platform.machine().lower() in ("x86_64", "amd64"):
    os.environ.setdefault("OPENBLAS_CORETYPE", "Nehalem")
    os.environ.setdefault("NPY_DISABLE_CPU_FEATURES", "X86_V4 AVX512_ICL AVX512_SPR")
