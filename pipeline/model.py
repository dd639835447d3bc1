"""The model: one scikit-learn Pipeline built from params, saved and loaded with skops.

    pairs ──PairView──> text / window / context / cues (/ embeddings) ──ColumnTransformer──> classifier

Every hyperparameter comes from the `train` section of params.yaml through
`build_model`, so the whole pipeline can be cloned and cross-validated as one
estimator, and scoring runs exactly the features training ran.

Models are saved with skops, which stores no pickle: loading rebuilds only types
on an allow-list (scikit-learn's own, numpy/scipy containers, and this package's
PairView), so a swapped-in model file cannot run code.
"""

from __future__ import annotations

import hashlib
import json
import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import sklearn
import skops
import skops.io as sio
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction import DictVectorizer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.pipeline import Pipeline
from sklearn.svm import LinearSVC
from threadpoolctl import threadpool_limits

from pipeline.datafiles import DataError, atomic_output, write_json
from pipeline.embeddings import SentenceEmbedder
from pipeline.features import PairView
from pipeline.labels import LABELS

MODEL_PATH = Path("models/model.skops")
FEATURE_VERSION = 2  # bump when PairView's output changes meaning; old models are then refused
# Types a model file may contain beyond skops' defaults: this package's own, reviewed.
TRUSTED_TYPES = ["pipeline.features.PairView", "pipeline.embeddings.SentenceEmbedder"]
TOKEN_PATTERN = r"\S+"  # PairView has already tokenised; keep its tokens (ACTORX, NOT_x, punctuation)


def build_model(train_params: dict, lexicon: dict) -> Pipeline:
    p = train_params
    columns = [("words", TfidfVectorizer(token_pattern=TOKEN_PATTERN, lowercase=False, sublinear_tf=True,
                                         ngram_range=tuple(p["word_ngrams"])), "text")]
    if p["char_ngrams"][1] > 0:
        columns.append(("chars", TfidfVectorizer(analyzer="char_wb", sublinear_tf=True, lowercase=False,
                                                 ngram_range=tuple(p["char_ngrams"])), "text"))
    if p["window"] > 0 and p["mark_actors"]:  # the window is around the marked actor
        columns.append(("window", TfidfVectorizer(token_pattern=TOKEN_PATTERN, lowercase=False, sublinear_tf=True,
                                                  ngram_range=(1, 2)), "window"))
    if p["context_sentences"]:
        columns.append(("context", TfidfVectorizer(token_pattern=TOKEN_PATTERN, lowercase=False, sublinear_tf=True),
                        "context"))
    weights = {}
    if p["cue_features"] and p["mark_actors"]:
        columns.append(("cues", DictVectorizer(), "cues"))
        weights["cues"] = float(p["cue_weight"])
    if p["embeddings"] != "none":
        if p["embeddings"] not in ("sentence", "window"):
            raise DataError("params.yaml", None, f"train.embeddings {p['embeddings']!r} is not one of none, sentence, window")
        columns.append(("embeddings", SentenceEmbedder(source=p["embeddings"]), p["embeddings"]))
        weights["embeddings"] = float(p["embedding_weight"])
    return Pipeline([
        ("pairs", PairView(lexicon=lexicon, mark_actors=p["mark_actors"], negation_scope=p["negation_scope"],
                           window=p["window"], context_sentences=p["context_sentences"],
                           cue_features=p["cue_features"])),
        ("features", ColumnTransformer(columns, transformer_weights=weights or None)),
        ("classifier", _classifier(p)),
    ])


def _classifier(p: dict):
    class_weight = None if p["class_weight"] in (None, "none") else p["class_weight"]
    if p["classifier"] == "logreg":
        return LogisticRegression(C=p["C"], class_weight=class_weight, max_iter=5000, random_state=p["seed"])
    if p["classifier"] == "linear_svm":
        return LinearSVC(C=p["C"], class_weight=class_weight, random_state=p["seed"])
    if p["classifier"] == "sgd":
        return SGDClassifier(loss="modified_huber", alpha=1e-4 / p["C"], class_weight=class_weight,
                             max_iter=2000, tol=1e-4, random_state=p["seed"])
    raise DataError("params.yaml", None, f"train.classifier {p['classifier']!r} is not one of logreg, linear_svm, sgd")


