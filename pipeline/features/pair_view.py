"""PairView: the model's first step, as a scikit-learn transformer (the engine is PairRows).

`transform` gives a frame of COLUMNS, one row per candidate pair; see
pipeline.features.pair_rows for what each column holds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from pipeline.features.pair_rows import COLUMNS, PairRows


class PairView(BaseEstimator, TransformerMixin, PairRows):
    """Candidate pairs -> a frame of actor-aware texts and cue features (stateless).

    Its params, and its __init__, are PairRows'."""

    def fit(self, X, y=None):
        return self

    def transform(self, X) -> pd.DataFrame:
        records = X.to_dict("records") if isinstance(X, pd.DataFrame) else list(X)
        return pd.DataFrame(self.view_rows(records), columns=COLUMNS)

    def get_feature_names_out(self, input_features=None):
        """The columns `transform` gives, so `model[:-1].get_feature_names_out()` names every feature."""
        return np.asarray(COLUMNS, dtype=object)
