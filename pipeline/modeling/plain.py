"""The plain scoring model: the fitted pipeline as arrays and JSON, scored without scikit-learn.

Scoring one article with the skops model costs seconds before its first sentence:
importing scikit-learn and skops, and rebuilding the pipeline object by object. So the
train stage also writes the model as plain data, `models/model.npz`: PairRows' params,
each feature block's vocabulary, idf and weight, and the linear classifier's
coefficients, intercepts and softmax temperature. Loading it needs numpy and scipy
only, and `np.load(allow_pickle=False)` runs no code from the file.

`PlainModel.class_scores` gives what `predict.class_scores` gives for the skops model,
bit for bit (a test compares every pair of the shipped articles): both build the
features with PairRows and features.vectorize, and take a softmax of the same
linear scores. A pipeline with a step this format does not hold (embeddings, VADER,
sigmoid or isotonic calibration, a classifier without a softmax of its scores) is
written as a file that says so, and the scorer loads the skops model instead. Word clusters
(`train.word_clusters`) are held too: the fitted words' clusters and the centres, with the static
vectors they place an unseen word by (`models/static_vectors`, named and checked by SHA-256).
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from pipeline.data.labels import LABELS
from pipeline.errors import DataError
from pipeline.features.clusters import cluster_tokens, nearest_clusters
from pipeline.features.pair_rows import PairRows
from pipeline.features.tokens import VECTORIZER_TOKEN_PATTERN
from pipeline.features.vectorize import char_wb_counts, tfidf_weights, word_counts
from pipeline.files import atomic_output, files_sha256
from pipeline.modeling.metadata import BUILD_HINT, plain_path

FORMAT = 1
PAIR_ROWS_PARAMS = (
    "lexicon",
    "mark_actors",
    "negation_scope",
    "power_scope",
    "window",
    "context_sentences",
    "cue_features",
    "frame_roles",
)


def softmax(scores: np.ndarray) -> np.ndarray:
    """Row-wise softmax (the calibrated classifier's too, so both models compute it alike)."""
    exp = np.exp(scores - scores.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)


class FeatureBlock:
    """One column of the ColumnTransformer: a TF-IDF vectoriser ("words", "char_wb") or the cue dict ("dict")."""

    def __init__(self, spec: dict, idf: np.ndarray | None, centres: np.ndarray | None = None):
        self.name, self.kind, self.column = spec["name"], spec["kind"], spec["column"]
        self.weight = spec["weight"]
        self.ngram_range = tuple(spec["ngram_range"])
        self.token_pattern = spec["token_pattern"]
        self.sublinear_tf, self.norm = spec["sublinear_tf"], spec["norm"]
        self.terms = spec["terms"]
        self.vocabulary = {term: index for index, term in enumerate(self.terms)}
        self.idf = idf
        self.clusters = spec.get("clusters")  # word clusters read before the n-grams (WordClusters)
        if self.clusters:
            self.cluster_of = dict(zip(self.clusters["words"], self.clusters["ids"]))
            self.centres = centres

    def _place(self, words: list[str]) -> list[int]:
        return nearest_clusters(words, self.centres, self.clusters["vectors"], self.clusters["sha256"])

    def transform(self, rows: list[dict]):
        documents = [row[self.column] for row in rows]
        if self.clusters:
            tokens = [d if isinstance(d, list) else d.split() for d in documents]
            documents = cluster_tokens(tokens, self.cluster_of, self._place)
        if self.kind == "dict":
            block = _dict_counts(self.vocabulary, documents)
        else:
            if self.kind == "char_wb":
                counts = char_wb_counts(self, self.vocabulary, self.ngram_range, documents)
            else:
                counts = word_counts(self, self.vocabulary, self.token_pattern, self.ngram_range, documents)
            block = tfidf_weights(counts, self.idf, self.sublinear_tf, self.norm)
        return block if self.weight is None else block * self.weight


def _dict_counts(vocabulary: dict, dicts: list[dict]):
    """`DictVectorizer.transform`: a feature's value (a string value is the feature `key=value`, 1)."""
    indices, values, indptr = [], [], [0]
    for features in dicts:
        for key, value in features.items():
            if isinstance(value, str):
                key, value = f"{key}={value}", 1
            index = vocabulary.get(key)
            if index is not None:
                indices.append(index)
                values.append(float(value))
        indptr.append(len(indices))
    matrix = sp.csr_array(
        (np.asarray(values, dtype=np.float64), np.asarray(indices, dtype=np.intc), indptr),
        shape=(len(dicts), len(vocabulary)),
    )
    matrix.sort_indices()
    return matrix


class PlainModel:
    """PairRows, feature blocks and a linear classifier with a softmax: the scorer's whole model."""

    def __init__(self, spec: dict, arrays: dict):
        _check_arrays(spec, arrays)
        self.pair_rows = PairRows(**{name: spec["pair_rows"][name] for name in PAIR_ROWS_PARAMS})
        self.pair_rows._compiled()  # a lexicon this code cannot read is refused at load, not at the first pair
        self.blocks = [
            FeatureBlock(block, arrays.get(f"idf_{block['name']}"), arrays.get(f"centres_{block['name']}"))
            for block in spec["blocks"]
        ]
        # PairRows' tokens never hold white space, so a block that cuts text at white space (the
        # vectorisers' token pattern, or char_wb's words) reads them as lists: nothing to join and cut again.
        self.token_lists = all(
            block.kind != "words" or block.token_pattern == VECTORIZER_TOKEN_PATTERN for block in self.blocks
        )
        self.coef_t = arrays["coef"].T
        self.intercept = arrays["intercept"]
        self.temperature = spec["temperature"]
        classes = spec["classes"]
        self.label_order = [classes.index(label) for label in LABELS]

    def class_scores(self, pairs: list[dict]) -> np.ndarray:
        """Per-class probabilities in LABELS order, one row per candidate pair (a dict)."""
        return self.probabilities(self.features(pairs))

    def features(self, pairs: list[dict]):
        """The feature matrix (CSR), one row per candidate pair: what the skops pipeline's `model[:-1]` gives."""
        rows = self.pair_rows.view_rows(list(pairs), token_lists=self.token_lists)
        return sp.hstack([block.transform(rows) for block in self.blocks]).tocsr()

    def probabilities(self, features) -> np.ndarray:
        """Per-class probabilities in LABELS order of a feature matrix."""
        scores = features @ self.coef_t + self.intercept
        if self.temperature is not None:
            scores = scores / self.temperature
        return softmax(scores)[:, self.label_order]

    def feature_names_out(self) -> list[str]:
        """Every column's name, `block__term`, as the skops pipeline's `get_feature_names_out` gives it."""
        return [f"{block.name}__{term}" for block in self.blocks for term in block.terms]

    @classmethod
    def read(cls, path: Path, data: bytes) -> PlainModel:
        """The model in `data` (the bytes of `path`); a file that is not one is refused in one line."""
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as archive:
                arrays = {name: archive[name] for name in archive.files}
            spec = json.loads(arrays.pop("spec").tobytes().decode("utf-8"))
            if spec.get("format") != FORMAT or not spec.get("covered"):
                raise ValueError("not a plain model of this format")
            return cls(spec, arrays)
        except NotThisModel as err:
            raise DataError(path, None, f"plain model file is corrupt ({err}); {BUILD_HINT}") from None
        except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile) as err:
            raise DataError(path, None, f"plain model file is corrupt ({type(err).__name__}); {BUILD_HINT}") from None


