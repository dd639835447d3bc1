"""The opt-in preset at scoring time: the linear model's probabilities averaged with the fine-tuned encoder's.

`load_ensemble` puts the encoder beside the linear model only where the finetune stage
left one (pipeline.modeling.finetuned), and only if both were trained on the same data.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import ValidationError

from pipeline.errors import DataError
from pipeline.modeling.finetuned import MANIFEST, WEIGHTS, FineTunedEncoder, check_preset
from pipeline.modeling.predict import class_scores
from pipeline.params import FinetuneParams


class Ensemble:
    """The linear model's probabilities averaged with the fine-tuned encoder's, `weight` being the encoder's share."""

    def __init__(self, linear, encoder: FineTunedEncoder, weight: float):
        self.linear, self.encoder, self.weight = linear, encoder, weight

    def class_scores(self, pairs) -> np.ndarray:
        rows = pairs.to_dict("records") if isinstance(pairs, pd.DataFrame) else list(pairs)
        linear = class_scores(self.linear, rows)
        return (1 - self.weight) * linear + self.weight * self.encoder.class_scores(rows)


def load_ensemble(linear, model_metadata: dict, folder: Path):
    """`linear` averaged with the fine-tuned encoder in `folder`, or `linear` itself where the preset is off."""
    manifest = check_preset(folder, model_metadata)
    if manifest is None:
        return linear
    try:
        settings = FinetuneParams.model_validate(manifest["settings"])
    except ValidationError as err:
        problem = err.errors()[0]
        where = ".".join(str(part) for part in problem["loc"])
        raise DataError(Path(folder) / MANIFEST, None, f"settings.{where}: {problem['msg']}; run dvc repro") from None
    encoder = FineTunedEncoder(settings, switched_on_by=Path(folder) / MANIFEST).load(Path(folder) / WEIGHTS)
    return Ensemble(linear, encoder, settings.weight)
