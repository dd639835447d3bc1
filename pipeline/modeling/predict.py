"""Predictions of a fitted stance pipeline, in the label order every output uses.

`class_scores` gives exactly what `model.predict_proba` gives (a test compares them
bit for bit), but walks the fitted pipeline itself: candidate pairs go to PairView
as plain dicts (no data frames), TF-IDF columns use `features.vectorize`, and the
ColumnTransformer's weighting and stacking are done as it does them. Anything it
does not recognise goes through the pipeline's own methods.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction import DictVectorizer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import Pipeline

from pipeline.data.labels import LABELS
from pipeline.features.pair_rows import COLUMNS
from pipeline.features.pair_view import PairView
from pipeline.features.vectorize import tfidf_transform

PAIR_COLUMNS = ["sentence", "actor", "mentions", "other_mentions", "previous_sentence", "next_sentence"]


def pairs_frame(rows) -> pd.DataFrame:
    """The model's input: one row per (sentence, actor) candidate pair."""
    return pd.DataFrame(rows, columns=PAIR_COLUMNS)


def class_scores(model: Pipeline, pairs) -> np.ndarray:
    """Per-class scores in LABELS order: probabilities, or for a linear SVM its softmaxed margins.

    `pairs` is a frame from `pairs_frame` or a list of candidate dicts. A model that is not a
    scikit-learn pipeline (the plain model, the fine-tuned ensemble) scores the pairs itself.
    """
    if not isinstance(model, Pipeline):
        return model.class_scores(pairs)
    return classifier_scores(model.named_steps["classifier"], model_features(model, pairs))


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


def model_features(model: Pipeline, pairs):
    """The classifier's input matrix, as `model[:-1].transform(pairs)` gives it."""
    view, columns = model.named_steps["pairs"], model.named_steps["features"]
    known = (
        type(view) is PairView
        and type(columns) is ColumnTransformer
        and columns.sparse_output_
        and all(t == "drop" for _, t, _ in columns.transformers_ if isinstance(t, str))
    )
    if not known:
        return model[:-1].transform(pairs if isinstance(pairs, pd.DataFrame) else pairs_frame(pairs))
    records = pairs.to_dict("records") if isinstance(pairs, pd.DataFrame) else list(pairs)
    rows = view.view_rows(records)
    frame = None  # built only for a transformer this module does not know
    weights = columns.transformer_weights or {}
    blocks = []
    for name, transformer, column in columns.transformers_:
        if isinstance(transformer, str):  # "drop"
            continue
        if type(transformer) is TfidfVectorizer and isinstance(column, str):
            block = tfidf_transform(transformer, [row[column] for row in rows])
        elif type(transformer) is Pipeline and type(transformer[-1]) is TfidfVectorizer and isinstance(column, str):
            # word clusters, then their n-grams: the vectoriser's part computed as above
            block = tfidf_transform(transformer[-1], transformer[:-1].transform([row[column] for row in rows]))
        elif type(transformer) is DictVectorizer and isinstance(column, str):
            block = transformer.transform([row[column] for row in rows])
        else:
            frame = frame if frame is not None else pd.DataFrame(rows, columns=COLUMNS)
            block = transformer.transform(frame[column])
        weight = weights.get(name)
        blocks.append(block if weight is None else block * weight)
    return sp.hstack(blocks).tocsr()
