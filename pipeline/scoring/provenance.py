"""What produced an output: the model's SHA-256, the package version, the label set, the
feature version, the classifier's params and the scoring options.

Parquet outputs carry it as key-value metadata under the key `stance`; JSONL and CSV
outputs in a sidecar `<output>.meta.json`, written and renamed into place with the output.
It holds no time or path, so the same model, input and options give the same bytes.
"""

from __future__ import annotations

import json
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from pipeline.files import files_sha256
from pipeline.modeling.metadata import metadata_path

METADATA_KEY = "stance"  # the Parquet key-value metadata key
SIDECAR_SUFFIX = ".meta.json"
MODEL_PARAMS = ("classifier", "C", "class_weight", "calibration", "embeddings")


def package_version() -> str:
    try:
        return version("stance")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown"


def provenance(model_path: str | Path, **options) -> dict:
    """The provenance record of outputs scored with this model and these options."""
    metadata = json.loads(metadata_path(Path(model_path)).read_text(encoding="utf-8"))
    params = metadata.get("params", {})
    from pipeline.modeling.finetuned import WEIGHTS, finetuned_folder, read_manifest

    record = {
        "producer": "stance score",
        "package_version": package_version(),
        "model_sha256": files_sha256([model_path]),
        "model_file": Path(model_path).name,
        "labels": metadata["labels"],
        "feature_version": metadata["feature_version"],
        "model_params": {key: params[key] for key in MODEL_PARAMS if key in params},
        "training_data_sha256": metadata.get("training_data_sha256"),
        "sklearn_version": metadata.get("sklearn_version"),
        "options": options,
    }
    manifest = read_manifest(finetuned_folder(model_path))
    if manifest:  # the opt-in preset: the linear model averaged with this fine-tuned encoder
        folder = finetuned_folder(model_path)
        record["finetuned"] = {
            "weights_sha256": files_sha256([folder / WEIGHTS]),
            "weight": manifest["settings"]["weight"],
        }
    return record


def sidecar_path(output: str | Path) -> Path:
    """`pairs.jsonl` -> `pairs.jsonl.meta.json`."""
    return Path(f"{output}{SIDECAR_SUFFIX}")
