"""Stage 3, evaluate: how good is the model, against what, and where does it fail?

Scores the shipped model on the locked test and the behavioural suite; refits the
same pipeline on the train split for the held-out test split, and in grouped
cross-validation over every real article; scores both baselines in the same run.

Writes metrics.json (dvc metrics), plots/confusion_{test,cv}.csv and the reliability
diagrams plots/reliability_{test,cv}.csv (dvc plots), the
model card, and three reports: reports/misclassified.csv (cross-validated errors),
reports/behaviour_failures.csv (the linear model's, then the fine-tuned preset's when it is
on), and reports/test_predictions.csv (the train-split model's predictions on the
held-out test articles)."""

from __future__ import annotations

from pathlib import Path

from pipeline import paths
from pipeline.data.actors import ActorRegistry
from pipeline.data.labels import LABELS, PROBABILITY_FIELDS, REWRITE, SYNTHETIC, best_labels, load_labelled_set
from pipeline.data.splits import check_prepared_for, load_split, split_origins, training_data_sha256
from pipeline.data.target import Target
from pipeline.errors import DataError
from pipeline.evaluation.behaviour import load_suite, run_suite
from pipeline.evaluation.metrics import (
    calibration,
    check_locked_apart,
    grouped_cv,
    keyword_rule,
    locked_scores,
    majority,
    scores,
)
from pipeline.evaluation.model_card import read_article_dates, write_model_card
from pipeline.evaluation.paraphrase import load_paraphrases, run_paraphrases
from pipeline.features.lexicon import load_cue_lexicon
from pipeline.files import outputs_together, write_csv, write_json
from pipeline.modeling.build import fit_pairs, for_registry, too_few_examples_named
from pipeline.modeling.ensemble import average, load_ensemble
from pipeline.modeling.finetuned import check_preset, fine_tuned_test_scores
from pipeline.modeling.persist import load_model
from pipeline.modeling.predict import class_scores, pairs_frame
from pipeline.params import Params

SOURCES = "SOURCES.jsonl"  # article dates, in the articles folder


