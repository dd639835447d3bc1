"""What produced an output: the model's SHA-256, the package version, the label set, the
feature version, the classifier's params and the scoring options.

Parquet outputs carry it as key-value metadata under the key `stance`; JSONL and CSV
outputs in a sidecar `<output>.meta.json`, written and renamed into place with the output.
It holds no time or path, so the same model, input and options give the same bytes. (A Dask
part adds `partition_sha256`, a digest of its inputs' paths, sizes, times and inodes: see dask_runner.)
"""

from __future__ import annotations

import hashlib
import json
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from pipeline.files import files_sha256
from pipeline.modeling.metadata import check_model_sha256, metadata_path

METADATA_KEY = "stance"  # the Parquet key-value metadata key
SIDECAR_SUFFIX = ".meta.json"
MODEL_PARAMS = ("classifier", "C", "class_weight", "calibration", "embeddings")


def package_version() -> str:
    try:
        return version("stance")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown"


def provenance(model_path: str | Path, shipped: dict[str, bytes] | None = None, **options) -> dict:
    """The provenance record of outputs scored with this model and these options.

    `shipped`: the model's files as a Dask client checked and shipped them (by path relative to
    the model's folder); the record then describes those bytes, not the files on disk, which
    may have changed since."""
    from pipeline.modeling.finetuned import MANIFEST, WEIGHTS, finetuned_folder, read_manifest

    model_path, folder = Path(model_path), finetuned_folder(model_path)
    if shipped is None:
        metadata = json.loads(metadata_path(model_path).read_text(encoding="utf-8"))
        model_sha256 = files_sha256([model_path])
        manifest = read_manifest(folder)
        weights_sha256 = files_sha256([folder / WEIGHTS]) if manifest else None
    else:
        metadata = json.loads(shipped[metadata_path(model_path).name])
        model_sha256 = hashlib.sha256(shipped[model_path.name]).hexdigest()
        manifest_bytes = shipped.get(f"{folder.name}/{MANIFEST}")  # shipped only where the preset is on
        manifest = json.loads(manifest_bytes) if manifest_bytes else None
        weights_sha256 = hashlib.sha256(shipped[f"{folder.name}/{WEIGHTS}"]).hexdigest() if manifest else None
    check_model_sha256(model_path, metadata, model_sha256)  # the plain model's run reads the skops file only here
    params = metadata.get("params", {})
    record = {
        "producer": "stance score",
        "package_version": package_version(),
        "model_sha256": model_sha256,
        "model_file": model_path.name,
        "labels": metadata["labels"],
        "feature_version": metadata["feature_version"],
        "model_params": {key: params[key] for key in MODEL_PARAMS if key in params},
        "training_data_sha256": metadata.get("training_data_sha256"),
        "sklearn_version": metadata.get("sklearn_version"),
        "options": options,
    }
    if manifest:  # the opt-in preset: the linear model averaged with this fine-tuned encoder
        record["finetuned"] = {"weights_sha256": weights_sha256, "weight": manifest["settings"]["weight"]}
    return record


def sidecar_path(output: str | Path) -> Path:
    """`pairs.jsonl` -> `pairs.jsonl.meta.json`."""
    return Path(f"{output}{SIDECAR_SUFFIX}")
