"""The scorer's own walk through the fitted pipeline gives predict_proba's numbers, bit for bit."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pipeline.data.actors import ActorRegistry
from pipeline.data.candidates import article_candidates
from pipeline.data.labels import LABELS
from pipeline.modeling.persist import load_model
from pipeline.modeling.predict import class_scores, pairs_frame

ROOT = Path(__file__).resolve().parents[1]


def test_class_scores_are_predict_proba_to_the_last_bit(trained_model):
    model, metadata = load_model(trained_model)
    registry = ActorRegistry.from_dict(metadata["registry"])
    pairs = [
        pair
        for folder in ("seeds", "data/targets/nato-tokyo-office/synthetic/articles")
        for path in sorted((ROOT / folder).glob("*.txt"))
        for pair in article_candidates(path.stem, path.read_text(encoding="utf-8"), registry)
    ]
    assert len(pairs) > 2000
    classes = list(model.named_steps["classifier"].classes_)
    expected = model.predict_proba(pairs_frame(pairs))[:, [classes.index(label) for label in LABELS]]
    for batch in (pairs, pairs_frame(pairs)):  # candidate dicts, as the scorer passes them, or a frame
        assert np.array_equal(class_scores(model, batch), expected)
    # Again with every word already seen: the cached word n-grams give the same matrix.
    assert np.array_equal(class_scores(model, pairs[::-1]), expected[::-1])


def test_lexicon_find_all_gives_every_class_what_finditer_gives():
    from pipeline.data.text import split_sentences
    from pipeline.features.lexicon import CUE_CLASSES, Lexicon, load_cue_lexicon
    from pipeline.features.tokens import token_starts, tokenize

    lexicon = Lexicon(load_cue_lexicon(ROOT / "data/targets/nato-tokyo-office/cues.yaml"))
    checked = 0
    for folder in ("seeds", "data/targets/nato-tokyo-office/synthetic/articles"):
        for path in sorted((ROOT / folder).glob("*.txt")):
            for sentence in split_sentences(path.read_text(encoding="utf-8")):
                tokens = tokenize(sentence.text)
                joined, starts = " ".join(tokens), token_starts(tokens)
                found = lexicon.find_all(tokens, joined, starts)
                assert found == {name: lexicon.find(name, joined, starts) for name in CUE_CLASSES}
                checked += sum(map(len, found.values()))
    assert checked > 1000


def test_word_counts_are_count_vectorizers_even_after_a_refit():
    from sklearn.feature_extraction.text import CountVectorizer

    from pipeline.features.tokens import VECTORIZER_TOKEN_PATTERN
    from pipeline.features.vectorize import word_counts

    texts = [path.read_text(encoding="utf-8") for path in sorted((ROOT / "seeds").glob("*.txt"))]
    assert len(texts) > 10
    vectorizer = CountVectorizer(token_pattern=VECTORIZER_TOKEN_PATTERN, ngram_range=(1, 2), lowercase=False)
    # Fitted on half the articles, then refit (the same object, a new vocabulary) on the other half:
    # the bigram table built for the first vocabulary must not be read for the second.
    for fitted, scored in ((texts[::2], texts[1::2]), (texts[1::2], texts[::2])):
        vectorizer.fit(fitted)
        expected = vectorizer.transform(scored)
        counts = word_counts(vectorizer, vectorizer.vocabulary_, VECTORIZER_TOKEN_PATTERN, (1, 2), scored)
        assert counts.nnz > 1000 and (counts != expected).nnz == 0
        assert np.array_equal(counts.indices, expected.indices) and np.array_equal(counts.indptr, expected.indptr)


def test_char_wb_counts_are_count_vectorizers_to_the_stored_order():
    """The product is read back transposed to sort each row: the same values, indices and order as scikit-learn's."""
    from sklearn.feature_extraction.text import CountVectorizer

    from pipeline.features.vectorize import char_wb_counts

    texts = [path.read_text(encoding="utf-8") for path in sorted((ROOT / "seeds").glob("*.txt"))]
    vectorizer = CountVectorizer(analyzer="char_wb", ngram_range=(2, 4), lowercase=False).fit(texts[::2])
    expected = vectorizer.transform(texts[1::2])
    counts = char_wb_counts(vectorizer, vectorizer.vocabulary_, (2, 4), texts[1::2])
    assert counts.nnz > 10_000 and expected.has_sorted_indices
    assert np.array_equal(counts.indptr, expected.indptr) and np.array_equal(counts.indices, expected.indices)
    assert np.array_equal(counts.data, expected.data)
