"""Fitted TF-IDF vectorisers, applied with fewer Python steps and the same output to the last bit.

scikit-learn's `CountVectorizer` builds every n-gram of every document as a string
and counts it in a dict: for character 2-4-grams that is hundreds of strings per
sentence, most of the scorer's time. Here the character n-grams of a word are
looked up once per word (words repeat: a small cache per vectoriser) and the word
n-grams of a document are looked up without building the list of them; the count
matrix is the same (same values, same sorted CSR), and `tfidf_weights` turns it into
TF-IDF with the same operations, in the same order, as `TfidfTransformer`.

The functions below take plain vocabularies and arrays and import no scikit-learn, so
the plain scoring model (pipeline.modeling.plain) uses them as they are;
`tfidf_transform` applies them to a fitted `TfidfVectorizer`. Settings this code does
not handle fall back to the vectoriser's own `transform`.
"""

from __future__ import annotations

import re
import weakref
from itertools import accumulate, chain, repeat

import numpy as np
import scipy.sparse as sp

from pipeline.features.tokens import VECTORIZER_TOKEN_PATTERN

WORD_CACHE_SIZE = 200_000  # distinct words kept per vocabulary; cleared when full
# Token patterns whose tokens never hold a space: two tokens joined by one are a bigram term
# exactly when the pair of them is that term cut at its one space.
SPACE_FREE_TOKEN_PATTERNS = frozenset({VECTORIZER_TOKEN_PATTERN, r"(?u)\b\w\w+\b"})  # ours, scikit-learn's default
# Kept beside the vocabularies, never in them: a saved model stays as it was. Each owner's entry
# holds the vocabulary it was built from, so a refit vectoriser does not read a stale one.
_WORD_IDS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_BIGRAM_IDS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def tfidf_transform(vectorizer, documents: list[str]):
    """`vectorizer.transform(documents)`, computed faster for the settings the model uses."""
    if not handled(vectorizer):
        return vectorizer.transform(documents)
    from sklearn.utils import _align_api_if_sparse

    vocabulary = vectorizer.vocabulary_
    if vectorizer.analyzer == "char_wb":
        counts = char_wb_counts(vectorizer, vocabulary, tuple(vectorizer.ngram_range), documents)
    else:
        counts = word_counts(vectorizer, vocabulary, vectorizer.token_pattern, tuple(vectorizer.ngram_range), documents)
    weights = tfidf_weights(counts, vectorizer.idf_, vectorizer.sublinear_tf, vectorizer.norm)
    return _align_api_if_sparse(weights)


def handled(vectorizer) -> bool:
    """Whether `tfidf_transform` (and the plain model) reproduce this fitted vectoriser."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    return (
        type(vectorizer) is TfidfVectorizer
        and vectorizer.input == "content"
        and not vectorizer.lowercase
        and vectorizer.strip_accents is None
        and vectorizer.preprocessor is None
        and vectorizer.tokenizer is None
        and vectorizer.stop_words is None
        and not vectorizer.binary
        and vectorizer.use_idf
        and vectorizer.norm in ("l2", None)
        and vectorizer.dtype == np.float64
        and (
            (vectorizer.analyzer == "char_wb" and vectorizer.ngram_range[0] >= 1)
            or (vectorizer.analyzer == "word" and tuple(vectorizer.ngram_range) in ((1, 1), (1, 2)))
        )
    )


def char_wb_ngrams(word: str, ngram_range: tuple[int, int]) -> list[str]:
    """The char_wb n-grams of one word, as scikit-learn's `_char_wb_ngrams` cuts them."""
    padded = f" {word} "
    length, grams = len(padded), []
    for n in range(ngram_range[0], ngram_range[1] + 1):
        offset = 0
        grams.append(padded[:n])
        while offset + n < length:
            offset += 1
            grams.append(padded[offset : offset + n])
        if offset == 0:  # a word shorter than n is counted once
            break
    return grams


def char_wb_counts(owner, vocabulary: dict, ngram_range: tuple[int, int], documents: list[str]):
    """The char_wb count matrix as (documents x words) @ (words x n-grams): a document's n-grams are
    its words' n-grams, so each distinct word is cut into n-grams once (cached per `owner`). Counts
    are small integers, exact in float64, so the product is the matrix CountVectorizer builds.
    A document may be given as its list of words already (what `split()` would cut it into)."""
    cache = _cached(_WORD_IDS, owner, vocabulary, dict)
    if len(cache) > WORD_CACHE_SIZE:
        cache.clear()
    documents = [document if isinstance(document, list) else document.split() for document in documents]
    words_in_order = list(chain.from_iterable(documents))
    # word -> its column in this batch, in order of first appearance
    columns = {word: column for column, word in enumerate(dict.fromkeys(words_in_order))}
    word_of_doc = list(map(columns.__getitem__, words_in_order))
    doc_indptr = [0, *accumulate(map(len, documents))]
    ngram_ids, word_indptr = [], [0]
    for word in columns:
        ids = cache.get(word)
        if ids is None:
            ids = cache[word] = tuple(vocabulary[g] for g in char_wb_ngrams(word, ngram_range) if g in vocabulary)
        ngram_ids.extend(ids)
        word_indptr.append(len(ngram_ids))
    words = sp.csr_array(
        (np.ones(len(word_of_doc)), np.asarray(word_of_doc, dtype=np.int32), doc_indptr),
        shape=(len(documents), len(columns)),
    )
    grams = sp.csr_array(
        (np.ones(len(ngram_ids)), np.asarray(ngram_ids, dtype=np.int32), word_indptr),
        shape=(len(columns), len(vocabulary)),
    )
    words.sum_duplicates()
    grams.sum_duplicates()
    # The product is computed transposed, (n-grams x documents), and read back column by column:
    # scipy's CSR -> CSC conversion leaves each document's n-grams in sorted order, as
    # CountVectorizer does, in one linear pass instead of sorting every row of the product.
    by_document = (grams.T.tocsr() @ words.T.tocsr()).tocsc()
    counts = sp.csr_array(
        (by_document.data, by_document.indices, by_document.indptr), shape=(len(documents), len(vocabulary))
    )
    counts.indices = counts.indices.astype(np.int32, copy=False)
    counts.indptr = counts.indptr.astype(np.int32, copy=False)
    return counts


