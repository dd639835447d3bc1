"""The model's metadata file (`models/model.json`): read and checked without loading the model.

It says what the model was trained for (labels, feature version, actor registry, params)
and which plain scoring file belongs to it, so the scorer can refuse a model that does not
fit this code before it imports scikit-learn or reads a model file.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from pipeline.data.labels import LABELS
from pipeline.errors import DataError
from pipeline.paths import MODEL

# Bump when PairView's output changes meaning or a trusted type moves; old models are then refused.
FEATURE_VERSION = 11
BUILD_HINT = "build one with `dvc repro` (or `stance train`)"


# The shape the loaders read, checked when the file is read (other keys are kept as they are). A
# key ending in "?" may be missing; a tuple is any of its shapes; [shape] a list of it; {str: shape} a
# JSON object of any keys; dict any JSON object. Checked here rather than with pydantic, whose import
# and models cost about 0.09 s of the workers' server's start, which two workers wait for (the CLI
# itself still imports pydantic, through typer).
SHAPE = {
    "labels": [str],
    "feature_version": int,
    "registry": {"aliases": {str: [str]}, "exact_case": {str: [str]}, "not_actors": [str], "author?": (str, None)},
    "params?": dict,
    "plain_model?": ({"covered": bool, "file?": (str, None), "sha256?": (str, None)}, None),
    "sklearn_version": str,
    "model_sha256": str,
    "metadata_sha256": str,
}
_NAMES = {str: "text", int: "a whole number", bool: "true or false", dict: "a JSON object", None: "null"}


def shape_problem(value, shape, where: str = "") -> str | None:
    """`where: what is wrong` for the first part of `value` (parsed JSON) that does not fit `shape`; None if all fit."""
    if isinstance(shape, tuple):
        if any(shape_problem(value, option, where) is None for option in shape):
            return None
        fitting = [option for option in shape if isinstance(option, dict) and isinstance(value, dict)]
        if fitting:  # an object of the wrong inside: say what is wrong inside it
            return shape_problem(value, fitting[0], where)
        return f"{where}: should be {' or '.join(_name(option) for option in shape)}"
    if isinstance(shape, list):
        if not isinstance(value, list):
            return f"{where}: should be a list"
        return next((p for i, item in enumerate(value) if (p := shape_problem(item, shape[0], f"{where}.{i}"))), None)
    if isinstance(shape, dict):
        if not isinstance(value, dict):
            return f"{where}: should be a JSON object"
        if str in shape:
            return next(
                (p for k, item in value.items() if (p := shape_problem(item, shape[str], f"{where}.{k}"))), None
            )
        for key, inner in shape.items():
            name = key.rstrip("?")
            here = f"{where}.{name}" if where else name
            if name not in value:
                if not key.endswith("?"):
                    return f"{here}: missing"
            elif problem := shape_problem(value[name], inner, here):
                return problem
        return None
    # JSON's true is no number here, and 1 no truth value
    fits = value is None if shape is None else type(value) is shape
    return None if fits else f"{where}: should be {_name(shape)}"


def _name(shape) -> str:
    return "a list" if isinstance(shape, list) else "a JSON object" if isinstance(shape, dict) else _NAMES[shape]


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
    if path.is_dir():  # ".", "/" or an empty --model: a folder has no model.json beside it
        raise DataError(path, None, f"is a folder, not a model file; give its model.skops ({MODEL})")
    try:
        metadata = json.loads(metadata_path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        if not metadata_path(path).exists() and path.suffix != ".skops":  # README.md given as the model, say
            raise DataError(path, None, f"not a model file (a model is a .skops file; {MODEL}, say)") from None
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
    if "metadata_sha256" not in metadata:
        raise DataError(
            metadata_path(path), None, f"model metadata has no SHA-256 of its own (an older build); {BUILD_HINT}"
        )
    if problem := shape_problem(metadata, SHAPE):
        raise DataError(metadata_path(path), None, f"model metadata is corrupt ({problem}); {BUILD_HINT}")
    # The registry and params here are the model's as much as its weights are: an alias edited by hand
    # would change which pairs are scored, and the provenance would still name the same model.
    if content_sha256(metadata) != metadata["metadata_sha256"]:
        raise DataError(
            metadata_path(path), None, f"model metadata was changed after training (its SHA-256 differs); {BUILD_HINT}"
        )
    return metadata


def content_sha256(metadata: dict) -> str:
    """The SHA-256 of everything in the metadata but this hash itself, as canonical JSON."""
    content = {key: value for key, value in metadata.items() if key != "metadata_sha256"}
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def sealed(metadata: dict) -> dict:
    """The metadata with its own SHA-256, as the train stage writes it."""
    return {**metadata, "metadata_sha256": content_sha256(metadata)}


def check_model_sha256(path: str | Path, metadata: dict, sha256: str) -> None:
    """Refuse a model file that is not the one its metadata was written for (swapped, truncated, from
    another build): `sha256` is the file's, computed by the caller from the bytes it reads anyway."""
    if sha256 != metadata.get("model_sha256"):
        raise DataError(
            path, None, f"model file does not belong to {metadata_path(path).name} (its SHA-256 differs); {BUILD_HINT}"
        )
