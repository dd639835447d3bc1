"""Why the model said what it said: each feature's exact share of the predicted class's score.

The classifier is linear, so its decision score for class c is
`intercept[c] + sum_j x[j] * coef[c, j]`: a feature's contribution is its value in the
pair's feature row times its coefficient for the predicted class, and the contributions
plus the intercept add up to the score exactly. For a calibrated model the linear
classifier inside the calibrator is read; calibration is monotone per class, so the
features that raise a class's score raise its probability. Logistic regression
(multinomial) has one coefficient row per class; the linear SVM and SGD (one-vs-rest)
have one per class too; a two-class model's single row belongs to the second class and is
negated for the first.

The model is the skops pipeline or the plain scoring model (pipeline.modeling.plain), which holds
the same coefficients and builds the same feature rows without scikit-learn, so one article is
explained without its import. Feature names come from `model[:-1].get_feature_names_out()` (the
plain model's `feature_names_out()`) and are made readable:
`word n-gram "[this actor] opposed"`, `this actor's window: "objected to"`,
`this actor's window in word clusters: "{objected|opposed|rejected|…5 words} to"`,
`cue: oppose, held by this actor, negated`. A model with the features step is not
required to be a stance model here: only a linear last step with `coef_`.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import numpy as np

from pipeline.data.labels import LABELS
from pipeline.features.tokens import OTHER_TOKEN, TARGET_TOKEN

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

BLOCKS = {
    "words": "word n-gram",
    "chars": "character n-gram",
    "window": "this actor's window:",
    "context": "neighbouring sentences:",
    "window_clusters": "this actor's window in word clusters:",
}
CLUSTER_TOKEN = re.compile(r"c(\d+|-)$")  # a word cluster's id after its marks (WordClusters); "-": none
CLUSTER_WORDS_SHOWN = 3  # a cluster reads as up to this many of its words
PLACEHOLDERS = {TARGET_TOKEN: "[this actor]", OTHER_TOKEN: "[other actor]"}
LEFT_PREFIX = "L_"  # PairView's mark of a window word before the actor's mention
HOLDERS = {"self": "held by this actor", "other": "held by another actor", "nobody": "held by no actor"}
CUE_FLAGS = {"negated": "negated", "hedged": "hedged", "conditional": "under a condition"}
SENTENCE_CUES = {
    "about:office": "sentence names the office",
    "about:related": "sentence is about a related matter, not the office by name",
    "about:unclear": "sentence does not name the target",
    "off_target_only": "sentence is about another target only",
    "off_target_and_related": "sentence is about another target and a related matter",
    "mention:place": "this actor is mentioned as a place",
    "mention:names_office": "this actor's mention is part of the office's name",
    "self:speaker": "this actor is the speaker",
}


def linear_classifier(model: Pipeline):
    """The linear classifier whose coefficients the explanations read (inside a calibrator, if any)."""
    classifier = model.named_steps["classifier"]
    return getattr(classifier, "estimator_", classifier)


def feature_names(model: Pipeline) -> list[str]:
    """A readable name for every column of the model's feature matrix, in column order."""
    from pipeline.features.word_clusters import WordClusters

    columns = model.named_steps["features"].transformers_
    clusters = next(
        (step for _, t, _ in columns if hasattr(t, "steps") for _, step in t.steps if isinstance(step, WordClusters)),
        None,
    )
    words = cluster_words(clusters.words_, clusters.word_clusters_) if clusters is not None else {}
    return [readable(name, words) for name in model[:-1].get_feature_names_out()]


def cluster_words(words, ids) -> dict[int, str]:
    """{cluster id: "a|b|c|…5 words"}: each cluster as its first words in alphabetical order, and how
    many it has when they are more (the pair's own word may be another of them)."""
    members: dict[int, list[str]] = {}
    for word, cluster in zip(words, ids):
        members.setdefault(int(cluster), []).append(word)
    return {
        cluster: "|".join(sorted(names)[:CLUSTER_WORDS_SHOWN])
        + (f"|…{len(names)} words" if len(names) > CLUSTER_WORDS_SHOWN else "")
        for cluster, names in members.items()
    }


def readable(name: str, clusters: dict[int, str] | None = None) -> str:
    """`words__ACTORX opposed` -> `word n-gram "ACTORX opposed"`; `cues__self:oppose` -> `cue: oppose, ...`.
    `clusters` names the word clusters of the window's cluster n-grams (`cluster_words`)."""
    block, _, feature = str(name).partition("__")
    if block in BLOCKS and block != "chars":
        tokens = feature.split(" ")
        before = block.startswith("window") and all(token.startswith(LEFT_PREFIX) for token in tokens)
        tokens = [t.removeprefix(LEFT_PREFIX) for t in tokens]
        if block == "window_clusters":  # c12 -> {its words}, after its marks
            tokens = [CLUSTER_TOKEN.sub(lambda m: "{" + _cluster_label(m, clusters or {}) + "}", t) for t in tokens]
        # Placeholders read as what they stand for; a window's L_ (word before the mention) is
        # shown by the placeholder's place, or said when the n-gram has none.
        words = " ".join(PLACEHOLDERS.get(t, t) for t in tokens)
        return f'{BLOCKS[block]} "{words}"' + (" (before this actor)" if before else "")
    if block in BLOCKS:
        return f'{BLOCKS[block]} "{feature}"'
    if block == "cues":
        return _cue_name(feature)
    if block == "embeddings":
        return f"embedding dimension {feature}"
    return str(name)


