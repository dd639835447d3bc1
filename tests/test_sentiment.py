"""train.sentiment: vader, VADER's word valences in the actor's window, read from the installed package."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.errors import DataError
from pipeline.features import sentiment
from pipeline.features.sentiment import WindowSentiment


def test_valences_are_split_by_side_and_a_negator_swaps_them():
    features = (
        WindowSentiment()
        .fit(None)
        .transform(
            [
                "actorx welcomed the plan",  # after the mention: what the actor does
                "actorx did not not_welcome not_the not_plan",
                "L_critics L_condemned actorx",  # before it: what is said of the actor
                "actorx said on monday",
            ]
        )
    )
    welcomed, not_welcomed, condemned, neutral = features
    assert welcomed[0] > 0 and welcomed[1:].sum() == 0
    assert not_welcomed[1] > 0 and not_welcomed[0] == 0
    assert condemned[3] > 0 and condemned[:3].sum() == 0
    assert not neutral.any()
    assert list(WindowSentiment().get_feature_names_out())[0] == "sentiment_after_positive"


def test_without_the_package_the_error_says_what_to_install(monkeypatch):
    monkeypatch.setattr(sentiment, "_lexicon", None)
    monkeypatch.setattr(sentiment.resources, "files", lambda name: (_ for _ in ()).throw(ModuleNotFoundError(name)))
    with pytest.raises(DataError, match=r"pip install -e '\.\[sentiment\]'"):
        WindowSentiment().fit(None)


def test_the_lexicon_is_vaders_whole_word_list():
    lexicon = sentiment.load_lexicon()
    assert len(lexicon) > 7000
    assert lexicon["rejected"] < 0 < lexicon["welcomed"]
    assert np.isclose(lexicon["support"], 1.7)


def test_a_power_phrase_keeps_its_words_valence_and_negation():
    marked, plain = (
        WindowSentiment()
        .fit(None)
        .transform(["actorx power_could power_not_welcome L_power_condemned", "actorx could not_welcome L_condemned"])
    )
    assert np.array_equal(marked, plain) and plain[1] > 0 and plain[3] > 0
