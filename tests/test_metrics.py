"""The locked test's figures: article-level stance, and intervals from resampling whole articles."""

from __future__ import annotations

import pytest

from pipeline.data.labels import article_stance
from pipeline.errors import DataError
from pipeline.evaluation.metrics import check_locked_apart, locked_scores, macro_f1, scores


def pairs_of(spec: list[tuple[str, str]]) -> list[dict]:
    return [{"article_id": article, "actor": actor} for article, actor in spec]


def test_article_stance_is_the_more_frequent_stance_mixed_on_a_tie_else_neutral():
    assert article_stance(["support", "neutral", "support", "oppose"]) == "support"
    assert article_stance(["oppose", "neutral"]) == "oppose"
    assert article_stance(["support", "oppose"]) == "mixed"
    assert article_stance(["neutral", "neutral"]) == "neutral"


def test_locked_scores_judge_articles_by_their_stance_and_resample_whole_articles():
    pairs = pairs_of([("a", "france"), ("a", "france"), ("a", "nato"), ("b", "china"), ("c", "japan")])
    gold = ["oppose", "neutral", "support", "oppose", "support"]
    # a/france: one oppose pair missed but the article still opposes; b/china wrong; c/japan wrong
    predicted = ["oppose", "oppose", "support", "neutral", "neutral"]
    result = locked_scores(pairs, gold, predicted, resamples=200, seed=0)
    assert result["article_accuracy"] == round(2 / 4, 4)  # a/france and a/nato right, b and c wrong
    assert result["articles"] == 3 and result["pairs"] == 5
    low, high = result["macro_f1_interval"]
    assert 0 <= low <= result["macro_f1"] <= high <= 1 and low < high
    low, high = result["article_accuracy_interval"]
    assert low < result["article_accuracy"] < high
    assert locked_scores(pairs, gold, predicted, resamples=200, seed=0) == result  # deterministic
    assert locked_scores(pairs, gold, predicted, resamples=200, seed=1) != result


def test_perfect_predictions_have_a_degenerate_interval_at_one():
    pairs = pairs_of([("a", "france"), ("b", "nato"), ("c", "china")])
    gold = ["oppose", "support", "neutral"]
    result = locked_scores(pairs, gold, list(gold), resamples=100, seed=0)
    assert result["macro_f1"] == 1.0 and result["article_accuracy"] == 1.0
    assert result["article_accuracy_interval"] == [1.0, 1.0]
    # Most resamples lack a class; perfect on the classes they hold is still 1, not 2/3
    assert result["macro_f1_interval"] == [1.0, 1.0]


def test_macro_f1_leaves_out_a_class_neither_labelled_nor_predicted_and_counts_one_that_is():
    gold = ["oppose", "neutral", "neutral", "oppose"]  # no support pair, as in a split of a small target
    assert scores(gold, ["oppose", "neutral", "neutral", "neutral"])["macro_f1"] == round((2 / 3 + 0.8) / 2, 4)
    # support predicted once, though never labelled: a class of the average, with F1 0
    result = scores(gold, ["oppose", "neutral", "support", "neutral"])
    assert result["macro_f1"] == round((2 / 3 + 1 / 2 + 0) / 3, 4)
    assert result["per_class"]["support"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "examples": 0}
    # support labelled once, never predicted: a class of the average too, with F1 0
    assert scores(["oppose", "neutral", "support"], ["oppose", "neutral", "neutral"])["macro_f1"] == round(
        (1 + 2 / 3 + 0) / 3, 4
    )
    # compared with another model's predictions, the average takes that model's classes too
    assert macro_f1(["oppose", "neutral"], ["oppose", "neutral"]) == 1.0
    assert macro_f1(["oppose", "neutral"], ["oppose", "neutral"], ["oppose", "support"]) == pytest.approx(2 / 3)


def test_calibration_figures_agree_with_scikit_learn_on_the_real_test_split(trained_model):
    import numpy as np
    from sklearn.metrics import log_loss

    from pipeline.data.labels import LABELS
    from pipeline.data.splits import load_split
    from pipeline.evaluation.metrics import calibration
    from pipeline.modeling.persist import load_model
    from pipeline.modeling.predict import class_scores, pairs_frame
    from pipeline.paths import TEST_SPLIT

    dataset, gold = load_split(trained_model.parents[1] / TEST_SPLIT)
    model, _ = load_model(trained_model)
    probabilities = class_scores(model, pairs_frame(dataset.to_list()))
    figures, bins = calibration(gold, probabilities)
    truth = np.array([LABELS.index(label) for label in gold])
    one_hot = np.eye(len(LABELS))[truth]
    assert figures["brier"] == round(float(((probabilities - one_hot) ** 2).sum(axis=1).mean()), 4)
    assert figures["log_loss"] == round(float(log_loss(truth, probabilities, labels=[0, 1, 2])), 4)
    assert sum(b["pairs"] for b in bins) == len(gold)
    # ECE is the pair-weighted mean gap of the bins (their rounding aside).
    gap = sum(b["pairs"] * abs(b["accuracy"] - b["confidence"]) for b in bins) / len(gold)
    assert abs(gap - figures["ece"]) < 1e-3


def test_a_locked_article_that_is_a_training_article_is_refused_by_id_and_count_only():
    """A training article copied into locked/ scored as unseen (0.93 against 0.84) without a word."""
    said = [f"France said on day {n} that it objected to the office." for n in range(4)]
    trained = [{"article_id": "t1", "sentence": s} for s in said + ["TOKYO (Kyodo)"]]
    apart = [  # two quotes and a dateline shared with a report of the same event: no copy
        {"article_id": "l1", "sentence": s}
        for s in said[:2]
        + ["TOKYO (Kyodo)", "Paris said no again in a long statement.", "Tokyo hoped for more in talks."]
    ]
    check_locked_apart(apart, trained, "locked/labels.csv")
    copies = {
        "has the id of a trained-on article": [{"article_id": "t1", "sentence": "A new sentence of six words."}],
        "3 of its 4 sentences": [
            {"article_id": "l2", "sentence": s} for s in said[:3] + ["Seoul agreed with it in the end."]
        ],
    }
    for reason, locked in copies.items():
        with pytest.raises(DataError) as caught:
            check_locked_apart(locked, trained, "locked/labels.csv")
        message = str(caught.value)
        assert (
            message.startswith(f"locked/labels.csv: locked article {locked[0]['article_id']!r} ") and reason in message
        )
        assert "objected" not in message  # ids and counts only
