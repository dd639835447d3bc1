"""Saving and loading models with skops: no pickle, only types on an allow-list.

Loading rebuilds only scikit-learn's own types, numpy/scipy containers, and the
transformers of this package named in TRUSTED_TYPES, so a swapped-in model
file cannot run code. The file is written so that the same model always gives
the same bytes, and dvc.lock holds from machine to machine.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.abc
import re
import sys
import zipfile
from pathlib import Path

import sklearn
from sklearn.pipeline import Pipeline

from pipeline.data.labels import LABELS
from pipeline.errors import DataError
from pipeline.features.pair_rows import PairRows
from pipeline.files import atomic_output, files_sha256, write_json
from pipeline.modeling.metadata import (
    BUILD_HINT,
    FEATURE_VERSION,
    check_model_sha256,
    metadata_path,
    read_metadata,
    sealed,
)
from pipeline.modeling.plain import plain_path, save_plain
from pipeline.paths import MODEL

# Types a model file may contain beyond skops' defaults: this package's own estimators, reviewed.
TRUSTED_TYPES = [
    "pipeline.features.pair_view.PairView",
    "pipeline.features.embeddings.SentenceEmbedder",
    "pipeline.features.static_vectors.StaticEmbedder",
    "pipeline.features.word_clusters.WordClusters",
    "pipeline.features.sentiment.WindowSentiment",
    "pipeline.modeling.calibration.GroupCalibratedClassifier",
]


# skops lists scikit-learn's estimators when it is first imported, by importing every package below
# sklearn: with torch installed that includes sklearn's torch adapter, and so torch itself, seconds of
# start-up that no stance model needs (the embeddings transformer imports torch itself when used).
# pkgutil.walk_packages, which the listing uses, skips a package that fails to import, and the adapters
# hold no estimators, so refusing them during that one import changes nothing skops trusts.
SKIPPED_WHILE_LISTING = tuple(
    f"sklearn.externals.array_api_compat.{name}" for name in ("torch", "dask", "cupy", "jax")
) + ("sklearn.externals.array_api_extra",)


class _RefuseArrayAdapters(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        if fullname.startswith(SKIPPED_WHILE_LISTING):
            raise ImportError(f"{fullname} is not needed to load a stance model")
        return None


def _skops_io():
    """skops.io, imported without sklearn's array-library adapters (see SKIPPED_WHILE_LISTING)."""
    if "skops.io" not in sys.modules:
        finder = _RefuseArrayAdapters()
        sys.meta_path.insert(0, finder)
        try:
            import skops.io  # noqa: F401
        finally:
            with contextlib.suppress(ValueError):
                sys.meta_path.remove(finder)
    return sys.modules["skops.io"]


_skops_io()  # at import, as before: a worker forked from a process that imported this module has it


def save_model(model: Pipeline, path: Path, metadata: dict) -> None:
    import skops

    sio = _skops_io()
    metadata = {
        **metadata,
        "labels": list(LABELS),
        "feature_version": FEATURE_VERSION,
        "sklearn_version": sklearn.__version__,
        "skops_version": skops.__version__,
    }
    for _, transformer, _ in model.named_steps["features"].transformers_:
        # A cache of id(stop_words): a memory address, different on every run; sklearn recomputes it.
        for step in transformer if isinstance(transformer, Pipeline) else [transformer]:  # word clusters' n-grams
            if hasattr(step, "_stop_words_id"):
                del step._stop_words_id
    with atomic_output(path) as temporary:
        sio.dump(model, temporary, compression=zipfile.ZIP_DEFLATED)
        _make_reproducible(temporary)
        # load_model and every scoring run's provenance refuse a model.skops swapped beside this file.
        metadata["model_sha256"] = files_sha256([temporary])  # the new file: a stage renames it in at its end
    covered, plain_sha256 = save_plain(model, plain_path(path))
    metadata["plain_model"] = {"file": plain_path(path).name, "sha256": plain_sha256, "covered": covered}
    write_json(metadata_path(path), sealed(metadata))


_OBJECT_ID = re.compile(r'("__id__": |")(\d+)(\.npy")?')


def _make_reproducible(path: Path) -> None:
    """Rewrite a skops zip so that the same model always gives the same bytes.

    skops names objects and array files by their memory address (`id()`), and zip
    entries carry the time of writing. Renumbering ids in order of first appearance
    and fixing the timestamps makes the file, and so dvc.lock, identical across runs.
    """
    with zipfile.ZipFile(path) as archive:
        entries = {name: archive.read(name) for name in archive.namelist()}
    schema = entries.pop("schema.json").decode("utf-8")
    numbers: dict[str, str] = {}

    def renumber(match: re.Match) -> str:
        prefix, number, suffix = match.groups()
        if prefix == '"' and not suffix:
            return match.group(0)  # a quoted number that is not an array file name
        numbers.setdefault(number, str(len(numbers) + 1))
        return f"{prefix}{numbers[number]}{suffix or ''}"

    schema = _OBJECT_ID.sub(renumber, schema)
    renamed = {
        f"{numbers[name[:-4]]}.npy" if name.endswith(".npy") and name[:-4] in numbers else name: data
        for name, data in entries.items()
    }
    renamed["schema.json"] = schema.encode("utf-8")
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(renamed):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, renamed[name])


def load_model(path: str | Path = MODEL) -> tuple[Pipeline, dict]:
    """Load a model without unpickling: refuse unknown types, other label sets and feature versions,
    and a model saved by another major version of scikit-learn."""
    path = Path(path)
    build = BUILD_HINT
    metadata = read_metadata(path)
    major = lambda version: str(version).split(".")[0]  # noqa: E731
    if major(metadata.get("sklearn_version")) != major(sklearn.__version__):
        raise DataError(
            path,
            None,
            f"model was saved with scikit-learn {metadata.get('sklearn_version')}, this is "
            f"{sklearn.__version__}; {build}",
        )
    data = path.read_bytes()
    check_model_sha256(path, metadata, hashlib.sha256(data).hexdigest())
    sio = _skops_io()
    from skops.io.exceptions import UntrustedTypesFoundException

    try:
        # skops audits every type in the file before it builds anything, and refuses the file
        # if one is not trusted: one read of the file, not one to list the types and one to load.
        model = sio.loads(data, trusted=TRUSTED_TYPES)
    except UntrustedTypesFoundException:
        unexpected = sorted(set(sio.get_untrusted_types(data=data)) - set(TRUSTED_TYPES))
        raise DataError(
            path,
            None,
            f"model file contains types that are not allowed: {', '.join(unexpected[:5])}; "
            f"refusing to load it. {build[0].upper() + build[1:]}",
        ) from None
    except Exception as err:  # skops raises many kinds on a corrupt zip or schema
        raise DataError(
            path, None, f"model file is corrupt or not a skops model ({type(err).__name__}); {build}"
        ) from None
    if not isinstance(model, Pipeline) or list(model.named_steps) != ["pairs", "features", "classifier"]:
        raise DataError(path, None, f"model file does not hold a stance pipeline; {build}")
    view = model.named_steps["pairs"]
    try:
        if isinstance(view, PairRows):
            view._compiled()  # the cue lexicon's sets and regexes: built now, not at the first pair
    except (KeyError, ValueError, TypeError) as err:
        what = f"has no {err}" if isinstance(err, KeyError) else f"is not one this code reads ({type(err).__name__})"
        raise DataError(path, None, f"model was built by another version: its cue lexicon {what}; {build}") from None
    return model, metadata
