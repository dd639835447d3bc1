"""The calibrated classifier: the same linear model inside, probabilities fitted on grouped folds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score

from pipeline.data.splits import load_split
from pipeline.errors import DataError
from pipeline.evaluation.metrics import macro_f1
from pipeline.modeling.build import calibration_groups
from pipeline.modeling.calibration import (
    OFFSET_GRID,
    GroupCalibratedClassifier,
    _fit_offsets,
    _fit_temperature,
    _macro_f1,
)
from pipeline.modeling.persist import load_model
from pipeline.modeling.predict import pairs_frame
from pipeline.params import load_params
from pipeline.paths import TRAIN_SPLIT

ROOT = Path(__file__).resolve().parents[1]


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
    with pytest.raises(ValueError, match="at least 2 article groups"):
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


def test_class_offsets_move_only_the_intercepts_and_the_labels_are_the_shifted_argmax(features):
    X, y, groups = features
    base = LogisticRegression(C=3.0, class_weight="balanced", max_iter=5000, random_state=0)
    unshifted = GroupCalibratedClassifier(base, method="temperature").fit(X, y, groups=groups)
    shifted = GroupCalibratedClassifier(base, method="temperature", offsets="macro_f1").fit(X, y, groups=groups)
    assert np.array_equal(shifted.estimator_.coef_, unshifted.estimator_.coef_)
    assert shifted.temperature_ == unshifted.temperature_
    moved = shifted.estimator_.intercept_ - unshifted.estimator_.intercept_
    assert np.allclose(moved, shifted.temperature_ * shifted.offsets_)
    assert np.isin(shifted.offsets_, OFFSET_GRID).all() and (shifted.offsets_ == 0).sum() >= 1
    assert np.abs(shifted.offsets_).max() < OFFSET_GRID.max()  # a choice on the grid's edge: the grid is too narrow
    scaled = unshifted.decision_function(X) / unshifted.temperature_
    expected = shifted.classes_[(scaled + shifted.offsets_).argmax(axis=1)]
    assert np.mean(shifted.predict(X) == expected) > 0.999  # only float ties may differ
    assert np.any(shifted.offsets_ != 0) and np.any(shifted.predict(X) != unshifted.predict(X))
    assert np.allclose(unshifted.predict_proba(X).sum(axis=1), 1) and np.allclose(
        shifted.predict_proba(X).sum(axis=1), 1
    )


def test_the_offsets_are_the_best_macro_f1_on_the_grid_by_scikit_learns_count():
    """Scores skewed toward the most frequent class: the chosen offsets must reach the grid's best
    macro-F1 as scikit-learn computes it, and beat no offsets at all."""
    rng = np.random.default_rng(3)
    y = rng.choice([0, 1, 2], size=600, p=[0.15, 0.15, 0.7])
    scores = rng.normal(size=(600, 3)) + 1.5 * np.eye(3)[y] + np.array([-0.6, -0.4, 0.3])
    offsets = _fit_offsets(scores, np.eye(3, dtype=int)[y])
    assert offsets[2] == 0  # the most frequent class is the reference
    chosen = f1_score(y, (scores + offsets).argmax(axis=1), average="macro")
    best = max(
        f1_score(y, (scores + np.array([a, b, 0.0])).argmax(axis=1), average="macro")
        for a in OFFSET_GRID
        for b in OFFSET_GRID
    )
    assert chosen == pytest.approx(best, abs=1e-12)
    assert chosen > f1_score(y, scores.argmax(axis=1), average="macro") + 0.01


@pytest.mark.parametrize(
    ("truth", "predicted"),
    [
        ([0, 0, 2, 2, 2], [0, 2, 2, 2, 0]),  # a class neither labelled nor predicted: left out
        ([0, 0, 2, 2, 2], [0, 1, 2, 2, 0]),  # predicted, never labelled: counts 0
        ([0, 1, 2, 2, 2], [0, 2, 2, 2, 0]),  # labelled, never predicted: counts 0
    ],
)
def test_the_offsets_count_macro_f1_as_the_metrics_do(truth, predicted):
    """The offsets' quick macro-F1 and the reported one average over the same classes."""
    labels = ["support", "oppose", "neutral"]
    named = ([labels[k] for k in truth], [labels[k] for k in predicted])
    assert _macro_f1(np.array(truth), np.array(predicted), 3) == pytest.approx(macro_f1(*named), abs=1e-12)


@pytest.mark.parametrize("calibration", ["none", "sigmoid", "isotonic"])
def test_params_refuse_offsets_without_temperature_in_one_line_naming_the_file_and_line(tmp_path, calibration):
    text = (ROOT / "params.yaml").read_text(encoding="utf-8")
    assert "  calibration: temperature" in text and "  class_offsets: none" in text
    text = text.replace("  calibration: temperature", f"  calibration: {calibration}")
    (tmp_path / "params.yaml").write_text(text.replace("  class_offsets: none", "  class_offsets: macro_f1"))
    line = 1 + text.splitlines().index(next(row for row in text.splitlines() if row.startswith("  class_offsets:")))
    with pytest.raises(DataError) as raised:
        load_params(tmp_path / "params.yaml")
    assert str(raised.value).startswith(
        f"{tmp_path / 'params.yaml'}:{line}: train.class_offsets: needs train.calibration"
    )
    assert "\n" not in str(raised.value)


def test_offsets_need_temperature_scaling(features):
    X, y, groups = features
    with pytest.raises(ValueError, match="need method='temperature'"):
        GroupCalibratedClassifier(LogisticRegression(), method="sigmoid", offsets="macro_f1").fit(X, y, groups=groups)


def test_params_report_a_bad_calibration_itself_not_the_offsets_that_need_it(tmp_path):
    text = (ROOT / "params.yaml").read_text(encoding="utf-8")
    text = text.replace("  calibration: temperature", "  calibration: platt")
    (tmp_path / "params.yaml").write_text(text.replace("  class_offsets: none", "  class_offsets: macro_f1"))
    line = 1 + next(i for i, row in enumerate(text.splitlines()) if row.startswith("  calibration:"))
    with pytest.raises(DataError) as raised:
        load_params(tmp_path / "params.yaml")
    assert str(raised.value).startswith(f"{tmp_path / 'params.yaml'}:{line}: train.calibration:")
    assert "class_offsets" not in str(raised.value) and "\n" not in str(raised.value)
