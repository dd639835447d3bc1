"""A candidate beyond the linear model: MiniLM fine-tuned on the labelled pairs, averaged with it.

    python benchmarks/finetuned_ensemble.py            # held-out test, then the locked test (~30 min, 2 cores)
    python benchmarks/finetuned_ensemble.py --test-only [--seed N]   # development: never the locked test
    python benchmarks/finetuned_ensemble.py --from-stage   # no training: the preset the finetune stage trained

Needs `dvc repro` first and the embeddings extra (torch and the bundled MiniLM; nothing is
downloaded). The frozen MiniLM embeddings added nothing on the locked test (docs/QUALITY.md);
this asks whether the encoder, trained on the pairs themselves, reads wordings the n-grams miss.

The encoder and its training are the opt-in preset's (pipeline/modeling/finetuned.py, every
setting `finetune` in params.yaml; `finetune.enabled` is not read here). Its settings were fixed
before any figure was seen, the usual ones for a small encoder; the plain mean was kept after
other weights were looked at on the held-out test (docs/QUALITY.md). The preset's stage and the
evaluate stage measure the same two tests (metrics.json: finetuned_ensemble); this script adds
the paired difference from the linear model and the row of plots/quality_speed.csv.

1. Held-out test (development): both fit on the train split, scored on the test split; prints
   macro-F1 of the linear model, the encoder and their mean.
2. Locked test (unless --test-only): both fit on every labelled pair, as the train stage fits the
   shipped model; prints aggregate figures only, as benchmarks/candidates.py does (macro-F1 with
   its article-bootstrap interval, support and oppose recall, the paired difference from the
   linear model), and adds the row to plots/quality_speed.csv with sentences per second of
   featurise + predict over the locked articles' candidate pairs.

With --from-stage nothing is trained: the locked row (step 2) is measured for the shipped linear
model and the weights the finetune stage saved beside it (`dvc exp run -S finetune.enabled=true`
first), under its own name in plots/quality_speed.csv.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from candidates import (  # noqa: E402
    OUTPUT,
    labelled_pairs,
    locked_articles_pairs,
    locked_figures,
    paired_difference,
    write_rows,
)

from pipeline import paths  # noqa: E402
from pipeline.data.actors import ActorRegistry  # noqa: E402
from pipeline.data.labels import best_labels, load_labelled_set  # noqa: E402
from pipeline.data.splits import load_split, split_origins  # noqa: E402
from pipeline.evaluation.metrics import macro_f1  # noqa: E402
from pipeline.features.lexicon import load_cue_lexicon  # noqa: E402
from pipeline.modeling.build import fit_pairs  # noqa: E402
from pipeline.modeling.ensemble import average, load_ensemble  # noqa: E402
from pipeline.modeling.finetuned import MANIFEST, FineTunedEncoder, check_preset  # noqa: E402
from pipeline.modeling.persist import load_model  # noqa: E402
from pipeline.modeling.predict import class_scores, pairs_frame  # noqa: E402
from pipeline.params import load_params  # noqa: E402

NAME = "MiniLM fine-tuned, averaged with the default"
STAGE_NAME = "fine-tuned preset (the finetune stage's weights)"


def fit_both(params, lexicon, rows: list[dict], labels: list[str], seed: int | None = None):
    settings = params.finetune if seed is None else params.finetune.model_copy(update={"seed": seed})
    return fit_pairs(params.train, lexicon, rows, labels), FineTunedEncoder(settings).fit(rows, labels)


def scores_macro_f1(gold, scores) -> float:
    return macro_f1(gold, best_labels(scores))


def held_out_test(params, lexicon, seed: int | None) -> None:
    train, train_labels = load_split(paths.TRAIN_SPLIT)
    test, test_labels = load_split(paths.TEST_SPLIT)
    train_rows = train.to_list()
    linear, tuned = fit_both(params, lexicon, train_rows, train_labels, seed)
    test_rows, gold, _, _ = split_origins(test.to_list(), test_labels)  # only real pairs are scored
    a, b = class_scores(linear, pairs_frame(test_rows)), tuned.class_scores(test_rows)
    print(
        f"held-out test ({len(test_rows)} pairs, seed {params.finetune.seed if seed is None else seed}): linear {scores_macro_f1(gold, a):.3f}, fine-tuned {scores_macro_f1(gold, b):.3f}, "
        f"mean {scores_macro_f1(gold, average(a, b, params.finetune.weight)):.3f}",
        flush=True,
    )


def locked_test(params, lexicon) -> None:
    real_rows, real_labels, extra_rows, extra_labels = labelled_pairs()
    linear, tuned = fit_both(params, lexicon, real_rows + extra_rows, real_labels + extra_labels)
    locked_row(params, linear, tuned, params.finetune.weight, NAME)


def stage_locked_test(params) -> None:
    """The locked row of the preset the finetune stage trained: its weights, beside the shipped linear model."""
    model, metadata = load_model(paths.MODEL)
    manifest = check_preset(paths.FINETUNED, metadata)
    if not manifest:
        raise SystemExit(f"{paths.FINETUNED / MANIFEST}: the preset is off; run dvc exp run -S finetune.enabled=true")
    ensemble = load_ensemble(model, manifest, paths.FINETUNED)
    locked_row(params, ensemble.linear, ensemble.encoder, ensemble.weight, STAGE_NAME)  # the manifest's weight


def locked_row(params, linear, tuned, weight: float, name: str) -> None:
    registry = ActorRegistry.load(params.data.actors)
    locked = load_labelled_set(params.data.locked, registry)
    linear_scores = class_scores(linear, pairs_frame(locked))
    baseline = best_labels(linear_scores)  # the shipped model, for the paired difference
    predicted = best_labels(average(linear_scores, tuned.class_scores(locked), weight))
    row = (
        {"candidate": name}
        | locked_figures(params, locked, predicted)
        | paired_difference(params, registry, predicted, baseline)
    )
    pairs, sentences = locked_articles_pairs(params, registry)
    class_scores(linear, pairs_frame(pairs[:10]))  # first calls (tokenizers, caches) outside the clock
    tuned.class_scores(pairs[:10])
    start = time.perf_counter()
    class_scores(linear, pairs_frame(pairs))
    tuned.class_scores(pairs)
    row["sentences_per_second"] = round(sentences / (time.perf_counter() - start))
    print(
        f"locked test: macro-F1 {row['locked_macro_f1']:.3f} ({row['locked_low']:.3f} to {row['locked_high']:.3f}), "
        f"support recall {row['support_recall']:.2f}, oppose recall {row['oppose_recall']:.2f}, minus the "
        f"default's {row['delta_low']:+.3f} to {row['delta_high']:+.3f}; {row['sentences_per_second']:,} sentences/s",
        flush=True,
    )
    write_rows(OUTPUT, {name: row})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--test-only", action="store_true", help="the held-out test only: never touch the locked test")
    parser.add_argument("--seed", type=int, help="with --test-only: another seed than finetune.seed, to see the spread")
    parser.add_argument(
        "--from-stage", action="store_true", help="no training: the locked row of the finetune stage's preset"
    )
    args = parser.parse_args()
    if args.seed is not None and not args.test_only:
        parser.error("--seed needs --test-only: the locked test is measured once, with the fixed seed")
    if args.from_stage and args.test_only:
        parser.error("--from-stage measures the locked test; the stage's own held-out figures are in metrics.json")
    os.chdir(ROOT)
    params = load_params()
    if args.from_stage:
        stage_locked_test(params)
        return
    lexicon = load_cue_lexicon(params.data.cues)
    held_out_test(params, lexicon, args.seed)
    if not args.test_only:
        locked_test(params, lexicon)


if __name__ == "__main__":
    main()
