"""Every path the stages write, named once. dvc.yaml declares the same paths as outs.

Paths are relative to the project root, where `dvc repro` runs the stages. The
inputs (the target's folder and its articles) are knobs in params.yaml.
"""

from pathlib import Path

PARAMS = Path("params.yaml")

STATIC_VECTORS = Path("models/static_vectors")  # the distill stage's output, committed to git
STATIC_VECTORS_FILE = "vectors.safetensors"  # one float16 row per token
STATIC_TOKENIZER_FILE = "tokenizer.json"  # the tokenizer whose ids index those rows

PREPARED = Path("data/prepared")
TRAIN_SPLIT = PREPARED / "train.parquet"
TEST_SPLIT = PREPARED / "test.parquet"
PREPARE_SUMMARY = PREPARED / "summary.json"

MODEL = Path("models/model.skops")  # its metadata sits beside it as model.json
MODEL_CARD = Path("models/MODEL_CARD.md")
FINETUNED = Path("models/finetuned")  # the finetune stage's output; the scorer looks for it beside the model

METRICS = Path("metrics.json")
PLOTS = Path("plots")
REPORTS = Path("reports")