class NotThisModel(ValueError):
    """The plain model's arrays do not fit its spec or each other."""


def _check_arrays(spec: dict, arrays: dict) -> None:
    """Refuse arrays that a scoring run would fail on or turn into NaN: their SHA-256 only says that
    model.json vouches for them, so an edited file with its hash updated is checked here, once."""
    if sorted(spec["classes"]) != sorted(LABELS):
        raise NotThisModel(f"its classes are {spec['classes']}")
    width = sum(len(block["terms"]) for block in spec["blocks"])  # the feature matrix's columns
    shapes = {"coef": (len(LABELS), width), "intercept": (len(LABELS),)}
    for block in spec["blocks"]:
        if block["kind"] != "dict":
            shapes[f"idf_{block['name']}"] = (len(block["terms"]),)
        clusters = block.get("clusters")
        if clusters:
            centres = arrays.get(f"centres_{block['name']}")
            if centres is None or centres.ndim != 2:
                raise NotThisModel(f"feature block {block['name']} has no word-cluster centres")
            shapes[f"centres_{block['name']}"] = centres.shape
            ids, words = clusters.get("ids"), clusters.get("words")
            if not (
                isinstance(ids, list)
                and isinstance(words, list)
                and len(ids) == len(words)
                and all(isinstance(w, str) for w in words)
                and all(isinstance(i, int) and -1 <= i < len(centres) for i in ids)  # -1: a word without a vector
                and isinstance(clusters.get("vectors"), str)
                and isinstance(clusters.get("sha256"), str)
            ):
                raise NotThisModel(f"feature block {block['name']}'s word clusters do not fit its centres")
        if block["weight"] is not None and not np.isfinite(block["weight"]):
            raise NotThisModel(f"feature block {block['name']} has weight {block['weight']}")
    for name, shape in shapes.items():
        array = arrays.get(name)
        if array is None:
            raise NotThisModel(f"no array {name}")
        if array.dtype != np.float64 or array.shape != shape:
            raise NotThisModel(f"{name} is {array.dtype} of shape {array.shape}, not float64 of shape {shape}")
        if not np.isfinite(array).all():
            raise NotThisModel(f"{name} holds a value that is not a finite number")
    temperature = spec["temperature"]
    if temperature is not None and not (isinstance(temperature, float) and 0 < temperature < np.inf):
        raise NotThisModel(f"its temperature is {temperature}")


