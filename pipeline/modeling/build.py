"""The model: one scikit-learn Pipeline built from the `train` params, and fitted deterministically.

    pairs ──PairView──> text / window / context / cues (/ embeddings or static vectors) ──ColumnTransformer──> classifier

Every hyperparameter comes from the `train` section of params.yaml through
`build_model`, so the whole pipeline can be cloned and cross-validated as one
estimator, and scoring runs exactly the features training ran.
"""

from __future__ import annotations

import contextlib

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction import DictVectorizer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.pipeline import Pipeline
from sklearn.svm import LinearSVC
from threadpoolctl import threadpool_limits

from pipeline.data.labels import LABELS, REAL, REWRITE, SYNTHETIC
from pipeline.errors import DataError
from pipeline.features.embeddings import SentenceEmbedder
from pipeline.features.pair_view import PairView
from pipeline.features.sentiment import WindowSentiment
from pipeline.features.static_vectors import StaticEmbedder
from pipeline.features.tokens import VECTORIZER_TOKEN_PATTERN
from pipeline.features.word_clusters import WordClusters
from pipeline.modeling.calibration import GroupCalibratedClassifier, TooFewExamples, TrainsWith, named_labels
from pipeline.modeling.predict import pairs_frame
from pipeline.params import TrainParams


def for_registry(p: TrainParams, registry) -> TrainParams:
    """The train params as they apply to this registry's unit: the author unit names no actor,
    so the actor's window, and what reads it, is off (the other features apply as they are)."""
    return p.model_copy(update={"window": 0}) if registry.author else p


def build_model(p: TrainParams, lexicon: dict) -> Pipeline:
    columns = [
        (
            "words",
            TfidfVectorizer(
                token_pattern=VECTORIZER_TOKEN_PATTERN,
                lowercase=False,
                sublinear_tf=True,
                ngram_range=tuple(p.word_ngrams),
            ),
            "text",
        )
    ]
    if p.char_ngrams[1] > 0:
        columns.append(
            (
                "chars",
                TfidfVectorizer(
                    analyzer="char_wb", sublinear_tf=True, lowercase=False, ngram_range=tuple(p.char_ngrams)
                ),
                "text",
            )
        )
    if p.window > 0 and p.mark_actors:  # the window is around the marked actor
        columns.append(
            (
                "window",
                TfidfVectorizer(
                    token_pattern=VECTORIZER_TOKEN_PATTERN, lowercase=False, sublinear_tf=True, ngram_range=(1, 2)
                ),
                "window",
            )
        )
    if p.word_clusters and p.window > 0 and p.mark_actors:
        columns.append(("window_clusters", cluster_ngrams(p), "window"))
    if p.sentiment == "vader" and p.window > 0 and p.mark_actors:
        columns.append(("sentiment", WindowSentiment(), "window"))
    if p.context_sentences:
        columns.append(
            (
                "context",
                TfidfVectorizer(token_pattern=VECTORIZER_TOKEN_PATTERN, lowercase=False, sublinear_tf=True),
                "context",
            )
        )
    weights = {}
    if p.cue_features and p.mark_actors:
        columns.append(("cues", DictVectorizer(), "cues"))
        weights["cues"] = float(p.cue_weight)
    if p.embeddings == "static":
        for source in ("sentence", "window") if p.static_text == "both" else (p.static_text,):
            columns.append((f"static_{source}", StaticEmbedder(source=source), source))
            weights[f"static_{source}"] = float(p.embedding_weight)
    elif p.embeddings != "none":
        columns.append(("embeddings", SentenceEmbedder(source=p.embeddings), p.embeddings))
        weights["embeddings"] = float(p.embedding_weight)
    return Pipeline(
        [
            (
                "pairs",
                PairView(
                    lexicon=lexicon,
                    mark_actors=p.mark_actors,
                    negation_scope=p.negation_scope,
                    power_scope=p.power_scope,
                    window=p.window,
                    context_sentences=p.context_sentences,
                    cue_features=p.cue_features,
                    frame_roles=p.frame_roles,
                ),
            ),
            ("features", ColumnTransformer(columns, transformer_weights=weights or None)),
            ("classifier", _classifier(p)),
        ]
    )


