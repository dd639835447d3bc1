"""Word clusters, the engine: a word's cluster by its static vectors, and tokens rewritten as clusters.

`cluster_tokens` is the one mapping, used by the scikit-learn model (`WordClusters`, in
word_clusters.py) and by the plain model, which imports no scikit-learn.
"""

from __future__ import annotations

import re

import numpy as np

from pipeline.features.vector_table import check_fitted_with, load_vectors

MARKS = re.compile(r"^((?:L_|power_|not_)*)(.*)$", re.DOTALL)  # PairView's marks, several at once
PLACEHOLDERS = frozenset({"actorx", "actoro"})  # the actor and the others stay themselves
NO_CLUSTER = -1  # a word with no static token vector (an emoji, a bare mark): in no cluster, written "c-"


def word_vectors(words: list[str], folder: str) -> tuple[np.ndarray, str]:
    """Unit-length sums of each word's static token vectors (zero for a word with none), and the vectors' SHA-256."""
    tokenizer, table, unknown, digest = load_vectors(folder)
    out = np.zeros((len(words), table.shape[1]), dtype=np.float64)
    for row, encoding in enumerate(tokenizer.encode_batch_fast(words, add_special_tokens=False)):
        ids = [i for i in encoding.ids if i != unknown]
        if ids:
            out[row] = table[ids].sum(axis=0)
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12), digest


def nearest_clusters(words: list[str], centres: np.ndarray, folder: str, sha256: str) -> list[int]:
    """The cluster of each word: the centre with the largest dot product with its vector, or
    NO_CLUSTER for a word without one (argmax of zeros would put it in cluster 0, among real words)."""
    if not words:
        return []
    vectors, digest = word_vectors(words, folder)
    check_fitted_with(folder, digest, sha256, "the model's word clusters were fit with")
    return nearest_centres(vectors, centres)


def nearest_centres(vectors: np.ndarray, centres: np.ndarray) -> list[int]:
    """Each vector's nearest centre (largest dot product), NO_CLUSTER for a zero vector."""
    nearest = np.argmax(vectors @ centres.T, axis=1)
    return [int(i) if vectors[row].any() else NO_CLUSTER for row, i in enumerate(nearest)]


def cluster_tokens(documents: list[list[str]], cluster_of: dict, place) -> list[list[str]]:
    """Each document's tokens with every word as `c<cluster>`, marks kept: `cluster_of` gives the
    fitted words' clusters, `place(words)` those of the others."""
    mapped = {}  # token (marks and word) -> its cluster token, for this call
    new = set()
    for tokens in documents:
        for token in tokens:
            if token not in mapped:
                marks, word = MARKS.match(token).groups()
                mapped[token] = (marks, word)
                if word not in PLACEHOLDERS and word not in cluster_of:
                    new.add(word)
    if new:
        new = sorted(new)
        cluster_of = cluster_of | dict(zip(new, place(new)))  # not kept: a model is not changed by use
    for token, (marks, word) in mapped.items():
        cluster = cluster_of.get(word)
        mapped[token] = marks + (word if word in PLACEHOLDERS else "c-" if cluster == NO_CLUSTER else f"c{cluster}")
    return [[mapped[token] for token in tokens] for tokens in documents]