def fit_deterministic(model: Pipeline, pairs, labels) -> Pipeline:
    """Fit with one thread: parallel OpenMP/BLAS sums can combine in a different order from run
    to run, which changes the coefficients in their last bits and so the model file's bytes."""
    with threadpool_limits(limits=1):
        return model.fit(pairs, labels)


def class_scores(model: Pipeline, pairs) -> np.ndarray:
    """Per-class scores in LABELS order: probabilities, or for a linear SVM its softmaxed margins."""
    classifier = model.named_steps["classifier"]
    if hasattr(classifier, "predict_proba"):
        scores = model.predict_proba(pairs)
    else:
        margins = model.decision_function(pairs)
        margins = np.exp(margins - margins.max(axis=1, keepdims=True))
        scores = margins / margins.sum(axis=1, keepdims=True)
    order = [list(classifier.classes_).index(label) for label in LABELS]
    return scores[:, order]


def pairs_frame(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["sentence", "mentions", "other_mentions", "previous_sentence", "next_sentence"])


def data_hash(paths) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(Path(path).read_bytes())
    return digest.hexdigest()


def save_model(model: Pipeline, path: Path, metadata: dict) -> None:
    metadata = {**metadata, "labels": list(LABELS), "feature_version": FEATURE_VERSION,
                "sklearn_version": sklearn.__version__, "skops_version": skops.__version__}
    for _, transformer, _ in model.named_steps["features"].transformers_:
        # A cache of id(stop_words): a memory address, different on every run; sklearn recomputes it.
        if hasattr(transformer, "_stop_words_id"):
            del transformer._stop_words_id
    with atomic_output(path) as temporary:
        sio.dump(model, temporary, compression=zipfile.ZIP_DEFLATED)
        _make_reproducible(temporary)
    write_json(metadata_path(path), metadata)


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
    renamed = {f"{numbers[name[:-4]]}.npy" if name.endswith(".npy") and name[:-4] in numbers else name: data
               for name, data in entries.items()}
    renamed["schema.json"] = schema.encode("utf-8")
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(renamed):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, renamed[name])


def metadata_path(path: Path) -> Path:
    return Path(path).with_suffix(".json")


def load_model(path: str | Path = MODEL_PATH) -> tuple[Pipeline, dict]:
    """Load a model without unpickling: refuse unknown types, other label sets and feature versions."""
    path = Path(path)
    build = "build one with `dvc repro` (or `stance train`)"
    if not path.exists():
        raise DataError(path, None, f"model file not found; {build}")
    try:
        metadata = json.loads(metadata_path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise DataError(metadata_path(path), None, f"model metadata missing or unreadable; {build}") from None
    if metadata.get("labels") != list(LABELS):
        raise DataError(path, None, f"model was trained for labels {metadata.get('labels')}, not {list(LABELS)}; {build}")
    if metadata.get("feature_version") != FEATURE_VERSION:
        raise DataError(path, None, f"model has feature version {metadata.get('feature_version')}, this code "
                                    f"{FEATURE_VERSION}; {build}")
    major = lambda version: str(version).split(".")[0]  # noqa: E731
    if major(metadata.get("sklearn_version")) != major(sklearn.__version__):
        raise DataError(path, None, f"model was saved with scikit-learn {metadata.get('sklearn_version')}, this is "
                                    f"{sklearn.__version__}; {build}")
    try:
        untrusted = sio.get_untrusted_types(file=path)
        unexpected = sorted(set(untrusted) - set(TRUSTED_TYPES))
        if unexpected:
            raise DataError(path, None, f"model file contains types that are not allowed: {', '.join(unexpected[:5])}; "
                                        f"refusing to load it. {build[0].upper() + build[1:]}")
        model = sio.load(path, trusted=TRUSTED_TYPES)
    except DataError:
        raise
    except Exception as err:  # skops raises many kinds on a corrupt zip or schema
        raise DataError(path, None, f"model file is corrupt or not a skops model ({type(err).__name__}); {build}") from None
    if "registry" not in metadata:
        raise DataError(metadata_path(path), None, f"model metadata has no actor registry; {build}")
    if not isinstance(model, Pipeline) or list(model.named_steps) != ["pairs", "features", "classifier"]:
        raise DataError(path, None, f"model file does not hold a stance pipeline; {build}")
    return model, metadata