def load_plain(model_path: str | Path, metadata: dict) -> PlainModel | None:
    """The plain model that belongs to this model, or None where there is none to use (the model
    has a step the format does not hold, or was copied without it): then load the skops model."""
    entry = metadata.get("plain_model") or {}
    path = plain_path(model_path)
    if not entry.get("covered") or not path.exists():
        return None
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != entry.get("sha256"):
        raise DataError(
            path, None, f"plain model does not belong to {Path(model_path).name} (its SHA-256 differs); {BUILD_HINT}"
        )
    return PlainModel.read(path, data)


# --- written by the train stage, from the fitted scikit-learn pipeline ---


def save_plain(model, path: Path) -> tuple[bool, str]:
    """Write the pipeline as a plain model; return whether it could be (see `plain_spec`) and the file's SHA-256."""
    spec, arrays = plain_spec(model)
    arrays["spec"] = np.frombuffer(json.dumps(spec, sort_keys=True).encode("utf-8"), dtype=np.uint8)
    with atomic_output(path) as temporary:
        # Written entry by entry with a fixed timestamp (np.savez stamps the time): same model, same bytes.
        with zipfile.ZipFile(temporary, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name in sorted(arrays):
                buffer = io.BytesIO()
                np.lib.format.write_array(buffer, np.ascontiguousarray(arrays[name]), allow_pickle=False)
                entry = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
                archive.writestr(entry, buffer.getvalue(), compress_type=zipfile.ZIP_DEFLATED)
        sha256 = files_sha256([temporary])
    return spec["covered"], sha256


def plain_spec(model) -> tuple[dict, dict]:
    """(spec, arrays) of the plain model; a spec with `covered: false` and the reason where a step
    of the pipeline is not one PlainModel computes exactly as scikit-learn does."""
    from sklearn.compose import ColumnTransformer
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    from pipeline.features.pair_view import PairView
    from pipeline.features.vectorize import handled
    from pipeline.features.word_clusters import WordClusters
    from pipeline.modeling.calibration import GroupCalibratedClassifier

    def uncovered(reason: str) -> tuple[dict, dict]:
        return {"format": FORMAT, "covered": False, "reason": reason}, {}

    view, columns, classifier = (model.named_steps[name] for name in ("pairs", "features", "classifier"))
    if type(view) is not PairView or type(columns) is not ColumnTransformer or not columns.sparse_output_:
        return uncovered("the first steps are not PairView and a sparse ColumnTransformer")
    weights = columns.transformer_weights or {}
    blocks, arrays = [], {}
    for name, transformer, column in columns.transformers_:
        if isinstance(transformer, str) and transformer == "drop":
            continue
        block = {"name": name, "column": column, "weight": weights.get(name)}
        block.update(ngram_range=[1, 1], token_pattern=None, sublinear_tf=False, norm=None)
        if not isinstance(column, str):
            return uncovered(f"feature block {name} reads several columns")
        if type(transformer) is Pipeline and len(transformer) == 2 and type(transformer[0]) is WordClusters:
            clusters, transformer = transformer[0], transformer[1]
            if transformer.token_pattern != VECTORIZER_TOKEN_PATTERN:
                return uncovered(f"feature block {name} reads its clusters with another token pattern")
            block["clusters"] = {
                "words": list(clusters.words_),
                "ids": [int(i) for i in clusters.word_clusters_],
                "vectors": str(clusters.vectors),
                "sha256": clusters.vectors_sha256_,
            }
            arrays[f"centres_{name}"] = clusters.centres_
        if type(transformer) is DictVectorizer and transformer.sparse and transformer.separator == "=":
            block.update(kind="dict", terms=list(transformer.feature_names_))
        elif handled(transformer):
            block.update(
                kind="char_wb" if transformer.analyzer == "char_wb" else "words",
                ngram_range=list(transformer.ngram_range),
                token_pattern=transformer.token_pattern,
                sublinear_tf=bool(transformer.sublinear_tf),
                norm=transformer.norm,
                terms=sorted(transformer.vocabulary_, key=transformer.vocabulary_.get),
            )
            arrays[f"idf_{name}"] = transformer.idf_
        else:
            return uncovered(f"feature block {name} is a {type(transformer).__name__}")
        blocks.append(block)
    if type(classifier) is GroupCalibratedClassifier and classifier.method == "temperature":
        linear, temperature = classifier.estimator_, float(classifier.temperature_)
    elif type(classifier) is LogisticRegression:
        linear, temperature = classifier, None  # its predict_proba is the softmax of its scores
    else:
        return uncovered(f"the classifier is a {type(classifier).__name__} without temperature scaling")
    if len(linear.classes_) < 3:
        return uncovered("the classifier has fewer than three classes")
    arrays.update(coef=linear.coef_, intercept=linear.intercept_)
    spec = {
        "format": FORMAT,
        "covered": True,
        "pair_rows": {name: getattr(view, name) for name in PAIR_ROWS_PARAMS},
        "blocks": blocks,
        "classes": [str(label) for label in linear.classes_],
        "temperature": temperature,
    }
    return spec, arrays