@outputs_together()  # metrics, plots, reports and card replace the previous ones together, at the end
def evaluate(params: Params) -> dict:
    registry = ActorRegistry.load(params.data.actors)
    lexicon = load_cue_lexicon(params.data.cues, registry.actors)  # its frame_roles name actors, as train checks
    model, model_metadata = load_model(paths.MODEL)
    params = params.model_copy(update={"train": for_registry(params.train, registry)})
    target = Target.load(params.data.description)
    # The suites are checked before minutes of fitting, so a broken file stops the stage at once.
    behaviour_suite = load_suite(params.data.behaviour, registry, target)
    paraphrases = load_paraphrases(params.data.paraphrases, registry)
    locked_pairs = load_labelled_set(params.data.locked, registry)
    dates = read_article_dates([Path(params.data.articles) / SOURCES, Path(params.data.annotation_articles) / SOURCES])
    check_prepared_for(params.data.target)
    if model_metadata.get("training_data_sha256") != training_data_sha256():
        # Its locked figures would be another model's than the CV and held-out ones refit below.
        raise DataError(
            paths.MODEL,
            None,
            f"was fit on other prepared pairs than {paths.PREPARED}/ holds now; run `stance train` (or dvc repro) first",
        )
    fitted_with = model_metadata.get("params") or {}
    if changed := [key for key, value in params.train.model_dump().items() if fitted_with.get(key) != value]:
        # Its locked figures would be another model's than the CV and held-out ones, refit with these params.
        raise DataError(
            paths.MODEL,
            None,
            f"was fit with other train params than params.yaml's ({', '.join(f'train.{key}' for key in changed)}); "
            "run `stance train` (or dvc repro) first",
        )
    train_set, train_set_labels = load_split(paths.TRAIN_SPLIT)
    # Synthetic pairs and rewrites (the extra rows) are trained on, never scored: every figure below is of
    # real articles.
    train_rows, train_labels, extra_rows, extra_labels = split_origins(train_set.to_list(), train_set_labels)
    test_set, test_set_labels = load_split(paths.TEST_SPLIT)
    test_rows, test_labels, held_out_rewrites, held_out_rewrite_labels = split_origins(
        test_set.to_list(), test_set_labels
    )
    check_locked_apart(locked_pairs, train_set.to_list() + test_set.to_list(), Path(params.data.locked) / "labels.csv")

    if params.evaluate.cv_folds > (groups := len({row["cluster"] for row in train_rows + test_rows})):
        raise DataError(
            "params.yaml",
            None,
            f"evaluate.cv_folds {params.evaluate.cv_folds} is more than the {groups} groups of articles "
            f"grouped CV can hold out; give at most {groups}",
        )
    # The shipped model was fit on the test split too: its held-out figures come from the same
    # pipeline refit on the train split only.
    with too_few_examples_named(params.data.labels, "the train split (without the test split): "):
        holdout = fit_pairs(params.train, lexicon, train_rows + extra_rows, train_labels + extra_labels)
    test_scores = class_scores(holdout, pairs_frame(test_rows))
    test_predicted = best_labels(test_scores)
    test_actors = [r["actor"] for r in test_rows]

    all_rows = train_rows + test_rows
    all_labels = train_labels + test_labels
    all_actors = [r["actor"] for r in all_rows]
    with too_few_examples_named(params.data.labels, "a grouped-CV fold: ", ", or fewer evaluate.cv_folds"):
        cv, cv_probabilities = grouped_cv(
            params,
            all_rows,
            all_labels,
            lexicon,
            extra_rows + held_out_rewrites,  # a rewrite trains only in the folds that train on its source
            extra_labels + held_out_rewrite_labels,
        )
    cv_calibration, cv_reliability = calibration(all_labels, cv_probabilities)
    test_calibration, test_reliability = calibration(test_labels, test_scores)

    behaviour, failures = run_suite(model, behaviour_suite, registry)
    failures = [{"model": "linear", **failure} for failure in failures]
    locked_labels = [pair["label"] for pair in locked_pairs]
    locked_probabilities = class_scores(model, pairs_frame(locked_pairs))
    locked_predicted = best_labels(locked_probabilities)

    metrics = {
        "test": {
            "model": scores(test_labels, test_predicted, test_actors),
            "majority": scores(test_labels, majority(train_labels, len(test_labels))),
            "keyword_rule": scores(test_labels, keyword_rule(test_rows, lexicon)),
        },
        "cv": {
            name: scores(all_labels, predicted, all_actors if name == "model" else None)
            for name, predicted in cv.items()
        },
        # Scores only: no per-pair prediction or error of the locked test is ever written.
        "locked": {
            "model": locked_scores(
                locked_pairs,
                locked_labels,
                locked_predicted,
                params.evaluate.bootstrap_resamples,
                params.evaluate.bootstrap_seed,
            ),
            "majority": scores(locked_labels, majority(train_labels, len(locked_labels))),
            "keyword_rule": scores(locked_labels, keyword_rule(locked_pairs, lexicon)),
        },
        # Are the probabilities what they claim? Aggregates only, the locked test's too.
        "calibration": {
            "method": params.train.calibration,
            "cv": cv_calibration,
            "test": test_calibration,
            "locked": calibration(locked_labels, locked_probabilities)[0],
        },
        "behaviour": behaviour,
        "paraphrase": run_paraphrases(model, paraphrases, registry),
        "examples": {
            "train": len(train_labels),
            "synthetic": sum(row["origin"] == SYNTHETIC for row in extra_rows),
            "rewrites": sum(row["origin"] == REWRITE for row in extra_rows + held_out_rewrites),
            "test": len(test_labels),
            "per_class": {label: all_labels.count(label) for label in LABELS},
        },
    }
    preset = check_preset(paths.FINETUNED, model_metadata)
    if preset:  # the opt-in preset is on: the same figures for it, CV aside (a fine-tune per fold)
        ensemble = load_ensemble(model, preset, paths.FINETUNED)
        preset_behaviour, preset_failures = run_suite(ensemble, behaviour_suite, registry)
        failures += [{"model": "finetuned_ensemble", **failure} for failure in preset_failures]
        mixed_test = average(test_scores, fine_tuned_test_scores(paths.FINETUNED, test_rows), ensemble.weight)
        metrics["finetuned_ensemble"] = {
            "test": scores(test_labels, best_labels(mixed_test), test_actors),
            "locked": locked_scores(
                locked_pairs,
                locked_labels,
                best_labels(class_scores(ensemble, locked_pairs)),
                params.evaluate.bootstrap_resamples,
                params.evaluate.bootstrap_seed,
            ),
            "behaviour": preset_behaviour,
            "paraphrase": run_paraphrases(ensemble, paraphrases, registry),
        }
    write_json(paths.METRICS, metrics)
    write_csv(
        paths.PLOTS / "confusion_test.csv",
        ["actual", "predicted"],
        [{"actual": a, "predicted": p} for a, p in zip(test_labels, test_predicted)],
    )
    write_csv(
        paths.PLOTS / "confusion_cv.csv",
        ["actual", "predicted"],
        [{"actual": a, "predicted": p} for a, p in zip(all_labels, cv["model"])],
    )
    for name, rows in (("cv", cv_reliability), ("test", test_reliability)):
        write_csv(paths.PLOTS / f"reliability_{name}.csv", ["bin", "confidence", "accuracy", "pairs"], rows)
    # Six decimals: the last bits of a probability depend on the CPU's BLAS kernel, and this file is committed.
    write_csv(
        paths.REPORTS / "test_predictions.csv",
        ["article_id", "sentence_index", "actor", "predicted", *PROBABILITY_FIELDS],
        [
            {
                "article_id": r["article_id"],
                "sentence_index": r["sentence_index"],
                "actor": r["actor"],
                "predicted": predicted,
                **{name: f"{p:.6f}" for name, p in zip(PROBABILITY_FIELDS, row)},
            }
            for r, predicted, row in zip(test_rows, test_predicted, test_scores)
        ],
    )
    errors = [
        {
            "article_id": r["article_id"],
            "sentence_index": r["sentence_index"],
            "actor": r["actor"],
            "gold": gold,
            "predicted": predicted,
            "sentence": r["sentence"],
        }
        for r, gold, predicted in zip(all_rows, all_labels, cv["model"])
        if gold != predicted
    ]
    errors.sort(key=lambda e: (e["article_id"], e["sentence_index"], e["actor"]))
    write_csv(
        paths.REPORTS / "misclassified.csv",
        ["article_id", "sentence_index", "actor", "gold", "predicted", "sentence"],
        errors[: params.evaluate.max_misclassified],
    )
    write_model_card(
        paths.MODEL_CARD,
        params,
        target,
        model_metadata,
        metrics,
        train_set.to_list() + test_set.to_list(),  # every pair the shipped model was fit on
        dates,
        [name for name, _, _ in model.named_steps["features"].transformers],
    )
    write_csv(
        paths.REPORTS / "behaviour_failures.csv",
        ["model", "capability", "actor", "expected", "predicted", "sentence"],
        failures,
    )
    cv_model, test_model = metrics["cv"]["model"], metrics["test"]["model"]
    locked = metrics["locked"]["model"]
    print(
        f"locked test macro-F1 {locked['macro_f1']:.3f} (95% {locked['macro_f1_interval'][0]:.3f} to "
        f"{locked['macro_f1_interval'][1]:.3f}, {locked['articles']} unseen articles); "
        f"grouped CV macro-F1 {cv_model['macro_f1']:.3f} (majority {metrics['cv']['majority']['macro_f1']:.3f}, "
        f"keyword rule {metrics['cv']['keyword_rule']['macro_f1']:.3f}); test macro-F1 {test_model['macro_f1']:.3f}; "
        f"behavioural pass rate {behaviour['all']:.3f}; calibration ({params.train.calibration}) "
        f"grouped-CV ECE {cv_calibration['ece']:.3f}, Brier {cv_calibration['brier']:.3f}"
    )
    if "finetuned_ensemble" in metrics:
        preset = metrics["finetuned_ensemble"]["locked"]
        print(
            f"the fine-tuned preset (finetune.enabled): locked test macro-F1 {preset['macro_f1']:.3f} (95% "
            f"{preset['macro_f1_interval'][0]:.3f} to {preset['macro_f1_interval'][1]:.3f}); test macro-F1 "
            f"{metrics['finetuned_ensemble']['test']['macro_f1']:.3f}; behavioural pass rate "
            f"{metrics['finetuned_ensemble']['behaviour']['all']:.3f}"
        )
    return metrics
