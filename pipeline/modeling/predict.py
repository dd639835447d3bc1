"""Predictions of a fitted stance pipeline, in the label order every output uses."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from pipeline.data.labels import LABELS

PAIR_COLUMNS = ["sentence", "mentions", "other_mentions", "previous_sentence", "next_sentence"]


def pairs_frame(rows) -> pd.DataFrame:
    """The model's input: one row per (sentence, actor) candidate pair."""
    return pd.DataFrame(rows, columns=PAIR_COLUMNS)


def class_scores(model: Pipeline, pairs) -> np.ndarray:
    """Per-class scores in LABELS order: probabilities, or for a linear SVM its softmaxed margins."""
    return classifier_scores(model.named_steps["classifier"], model[:-1].transform(pairs))


def classifier_scores(classifier, features) -> np.ndarray:
    """`class_scores` from the feature matrix the model's first steps made (for explanations)."""
    if hasattr(classifier, "predict_proba"):
        scores = classifier.predict_proba(features)
    else:
        margins = classifier.decision_function(features)
        margins = np.exp(margins - margins.max(axis=1, keepdims=True))
        scores = margins / margins.sum(axis=1, keepdims=True)
    order = [list(classifier.classes_).index(label) for label in LABELS]
    return scores[:, order]


def best_labels(scores: np.ndarray) -> list[str]:
    """The label with the highest score in each row of `class_scores`."""
    return [LABELS[i] for i in scores.argmax(axis=1)]
