"""Quality against speed for candidate models: grouped-CV and locked-test macro-F1, and sentences per second.

    python benchmarks/candidates.py                       # every candidate below (needs `dvc repro` first)
    python benchmarks/candidates.py --only "static both" --cv-only

Each candidate is the current params.yaml with a few `train` keys changed. For each one:

- grouped CV macro-F1, exactly as the evaluate stage computes it (real pairs scored,
  synthetic pairs on every fold's training side): what a choice between candidates
  may be tuned on;
- unless --cv-only: the model fit on every labelled pair (as the train stage fits it),
  scored on the locked test, aggregate figures only (macro-F1 with its article-bootstrap
  interval, support and oppose recall), never a per-pair prediction; and the 95% interval
  of its macro-F1 minus the default's, resampling the same articles for both (paired), so
  a gain is read against the noise of the difference, not of each figure alone;
- unless --cv-only: sentences per second of bare featurise + predict_proba over every
  candidate pair of the locked test's articles, already split and matched (the floor of
  benchmarks/score_benchmark.py). The candidates take turns, --repeats rounds, and each
  keeps its best round, so a burst of load on a shared machine hits them alike. Sentences
  are all the sentences of those articles (each names an actor), as the scorer counts them.

Writes one row per candidate into plots/quality_speed.csv (rows of other candidates
already there are kept), which `dvc plots show plots/quality_speed.csv` draws. Figures
depend on the machine and its load; the README records one run.

The other quality benchmarks take their measures from here (finetuned_ensemble.py the locked figures
and the paired difference); word_clusters.py, block_weights.py and domain_copies.py also their rounds: `development_round`
(grouped CV and the held-out test of each arm) and `locked_round` (each arm's one look at the locked
test), with `measured` running an arm's build_model.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pipeline  # noqa: E402, F401  (before numpy: it pins numpy's CPU kernels, README: Reproducible to the byte)

# isort: split
import numpy as np  # noqa: E402

import pipeline.modeling.build as build  # noqa: E402
from pipeline import paths  # noqa: E402
from pipeline.data.actors import ActorRegistry  # noqa: E402
from pipeline.data.candidates import article_candidates  # noqa: E402
from pipeline.data.labels import best_labels, load_labelled_set  # noqa: E402
from pipeline.data.splits import every_labelled_pair, load_split, split_origins  # noqa: E402
from pipeline.data.text import split_sentences  # noqa: E402
from pipeline.evaluation.metrics import grouped_cv, locked_scores, macro_f1, scores  # noqa: E402
from pipeline.features.embeddings import forget_encoded  # noqa: E402
from pipeline.features.lexicon import load_cue_lexicon  # noqa: E402
from pipeline.files import atomic_output  # noqa: E402
from pipeline.modeling.build import fit_pairs, for_registry  # noqa: E402
from pipeline.modeling.predict import class_scores, pairs_frame  # noqa: E402
from pipeline.params import load_params  # noqa: E402

DROP_ORIGIN = "drop origin"  # not a train key: leave out the training pairs of this origin

CANDIDATES: dict[str, dict] = {
    "default": {"embeddings": "none"},
    "static sentence": {"embeddings": "static", "static_text": "sentence"},
    "static sentence, weight 0.5": {"embeddings": "static", "static_text": "sentence", "embedding_weight": 0.5},
    "static sentence, weight 2": {"embeddings": "static", "static_text": "sentence", "embedding_weight": 2.0},
    "static window": {"embeddings": "static", "static_text": "window"},
    "static both": {"embeddings": "static", "static_text": "both"},
    "static both, weight 0.5": {"embeddings": "static", "static_text": "both", "embedding_weight": 0.5},
    "static both, weight 2": {"embeddings": "static", "static_text": "both", "embedding_weight": 2.0},
    "VADER window sentiment": {"sentiment": "vader"},  # needs .[sentiment]
    "static sentence + VADER": {"embeddings": "static", "static_text": "sentence", "sentiment": "vader"},
    "MiniLM sentence": {"embeddings": "sentence"},  # needs .[embeddings]
    "MiniLM window": {"embeddings": "window"},  # the actor's window instead of the sentence
    "frame roles": {"frame_roles": True},  # the held cues again under the actor's role (cues.yaml)
    "neighbouring sentences": {"context_sentences": True},  # the sentences before and after, as a block
    "without word clusters": {"word_clusters": 0},  # the default before train.word_clusters
    "without rewrites": {DROP_ORIGIN: "rewrite"},  # the default, not trained on the rewrites (docs/REWRITES.md)
    "without synthetic text": {DROP_ORIGIN: "synthetic"},
}
OUTPUT = Path("plots/quality_speed.csv")
FIELDS = [
    "candidate",
    "cv_macro_f1",
    "locked_macro_f1",
    "locked_low",
    "locked_high",
    "support_recall",
    "oppose_recall",
    "delta_low",
    "delta_high",
    "sentences_per_second",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="+", choices=sorted(CANDIDATES), help="these candidates (default: all)")
    parser.add_argument("--cv-only", action="store_true", help="grouped CV only: never touch the locked test")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs over the locked articles; the best counts")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()
    os.chdir(ROOT)  # params.yaml names its files relative to the project
    params = load_params()
    lexicon = load_cue_lexicon(params.data.cues)
    registry = ActorRegistry.load(params.data.actors)
    real_rows, real_labels, extra_rows, extra_labels = labelled_pairs()

    rows, models, baseline = {}, {}, None
    names = args.only or list(CANDIDATES)
    if not args.cv_only and "default" not in names:
        names = ["default", *names]  # the paired difference needs the default's predictions
    for name in names:
        candidate = params.model_copy(deep=True)
        changes = dict(CANDIDATES[name])
        dropped = changes.pop(DROP_ORIGIN, None)
        for key, value in changes.items():
            setattr(candidate.train, key, value)
        kept = [i for i, row in enumerate(extra_rows) if row["origin"] != dropped]
        synthetic_rows, synthetic_labels = [extra_rows[i] for i in kept], [extra_labels[i] for i in kept]
        start = time.perf_counter()
        cv, _ = grouped_cv(candidate, real_rows, real_labels, lexicon, synthetic_rows, synthetic_labels)
        row = {"candidate": name, "cv_macro_f1": scores(real_labels, cv["model"])["macro_f1"]}
        print(f"{name}: grouped CV macro-F1 {row['cv_macro_f1']:.3f} ({time.perf_counter() - start:.0f} s)", flush=True)
        if not args.cv_only:
            models[name], figures, predicted = fit_and_score_locked(
                candidate, lexicon, registry, real_rows + synthetic_rows, real_labels + synthetic_labels
            )
            baseline = baseline or predicted
            row |= figures | paired_difference(candidate, registry, predicted, baseline)
            row["cv_macro_f1"] = round(row["cv_macro_f1"], 4)
            print(
                f"{name}: locked macro-F1 {row['locked_macro_f1']:.3f} ({row['locked_low']:.3f} to "
                f"{row['locked_high']:.3f}), support recall {row['support_recall']:.2f}, oppose recall "
                f"{row['oppose_recall']:.2f}, minus the default's {row['delta_low']:+.3f} to {row['delta_high']:+.3f}",
                flush=True,
            )
            rows[name] = row
    if rows:
        for name, speed in sentences_per_second(models, params, registry, args.repeats).items():
            rows[name]["sentences_per_second"] = speed
            print(f"{name}: {speed:,} sentences/s", flush=True)
        write_rows(args.output, rows)


def shipped_setup() -> tuple:
    """(params as the shipped model applies them to the target's registry, its cue lexicon, the registry):
    what every arm of a candidate benchmark starts from."""
    params = load_params(ROOT / "params.yaml")
    registry = ActorRegistry.load(params.data.actors)
    lexicon = load_cue_lexicon(params.data.cues, registry.actors)
    return params.model_copy(update={"train": for_registry(params.train, registry)}), lexicon, registry


def labelled_pairs() -> tuple[list, list, list, list]:
    """Every prepared pair (both splits) as real rows, their labels, the other rows (synthetic text and
    rewrites: trained on, never scored), their labels."""
    return split_origins(*every_labelled_pair())


def fit_and_score_locked(params, lexicon, registry, rows, labels) -> tuple:
    """The model fit on every labelled pair, its aggregate locked-test figures, and its locked predictions
    (kept in memory for the paired difference, never written)."""
    model = fit_pairs(params.train, lexicon, rows, labels)
    locked = load_labelled_set(params.data.locked, registry)
    predicted = best_labels(class_scores(model, pairs_frame(locked)))
    return model, locked_figures(params, locked, predicted), predicted


def development_data() -> tuple:
    """The prepared splits as ((train rows, labels), (extra rows, labels), (test rows, labels), (held-out
    rewrites, labels)): real pairs apart from the synthetic pairs and rewrites, which are trained on only."""
    train_set, train_set_labels = load_split(paths.TRAIN_SPLIT)
    train_rows, train_labels, extra_rows, extra_labels = split_origins(train_set.to_list(), train_set_labels)
    test_set, test_set_labels = load_split(paths.TEST_SPLIT)
    test_rows, test_labels, rewrites, rewrite_labels = split_origins(test_set.to_list(), test_set_labels)
    return (train_rows, train_labels), (extra_rows, extra_labels), (test_rows, test_labels), (rewrites, rewrite_labels)


def development_figures(params, lexicon, train, extra, test, held_out_rewrites) -> str:
    """Grouped CV over every real pair and the held-out test, as the evaluate stage computes them: what a
    candidate is developed on before any look at the locked test."""
    (train_rows, train_labels), (extra_rows, extra_labels) = train, extra
    (test_rows, test_labels), (rewrites, rewrite_labels) = test, held_out_rewrites
    holdout = fit_pairs(params.train, lexicon, train_rows + extra_rows, train_labels + extra_labels)
    test_f1 = scores(test_labels, best_labels(class_scores(holdout, pairs_frame(test_rows))))["macro_f1"]
    labels = train_labels + test_labels
    cv, _ = grouped_cv(
        params, train_rows + test_rows, labels, lexicon, extra_rows + rewrites, extra_labels + rewrite_labels
    )
    cv = scores(labels, cv["model"])
    recall = {label: cv["per_class"][label]["recall"] for label in ("support", "oppose")}
    return (
        f"grouped CV {cv['macro_f1']:.3f}, held-out test {test_f1:.3f}, "
        f"grouped-CV support / oppose recall {recall['support']:.2f} / {recall['oppose']:.2f}"
    )


def locked_figures(params, locked: list[dict], predicted: list[str]) -> dict:
    """A row's locked-test columns: macro-F1 with its article-bootstrap interval, support and oppose recall."""
    figures = locked_scores(
        locked,
        [pair["label"] for pair in locked],
        predicted,
        params.evaluate.bootstrap_resamples,
        params.evaluate.bootstrap_seed,
    )
    return {
        "locked_macro_f1": figures["macro_f1"],
        "locked_low": figures["macro_f1_interval"][0],
        "locked_high": figures["macro_f1_interval"][1],
        "support_recall": figures["per_class"]["support"]["recall"],
        "oppose_recall": figures["per_class"]["oppose"]["recall"],
    }


def locked_articles_pairs(params, registry) -> tuple[list[dict], int]:
    """Every candidate pair of the locked articles, and how many sentences they have: what the speeds count."""
    pairs, sentences = [], 0
    for article in sorted(Path(params.data.locked, "articles").glob("*.txt")):
        text = article.read_text(encoding="utf-8")
        sentences += len(split_sentences(text))
        pairs += article_candidates(article.stem, text, registry)
    return pairs, sentences


def sentences_per_second(models: dict, params, registry, repeats: int) -> dict[str, int]:
    """Featurise + predict_proba over every candidate pair of the locked articles; turns, best round each."""
    pairs, sentences = locked_articles_pairs(params, registry)
    for model in models.values():
        class_scores(model, pairs_frame(pairs[:10]))  # load vectors or encoders outside the clock
    best = dict.fromkeys(models, float("inf"))
    for _ in range(repeats):
        for name, model in models.items():
            forget_encoded()  # the locked sentences were encoded when they were scored: time the encoder again
            start = time.perf_counter()
            class_scores(model, pairs_frame(pairs))
            best[name] = min(best[name], time.perf_counter() - start)
    return {name: round(sentences / seconds) for name, seconds in best.items()}


def paired_difference(params, registry, predicted: list[str], baseline: list[str]) -> dict:
    """95% interval of macro-F1(candidate) - macro-F1(default), both on the same resampled articles."""
    locked = load_labelled_set(params.data.locked, registry)
    gold = np.array([pair["label"] for pair in locked])
    predicted, baseline = np.array(predicted), np.array(baseline)
    articles = sorted({pair["article_id"] for pair in locked})
    by_article = {a: [i for i, pair in enumerate(locked) if pair["article_id"] == a] for a in articles}
    rng = np.random.default_rng(params.evaluate.bootstrap_seed)
    differences = []
    for _ in range(params.evaluate.bootstrap_resamples):
        sample = [i for a in rng.choice(articles, size=len(articles)) for i in by_article[a]]
        ours, theirs, truth = list(predicted[sample]), list(baseline[sample]), list(gold[sample])
        f1 = [macro_f1(truth, ours, theirs), macro_f1(truth, theirs, ours)]  # over the same classes
        differences.append(f1[0] - f1[1])
    low, high = np.percentile(differences, [2.5, 97.5])
    return {"delta_low": round(float(low), 4), "delta_high": round(float(high), 4)}


def measured(params, builder, measure):
    """`measure(params)` with `builder` as build_model (None: the pipeline's own)."""
    shipped = build.build_model
    build.build_model = builder or shipped
    try:
        return measure(params)
    finally:
        build.build_model = shipped


def development_round(params, lexicon, arms: list) -> None:
    """Grouped CV and the held-out test of `params` (the shipped model), then of each (name, build_model) arm."""
    data = development_data()
    print(f"shipped: {development_figures(params, lexicon, *data)}", flush=True)
    for name, builder in arms:
        print(
            f"{name}: {measured(params, builder, lambda p: development_figures(p, lexicon, *data))}",
            flush=True,
        )


def locked_round(params, lexicon, registry, arms: list) -> None:
    """Each arm, (name, (params, build_model)), fit on every labelled pair: aggregate figures only, the paired
    difference from the first."""
    from pipeline.data.target import Target
    from pipeline.evaluation.behaviour import load_suite, run_suite
    from pipeline.evaluation.paraphrase import load_paraphrases, run_paraphrases

    real_rows, real_labels, extra_rows, extra_labels = labelled_pairs()
    suite = load_suite(params.data.behaviour, registry, Target.load(params.data.description))
    paraphrases = load_paraphrases(params.data.paraphrases, registry)
    models, baseline = {}, None
    for name, (arm_params, builder) in arms:
        models[name], row, predicted = measured(
            arm_params,
            builder,
            lambda p: fit_and_score_locked(p, lexicon, registry, real_rows + extra_rows, real_labels + extra_labels),
        )
        baseline = baseline or predicted
        row |= paired_difference(params, registry, predicted, baseline)
        behaviour = run_suite(models[name], suite, registry)[0]["all"]
        paraphrase = run_paraphrases(models[name], paraphrases, registry)
        print(
            f"{name}: locked macro-F1 {row['locked_macro_f1']:.3f} ({row['locked_low']:.3f} to "
            f"{row['locked_high']:.3f}), support / oppose recall {row['support_recall']:.2f} / "
            f"{row['oppose_recall']:.2f}, minus the first {row['delta_low']:+.3f} to {row['delta_high']:+.3f}; "
            f"behavioural suite {behaviour:.3f}; paraphrases {paraphrase}",
            flush=True,
        )
    for name, speed in sentences_per_second(models, params, registry, 5).items():
        print(f"{name}: {speed:,} sentences/s", flush=True)


def write_rows(path: Path, rows: dict[str, dict]) -> None:
    """Merge into the CSV by candidate name, in CANDIDATES order."""
    kept = {}
    if path.exists():
        with open(path, encoding="utf-8", newline="") as handle:
            kept = {row["candidate"]: row for row in csv.DictReader(handle)}
    kept |= rows
    order = [name for name in CANDIDATES if name in kept] + sorted(set(kept) - set(CANDIDATES))
    with atomic_output(path) as temporary, open(temporary, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(kept[name] for name in order)
    print(f"wrote {len(rows)} candidate(s) into {path}")


if __name__ == "__main__":
    main()
