"""Stage 2, train: fit the model users score with on every labelled pair; save it with skops.

The evaluate stage measures it on the locked test (which it never sees) and takes its
held-out test figures from the same pipeline refit on the train split only, so the
shipped model can learn from the test articles too.
"""

from __future__ import annotations

from pathlib import Path

from pipeline import paths
from pipeline.data.actors import ActorRegistry
from pipeline.data.splits import check_prepared_for, every_labelled_pair, training_data_sha256
from pipeline.data.target import Target
from pipeline.errors import DataError
from pipeline.features.lexicon import load_cue_lexicon
from pipeline.files import outputs_together
from pipeline.modeling.build import fit_pairs, for_registry, too_few_examples_named
from pipeline.modeling.persist import save_model
from pipeline.params import Params


@outputs_together()  # the model and its plain copy and metadata replace the previous ones together
def train(params: Params, model_path: Path = paths.MODEL) -> dict:
    target = Target.load(params.data.description)
    registry = ActorRegistry.load(params.data.actors)
    train_params = for_registry(params.train, registry)
    lexicon = load_cue_lexicon(params.data.cues, registry.actors)
    if train_params.frame_roles and "frame_roles" not in lexicon:
        raise DataError(
            params.data.cues,
            1,
            "train.frame_roles is true but the lexicon has no frame_roles section; "
            "add one (which part each actor plays) or set train.frame_roles: false",
        )
    check_prepared_for(params.data.target)
    rows, labels = every_labelled_pair()
    with too_few_examples_named(params.data.labels):
        model = fit_pairs(train_params, lexicon, rows, labels)
    metadata = {
        "target": {"folder": params.data.target, "name": target.name},
        "params": train_params.model_dump(),
        "registry": registry.to_dict(),
        "fit_on": "every labelled pair: the train and test splits",
        "training_data_sha256": training_data_sha256(),
        "training_examples": len(labels),
        "training_articles": sorted({row["article_id"] for row in rows}),
    }
    save_model(model, model_path, metadata)
    print(f"trained on {len(labels)} examples (every labelled pair); model saved to {model_path}")
    return metadata
