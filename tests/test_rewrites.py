"""Rewrites of real articles: trained on beside their source, never where their source is held out."""

from __future__ import annotations

import contextlib
import csv
import shutil

import numpy as np
import pytest
from conftest import ROOT
from sklearn.linear_model import LogisticRegression

from pipeline.data.labels import REAL, REWRITE
from pipeline.data.splits import load_split
from pipeline.errors import DataError
from pipeline.evaluation import metrics
from pipeline.features.lexicon import load_cue_lexicon
from pipeline.modeling.build import calibration_groups
from pipeline.modeling.calibration import GroupCalibratedClassifier, TrainsWith
from pipeline.params import load_params
from pipeline.paths import TEST_SPLIT, TRAIN_SPLIT
from pipeline.stages.prepare import prepare, rewrite_examples

REWRITES = ROOT / "data/targets/nato-tokyo-office/rewrites"


@pytest.fixture(scope="module")
def splits(tmp_path_factory):
    """The prepared splits of the shipped data with the rewrites on (`prepare.rewrites`)."""
    params = load_params(ROOT / "params.yaml")
    for name in type(params.data).model_fields:  # every data path, relative to the project
        setattr(params.data, name, str(ROOT / getattr(params.data, name)))
    params.prepare.rewrites = True
    workdir = tmp_path_factory.mktemp("rewrites")
    with contextlib.chdir(workdir):  # the stage writes below the working directory
        prepare(params)
    return [load_split(workdir / split) for split in (TRAIN_SPLIT, TEST_SPLIT)]


def test_every_rewrite_sits_in_its_sources_cluster_on_its_sources_side(splits):
    with open(REWRITES / "sources.csv", encoding="utf-8", newline="") as handle:
        source_of = {row["article_id"]: row["source_id"] for row in csv.DictReader(handle)}
    (train, _), (test, _) = splits
    sides = [dataset.to_list() for dataset in (train, test)]
    cluster_of = {row["article_id"]: row["cluster"] for rows in sides for row in rows if row["origin"] == REAL}
    real_clusters = [{row["cluster"] for row in rows if row["origin"] == REAL} for rows in sides]
    rewritten = 0
    for side, rows in enumerate(sides):
        for row in (row for row in rows if row["origin"] == REWRITE):
            rewritten += 1
            assert row["cluster"] == cluster_of[source_of[row["article_id"]]]
            assert row["cluster"] in real_clusters[side] and row["cluster"] not in real_clusters[1 - side]
    with open(REWRITES / "labels.csv", encoding="utf-8", newline="") as handle:
        assert rewritten == sum(1 for _ in csv.DictReader(handle)) > 0
    assert all(any(row["origin"] == REWRITE for row in rows) for rows in sides)  # both sides hold some


def test_grouped_cv_never_trains_on_a_rewrite_of_an_article_it_holds_out(splits, monkeypatch):
    (train, train_labels), (test, test_labels) = splits
    rows, labels, extra, extra_labels = [], [], [], []
    for dataset, dataset_labels in ((train, train_labels), (test, test_labels)):
        for row, label in zip(dataset.to_list(), dataset_labels):
            into, into_labels = (rows, labels) if row["origin"] == REAL else (extra, extra_labels)
            into.append(row)
            into_labels.append(label)
    folds = []

    def recording_fit(model, frame, y, weights, groups):  # which rows each fold fits on, instead of fitting
        folds.append(set(frame.index))
        return model

    monkeypatch.setattr(metrics, "fit_deterministic", recording_fit)
    monkeypatch.setattr(metrics, "class_scores", lambda model, frame: np.full((len(frame), 3), 1 / 3))
    params = load_params(ROOT / "params.yaml")
    metrics.grouped_cv(params, rows, labels, load_cue_lexicon(ROOT / params.data.cues), extra, extra_labels)
    assert len(folds) == params.evaluate.cv_folds
    everything = rows + extra
    for fitted in folds:
        trained_real = {everything[i]["cluster"] for i in fitted if i < len(rows)}
        held_out = {row["cluster"] for row in rows} - trained_real
        assert held_out
        for i, row in enumerate(extra, start=len(rows)):
            if row["origin"] == REWRITE:
                assert (i in fitted) == (row["cluster"] not in held_out), row["article_id"]
            else:
                assert i in fitted  # synthetic text trains in every fold


class RecordingClassifier(LogisticRegression):
    """A logistic regression that notes which rows (column 0 holds the row number) each fit saw."""

    fits: list = []

    def fit(self, X, y, sample_weight=None):
        RecordingClassifier.fits.append(set(X[:, 0].astype(int)))
        return super().fit(X, y, sample_weight)


def test_calibration_folds_never_train_on_a_rewrite_of_a_held_out_article(splits):
    (train, train_labels), _ = splits
    rows = train.to_list()
    groups = calibration_groups(rows)
    assert any(isinstance(group, TrainsWith) for group in groups) and None in groups
    X = np.arange(len(rows), dtype=float)[:, None]
    RecordingClassifier.fits = []
    GroupCalibratedClassifier(RecordingClassifier(max_iter=200), method="temperature").fit(
        X, train_labels, groups=groups
    )
    full, *folds = RecordingClassifier.fits
    assert full == set(range(len(rows))) and len(folds) == 5
    for fitted in folds:
        held_out = {rows[i]["cluster"] for i in range(len(rows)) if rows[i]["origin"] == REAL} - {
            rows[i]["cluster"] for i in fitted if rows[i]["origin"] == REAL
        }
        assert held_out
        for i, group in enumerate(groups):
            if isinstance(group, TrainsWith):
                assert (i in fitted) == (group.cluster not in held_out)
            elif group is None:
                assert i in fitted


def test_a_rewrite_of_an_unknown_article_stops_prepare_with_the_line(tmp_path):
    params = load_params(ROOT / "params.yaml")
    target = tmp_path / "target"
    shutil.copytree(REWRITES, target / "rewrites")
    sources = target / "rewrites" / "sources.csv"
    lines = sources.read_text(encoding="utf-8").splitlines()
    lines[2] = lines[2].split(",")[0] + ",no-such-article"
    sources.write_text("\n".join(lines) + "\n", encoding="utf-8")
    params.data.target = str(target)
    clusters = {row: row for row in {line.split(",")[1] for line in lines[1:]} if row != "no-such-article"}
    with pytest.raises(DataError, match=r"sources\.csv:3: 'no-such-article' is not a real article"):
        rewrite_examples(params, None, clusters)