def _cluster_label(match: re.Match, clusters: dict[int, str]) -> str:
    return "a word without a vector" if match[1] == "-" else clusters.get(int(match[1]), match[0])


def _cue_name(key: str) -> str:
    if key in SENTENCE_CUES:
        return SENTENCE_CUES[key]
    parts = key.split(":")
    prefix = "cue"
    if parts[0] == "off":  # a stance this actor holds toward another target (membership, Ukraine...)
        prefix, parts = "cue on another target", parts[1:]
    if parts[0] == "self_last" and len(parts) >= 2:
        return f"{prefix}: this actor's last cue is {' '.join(parts[1:])}"
    if parts[0] in HOLDERS and len(parts) >= 2:
        stance = parts[1]
        flags = [CUE_FLAGS.get(flag, flag) for flag in parts[2:]]
        stance_words = " ".join([stance, *[f for f in flags if f == CUE_FLAGS["conditional"]]])
        rest = [f for f in flags if f != CUE_FLAGS["conditional"]]
        return ", ".join([f"{prefix}: {stance_words}", HOLDERS[parts[0]], *rest])
    return f"cue feature {key}"


class Explainer:
    """Scores and explanations of a fitted pipeline or plain model; the feature names are built once."""

    def __init__(self, model):
        self.model = model
        if hasattr(model, "feature_names_out"):  # the plain model: its arrays are the classifier's
            clusters = next((block.clusters for block in model.blocks if block.clusters), None)
            words = cluster_words(clusters["words"], clusters["ids"]) if clusters else {}
            self.names = [readable(name, words) for name in model.feature_names_out()]
            self.coef, self.intercept = model.coef_t.T[model.label_order], model.intercept[model.label_order]
            return
        self.names = feature_names(model)
        linear = linear_classifier(model)
        coef = np.asarray(linear.coef_, dtype=float)
        intercept = np.atleast_1d(np.asarray(linear.intercept_, dtype=float))
        if coef.shape[0] == 1:  # two classes: the row scores the second; the first is its negation
            coef, intercept = np.vstack([-coef, coef]), np.r_[-intercept, intercept]
        order = [list(linear.classes_).index(label) for label in LABELS]
        self.coef, self.intercept = coef[order], intercept[order]

    def _features_and_scores(self, pairs):
        if hasattr(self.model, "feature_names_out"):
            features = self.model.features(pairs)
            return features, self.model.probabilities(features)
        from pipeline.modeling.predict import classifier_scores, model_features

        features = model_features(self.model, pairs)
        return features, classifier_scores(self.model.named_steps["classifier"], features)

    def explain(self, pairs, top: int | None = 5) -> tuple[np.ndarray, list[dict]]:
        """Class scores (LABELS order, as `class_scores` gives them) and one explanation per pair.

        An explanation: the predicted `stance` (the most probable class), the linear `score` of
        that class, its `intercept`, and `features`: the `top` features by contribution to that
        score, largest first (every feature the pair has when `top` is None), each
        {"feature", "contribution"}. The contributions of all the pair's features plus the
        intercept equal the score.
        """
        features, scores = self._features_and_scores(pairs)
        rows = features.tocsr() if hasattr(features, "tocsr") else np.asarray(features)
        explanations = []
        for i, k in enumerate(scores.argmax(axis=1)):
            columns, values = _row(rows, i)
            contributions = values * self.coef[k, columns]
            ranked = np.argsort(-contributions, kind="stable")
            if top is not None:
                ranked = ranked[:top]
            explanations.append(
                {
                    "stance": LABELS[k],
                    "score": float(self.intercept[k] + contributions.sum()),
                    "intercept": float(self.intercept[k]),
                    "features": [
                        {"feature": self.names[columns[j]], "contribution": float(contributions[j])} for j in ranked
                    ],
                }
            )
        return scores, explanations


def _row(matrix, i: int) -> tuple[np.ndarray, np.ndarray]:
    """The non-zero columns of row i and their values, for a CSR or a dense matrix."""
    if hasattr(matrix, "indptr"):
        start, end = matrix.indptr[i], matrix.indptr[i + 1]
        return matrix.indices[start:end], np.asarray(matrix.data[start:end], dtype=float)
    columns = np.flatnonzero(matrix[i])
    return columns, np.asarray(matrix[i, columns], dtype=float)
