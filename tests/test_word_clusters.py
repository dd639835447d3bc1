"""Word clusters of the actor's window (`train.word_clusters`): fit inside the model, the same in the plain model."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import ROOT

from pipeline import paths
from pipeline.errors import DataError
from pipeline.features.clusters import cluster_tokens, nearest_clusters, word_vectors
from pipeline.features.vector_table import resolve
from pipeline.features.word_clusters import WordClusters

WINDOWS = [
    "L_actoro L_rejected L_the office actorx welcomed",
    "actorx not_endorsed not_the not_plan",
    "L_power_could L_power_veto actorx backed the liaison office",
    "actorx opposed plans for an office in tokyo",
    "actorx supported the proposal",
]


@pytest.fixture(scope="module")
def fitted() -> WordClusters:
    return WordClusters(clusters=4, seed=0, vectors=str(ROOT / paths.STATIC_VECTORS)).fit(WINDOWS)


def test_each_word_becomes_its_cluster_and_keeps_its_marks_and_the_actors_stay(fitted):
    clustered = [out.split() for out in fitted.transform(WINDOWS)]
    cluster = dict(zip(fitted.words_, fitted.word_clusters_))
    assert clustered[0][:3] == ["L_actoro", f"L_c{cluster['rejected']}", f"L_c{cluster['the']}"]
    assert clustered[0][4:] == ["actorx", f"c{cluster['welcomed']}"]
    assert clustered[1][:2] == ["actorx", f"not_c{cluster['endorsed']}"]
    assert clustered[2][:2] == [f"L_power_c{cluster['could']}", f"L_power_c{cluster['veto']}"]
    assert [len(out) for out in clustered] == [len(window.split()) for window in WINDOWS]


def test_an_unseen_word_goes_to_the_cluster_whose_centre_is_nearest_its_vector(fitted):
    assert "mothballed" not in fitted.words_
    vectors, _ = word_vectors(["mothballed"], fitted.vectors)
    nearest = int(np.argmax(vectors @ fitted.centres_.T))
    assert fitted.transform(["actorx mothballed"]) == [f"actorx c{nearest}"]
    assert "mothballed" not in fitted.words_  # scoring never changes the model


def test_the_clusters_are_the_same_on_every_fit(fitted):
    again = WordClusters(clusters=4, seed=0, vectors=fitted.vectors).fit(WINDOWS)
    assert np.array_equal(again.centres_, fitted.centres_)
    assert again.transform(WINDOWS) == fitted.transform(WINDOWS)


def test_unseen_words_are_placed_once_each_in_sorted_order():
    asked = []

    def place(words):
        asked.append(words)
        return [7] * len(words)

    out = cluster_tokens([["L_b", "a", "actorx"], ["not_b", "c"]], {"c": 3}, place)
    assert out == [["L_c7", "c7", "actorx"], ["not_c7", "c3"]]
    assert asked == [["a", "b"]]


def test_other_static_vectors_than_the_models_are_refused(fitted):
    with pytest.raises(DataError) as caught:
        nearest_clusters(["mothballed"], fitted.centres_, fitted.vectors, "0" * 64)
    assert str(caught.value).startswith(f"{resolve(fitted.vectors)}: these static vectors")
    assert "not the ones the model's word clusters were fit with" in str(caught.value)


def test_a_word_without_a_static_vector_is_in_no_cluster_not_in_cluster_zero(fitted):
    """An emoji or a bare mark has no token vector: argmax over zeros put it in cluster 0, among real words."""
    assert fitted.transform(["actorx 🙂 not_ offices"])[0].split()[:3] == ["actorx", "c-", "not_c-"]


def test_unseen_words_score_the_same_in_the_plain_model_as_in_the_skops_pipeline(trained_model):
    from pipeline.data.actors import ActorRegistry
    from pipeline.data.candidates import article_candidates
    from pipeline.modeling.persist import load_model
    from pipeline.modeling.plain import load_plain
    from pipeline.modeling.predict import class_scores, pairs_frame

    model, metadata = load_model(trained_model)
    plain = load_plain(trained_model, metadata)
    registry = ActorRegistry.load(ROOT / "data/targets/nato-tokyo-office/actors.yaml")
    text = (
        "France mothballed the outpost scheme 🙂 while Japan cheerleaded it.\n"
        "Beijing excoriated the Tokyo bureau, and Germany shrugged not_ at it.\n"
        "NATO c12 actorx L_power_ the office.\n"
    )
    pairs = list(article_candidates("unseen", text, registry))
    assert len(pairs) >= 5
    assert np.array_equal(plain.class_scores(pairs), class_scores(model, pairs_frame(pairs)))
