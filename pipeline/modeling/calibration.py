"""Probabilities that mean what they say: one linear classifier plus a calibrator per class.

The linear classifier is fit on every row, as without calibration, so its coefficients
(and the explanations read from them) are the same. Its calibrators are fit on
out-of-fold decision scores, with folds grouped by article cluster so that no article
or shared quote is on both sides. Rows without a group (synthetic text) join the
training side of every fold and never calibrate: the probabilities are fitted to real
articles. A retelling of a real article (`TrainsWith` its cluster) never calibrates either,
and joins only the folds that train on its source. Several classes are calibrated as
scikit-learn's `CalibratedClassifierCV` (`ensemble=False`) does: each class's score
one-vs-rest, then normalised to sum to 1.
`temperature` instead divides all scores by one fitted number before the softmax, which
keeps every predicted label as it was (sigmoid and isotonic may move a pair to another class).
With temperature, `offsets="macro_f1"` then moves the decision itself: one offset per class,
added to the scaled scores and chosen on the same out-of-fold scores for the best macro-F1
there, then folded into the linear classifier's intercepts (so the plain model and the
explanations need nothing new). Balanced class weights equalise the classes in the training
data, synthetic text included; the offsets fit the decision to real articles. The temperature
is not refitted after them: they trade some calibration for the labels they move.

Its own class rather than `CalibratedClassifierCV` because that one cannot keep
synthetic rows out of the calibration set, nor take the article groups through a
`Pipeline` without global metadata routing.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize_scalar
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedGroupKFold
from sklearn.utils.validation import check_is_fitted

from pipeline.modeling.plain import softmax


class TooFewExamples(ValueError):
    """The labelled pairs cannot fit the model: a label without pairs, or in too few article groups."""


def named_labels(labels) -> str:
    """'neutral', 'oppose': labels as a TooFewExamples message names them (numpy's str_ shown as text)."""
    return ", ".join(repr(str(label)) for label in labels)


METHODS = ("sigmoid", "isotonic", "temperature")
OFFSETS = ("none", "macro_f1")
OFFSET_GRID = np.round(np.arange(-2.0, 2.0 + 1e-9, 0.05), 2)  # per class, in units of the scaled score
LOG_TEMPERATURE_DECIMALS = 3  # steps of 0.1% in T: far above that noise, far below what the log loss tells apart


@dataclass(frozen=True)
class TrainsWith:
    """The group of a row that only trains (never calibrates, never scored) yet belongs to an article
    cluster: a real article retold in other words joins a fold's training side only when its source
    is there, so no fold learns the wording of an article it holds out."""

    cluster: str


def trains_only(group) -> bool:
    """A row that is never held out: synthetic text (None) or a retelling (`TrainsWith`)."""
    return group is None or isinstance(group, TrainsWith)


def joining_fold(groups, train_only, held_out: set) -> np.ndarray:
    """Those of the train-only rows `train_only` (indices into `groups`) that join the training side of
    a fold holding out the clusters `held_out`: synthetic text always, a retelling beside its source."""
    return np.asarray([i for i in train_only if groups[i] is None or groups[i].cluster not in held_out], dtype=int)


class GroupCalibratedClassifier(ClassifierMixin, BaseEstimator):
    """A linear classifier whose `predict_proba` is calibrated on grouped out-of-fold scores.

    `fit(X, y, sample_weight=None, groups=None)`: `groups` holds each row's article
    cluster, or None for a row that only trains (never calibrates), or `TrainsWith(cluster)`
    for a row that trains only beside that cluster. Without `groups` every row is its own group.
    """

    def __init__(
        self,
        estimator=None,
        *,
        method: str = "sigmoid",
        offsets: str = "none",
        n_splits: int = 5,
        random_state: int = 0,
    ):
        self.estimator = estimator
        self.method = method
        self.offsets = offsets
        self.n_splits = n_splits
        self.random_state = random_state

    def fit(self, X, y, sample_weight=None, groups=None):
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, not {self.method!r}")
        if self.offsets not in OFFSETS or (self.offsets != "none" and self.method != "temperature"):
            raise ValueError(f"offsets must be one of {OFFSETS}, and need method='temperature', not {self.offsets!r}")
        y = np.asarray(y)
        groups = np.arange(len(y)).astype(object) if groups is None else np.asarray(groups, dtype=object)
        calibrating = np.flatnonzero([not trains_only(group) for group in groups])
        train_only = np.flatnonzero([trains_only(group) for group in groups])
        weights = None if sample_weight is None else np.asarray(sample_weight, dtype=float)
        n_groups = len(set(groups[calibrating]))
        if n_groups < 2:
            raise TooFewExamples(f"calibration needs real pairs of at least 2 article groups, got {n_groups}")
        if missing := sorted(set(y) - set(y[calibrating])):  # only synthetic pairs have it: nothing to calibrate on
            raise TooFewExamples(f"calibration: no real pair is labelled {named_labels(missing)}")
        n_splits = min(self.n_splits, n_groups)
        # More folds than the commonest label has pairs cannot be stratified (scikit-learn refuses)
        n_splits = min(n_splits, max(np.unique(y[calibrating], return_counts=True)[1]))
        if n_splits < 2:
            raise TooFewExamples("calibration needs a label with real pairs in at least 2 article groups")
        folds = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=self.random_state)
        self.estimator_ = self._fit_estimator(X, y, weights)
        self.classes_ = self.estimator_.classes_
        out_of_fold = np.empty((len(calibrating), len(self.classes_)))
        with warnings.catch_warnings():  # a rare label is the error below, with its name, not scikit-learn's warning
            warnings.filterwarnings("ignore", "The least populated class", UserWarning)
            splits = list(folds.split(calibrating, y[calibrating], groups[calibrating]))
        for train, test in splits:
            rows = np.r_[calibrating[train], joining_fold(groups, train_only, set(groups[calibrating[test]]))]
            if missing := sorted(set(self.classes_) - set(y[rows])):
                raise TooFewExamples(
                    f"calibration: pairs labelled {named_labels(missing)} come from too few article groups "
                    f"for its {n_splits} folds (each fold trains without the groups it scores)"
                )
            model = self._fit_estimator(X[rows], y[rows], None if weights is None else weights[rows])
            out_of_fold[test] = _class_scores(model, X[calibrating[test]], self.classes_)
        hits = (y[calibrating][:, None] == self.classes_).astype(int)
        if self.method == "temperature":
            self.temperature_ = _fit_temperature(out_of_fold, hits)
            self.calibrators_ = []
            self.offsets_ = np.zeros(len(self.classes_))
            if self.offsets == "macro_f1":
                self.offsets_ = _fit_offsets(out_of_fold / self.temperature_, hits)
                # softmax((s + T b) / T) = softmax(s / T + b): the offsets become part of the scores.
                self.estimator_.intercept_ = self.estimator_.intercept_ + self.temperature_ * self.offsets_
            return self
        self.calibrators_ = [
            self._calibrator().fit(out_of_fold[:, [k]] if self.method == "sigmoid" else out_of_fold[:, k], hits[:, k])
            for k in range(len(self.classes_))
        ]
        return self

    def _fit_estimator(self, X, y, weights):
        return clone(self.estimator).fit(X, y, **({} if weights is None else {"sample_weight": weights}))

    def _calibrator(self):
        if self.method == "isotonic":
            return IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
        return LogisticRegression(C=1e6, max_iter=1000)  # Platt scaling: a and b of sigmoid(a * score + b)

    def decision_function(self, X):
        """The linear classifier's own scores (what the explanations add up to)."""
        check_is_fitted(self)
        return self.estimator_.decision_function(X)

    def predict_proba(self, X):
        check_is_fitted(self)
        scores = _class_scores(self.estimator_, X, self.classes_)
        if self.method == "temperature":
            return softmax(scores / self.temperature_)
        columns = []
        for k, calibrator in enumerate(self.calibrators_):
            if self.method == "sigmoid":
                columns.append(calibrator.predict_proba(scores[:, [k]])[:, 1])
            else:
                columns.append(calibrator.predict(scores[:, k]))
        probabilities = np.column_stack(columns)
        total = probabilities.sum(axis=1, keepdims=True)
        uniform = np.full_like(probabilities, 1.0 / len(self.classes_))
        return np.where(total > 0, probabilities / np.where(total > 0, total, 1.0), uniform)

    def predict(self, X):
        return self.classes_[self.predict_proba(X).argmax(axis=1)]


