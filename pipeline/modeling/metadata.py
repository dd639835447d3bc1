"""The model's metadata file (`models/model.json`): read and checked without loading the model.

It says what the model was trained for (labels, feature version, actor registry, params)
and which plain scoring file belongs to it, so the scorer can refuse a model that does not
fit this code before it imports scikit-learn or reads a model file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from pipeline.data.labels import LABELS
from pipeline.errors import DataError
from pipeline.paths import MODEL

# Bump when PairView's output changes meaning or a trusted type moves; old models are then refused.
FEATURE_VERSION = 11
BUILD_HINT = "build one with `dvc repro` (or `stance train`)"


class _Registry(BaseModel):
    aliases: dict[str, list[str]]
    exact_case: dict[str, list[str]]
    not_actors: list[str]
    author: str | None = None


class _PlainEntry(BaseModel):
    covered: bool
    file: str | None = None
    sha256: str | None = None


class _Metadata(BaseModel):
    """The shape of what the loaders read (other keys are kept as they are)."""

    labels: list[str]
    feature_version: int
    registry: _Registry
    params: dict[str, Any] = {}
    plain_model: _PlainEntry | None = None
    sklearn_version: str
    model_sha256: str


def metadata_path(path: str | Path) -> Path:
    """`models/model.skops` -> `models/model.json`."""
    return Path(path).with_suffix(".json")


def plain_path(path: str | Path) -> Path:
    """`models/model.skops` -> `models/model.npz` (pipeline.modeling.plain reads it; the path is here,
    beside the metadata's, so that asking where it is imports neither numpy's nor scipy's arrays)."""
    return Path(path).with_suffix(".npz")


def _where_it_is(path: Path) -> str | None:
    """Run from a subfolder of the project, a relative model path names nothing; say where it is."""
    if path.is_absolute():
        return None
    for folder in Path.cwd().parents:
        if (folder / path).is_file():
            found = Path(os.path.relpath(folder / path))
            return f"the project's is {found}: run from {folder}, or pass --model {found}"
    return None


def read_metadata(path: str | Path = MODEL) -> dict:
    """The model's metadata, after the checks that need no loading: the model file is there, and
    was saved for these labels and this feature version."""
    path = Path(path)
    if not path.exists():
        raise DataError(path, None, f"model file not found; {_where_it_is(path) or BUILD_HINT}")
    try:
        metadata = json.loads(metadata_path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise DataError(metadata_path(path), None, f"model metadata missing or unreadable; {BUILD_HINT}") from None
    if not isinstance(metadata, dict):
        raise DataError(metadata_path(path), None, f"model metadata is corrupt (not a JSON object); {BUILD_HINT}")
    if metadata.get("labels") != list(LABELS):
        raise DataError(
            path, None, f"model was trained for labels {metadata.get('labels')}, not {list(LABELS)}; {BUILD_HINT}"
        )
    if metadata.get("feature_version") != FEATURE_VERSION:
        raise DataError(
            path,
            None,
            f"model has feature version {metadata.get('feature_version')}, this code {FEATURE_VERSION}; {BUILD_HINT}",
        )
    if "registry" not in metadata:
        raise DataError(metadata_path(path), None, f"model metadata has no actor registry; {BUILD_HINT}")
    if "model_sha256" not in metadata:
        raise DataError(
            metadata_path(path), None, f"model metadata has no SHA-256 of {path.name} (an older build); {BUILD_HINT}"
        )
    try:
        _Metadata.model_validate(metadata, strict=True)
    except ValidationError as err:
        problem = err.errors()[0]
        where = ".".join(str(part) for part in problem["loc"])
        what = "should be a JSON object" if problem["type"] == "model_type" else problem["msg"]
        raise DataError(
            metadata_path(path), None, f"model metadata is corrupt ({where}: {what}); {BUILD_HINT}"
        ) from None
    return metadata


def check_model_sha256(path: str | Path, metadata: dict, sha256: str) -> None:
    """Refuse a model file that is not the one its metadata was written for (swapped, truncated, from
    another build): `sha256` is the file's, computed by the caller from the bytes it reads anyway."""
    if sha256 != metadata.get("model_sha256"):
        raise DataError(
            path, None, f"model file does not belong to {metadata_path(path).name} (its SHA-256 differs); {BUILD_HINT}"
        )
