"""A candidate: word clusters of the actor's window, so that unseen words count as the seen words they resemble.

    python benchmarks/word_clusters.py            # grouped CV and held-out test; needs `dvc repro`
    python benchmarks/word_clusters.py --locked   # the chosen variant against the model before it, once

The n-grams know only the words of the training text: "shelved" teaches nothing about "put on ice".
Word clusters (Brown clusters in Owoputi et al. 2013, k-means of word vectors in Turian et al. 2010)
are the classic sparse fix: every word of the actor's window is replaced by the id of its nearest
centroid among k-means clusters of the static vectors (`models/static_vectors/`, distilled from the
bundled MiniLM), keeping its marks (`L_`, `not_`, `power_`), and those ids become one more block of
n-grams beside the words. The clusters are fit on the training words only, inside the model, so
each fold of grouped CV fits its own; a word never seen is placed by its vector. Everything else is
the shipped pipeline. The arms use the pipeline's own `WordClusters` (pipeline/features/word_clusters.py,
`train.word_clusters` for the window), so this measures the code that ships.

Development only: grouped CV over the real articles and the held-out test of the model fit on the
train split. The rule, written before the first run: look at the locked test (once, for the variant
best on grouped CV) only if a variant gains at least 0.005 in grouped CV and the held-out test does
not fall. `--locked` then fits the model before (`train.word_clusters: 0`, the shipped model when this
was run) and that variant on every labelled pair (as the
train stage does) and prints, for each, the locked test's aggregate figures (never a per-pair
prediction), the paired difference, the behavioural and blind paraphrase suites, and sentences per
second of featurise + predict over the locked articles (benchmarks/candidates.py's measures).
"""

from __future__ import annotations

import sys
from pathlib import Path

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import Pipeline

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import candidates  # noqa: E402  (benchmarks/, the script's own folder)

import pipeline.modeling.build as build  # noqa: E402
from pipeline.data.actors import ActorRegistry  # noqa: E402
from pipeline.features.lexicon import load_cue_lexicon  # noqa: E402
from pipeline.features.tokens import VECTORIZER_TOKEN_PATTERN  # noqa: E402
from pipeline.features.word_clusters import WordClusters  # noqa: E402
from pipeline.modeling.build import for_registry  # noqa: E402
from pipeline.params import load_params  # noqa: E402

VARIANTS = [("window", 256), ("window", 1024), ("text", 1024)]  # (column, clusters), in the order run
CHOSEN = ("window", 1024)  # the best on grouped CV (0.802 against 0.786; held-out test 0.811, not lower)


def arm(params, column: str, clusters: int):
    """(params, build_model) for one arm: the window's clusters are the pipeline's own `train.word_clusters`;
    the whole text's are the same `WordClusters` in one more block, on the text column."""
    if column == "window":
        return params.model_copy(update={"train": params.train.model_copy(update={"word_clusters": clusters})}), None
    shipped = build.build_model

    def build_model(p, lexicon):
        model = shipped(p, lexicon)
        vectorizer = TfidfVectorizer(
            token_pattern=VECTORIZER_TOKEN_PATTERN, lowercase=False, sublinear_tf=True, ngram_range=(1, 2)
        )
        block = Pipeline([("clusters", WordClusters(clusters=clusters, seed=p.seed)), ("ngrams", vectorizer)])
        model.named_steps["features"].transformers.append((f"{column}_clusters", block, column))
        return model

    return params, build_model


def measured(params, builder, measure):
    """`measure(params)` with `builder` as build_model (None: the pipeline's own)."""
    shipped = build.build_model
    build.build_model = builder or shipped
    try:
        return measure(params)
    finally:
        build.build_model = shipped


def locked(params, lexicon, registry) -> None:
    """The model without word clusters and the chosen variant, fit on every labelled pair: aggregate figures only."""
    from pipeline.data.target import Target
    from pipeline.evaluation.behaviour import load_suite, run_suite
    from pipeline.evaluation.paraphrase import load_paraphrases, run_paraphrases

    real_rows, real_labels, extra_rows, extra_labels = candidates.labelled_pairs()
    suite = load_suite(params.data.behaviour, registry, Target.load(params.data.description))
    paraphrases = load_paraphrases(params.data.paraphrases, registry)
    models, baseline = {}, None
    for name, (arm_params, builder) in (
        ("without word clusters", (params, None)),
        (f"clusters of the {CHOSEN[0]}, k {CHOSEN[1]}", arm(params, *CHOSEN)),
    ):
        models[name], row, predicted = measured(
            arm_params,
            builder,
            lambda p: candidates.fit_and_score_locked(
                p, lexicon, registry, real_rows + extra_rows, real_labels + extra_labels
            ),
        )
        baseline = baseline or predicted
        row |= candidates.paired_difference(params, registry, predicted, baseline)
        behaviour = run_suite(models[name], suite, registry)[0]["all"]
        paraphrase = run_paraphrases(models[name], paraphrases, registry)
        print(
            f"{name}: locked macro-F1 {row['locked_macro_f1']:.3f} ({row['locked_low']:.3f} to "
            f"{row['locked_high']:.3f}), support / oppose recall {row['support_recall']:.2f} / "
            f"{row['oppose_recall']:.2f}, minus the model without {row['delta_low']:+.3f} to {row['delta_high']:+.3f}; "
            f"behavioural suite {behaviour:.3f}; paraphrases {paraphrase}",
            flush=True,
        )
    for name, speed in candidates.sentences_per_second(models, params, registry, 5).items():
        print(f"{name}: {speed:,} sentences/s", flush=True)


def main() -> int:
    params = load_params(ROOT / "params.yaml")
    registry = ActorRegistry.load(params.data.actors)
    lexicon = load_cue_lexicon(params.data.cues, registry.actors)
    # The arms are measured against the model before the clusters, which params.yaml now switches on itself.
    before = for_registry(params.train, registry).model_copy(update={"word_clusters": 0})
    params = params.model_copy(update={"train": before})
    if sys.argv[1:] == ["--locked"]:
        locked(params, lexicon, registry)
        return 0
    data = candidates.development_data()
    print(f"without word clusters: {candidates.development_figures(params, lexicon, *data)}", flush=True)
    for column, clusters in VARIANTS if len(sys.argv) < 2 else [(sys.argv[1], int(sys.argv[2]))]:
        figures = measured(*arm(params, column, clusters), lambda p: candidates.development_figures(p, lexicon, *data))
        print(f"clusters of the {column}, k {clusters}: {figures}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
