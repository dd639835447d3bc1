"""Explanations: exact contributions of readable features, through the CLI and the Python API."""

from __future__ import annotations

import csv
import json

import numpy as np
import pyarrow.parquet as pq
from conftest import ROOT
from test_score import read_jsonl, stance

from pipeline.data.actors import ActorRegistry
from pipeline.data.candidates import article_candidates
from pipeline.data.labels import LABELS
from pipeline.modeling.explain import feature_names, linear_classifier
from pipeline.modeling.persist import load_model
from pipeline.modeling.predict import pairs_frame
from pipeline.scoring.explain import explain

ARTICLE = ROOT / "seeds/000_5ea5e603efdd03d0.txt"  # France restating its opposition to the office


def test_contributions_and_intercept_add_up_to_the_predicted_class_score(trained_model, tmp_path):
    # Every feature of every pair (K larger than the vocabulary), as the command writes them.
    result = stance(trained_model, str(ARTICLE), "--explain", "1000000", "--output", str(tmp_path / "o.jsonl"))
    assert result.returncode == 0, result.stderr
    rows = read_jsonl(tmp_path / "o.jsonl")
    model, metadata = load_model(trained_model)
    registry = ActorRegistry.from_dict(metadata["registry"])
    pairs = list(article_candidates(ARTICLE.stem, ARTICLE.read_text(encoding="utf-8"), registry))
    assert [(p["sentence_index"], p["actor"]) for p in pairs] == [(r["sentence_index"], r["actor"]) for r in rows]
    linear = linear_classifier(model)
    decision = linear.decision_function(model[:-1].transform(pairs_frame(pairs)))
    for row, scores in zip(rows, decision):
        k = list(linear.classes_).index(row["stance"])
        total = sum(item["contribution"] for item in row["explanation"]) + linear.intercept_[k]
        assert abs(total - scores[k]) < 1e-9
        contributions = [item["contribution"] for item in row["explanation"]]
        assert contributions == sorted(contributions, reverse=True)
        assert row["stance"] == LABELS[int(np.argmax([row[f"p_{label}"] for label in LABELS]))]


def test_the_top_features_have_readable_names_and_push_toward_the_stance(trained_model, tmp_path):
    result = stance(trained_model, str(ARTICLE), "--explain", "3", "--output", str(tmp_path / "o.jsonl"))
    assert result.returncode == 0, result.stderr
    rows = read_jsonl(tmp_path / "o.jsonl")
    assert all(len(row["explanation"]) == 3 for row in rows)
    names = {item["feature"] for row in rows for item in row["explanation"]}
    assert not any("__" in name for name in names)  # no raw ColumnTransformer prefixes
    assert any(name.startswith("this actor's window: ") for name in names)
    france = [r for r in rows if r["actor"] == "france" and r["stance"] == "oppose"]
    assert france and all(r["explanation"][0]["contribution"] > 0 for r in france)
    assert any(item["feature"] == "cue: oppose, held by this actor" for r in france for item in r["explanation"])


def test_the_explanation_column_is_the_same_in_every_format_and_the_python_api(trained_model, tmp_path):
    for suffix in ("jsonl", "csv", "parquet"):
        result = stance(trained_model, str(ARTICLE), "--explain", "2", "--output", str(tmp_path / f"o.{suffix}"))
        assert result.returncode == 0, result.stderr
    rows = read_jsonl(tmp_path / "o.jsonl")
    assert list(rows[0])[-1] == "explanation"
    with open(tmp_path / "o.csv", newline="", encoding="utf-8") as handle:
        assert [json.loads(r["explanation"]) for r in csv.DictReader(handle)] == [r["explanation"] for r in rows]
    assert pq.read_table(tmp_path / "o.parquet").to_pylist() == rows
    api = list(explain({ARTICLE.stem: ARTICLE.read_text(encoding="utf-8")}, trained_model, top=2))
    assert api == rows


def test_every_feature_of_the_model_has_a_name(trained_model):
    model, _ = load_model(trained_model)
    names = feature_names(model)
    assert len(names) == linear_classifier(model).coef_.shape[1]
    assert model[:-1].get_feature_names_out()[0].startswith("words__")  # like any scikit-learn pipeline
    assert {"cue: oppose, held by this actor", "cue: support, held by another actor, negated"} <= set(names)
