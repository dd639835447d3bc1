"""Optional dense features from static word vectors: the mean of a text's token vectors.

The vectors are distilled from the bundled MiniLM by the distill stage (model2vec)
and committed in models/static_vectors/. Embedding a text is a tokenizer pass and a
table look-up, with numpy, safetensors and tokenizers: no torch, no network.

`StaticEmbedder` is a scikit-learn transformer, one more column of the model's
ColumnTransformer, like `SentenceEmbedder`. The model file keeps only its params and
the SHA-256 of the vectors it was fit with, never the vectors: each process loads
them once, on first use, and refuses vectors other than those the model was fit with.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from pipeline.features.embeddings import DECIMALS, plain_window
from pipeline.features.vector_table import check_fitted_with, load_vectors
from pipeline.paths import STATIC_VECTORS


class StaticEmbedder(BaseEstimator, TransformerMixin):
    """Texts -> unit-length mean of their token vectors (n, dimensions). `source`: "sentence" or "window"."""

    def __init__(self, *, source: str = "sentence", vectors: str = str(STATIC_VECTORS)):
        self.source = source
        self.vectors = vectors

    def fit(self, X, y=None):
        tokenizer, table, _, digest = load_vectors(self.vectors)
        self.vectors_sha256_ = digest
        self.n_features_out_ = table.shape[1]
        return self

    def transform(self, X) -> np.ndarray:
        tokenizer, table, unknown, digest = load_vectors(self.vectors)
        check_fitted_with(self.vectors, digest, self.vectors_sha256_, "the model was trained with")
        texts = [str(t) for t in (X.tolist() if hasattr(X, "tolist") else X)]
        if self.source == "window":
            texts = [plain_window(t) for t in texts]
        out = np.zeros((len(texts), table.shape[1]), dtype=np.float32)
        if texts:
            ids = [
                [i for i in encoding.ids if i != unknown]
                for encoding in tokenizer.encode_batch_fast(texts, add_special_tokens=False)
            ]
            lengths = np.array([len(row) for row in ids])
            rows = np.flatnonzero(lengths)
            if rows.size:
                flat = np.fromiter((i for row in ids for i in row), dtype=np.int64, count=int(lengths.sum()))
                starts = np.r_[0, np.cumsum(lengths[rows])[:-1]]
                # Sums in token order, row by row: the same text gives the same bits in any batch.
                out[rows] = np.add.reduceat(table[flat], starts, axis=0)
                out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return np.round(out.astype(np.float64), DECIMALS)

    def get_feature_names_out(self, input_features=None):
        return np.array([f"static_{self.source}_{i}" for i in range(self.n_features_out_)], dtype=object)
