"""Scores of a model against gold labels, and of the two baselines it must beat.

- `scores`: accuracy, macro-F1, per-class precision / recall / F1, per-actor F1;
- `grouped_cv`: out-of-fold predictions, folds grouped by article cluster so no
  article or near-duplicate quote sits on both sides, refitting the same pipeline
  from params.yaml in each fold;
- baselines: the majority class, and a keyword rule that looks at the sentence only
  (any oppose cue -> oppose, else any support cue -> support, else neutral).
"""

from __future__ import annotations

from collections import Counter

import numpy as np
from sklearn.base import clone
from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support
from sklearn.model_selection import StratifiedGroupKFold

from pipeline.data.labels import LABELS
from pipeline.features.lexicon import phrase_regex
from pipeline.features.tokens import tokenize
from pipeline.modeling.build import build_model, fit_deterministic
from pipeline.modeling.predict import best_labels, class_scores, pairs_frame
from pipeline.params import Params


def scores(gold: list[str], predicted: list[str], actors: list[str] | None = None) -> dict:
    precision, recall, f1, support = precision_recall_fscore_support(
        gold, predicted, labels=list(LABELS), zero_division=0
    )
    result = {
        "accuracy": round(accuracy_score(gold, predicted), 4),
        "macro_f1": round(f1_score(gold, predicted, labels=list(LABELS), average="macro", zero_division=0), 4),
        "per_class": {
            label: {
                "precision": round(float(p), 4),
                "recall": round(float(r), 4),
                "f1": round(float(f), 4),
                "examples": int(n),
            }
            for label, p, r, f, n in zip(LABELS, precision, recall, f1, support)
        },
    }
    if actors is not None:
        result["per_actor_f1"] = {}
        for actor in sorted(set(actors)):
            rows = [i for i, a in enumerate(actors) if a == actor]
            g, p = [gold[i] for i in rows], [predicted[i] for i in rows]
            result["per_actor_f1"][actor] = round(f1_score(g, p, average="macro", zero_division=0), 4)
    return result


def keyword_rule(pairs: list[dict], lexicon: dict) -> list[str]:
    """Baseline: sentence-level keywords from the cue lexicon, blind to which actor the pair is about."""
    oppose, support = phrase_regex(lexicon["oppose"]), phrase_regex(lexicon["support"])
    predicted = []
    for pair in pairs:
        joined = " ".join(tokenize(pair["sentence"]))
        predicted.append("oppose" if oppose.search(joined) else "support" if support.search(joined) else "neutral")
    return predicted


def majority(train_labels: list[str], n: int) -> list[str]:
    # Ties broken by LABELS order, so the baseline is deterministic.
    counts = Counter(train_labels)
    return [max(LABELS, key=lambda label: (counts[label], -LABELS.index(label)))] * n


def grouped_cv(params: Params, rows: list[dict], labels: list[str], lexicon: dict) -> dict[str, list[str]]:
    """Out-of-fold predictions of the model and both baselines, folds grouped by article cluster."""
    folds = StratifiedGroupKFold(n_splits=params.evaluate.cv_folds, shuffle=True, random_state=params.evaluate.cv_seed)
    template = build_model(params.train, lexicon)
    frame = pairs_frame(rows)
    y = np.array(labels)
    predictions = {name: np.empty(len(rows), dtype=object) for name in ("model", "majority")}
    for train_index, test_index in folds.split(frame, y, groups=[r["cluster"] for r in rows]):
        model = fit_deterministic(clone(template), frame.iloc[train_index], y[train_index])
        predictions["model"][test_index] = best_labels(class_scores(model, frame.iloc[test_index]))
        predictions["majority"][test_index] = majority(list(y[train_index]), len(test_index))
    result = {name: list(values) for name, values in predictions.items()}
    result["keyword_rule"] = keyword_rule(rows, lexicon)
    return result
