"""Stage 2, train: fit the model on the training split; save it with skops, and its metadata beside it."""

from __future__ import annotations

from pathlib import Path

from pipeline import paths
from pipeline.data.actors import ActorRegistry
from pipeline.data.splits import load_split
from pipeline.features.lexicon import load_cue_lexicon
from pipeline.modeling.build import build_model, fit_deterministic
from pipeline.modeling.persist import data_hash, save_model
from pipeline.modeling.predict import pairs_frame
from pipeline.params import Params


def train(params: Params, model_path: Path = paths.MODEL) -> dict:
    dataset, labels = load_split(paths.TRAIN_SPLIT)
    model = build_model(params.train, load_cue_lexicon(params.data.cues))
    fit_deterministic(model, pairs_frame(dataset.to_list()), labels)
    metadata = {
        "params": params.train.model_dump(),
        "registry": ActorRegistry.load(params.data.actors).to_dict(),
        "training_data_sha256": data_hash([paths.TRAIN_SPLIT]),
        "training_examples": len(labels),
        "training_articles": sorted(set(dataset["article_id"])),
    }
    save_model(model, model_path, metadata)
    print(f"trained on {len(labels)} examples; model saved to {model_path}")
    return metadata