def _fit_temperature(scores: np.ndarray, hits: np.ndarray) -> float:
    """The T > 0 whose softmax(scores / T) has the least log loss; one number, so the ranking
    of the classes, and with it every predicted label, stays the linear classifier's."""

    def loss(log_t: float) -> float:
        return float(-(hits * np.log(np.clip(softmax(scores / np.exp(log_t)), 1e-15, 1))).sum(axis=1).mean())

    # The last bits of BLAS and of numpy's SIMD maths differ from one CPU to another, and they move
    # the point where the search stops by up to 1e-6: enough to change a probability's sixth
    # decimal, and with it the committed outputs. So the search is run close to the optimum and
    # the result rounded to a step far coarser than that noise.
    log_t = minimize_scalar(loss, bounds=(-5.0, 5.0), method="bounded", options={"xatol": 1e-9}).x
    return float(np.exp(round(log_t, LOG_TEMPERATURE_DECIMALS)))


def _fit_offsets(scaled: np.ndarray, hits: np.ndarray) -> np.ndarray:
    """The per-class offsets (the most frequent class's fixed at 0) on OFFSET_GRID whose argmax of
    `scaled + offsets` has the best macro-F1 against the true classes (`hits`: a 1 in each row's
    true column, as the temperature is fitted to); among equals, the smallest change."""
    n_classes = hits.shape[1]
    if n_classes < 3:
        raise ValueError("offsets need three or more classes")
    truth = hits.argmax(axis=1)
    reference = int(hits.sum(axis=0).argmax())
    free = [k for k in range(n_classes) if k != reference]
    best, best_key = np.zeros(n_classes), None
    for values in np.stack(np.meshgrid(*[OFFSET_GRID] * len(free), indexing="ij"), axis=-1).reshape(-1, len(free)):
        offsets = np.zeros(n_classes)
        offsets[free] = values
        key = (_macro_f1(truth, (scaled + offsets).argmax(axis=1), n_classes), -np.abs(values).sum())
        if best_key is None or key > best_key:
            best, best_key = offsets, key
    return best


def _macro_f1(truth: np.ndarray, predicted: np.ndarray, n_classes: int) -> float:
    """Macro-F1 from one confusion matrix, as `metrics.macro_f1` counts it: over the classes in the true
    or the predicted ones (scikit-learn's f1_score, without its checks)."""
    confusion = np.bincount(truth * n_classes + predicted, minlength=n_classes * n_classes).reshape(
        n_classes, n_classes
    )
    hits = np.diag(confusion).astype(float)
    denominators = confusion.sum(axis=0) + confusion.sum(axis=1)
    present = denominators > 0
    return float(np.mean(2 * hits[present] / denominators[present]))


def _class_scores(estimator, X, classes) -> np.ndarray:
    """One decision score per class, columns in `classes` order."""
    scores = np.asarray(estimator.decision_function(X))
    if scores.ndim == 1:  # two classes: one margin, for the second class
        scores = np.column_stack([-scores, scores])
    order = [list(estimator.classes_).index(label) for label in classes]
    return scores[:, order]
