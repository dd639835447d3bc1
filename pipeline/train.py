"""Stage 2, train: fit the model on the training split and save it with skops.

Writes `models/model.skops` and `models/model.json` (labels, params, library
versions, and a hash of the training data the model was fit on).
"""

from __future__ import annotations

from pathlib import Path

from datasets import Dataset

from pipeline.actors import ActorRegistry
from pipeline.features import load_cue_lexicon
from pipeline.model import MODEL_PATH, build_model, data_hash, fit_deterministic, pairs_frame, save_model
from pipeline.params import load_params
from pipeline.prepare import OUTPUT_DIR

TRAIN_DATA = OUTPUT_DIR / "train.parquet"


def load_split(path: Path):
    """(pairs frame, label names) of a prepared split, read offline from its parquet file."""
    dataset = Dataset.from_parquet(str(path))
    names = dataset.features["label"].names
    return dataset, [names[i] for i in dataset["label"]]


def fit_model(params: dict, dataset: Dataset, labels: list[str]):
    model = build_model(params["train"], load_cue_lexicon(params["data"]["cues"]))
    return fit_deterministic(model, pairs_frame(dataset.to_list()), labels)


def train(params: dict, train_data: Path = TRAIN_DATA, model_path: Path = MODEL_PATH) -> dict:
    dataset, labels = load_split(train_data)
    model = fit_model(params, dataset, labels)
    metadata = {
        "params": params["train"],
        "registry": ActorRegistry.load(params["data"]["actors"]).to_dict(),
        "training_data_sha256": data_hash([train_data]),
        "training_examples": len(labels),
        "training_articles": sorted(set(dataset["article_id"])),
    }
    save_model(model, model_path, metadata)
    return metadata


def main(params_path: str = "params.yaml") -> None:
    metadata = train(load_params(params_path))
    print(f"trained on {metadata['training_examples']} examples; model saved to {MODEL_PATH}")


if __name__ == "__main__":
    from pipeline.cli import run_stage

    run_stage(main)
