"""Rewrites of real articles: trained on beside their source, never where their source is held out."""

from __future__ import annotations

import contextlib
import csv
import subprocess
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import ROOT, run, target_folder
from sklearn.linear_model import LogisticRegression

from pipeline.data.labels import REAL, REWRITE
from pipeline.data.splits import load_split, split_origins
from pipeline.evaluation import metrics
from pipeline.features.lexicon import load_cue_lexicon
from pipeline.modeling.build import calibration_groups
from pipeline.modeling.calibration import GroupCalibratedClassifier, TrainsWith
from pipeline.params import load_params
from pipeline.paths import TEST_SPLIT, TRAIN_SPLIT
from pipeline.stages.prepare import prepare

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
    rows, labels, extra, extra_labels = split_origins(train.to_list() + test.to_list(), train_labels + test_labels)
    everything = rows + extra
    position = {id(row): i for i, row in enumerate(everything)}
    folds = []

    every_label = labels + extra_labels

    def recording_fit(p, lexicon, fit_rows, y):  # which rows each fold fits on, instead of fitting
        assert list(y) == [every_label[position[id(row)]] for row in fit_rows]  # labels in step with rows
        folds.append({position[id(row)] for row in fit_rows})

    monkeypatch.setattr(metrics, "fit_pairs", recording_fit)
    monkeypatch.setattr(metrics, "class_scores", lambda model, frame: np.full((len(frame), 3), 1 / 3))
    params = load_params(ROOT / "params.yaml")
    metrics.grouped_cv(params, rows, labels, load_cue_lexicon(ROOT / params.data.cues), extra, extra_labels)
    assert len(folds) == params.evaluate.cv_folds
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


def prepare_with_sources(tmp_path: Path, sources: bytes) -> subprocess.CompletedProcess:
    """`stance prepare` with the rewrites on, the shipped rewrites but for their sources.csv."""
    (tmp_path / "rewrites").mkdir(parents=True)
    for entry in REWRITES.iterdir():
        if entry.name != "sources.csv":
            (tmp_path / "rewrites" / entry.name).symlink_to(entry)
    (tmp_path / "rewrites" / "sources.csv").write_bytes(sources)
    params = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    params["prepare"]["synthetic"], params["prepare"]["rewrites"] = False, True
    params["data"]["articles"] = str(ROOT / params["data"]["articles"])
    params["data"]["target"] = target_folder(tmp_path / "target", rewrites=tmp_path / "rewrites")
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params), encoding="utf-8")
    return run(["stance", "prepare", "--params", "params.yaml"], tmp_path, check=False)


def test_sources_saved_by_excel_prepare_the_same_pairs(tmp_path):
    shipped = (REWRITES / "sources.csv").read_bytes()
    excel = b"\xef\xbb\xbf" + shipped.replace(b"\n", b"\r\n")  # "CSV UTF-8": a mark, CRLF
    results = [prepare_with_sources(tmp_path / name, data) for name, data in (("plain", shipped), ("excel", excel))]
    assert all(result.returncode == 0 for result in results), [result.stderr for result in results]
    for table in ("train.parquet", "test.parquet"):
        prepared = Path("data/prepared") / table
        assert (tmp_path / "excel" / prepared).read_bytes() == (tmp_path / "plain" / prepared).read_bytes()


@pytest.mark.parametrize(
    "change, line, message",
    [
        (lambda lines: [*lines[:3], "", lines[3].split(",")[0] + ",no-such-article", *lines[4:]], 5, "is not a real"),
        (lambda lines: [*lines, lines[1]], None, "already a real article or another rewrite"),
        (lambda lines: [*lines, "r9-missing," + lines[1].split(",")[1]], None, "no article r9-missing.txt"),
        (lambda lines: [*lines[:2], lines[2] + ",extra", *lines[3:]], 3, "wrong number of fields"),
        (lambda lines: [lines[0].replace("source_id", "source"), *lines[1:]], 1, "the header must be"),
        (lambda lines: lines[:-1], None, "no row for the rewrite"),
        (lambda lines: [*lines[:2], lines[2] + "\u00e9", *lines[3:]], 3, "not UTF-8"),
    ],
)
def test_a_bad_sources_file_stops_prepare_with_its_line(tmp_path, change, line, message):
    lines = (REWRITES / "sources.csv").read_text(encoding="utf-8").splitlines()
    text = "\n".join(change(lines)) + "\n"
    data = text.encode("cp1252") if "\u00e9" in text else text.encode("utf-8")
    result = prepare_with_sources(tmp_path, data)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    error = result.stderr.strip().splitlines()
    assert len(error) == 1 and "sources.csv" in error[0] and message in error[0], error
    if line is not None:
        assert f"sources.csv:{line}: " in error[0], error
    assert not (tmp_path / "data" / "prepared").exists()  # nothing written