def cluster_ngrams(p: TrainParams) -> Pipeline:
    """A text's words as their `p.word_clusters` clusters, then word 1-2 grams of those."""
    ngrams = TfidfVectorizer(
        token_pattern=VECTORIZER_TOKEN_PATTERN, lowercase=False, sublinear_tf=True, ngram_range=(1, 2)
    )
    return Pipeline([("clusters", WordClusters(clusters=p.word_clusters, seed=p.seed)), ("ngrams", ngrams)])


def _classifier(p: TrainParams):
    if p.calibration != "none":
        return GroupCalibratedClassifier(
            _linear_classifier(p),
            method=p.calibration,
            offsets=p.class_offsets,
            n_splits=p.calibration_folds,
            random_state=p.seed,
        )
    return _linear_classifier(p)


def _linear_classifier(p: TrainParams):
    class_weight = None if p.class_weight == "none" else p.class_weight
    if p.classifier == "logreg":
        return LogisticRegression(C=p.C, class_weight=class_weight, max_iter=5000, random_state=p.seed)
    if p.classifier == "linear_svm":
        return LinearSVC(C=p.C, class_weight=class_weight, random_state=p.seed)
    # sgd: its regularisation alpha is 1e-4 / C, so C=1 is scikit-learn's default alpha
    return SGDClassifier(
        loss="modified_huber", alpha=1e-4 / p.C, class_weight=class_weight, max_iter=2000, tol=1e-4, random_state=p.seed
    )


def fit_deterministic(model: Pipeline, pairs, labels, weights=None, groups=None) -> Pipeline:
    """Fit with one thread: parallel OpenMP/BLAS sums can combine in a different order from run
    to run, which changes the coefficients in their last bits and so the model file's bytes.

    `groups` (see `calibration_groups`) are the folds' units when the classifier is calibrated."""
    fit_params = {}
    if weights is not None:
        fit_params["classifier__sample_weight"] = np.asarray(weights, dtype=float)
    if isinstance(model.named_steps["classifier"], GroupCalibratedClassifier):
        fit_params["classifier__groups"] = groups
    with threadpool_limits(limits=1):
        return model.fit(pairs, labels, **fit_params)


@contextlib.contextmanager
def too_few_examples_named(labels_path, where: str = "", advice: str = ""):
    """A stage's fits, with TooFewExamples turned into one line naming the gold file and what to change."""
    try:
        yield
    except TooFewExamples as err:
        more = "label more articles (or, for calibration, set train.calibration: none or fewer train.calibration_folds)"
        raise DataError(labels_path, None, f"{where}{err}; {more}{advice}") from None


def fit_pairs(p: TrainParams, lexicon: dict, rows: list[dict], labels) -> Pipeline:
    """The project's model fit on these prepared pairs, weighted and calibrated as the train stage fits
    the shipped one: the shipped, held-out, grouped-CV and benchmark models are all fit here.

    TooFewExamples where a label has no pair: such a model could not score (every row has all three)."""
    if missing := [label for label in LABELS if label not in set(labels)]:
        raise TooFewExamples(f"no pair labelled {named_labels(missing)}; the model needs pairs of every label")
    return fit_deterministic(
        build_model(p, lexicon), pairs_frame(rows), labels, pair_weights(rows, p), calibration_groups(rows)
    )


def calibration_groups(rows) -> list:
    """Each pair's calibration group: its article cluster for a real report, None for synthetic
    text (trained on in every fold, never calibrated on), `TrainsWith` its source's cluster for a
    retelling of a real article (trained on only beside its source)."""
    return [
        row["cluster"] if row["origin"] == REAL else TrainsWith(row["cluster"]) if row["origin"] == REWRITE else None
        for row in rows
    ]


def pair_weights(rows, p: TrainParams):
    """Each pair's weight in the fit: `synthetic_weight` for synthetic text, 1 for real reports;
    None (no weights at all) when they are all 1."""
    if p.synthetic_weight == 1.0:
        return None
    return [p.synthetic_weight if row["origin"] == SYNTHETIC else 1.0 for row in rows]
