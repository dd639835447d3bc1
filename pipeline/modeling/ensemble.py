"""The opt-in preset at scoring time: the linear model's probabilities averaged with the fine-tuned encoder's.

`load_ensemble` puts the encoder beside the linear model once `check_preset`
(pipeline.modeling.finetuned) has found the preset on and trained on the linear model's data.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import ValidationError

from pipeline.errors import DataError
from pipeline.modeling.finetuned import MANIFEST, WEIGHTS, FineTunedEncoder
from pipeline.modeling.predict import class_scores
from pipeline.params import FinetuneParams


def average(linear: np.ndarray, tuned: np.ndarray, weight: float) -> np.ndarray:
    """The preset's probabilities: `weight` is the fine-tuned encoder's share."""
    return (1 - weight) * linear + weight * tuned


class Ensemble:
    """The linear model's probabilities averaged with the fine-tuned encoder's, `weight` being the encoder's share."""

    def __init__(self, linear, encoder: FineTunedEncoder, weight: float):
        self.linear, self.encoder, self.weight = linear, encoder, weight

    def class_scores(self, pairs) -> np.ndarray:
        rows = pairs.to_dict("records") if isinstance(pairs, pd.DataFrame) else list(pairs)
        return average(class_scores(self.linear, rows), self.encoder.class_scores(rows), self.weight)


def load_ensemble(linear, manifest: dict, folder: Path) -> Ensemble:
    """`linear` averaged with the fine-tuned encoder in `folder`, whose manifest `check_preset` returned."""
    settings = preset_settings(manifest, folder)
    encoder = FineTunedEncoder(settings, switched_on_by=Path(folder) / MANIFEST).load(Path(folder) / WEIGHTS)
    return Ensemble(linear, encoder, settings.weight)


def preset_settings(manifest: dict, folder: Path) -> FinetuneParams:
    """The settings the encoder in `folder` was trained with, validated as params.yaml's `finetune` is."""
    try:
        return FinetuneParams.model_validate(manifest["settings"])
    except ValidationError as err:
        problem = err.errors()[0]
        where = ".".join(str(part) for part in problem["loc"])
        raise DataError(Path(folder) / MANIFEST, None, f"settings.{where}: {problem['msg']}; run dvc repro") from None
