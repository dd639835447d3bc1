"""A candidate tried and not kept: the linear model also fit on word-swapped pairs the fine-tuned encoder labels.

    python benchmarks/teacher_swaps.py        # ~17 min on 2 cores; needs .[embeddings] and `dvc repro`

The linear model reads only the n-grams it was trained on; the preset's fine-tuned MiniLM reads
wordings beyond them but scores a hundredth as fast. This asks whether the encoder can teach the
n-grams new wordings (distillation through augmented text, as in Tang et al. 2019, "Distilling
task-specific knowledge from BERT into simple neural networks"). Each training pair is copied
with some words outside the actors' mentions swapped for a neighbour in the static vectors of
`models/static_vectors/` or dropped; the encoder, fit on the train split with the preset's
settings (`finetune` in params.yaml), labels each copy, since a swap can change what the sentence
says ("support" for "opposition"). The linear model is then fit on the train split and the copies.

Development only: everything is fit on the train split and scored on the held-out test split's
real pairs. The rule, written before the first run: look at the locked test only if a variant
beats the linear model fit on the same pairs by at least 0.010 macro-F1 there, support recall not
lower. No variant did (docs/QUALITY.md), so this script never reads the locked test.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pipeline  # noqa: E402, F401  (before numpy: it pins numpy's CPU kernels, README: Reproducible to the byte)

# isort: split
import numpy as np  # noqa: E402
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS  # noqa: E402
from sklearn.metrics import recall_score  # noqa: E402

from pipeline import paths  # noqa: E402
from pipeline.data.labels import LABELS, REAL, REWRITE, best_labels  # noqa: E402
from pipeline.data.splits import load_split, split_origins  # noqa: E402
from pipeline.evaluation.metrics import macro_f1  # noqa: E402
from pipeline.features.lexicon import load_cue_lexicon  # noqa: E402
from pipeline.features.static_vectors import load_vectors  # noqa: E402
from pipeline.modeling.build import build_model, calibration_groups, fit_deterministic, pair_weights  # noqa: E402
from pipeline.modeling.finetuned import FineTunedEncoder  # noqa: E402
from pipeline.modeling.predict import class_scores, pairs_frame  # noqa: E402
from pipeline.params import load_params  # noqa: E402

WORD = re.compile(r"[A-Za-z]+")
COPIES = {"real": 4, "other": 1}  # copies of each real pair, and of each synthetic or rewritten one
SWAP, DROP, NEIGHBOURS, SEED = 0.2, 0.05, 8, 0  # fixed before the first run


class Neighbours:
    """Each lower-case word's nearest whole words in the static vectors (cosine), not sharing its first 4 letters."""

    def __init__(self):
        tokenizer, vectors, _, _ = load_vectors()
        vocabulary = tokenizer.get_vocab()
        self.words = sorted(w for w in vocabulary if w.isalpha() and w.islower() and len(w) >= 3)
        self.index = {word: i for i, word in enumerate(self.words)}
        table = vectors[[vocabulary[w] for w in self.words]]
        self.unit = table / np.linalg.norm(table, axis=1, keepdims=True)
        self.cache: dict[str, list[str]] = {}

    def of(self, word: str) -> list[str]:
        if word not in self.cache:
            nearest = np.argsort(-(self.unit @ self.unit[self.index[word]]))[: NEIGHBOURS + 8]
            self.cache[word] = [self.words[j] for j in nearest if not self.words[j].startswith(word[:4])][:NEIGHBOURS]
        return self.cache[word]


