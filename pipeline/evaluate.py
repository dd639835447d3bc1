"""Stage 3, evaluate: how good is the model, against what, and where does it fail?

- held-out test split: the saved model's predictions;
- grouped cross-validation over every article (folds by article cluster, so no
  article or near-duplicate quote sits on both sides), refitting the same
  pipeline from params.yaml in each fold;
- the same figures for two baselines in the same run: the majority class, and a
  keyword rule that looks at the sentence only (any oppose cue -> oppose, else
  any support cue -> support, else neutral);
- the behavioural suite's pass rate per capability.

Writes metrics.json (dvc metrics), plots/confusion_{test,cv}.csv (dvc plots),
reports/misclassified.csv (cross-validated errors), reports/behaviour_failures.csv and
reports/test_predictions.csv (what the scorer must reproduce on the test articles).
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import numpy as np
from sklearn.base import clone
from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support
from sklearn.model_selection import StratifiedGroupKFold

from pipeline.actors import ActorRegistry
from pipeline.behaviour import load_suite, run_suite
from pipeline.datafiles import atomic_output, write_json
from pipeline.features import _phrase_regex, load_cue_lexicon, tokenize
from pipeline.labels import LABELS
from pipeline.outputs import PROBABILITY_FIELDS
from pipeline.model import MODEL_PATH, build_model, class_scores, fit_deterministic, load_model, pairs_frame
from pipeline.params import load_params
from pipeline.prepare import OUTPUT_DIR
from pipeline.train import load_split

METRICS = Path("metrics.json")
MODEL_CARD = Path("models/MODEL_CARD.md")
SOURCES = "SOURCES.jsonl"
PLOTS = Path("plots")
REPORTS = Path("reports")


def scores(gold: list[str], predicted: list[str], actors: list[str] | None = None) -> dict:
    precision, recall, f1, support = precision_recall_fscore_support(gold, predicted, labels=list(LABELS), zero_division=0)
    result = {
        "accuracy": round(accuracy_score(gold, predicted), 4),
        "macro_f1": round(f1_score(gold, predicted, labels=list(LABELS), average="macro", zero_division=0), 4),
        "per_class": {label: {"precision": round(float(p), 4), "recall": round(float(r), 4), "f1": round(float(f), 4),
                              "examples": int(n)}
                      for label, p, r, f, n in zip(LABELS, precision, recall, f1, support)},
    }
    if actors is not None:
        result["per_actor_f1"] = {}
        for actor in sorted(set(actors)):
            rows = [i for i, a in enumerate(actors) if a == actor]
            g, p = [gold[i] for i in rows], [predicted[i] for i in rows]
            result["per_actor_f1"][actor] = round(f1_score(g, p, average="macro", zero_division=0), 4)
    return result


def keyword_rule(pairs: list[dict], lexicon: dict) -> list[str]:
    """Baseline: sentence-level keywords from the cue lexicon, blind to which actor the pair is about."""
    oppose, support = _phrase_regex(lexicon["oppose"]), _phrase_regex(lexicon["support"])
    predicted = []
    for pair in pairs:
        joined = " ".join(tokenize(pair["sentence"]))
        predicted.append("oppose" if oppose.search(joined) else "support" if support.search(joined) else "neutral")
    return predicted


def majority(train_labels: list[str], n: int) -> list[str]:
    # Ties broken by LABELS order, so the baseline is deterministic.
    counts = Counter(train_labels)
    return [max(LABELS, key=lambda label: (counts[label], -LABELS.index(label)))] * n


def grouped_cv(params: dict, rows: list[dict], labels: list[str], lexicon: dict) -> dict[str, list[str]]:
    """Out-of-fold predictions of the model and both baselines, folds grouped by article cluster."""
    settings = params["evaluate"]
    folds = StratifiedGroupKFold(n_splits=settings["cv_folds"], shuffle=True, random_state=settings["cv_seed"])
    template = build_model(params["train"], lexicon)
    frame = pairs_frame(rows)
    y = np.array(labels)
    predictions = {name: np.empty(len(rows), dtype=object) for name in ("model", "majority")}
    for train_index, test_index in folds.split(frame, y, groups=[r["cluster"] for r in rows]):
        model = fit_deterministic(clone(template), frame.iloc[train_index], y[train_index])
        predictions["model"][test_index] = [LABELS[i] for i in class_scores(model, frame.iloc[test_index]).argmax(1)]
        predictions["majority"][test_index] = majority(list(y[train_index]), len(test_index))
    result = {name: list(values) for name, values in predictions.items()}
    result["keyword_rule"] = keyword_rule(rows, lexicon)
    return result


def write_rows(path: Path, fields: list[str], rows: list[dict]) -> None:
    with atomic_output(path) as temporary:
        with open(temporary, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=fields, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)


def evaluate(params: dict, model_path: Path = MODEL_PATH, data_dir: Path = OUTPUT_DIR) -> dict:
    model, model_metadata = load_model(model_path)
    lexicon = load_cue_lexicon(params["data"]["cues"])
    registry = ActorRegistry.load(params["data"]["actors"])
    train_set, train_labels = load_split(data_dir / "train.parquet")
    test_set, test_labels = load_split(data_dir / "test.parquet")
    test_rows = test_set.to_list()

    test_scores = class_scores(model, pairs_frame(test_rows))
    test_predicted = [LABELS[i] for i in test_scores.argmax(1)]
    test_actors = [r["actor"] for r in test_rows]

    all_rows = train_set.to_list() + test_rows
    all_labels = train_labels + test_labels
    all_actors = [r["actor"] for r in all_rows]
    cv = grouped_cv(params, all_rows, all_labels, lexicon)

    behaviour, failures = run_suite(model, load_suite(params["data"]["behaviour"], registry), registry)

    metrics = {
        "test": {
            "model": scores(test_labels, test_predicted, test_actors),
            "majority": scores(test_labels, majority(train_labels, len(test_labels))),
            "keyword_rule": scores(test_labels, keyword_rule(test_rows, lexicon)),
        },
        "cv": {name: scores(all_labels, predicted, all_actors if name == "model" else None)
               for name, predicted in cv.items()},
        "behaviour": behaviour,
        "examples": {"train": len(train_labels), "test": len(test_labels),
                     "per_class": {label: all_labels.count(label) for label in LABELS}},
    }
    write_json(METRICS, metrics)
    write_rows(PLOTS / "confusion_test.csv", ["actual", "predicted"],
               [{"actual": a, "predicted": p} for a, p in zip(test_labels, test_predicted)])
    write_rows(PLOTS / "confusion_cv.csv", ["actual", "predicted"],
               [{"actual": a, "predicted": p} for a, p in zip(all_labels, cv["model"])])
    write_rows(REPORTS / "test_predictions.csv", ["article_id", "sentence_index", "actor", "predicted", *PROBABILITY_FIELDS],
               [{"article_id": r["article_id"], "sentence_index": r["sentence_index"], "actor": r["actor"],
                 "predicted": predicted, **{name: repr(float(p)) for name, p in zip(PROBABILITY_FIELDS, row)}}
                for r, predicted, row in zip(test_rows, test_predicted, test_scores)])
    errors = [{"article_id": r["article_id"], "sentence_index": r["sentence_index"], "actor": r["actor"],
               "gold": gold, "predicted": predicted, "sentence": r["sentence"]}
              for r, gold, predicted in zip(all_rows, all_labels, cv["model"]) if gold != predicted]
    errors.sort(key=lambda e: (e["article_id"], e["sentence_index"], e["actor"]))
    write_rows(REPORTS / "misclassified.csv", ["article_id", "sentence_index", "actor", "gold", "predicted", "sentence"],
               errors[: params["evaluate"]["max_misclassified"]])
    write_model_card(MODEL_CARD, params, model_metadata, metrics, train_set, Path(params["data"]["articles"]) / SOURCES)
    write_rows(REPORTS / "behaviour_failures.csv", ["capability", "actor", "expected", "predicted", "sentence"], failures)
    return metrics


def write_model_card(path: Path, params: dict, model_metadata: dict, metrics: dict, train_set, sources: Path) -> None:
    """A short, human-readable card beside the model: what it is, what it was trained on, how good it is."""
    dates = {}
    if sources.exists():
        for line in sources.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            dates[record["id"]] = record.get("date")
    articles = sorted(set(train_set["article_id"]))
    known = sorted(d for d in (dates.get(a) for a in articles) if d)
    cv, test = metrics["cv"]["model"], metrics["test"]["model"]
    counts = Counter(LABELS[i] for i in train_set["label"])
    lines = [
        "# Model card: stance classifier",
        "",
        "Actor stance (support / oppose / neutral) toward the proposed NATO liaison office in Tokyo,",
        "one prediction per (sentence, actor) pair. Written by the evaluate stage; do not edit.",
        "",
        f"- Model: `models/model.skops` (skops; scikit-learn {model_metadata['sklearn_version']}), "
        f"feature version {model_metadata['feature_version']}",
        f"- Classifier: {params['train']['classifier']}, C={params['train']['C']}, "
        f"class_weight={params['train']['class_weight']}",
        f"- Training data: {len(train_set)} pairs from {len(articles)} articles, "
        f"sha256 {model_metadata['training_data_sha256'][:16]}…",
        f"- Training labels: " + ", ".join(f"{label} {counts[label]}" for label in LABELS),
        f"- Dates of the training articles: {known[0]} to {known[-1]} "
        f"({len(articles) - len(known)} articles undated)" if known else "- Dates of the training articles: unknown",
        f"- Grouped-CV macro-F1 {cv['macro_f1']:.3f} (accuracy {cv['accuracy']:.3f}); "
        f"held-out test macro-F1 {test['macro_f1']:.3f}",
        "- Per class (grouped CV): " + "; ".join(
            f"{label} P {cv['per_class'][label]['precision']:.2f} R {cv['per_class'][label]['recall']:.2f}"
            for label in LABELS),
        f"- Behavioural suite pass rate: {metrics['behaviour']['all']:.3f}",
        "",
        "## Params",
        "",
        "```json",
        json.dumps(params["train"], indent=2, sort_keys=True),
        "```",
        "",
        "Limits: trained on a few dozen English news articles about one story (2023-2025); labels follow",
        "docs/ANNOTATION.md. Scores on other targets or languages mean nothing.",
    ]
    with atomic_output(path) as temporary:
        temporary.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main(params_path: str = "params.yaml") -> None:
    metrics = evaluate(load_params(params_path))
    cv, test = metrics["cv"], metrics["test"]
    print(f"grouped CV macro-F1 {cv['model']['macro_f1']:.3f} (majority {cv['majority']['macro_f1']:.3f}, "
          f"keyword rule {cv['keyword_rule']['macro_f1']:.3f}); test macro-F1 {test['model']['macro_f1']:.3f}; "
          f"behavioural pass rate {metrics['behaviour']['all']:.3f}")


if __name__ == "__main__":
    from pipeline.cli import run_stage

    run_stage(main)