def _cached(store: weakref.WeakKeyDictionary, owner, vocabulary: dict, build):
    """`owner`'s entry in `store`, built by `build()` anew when `vocabulary` is not the one it was built for."""
    entry = store.get(owner)
    if entry is None or entry[0] is not vocabulary:
        entry = store[owner] = (vocabulary, build())
    return entry[1]


def word_counts(owner, vocabulary: dict, token_pattern: str, ngram_range: tuple[int, int], documents: list[str]):
    """The count matrix of word unigrams (and bigrams, for ngram_range (1, 2)) CountVectorizer builds:
    every document's ids in one flat array, then scipy sums each row's repeats and sorts its columns.
    A document may be given as its token list already (what `token_pattern` would cut it into).
    Bigrams are looked up as pairs of tokens (a table per `owner`), not joined into new strings."""
    get = vocabulary.get
    tokenize = re.compile(token_pattern).findall  # as CountVectorizer.build_tokenizer
    documents = [document if isinstance(document, list) else tokenize(document) for document in documents]
    # Every document's tokens in one list, looked up in one pass; a document's bigrams are the
    # flat list's bigrams that do not cross into the next document.
    flat = list(chain.from_iterable(documents))
    lengths = np.fromiter(map(len, documents), dtype=np.int64, count=len(documents))
    rows = np.repeat(np.arange(len(documents)), lengths)
    ids = np.fromiter(map(get, flat, repeat(-1)), dtype=np.int64, count=len(flat))  # -1: not in the vocabulary
    if ngram_range == (1, 2) and len(flat) > 1:
        if token_pattern in SPACE_FREE_TOKEN_PATTERNS:
            bigrams = _cached(_BIGRAM_IDS, owner, vocabulary, lambda: _bigram_ids(vocabulary))
            looked_up = map(bigrams.get, zip(flat, flat[1:]), repeat(-1))
        else:
            looked_up = map(get, map(" ".join, zip(flat, flat[1:])), repeat(-1))
        pairs = np.fromiter(looked_up, dtype=np.int64, count=len(flat) - 1)
        within = rows[:-1] == rows[1:]  # " ".join of two tokens of one document, as _word_ngrams
        ids = np.concatenate([ids, pairs[within]])
        rows = np.concatenate([rows, rows[:-1][within]])
    known = ids >= 0
    counts = sp.csr_array(
        (np.ones(int(known.sum())), (rows[known], ids[known])), shape=(len(documents), len(vocabulary))
    )
    counts.sum_duplicates()
    return counts


def _bigram_ids(vocabulary: dict) -> dict:
    """{(first token, second token): column} for every term with one space in it."""
    return {tuple(term.split(" ")): column for term, column in vocabulary.items() if term.count(" ") == 1}


def tfidf_weights(counts, idf: np.ndarray, sublinear_tf: bool, norm: str | None):
    """`TfidfTransformer.transform(counts)`, step for step: log(tf) + 1, times idf, rows to unit length.

    The row norm adds the squares of a row in stored order, as scikit-learn's
    `inplace_csr_row_normalize_l2` does (numpy's own sums pair them up, which can change
    the last bit): one vectorised step per position, over every row that long.
    """
    data = counts.data
    if sublinear_tf:
        np.log(data, data)
        data += 1.0
    data *= idf[counts.indices]
    if norm == "l2":
        lengths = np.diff(counts.indptr)
        squares = data * data
        longest_first = np.argsort(-lengths, kind="stable")
        starts = counts.indptr[:-1][longest_first]
        longer_than = np.searchsorted(-lengths[longest_first], -np.arange(lengths.max(initial=0)), side="left")
        sums = np.zeros(len(lengths))  # in longest_first order: the rows still adding are a prefix
        for position, rows in enumerate(longer_than):
            sums[:rows] += squares[starts[:rows] + position]
        norms = np.ones(len(lengths))
        norms[longest_first] = np.where(sums != 0.0, np.sqrt(sums), 1.0)
        data /= np.repeat(norms, lengths)
    return counts
