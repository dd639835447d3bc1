"""Optional features from a general-purpose sentiment lexicon, scoped to the actor's window.

The lexicon is VADER's (7,500 words and their mean valence, -4 to 4, rated by ten
people; MIT licence), read from the file the `vaderSentiment` package ships, so
nothing is downloaded and VADER's own code never runs. Unlike the target's cues.yaml it
knows nothing of the office or of NATO: it says only whether the words around the
actor are warm or cold, which may carry to wordings the cue lexicon lacks.

The text scored is PairView's window: the words after the actor's mention up to the
clause's end (what the actor does) and those before it (`L_`, what is said of it).
Each side gives its positive and negative valence sums, with a negator's scope
(`not_`) swapping the two, so four columns, divided by 4 to the scale of one strong word.
"""

from __future__ import annotations

from importlib import resources

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from pipeline.errors import DataError

INSTALL_HINT = "install the sentiment extra: pip install -e '.[sentiment]'"
FEATURES = ["after_positive", "after_negative", "before_positive", "before_negative"]
_lexicon: dict[str, float] | None = None  # one per process


def load_lexicon() -> dict[str, float]:
    global _lexicon
    if _lexicon is None:
        try:
            text = resources.files("vaderSentiment").joinpath("vader_lexicon.txt").read_text(encoding="utf-8")
        except ModuleNotFoundError:
            raise DataError(
                "params.yaml", None, f"train.sentiment is vader but vaderSentiment is not installed; {INSTALL_HINT}"
            ) from None
        _lexicon = {}
        for line in text.splitlines():
            word, valence, *_ = line.split("\t")
            _lexicon[word] = float(valence)
    return _lexicon


class WindowSentiment(BaseEstimator, TransformerMixin):
    """PairView windows -> (n, 4): positive and negative valence after and before the actor's mention."""

    def fit(self, X, y=None):
        load_lexicon()
        return self

    def transform(self, X) -> np.ndarray:
        lexicon = load_lexicon()
        windows = X.tolist() if hasattr(X, "tolist") else list(X)
        out = np.zeros((len(windows), len(FEATURES)))
        for row, window in enumerate(windows):
            for token in str(window).split():
                side = 2 if token.startswith("L_") else 0
                token = token.removeprefix("L_").removeprefix("power_")  # a power phrase's words keep their valence
                negated = token.startswith("not_")
                valence = lexicon.get(token.removeprefix("not_"), 0.0) * (-1 if negated else 1)
                if valence > 0:
                    out[row, side] += valence
                elif valence < 0:
                    out[row, side + 1] -= valence
        return out / 4

    def get_feature_names_out(self, input_features=None):
        return np.array([f"sentiment_{name}" for name in FEATURES], dtype=object)
