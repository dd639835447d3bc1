"""Scores of a model against gold labels, and of the two baselines it must beat.

- `scores`: accuracy, macro-F1, per-class precision / recall / F1, per-actor F1;
- `grouped_cv`: out-of-fold predictions, folds grouped by article cluster so no
  article or near-duplicate quote sits on both sides, refitting the same pipeline
  from params.yaml in each fold;
- `calibration`: Brier score, log loss, expected calibration error and the
  reliability diagram's bins, for probabilities against gold labels;
- baselines: the majority class, and a keyword rule that looks at the sentence only
  (any oppose cue -> oppose, else any support cue -> support, else neutral).
"""

from __future__ import annotations

from collections import Counter

import numpy as np
from sklearn.metrics import accuracy_score, f1_score, log_loss, precision_recall_fscore_support
from sklearn.model_selection import StratifiedGroupKFold

from pipeline.data.labels import LABELS, article_stance, best_labels
from pipeline.errors import DataError
from pipeline.features.lexicon import phrase_regex
from pipeline.features.tokens import tokenize
from pipeline.modeling.build import calibration_groups, fit_pairs
from pipeline.modeling.calibration import joining_fold
from pipeline.modeling.predict import class_scores, pairs_frame
from pipeline.params import Params

CALIBRATION_BINS = 10


