"""Fitted TF-IDF vectorisers, applied with fewer Python steps and the same output to the last bit.

scikit-learn's `CountVectorizer` builds every n-gram of every document as a string
and counts it in a dict: for character 2-4-grams that is hundreds of strings per
sentence, most of the scorer's time. Here the character n-grams of a word are
looked up once per word (words repeat: a small cache per vectoriser) and the word
n-grams of a document are looked up without building the list of them; the count
matrix is the same (same values, same sorted CSR), and the vectoriser's own
`TfidfTransformer` turns it into TF-IDF. Settings this code does not handle fall
back to the vectoriser's own `transform`.
"""

from __future__ import annotations

import weakref
from collections import Counter

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.utils import _align_api_if_sparse

WORD_CACHE_SIZE = 200_000  # distinct words kept per vectoriser; cleared when full
# Kept beside the fitted vectorisers, never in them: a saved model stays as it was.
_WORD_IDS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def tfidf_transform(vectorizer, documents: list[str]):
    """`vectorizer.transform(documents)`, computed faster for the settings the model uses."""
    if not _handled(vectorizer):
        return vectorizer.transform(documents)
    if vectorizer.analyzer == "char_wb":
        counts = _char_wb_counts(vectorizer, documents)
    else:
        counts = _count_matrix(_word_ids(vectorizer, documents), len(vectorizer.vocabulary_), vectorizer.dtype)
    return vectorizer._tfidf.transform(counts, copy=False)


def _handled(vectorizer) -> bool:
    return (
        type(vectorizer) is TfidfVectorizer
        and vectorizer.input == "content"
        and not vectorizer.lowercase
        and vectorizer.strip_accents is None
        and vectorizer.preprocessor is None
        and vectorizer.tokenizer is None
        and vectorizer.stop_words is None
        and not vectorizer.binary
        and (
            vectorizer.analyzer == "char_wb"
            or (vectorizer.analyzer == "word" and tuple(vectorizer.ngram_range) in ((1, 1), (1, 2)))
        )
    )


def _char_wb_counts(vectorizer, documents):
    """The char_wb count matrix as (documents x words) @ (words x n-grams): a document's n-grams are
    its words' n-grams, so each distinct word is cut into n-grams once. Counts are small integers,
    exact in float64, so the product is the matrix CountVectorizer builds."""
    cache = _WORD_IDS.setdefault(vectorizer, {})
    if len(cache) > WORD_CACHE_SIZE:
        cache.clear()
    vocabulary = vectorizer.vocabulary_
    ngrams = vectorizer._char_wb_ngrams  # of one word: exactly that word's share of a document's n-grams
    columns: dict[str, int] = {}  # word -> its column in this batch
    word_of_doc, doc_indptr = [], [0]
    for document in documents:
        for word in document.split():
            column = columns.get(word)
            if column is None:
                column = columns[word] = len(columns)
            word_of_doc.append(column)
        doc_indptr.append(len(word_of_doc))
    ngram_ids, word_indptr = [], [0]
    for word in columns:
        ids = cache.get(word)
        if ids is None:
            ids = cache[word] = tuple(vocabulary[g] for g in ngrams(word) if g in vocabulary)
        ngram_ids.extend(ids)
        word_indptr.append(len(ngram_ids))
    dtype = vectorizer.dtype
    words = sp.csr_array(
        (np.ones(len(word_of_doc), dtype=dtype), np.asarray(word_of_doc, dtype=np.int32), doc_indptr),
        shape=(len(documents), len(columns)),
    )
    grams = sp.csr_array(
        (np.ones(len(ngram_ids), dtype=dtype), np.asarray(ngram_ids, dtype=np.int32), word_indptr),
        shape=(len(columns), len(vocabulary)),
    )
    words.sum_duplicates()
    grams.sum_duplicates()
    counts = (words @ grams).tocsr()
    counts.sum_duplicates()  # sorted indices, as CountVectorizer leaves them
    counts.indices = counts.indices.astype(np.int32, copy=False)
    counts.indptr = counts.indptr.astype(np.int32, copy=False)
    return _align_api_if_sparse(counts)


def _word_ids(vectorizer, documents):
    """Per document, the vocabulary ids of its word unigrams (and bigrams, for ngram_range (1, 2))."""
    vocabulary = vectorizer.vocabulary_
    get = vocabulary.get
    tokenize = vectorizer.build_tokenizer()
    bigrams = tuple(vectorizer.ngram_range) == (1, 2)
    rows = []
    for document in documents:
        tokens = tokenize(document)
        ids = list(map(get, tokens))
        if bigrams and len(tokens) > 1:
            ids.extend(map(get, map(" ".join, zip(tokens, tokens[1:]))))  # " ".join, as _word_ngrams does
        rows.append([i for i in ids if i is not None])
    return rows


def _count_matrix(rows, n_features: int, dtype):
    """The CSR matrix CountVectorizer._count_vocab builds from these ids: counts, sorted indices."""
    indices, values, indptr = [], [], [0]
    for ids in rows:
        counter = Counter(ids)
        indices.extend(counter.keys())
        values.extend(counter.values())
        indptr.append(len(indices))
    index_dtype = np.int32 if indptr[-1] <= np.iinfo(np.int32).max else np.int64
    matrix = sp.csr_array(
        (
            np.asarray(values, dtype=np.intc),
            np.asarray(indices, dtype=index_dtype),
            np.asarray(indptr, dtype=index_dtype),
        ),
        shape=(len(indptr) - 1, n_features),
        dtype=dtype,
    )
    matrix.sort_indices()
    return _align_api_if_sparse(matrix)