def swapped(pair: dict, rng: np.random.Generator, neighbours: Neighbours) -> dict | None:
    """A copy of `pair` with some lower-case content words swapped or dropped, mentions moved to match;
    None if no word changed. Names, mentions and stop words stay as written."""
    text = pair["sentence"]
    kept = [tuple(span) for span in pair["mentions"] + pair["other_mentions"]]
    pieces, last, shifts = [], 0, []  # shifts: (offset in the old text, characters added there)
    for match in WORD.finditer(text):
        start, end = match.span()
        word = match.group()
        if any(start < e and s < end for s, e in kept) or not word.islower():
            continue
        if word in ENGLISH_STOP_WORDS or word not in neighbours.index:
            continue
        draw = rng.random()
        if draw < DROP:
            end_with_space = end + 1 if text[end : end + 1] == " " else end
            pieces.append(text[last:start])
            last = end_with_space
            shifts.append((start, start - end_with_space))
        elif draw < DROP + SWAP and (options := neighbours.of(word)):
            new = options[rng.integers(len(options))]
            pieces += [text[last:start], new]
            last = end
            shifts.append((start, len(new) - (end - start)))
    if not shifts:
        return None
    pieces.append(text[last:])

    def moved(offset: int) -> int:
        return offset + sum(added for at, added in shifts if at < offset)

    return pair | {
        "sentence": "".join(pieces),
        "mentions": [[moved(s), moved(e)] for s, e in pair["mentions"]],
        "other_mentions": [[moved(s), moved(e)] for s, e in pair["other_mentions"]],
        # A copy of a real report trains beside its source only, as a rewrite does; never scored
        "origin": REWRITE if pair["origin"] == REAL else pair["origin"],
    }


def macro_f1_and_recalls(gold, predicted) -> str:
    f1 = macro_f1(gold, predicted)
    recalls = recall_score(gold, predicted, labels=list(LABELS), average=None, zero_division=0)
    return f"macro-F1 {f1:.3f}, recall " + ", ".join(f"{label} {r:.2f}" for label, r in zip(LABELS, recalls))


def main() -> None:
    os.chdir(ROOT)
    params = load_params()
    lexicon = load_cue_lexicon(params.data.cues)
    train, train_labels = load_split(paths.TRAIN_SPLIT)
    test, test_labels = load_split(paths.TEST_SPLIT)
    rows = train.to_list()
    test_rows, gold, _, _ = split_origins(test.to_list(), test_labels)

    def held_out(extra_rows, extra_labels, extra_weights) -> str:
        fit_rows = rows + extra_rows
        model = fit_deterministic(
            build_model(params.train, lexicon),
            pairs_frame(fit_rows),
            train_labels + extra_labels,
            (pair_weights(rows, params.train) or [1.0] * len(rows)) + extra_weights,
            calibration_groups(fit_rows),
        )
        return macro_f1_and_recalls(gold, best_labels(class_scores(model, pairs_frame(test_rows))))

    print(f"linear model, train split only: {held_out([], [], [])}", flush=True)
    rng, neighbours = np.random.default_rng(SEED), Neighbours()
    copies = [
        copy
        for row in rows
        for _ in range(COPIES["real" if row["origin"] == REAL else "other"])
        if (copy := swapped(row, rng, neighbours)) is not None
    ]
    teacher = FineTunedEncoder(params.finetune).fit(rows, train_labels)
    scores = teacher.class_scores(copies)
    taught = best_labels(scores)
    source = [LABELS[copy["label"]] for copy in copies]
    agreeing = [i for i, (a, b) in enumerate(zip(taught, source)) if a == b]
    print(f"{len(copies)} swapped copies; the encoder keeps their source's label for {len(agreeing) / len(copies):.1%}")
    for weight in (0.5, 1.0):
        print(f"+ copies, the encoder's labels, weight {weight}: {held_out(copies, taught, [weight] * len(copies))}")
    soft = [(copy, label, float(p)) for copy, row in zip(copies, scores) for label, p in zip(LABELS, row) if p >= 0.05]
    for weight in (0.5, 1.0):
        print(
            f"+ copies, the encoder's probabilities as weights, weight {weight}: "
            f"{held_out([c for c, _, _ in soft], [label for _, label, _ in soft], [weight * p for _, _, p in soft])}"
        )
    chosen = [copies[i] for i in agreeing]
    print(
        f"+ copies where the encoder agrees, weight 0.5: {held_out(chosen, [taught[i] for i in agreeing], [0.5] * len(chosen))}"
    )
    print(f"+ copies, their source's label (no encoder), weight 0.5: {held_out(copies, source, [0.5] * len(copies))}")


if __name__ == "__main__":
    main()
