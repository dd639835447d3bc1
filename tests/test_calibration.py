"""The calibrated classifier: the same linear model inside, probabilities fitted on grouped folds."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression

from pipeline.data.splits import load_split
from pipeline.modeling.build import calibration_groups
from pipeline.modeling.calibration import GroupCalibratedClassifier, _fit_temperature
from pipeline.modeling.persist import load_model
from pipeline.modeling.predict import pairs_frame
from pipeline.paths import TRAIN_SPLIT


@pytest.fixture(scope="module")
def features(trained_model):
    """The real train split (synthetic pairs included) as the shipped model's features see it."""
    dataset, labels = load_split(trained_model.parents[1] / TRAIN_SPLIT)
    rows = dataset.to_list()
    model, _ = load_model(trained_model)
    return model[:-1].transform(pairs_frame(rows)), np.array(labels), calibration_groups(rows)


def test_the_linear_model_inside_is_the_uncalibrated_one_and_temperature_keeps_every_label(features):
    X, y, groups = features
    base = LogisticRegression(C=3.0, class_weight="balanced", max_iter=5000, random_state=0)
    plain = clone(base).fit(X, y)
    # The calibrator changes nothing of the linear model (sigmoid and isotonic take the same path).
    calibrated = GroupCalibratedClassifier(base, method="temperature").fit(X, y, groups=groups)
    assert np.array_equal(calibrated.estimator_.coef_, plain.coef_)  # explanations read the same numbers
    probabilities = calibrated.predict_proba(X)
    assert np.allclose(probabilities.sum(axis=1), 1) and (probabilities >= 0).all()
    assert calibrated.temperature_ > 0
    assert list(calibrated.predict(X)) == list(plain.predict(X))


def test_calibration_needs_real_rows_of_two_groups(features):
    X, y, groups = features
    assert None in groups and any(group is not None for group in groups)  # synthetic (None) and real rows
    base = LogisticRegression(max_iter=2000)
    with pytest.raises(ValueError, match="at least 2 groups"):
        GroupCalibratedClassifier(base).fit(X, y, groups=["one" if g is not None else None for g in groups])


def test_the_temperature_does_not_move_with_the_last_bits_of_another_cpu(features):
    """Another CPU's BLAS and SIMD maths change the scores' last bits; the committed probabilities
    (and dvc.lock) must not change with them."""
    X, y, _ = features
    plain = LogisticRegression(C=3.0, class_weight="balanced", max_iter=5000, random_state=0).fit(X, y)
    scores = plain.decision_function(X)
    hits = (y[:, None] == plain.classes_[None, :]).astype(float)
    fitted = _fit_temperature(scores, hits)
    rng = np.random.default_rng(0)
    for _ in range(5):
        noisy = scores * (1 + 1e-13 * rng.standard_normal(scores.shape))
        assert _fit_temperature(noisy, hits) == fitted

    # and the rounding stays far below what calibration can tell apart: the loss is at its minimum
    def loss(t):
        p = np.exp(scores / t - (scores / t).max(axis=1, keepdims=True))
        return -(hits * np.log(p / p.sum(axis=1, keepdims=True))).sum(axis=1).mean()

    assert loss(fitted) <= min(loss(fitted * 1.01), loss(fitted / 1.01))