def scores(gold: list[str], predicted: list[str], actors: list[str] | None = None) -> dict:
    precision, recall, f1, support = precision_recall_fscore_support(
        gold, predicted, labels=list(LABELS), zero_division=0
    )
    result = {
        "accuracy": round(accuracy_score(gold, predicted), 4),
        "macro_f1": round(macro_f1(gold, predicted), 4),
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


def macro_f1(gold: list[str], predicted: list[str], *others: list[str]) -> float:
    """The mean F1 of the classes in the gold labels or the predictions, in LABELS order.

    A class in neither (a split, a resample or a target with no support pair, none predicted) is left
    out, as scikit-learn does without `labels`: counted, it would add an F1 of 0 for a class nothing
    was asked about. A class in the gold labels that is never predicted still counts 0. `others`, the
    predictions of models compared with this one on the same pairs, add their classes too, so that
    every side of a comparison averages over the same classes."""
    seen = set(gold).union(predicted, *others)
    present = [label for label in LABELS if label in seen]
    return f1_score(gold, predicted, labels=present, average="macro", zero_division=0)


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


def grouped_cv(
    params: Params, rows: list[dict], labels: list[str], lexicon: dict, extra: list[dict] = (), extra_labels=()
) -> tuple[dict[str, list[str]], np.ndarray]:
    """Out-of-fold predictions of the model and both baselines for `rows`, folds grouped by article cluster,
    and the model's out-of-fold class probabilities (rows in LABELS order).

    `extra` pairs (synthetic text, rewrites of real articles) are never predicted, so the figures speak
    of real articles only: synthetic text joins the training side of every fold, a rewrite only the
    folds that train on the article it retells (`calibration_groups`).
    """
    folds = StratifiedGroupKFold(n_splits=params.evaluate.cv_folds, shuffle=True, random_state=params.evaluate.cv_seed)
    every_row = list(rows) + list(extra)
    frame = pairs_frame(list(rows))  # only real pairs are predicted; fit_pairs frames each fold's own rows
    y = np.array(list(labels) + list(extra_labels))
    groups = calibration_groups(every_row)
    predictions = {name: np.empty(len(rows), dtype=object) for name in ("model", "majority")}
    probabilities = np.empty((len(rows), len(LABELS)))
    for train_index, test_index in folds.split(frame, y[: len(rows)], groups=[r["cluster"] for r in rows]):
        held_out = {rows[i]["cluster"] for i in test_index}
        fit_index = np.r_[train_index, joining_fold(groups, range(len(rows), len(groups)), held_out)]
        model = fit_pairs(params.train, lexicon, [every_row[i] for i in fit_index], y[fit_index])  # as train fits
        probabilities[test_index] = class_scores(model, frame.iloc[test_index])
        predictions["model"][test_index] = best_labels(probabilities[test_index])
        predictions["majority"][test_index] = majority(list(y[train_index]), len(test_index))  # real pairs only
    result = {name: list(values) for name, values in predictions.items()}
    result["keyword_rule"] = keyword_rule(rows, lexicon)
    return result, probabilities


COPIED_MIN_WORDS = 6  # as prepare's near_duplicate_min_words: datelines and bylines repeat everywhere
COPIED_MIN_SENTENCES = 3  # a quote or two shared with a training report (one event) is no copy


def check_locked_apart(locked_pairs: list[dict], trained_rows: list[dict], labels_path) -> None:
    """Stop where a locked article is a training article under another name or its own: the locked
    figure would then be of text the model was fit on, and nothing would say so. A copy is more than
    half of its sentences with actors (of six words or more), and at least three, among the training
    sentences. Only ids and counts are named: the locked text is never printed."""
    trained_ids = {row["article_id"] for row in trained_rows}
    trained_sentences = {row["sentence"] for row in trained_rows}
    sentences: dict[str, set[str]] = {}
    for pair in locked_pairs:
        if len(pair["sentence"].split()) >= COPIED_MIN_WORDS:
            sentences.setdefault(pair["article_id"], set()).add(pair["sentence"])
    for article_id in sorted({pair["article_id"] for pair in locked_pairs}):
        own = sentences.get(article_id, set())
        shared = len(own & trained_sentences)
        if article_id in trained_ids or (shared >= COPIED_MIN_SENTENCES and shared * 2 > len(own)):
            reason = (
                "has the id of a trained-on article"
                if article_id in trained_ids
                else f"repeats trained-on text: {shared} of its {len(own)} sentences with actors are training sentences"
            )
            raise DataError(
                labels_path,
                None,
                f"locked article {article_id!r} {reason}; the locked test must be articles never trained on",
            )


def locked_scores(pairs: list[dict], gold: list[str], predicted: list[str], resamples: int, seed: int) -> dict:
    """Scores on the locked test, with 95% intervals from resampling whole articles.

    Pair-level figures as `scores` gives them, and article-level accuracy: for each
    (article, actor), is the article's stance toward the office (`article_stance` of its
    pairs) the gold one? Articles, not pairs, are resampled, since pairs of one article
    are not independent.
    """
    result = scores(gold, predicted)
    articles = sorted({p["article_id"] for p in pairs})
    by_article = {a: [i for i, p in enumerate(pairs) if p["article_id"] == a] for a in articles}
    rng = np.random.default_rng(seed)
    f1s, accuracies = [], []
    for _ in range(resamples):
        sample = [i for a in rng.choice(articles, size=len(articles)) for i in by_article[a]]
        f1s.append(macro_f1([gold[i] for i in sample], [predicted[i] for i in sample]))
        accuracies.append(_article_accuracy(pairs, gold, predicted, sample))
    result["macro_f1_interval"] = [round(float(q), 4) for q in np.percentile(f1s, [2.5, 97.5])]
    result["article_accuracy"] = round(_article_accuracy(pairs, gold, predicted, range(len(pairs))), 4)
    result["article_accuracy_interval"] = [round(float(q), 4) for q in np.percentile(accuracies, [2.5, 97.5])]
    result["articles"] = len(articles)
    result["pairs"] = len(pairs)
    return result


def _article_accuracy(pairs: list[dict], gold: list[str], predicted: list[str], indices) -> float:
    """Share of (article, actor) whose article-level stance is right; a resampled article counts each time."""
    groups: dict[tuple, tuple[list, list]] = {}
    copies = Counter()
    for i in indices:
        copies[i] += 1
        key = (pairs[i]["article_id"], pairs[i]["actor"], copies[i])
        groups.setdefault(key, ([], []))
        groups[key][0].append(gold[i])
        groups[key][1].append(predicted[i])
    right = sum(article_stance(g) == article_stance(p) for g, p in groups.values())
    return right / len(groups) if groups else 0.0


def calibration(gold: list[str], probabilities: np.ndarray, bins: int = CALIBRATION_BINS) -> tuple[dict, list[dict]]:
    """How far the probabilities are from what they claim, and the reliability diagram's rows.

    Brier score: the mean over pairs of the squared distance between the probability vector and
    the one-hot gold label (0 is perfect, 2 the worst). Log loss: the mean negative log probability
    of the gold label. Expected calibration error (ECE): pairs binned by their confidence (the top
    probability) into equal-width bins; the mean over bins, weighted by their pairs, of
    |accuracy - mean confidence|. A bin row: its mean confidence, accuracy and pairs.
    """
    probabilities = np.asarray(probabilities, dtype=float)
    truth = np.array([LABELS.index(label) for label in gold])
    one_hot = np.eye(len(LABELS))[truth]
    confidence = probabilities.max(axis=1)
    right = probabilities.argmax(axis=1) == truth
    edges = np.minimum((confidence * bins).astype(int), bins - 1)  # confidence 1.0 joins the top bin
    rows, gap = [], 0.0
    for b in range(bins):
        inside = edges == b
        if not inside.any():
            continue
        rows.append(
            {
                "bin": f"{b / bins:.1f}-{(b + 1) / bins:.1f}",
                "confidence": round(float(confidence[inside].mean()), 4),
                "accuracy": round(float(right[inside].mean()), 4),
                "pairs": int(inside.sum()),
            }
        )
        gap += inside.sum() * abs(right[inside].mean() - confidence[inside].mean())
    figures = {
        "brier": round(float(((probabilities - one_hot) ** 2).sum(axis=1).mean()), 4),
        "log_loss": round(float(log_loss(truth, probabilities, labels=range(len(LABELS)))), 4),
        "ece": round(float(gap / len(truth)), 4),
        "mean_confidence": round(float(confidence.mean()), 4),
        "accuracy": round(float(right.mean()), 4),
        "per_predicted_class": {
            label: {
                "predicted": int((probabilities.argmax(axis=1) == k).sum()),
                "mean_confidence": round(float(confidence[probabilities.argmax(axis=1) == k].mean()), 4)
                if (probabilities.argmax(axis=1) == k).any()
                else None,
                "precision": round(float(right[probabilities.argmax(axis=1) == k].mean()), 4)
                if (probabilities.argmax(axis=1) == k).any()
                else None,
            }
            for k, label in enumerate(LABELS)
        },
    }
    return figures, rows
