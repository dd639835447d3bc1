"""The locked test stays apart from everything trained on: no training sentence copies one of its sentences."""

from __future__ import annotations

from pathlib import Path

from conftest import ROOT
from sklearn.feature_extraction.text import TfidfVectorizer

from pipeline.data.text import split_sentences

TARGET = ROOT / "data/targets/nato-tokyo-office"
HELD_BACK = TARGET / "synthetic/held_back"
# Training text of every kind, used or held back: real articles, synthetic text, rewrites of the real ones.
TRAINING = [
    ROOT / "seeds",
    TARGET / "annotation/articles",
    TARGET / "synthetic/articles",
    *sorted(folder / "articles" for folder in HELD_BACK.iterdir() if folder.is_dir()),
    TARGET / "rewrites/articles",
]
# A sentence copied or lightly edited scores 0.8 and more; sentences that merely tell the same
# story in their own words ("NATO plans its first Asian office in Tokyo") stay below it.
COPIED = 0.8


def sentences(folder: Path) -> list[str]:
    return [
        sentence.text
        for path in sorted(folder.glob("*.txt"))
        for sentence in split_sentences(path.read_text(encoding="utf-8"))
        if len(sentence.text.split()) >= 6  # datelines and bylines repeat everywhere
    ]


def test_no_training_sentence_copies_a_locked_sentence():
    locked = sentences(TARGET / "locked/articles")
    # A folder moved or renamed would silently drop out of the check; held-back sets are each a folder of articles.
    assert all(folder.is_dir() for folder in TRAINING)
    training = [sentence for folder in TRAINING for sentence in sentences(folder)]
    assert len(locked) > 200 and len(training) > 3000
    vectors = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True).fit(training + locked)
    similarity = vectors.transform(training) @ vectors.transform(locked).T
    # Counts only: the locked test's text is never printed.
    copied = int((similarity >= COPIED).sum())
    assert copied == 0, f"{copied} training sentence(s) copy a locked-test sentence"
