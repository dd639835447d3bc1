"""Word clusters of the actor's window: an unseen word counts as the seen words it resembles.

The n-grams know only the words of the training text: "shelved" teaches nothing about
"mothballed". `WordClusters` (`train.word_clusters: k`) fits k-means clusters of the training
words' static vectors (`models/static_vectors/`, distilled from the bundled MiniLM), then
replaces each word of the window by its cluster's id, its marks kept (`L_`, `not_`, `power_`),
so that one more n-gram block reads the window in clusters beside its words. A word never seen
goes to the cluster whose centre is nearest its vector. The clusters are fit inside the model,
on its training pairs only, so each fold of grouped CV fits its own. Word clusters are the
classic sparse way to carry meaning across wording (Turian et al. 2010; Owoputi et al. 2013).

The mapping itself is in clusters.py, which the plain model uses too.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from pipeline.features.clusters import (
    MARKS,
    PLACEHOLDERS,
    cluster_tokens,
    nearest_centres,
    nearest_clusters,
    word_vectors,
)
from pipeline.paths import STATIC_VECTORS


class WordClusters(BaseEstimator, TransformerMixin):
    """Window texts -> the same texts in cluster ids, for a TF-IDF vectoriser after it."""

    def __init__(self, *, clusters: int = 1024, seed: int = 0, vectors: str = str(STATIC_VECTORS)):
        self.clusters = clusters
        self.seed = seed
        self.vectors = vectors

    def fit(self, X, y=None):
        from sklearn.cluster import KMeans
        from threadpoolctl import threadpool_limits

        words = sorted({MARKS.match(t).group(2) for text in X for t in str(text).split()} - PLACEHOLDERS)
        if not words:
            raise ValueError("WordClusters: no word to cluster in the training windows")
        vectors, self.vectors_sha256_ = word_vectors(words, self.vectors)
        placed = vectors[vectors.any(axis=1)]  # a word without a vector is in no cluster (NO_CLUSTER)
        if not len(placed):
            raise ValueError("WordClusters: no training window word has a static vector")
        with threadpool_limits(limits=1):  # one thread: sums in one order, the same clusters on every run
            kmeans = KMeans(n_clusters=min(self.clusters, len(placed)), n_init=3, random_state=self.seed).fit(placed)
        centres = kmeans.cluster_centers_
        self.centres_ = centres / np.maximum(np.linalg.norm(centres, axis=1, keepdims=True), 1e-12)
        self.words_ = words
        # Each word's nearest centre, as an unseen word gets it (from the vectors already read)
        self.word_clusters_ = np.array(nearest_centres(vectors, self.centres_), dtype=np.int64)
        return self

    def _place(self, words: list[str]) -> list[int]:
        return nearest_clusters(words, self.centres_, self.vectors, self.vectors_sha256_)

    def transform(self, X) -> list[str]:
        documents = [str(text).split() for text in (X.tolist() if hasattr(X, "tolist") else X)]
        cluster_of = dict(zip(self.words_, self.word_clusters_.tolist()))
        return [" ".join(tokens) for tokens in cluster_tokens(documents, cluster_of, self._place)]

    def get_feature_names_out(self, input_features=None):
        return np.asarray(input_features if input_features is not None else ["window"], dtype=object)
