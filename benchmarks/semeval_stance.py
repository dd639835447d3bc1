"""SemEval-2016 Task 6 stance (as TweetEval packages it), scored with this project's own model.

    python benchmarks/semeval_stance.py PATH [--embeddings none|sentence] [--sentiment] [--preset] [--other-targets]
        [--none-offset] [--word-clusters] [--layers]

PATH is a local copy of TweetEval's `datasets/stance` folder (github.com/cardiffnlp/tweeteval):
five targets (abortion, atheism, climate, feminist, hillary), each with train, val and test
files of one tweet a line and labels 0 none, 1 against, 2 favor. The tweets are not part of
this project; nothing is downloaded.

The unit here is the author's stance: a tweet names no actor, so the pairs come from the
project's candidate generator with a registry of the author unit (`author: document`: one pair
per tweet, held by its author), and the model is `build_model` from the `train` params as they
apply to that unit (`for_registry`: no actor window). The cue features are the author's (the
stance cues of the shipped lexicon that no named actor holds) or off, as validation chooses;
everything else, the negation scope, word and character n-grams, the optional MiniLM sentence
embeddings and the classifier, is the project's. One model per target. The settings below are chosen on the validation split only
(pooled over targets); the chosen model is refit on train + validation and scored once on test.

With `--preset` it also scores the quality issue's opt-in preset (README: "The fine-tuned
preset"): MiniLM fine-tuned with params.yaml's `finetune` settings, one encoder for the five
targets (the tweet as the sentence, SemEval's name of the target as the second segment), its
probabilities averaged with the chosen linear model's. The rule was fixed before its first run:
test is scored only if, fit on train, the mean beats the linear model on validation by at least
1.0; then both are refit on train + validation. Needs the `embeddings` extra.

With `--sentiment` the grid also tries VADER's valences of the whole tweet: the sums of its
positive and of its negative words in the `sentiment` extra's lexicon, a negator's scope swapping
them, as `train.sentiment: vader` sums an actor's window. They are kept only if their best
setting beats the best without them on validation by at least 1.0 (the preset's rule); otherwise
test is scored without them, as before. Needs the `sentiment` extra.

With `--other-targets` each target's model also learns the other four targets' tweets, weighing
0.1 or 0.3 each against 1 for its own: against and favor mean other things for other targets, but
how a tweet takes a side may carry over. Tried with the chosen settings on validation only, and
kept only if it beats them there by at least 1.0 (the same rule); otherwise test is scored as before.

With `--none-offset` the chosen model's probability of `none` is lowered by one offset before the
argmax, the five targets sharing it: the metric counts no F1 for `none`, so a model that says `none`
only when it is sure may gain more on against and favor than it loses. The offset (0.05 to 0.30) is
chosen on validation with the chosen settings fit on train, and kept only if it beats no offset there
by at least 1.0 (the same rule); then it is applied to the model refit on train + validation.

With `--word-clusters` the chosen model also reads the tweet in word clusters: each word replaced by
its k-means cluster of static word vectors (`models/static_vectors/`, distilled from MiniLM), fit on
the words the target's model is trained on, as one more block of word n-grams, as `train.word_clusters`
reads an actor's window (word clusters, as Owoputi et al. 2013 used for tweets). k is 256 or 1,024.
Tried with the chosen settings fit on train, on validation only, and kept only if it beats them there
by at least 1.0 (the same rule, written before the first run); otherwise test is scored as before.

With `--layers` (and `--embeddings sentence`) the chosen model reads MiniLM through more of its layers,
in place of the mean over tokens of its last layer (the sentence embedding): the token means of each of
its last four layers side by side, or the mean of its first and last layers' token means (as feature-based
uses of BERT-like encoders do). Tried with the chosen settings fit on train, on validation only, and kept
only if it beats them there by at least 1.0 (the same rule, written before the first run); otherwise test
is scored as before. Needs the `embeddings` extra.

The metric is TweetEval's for stance: the mean of the F1 of `against` and of `favor`, with the
five targets' test predictions pooled. The last line printed ends in `F_avg=NN.N`.
"""

from __future__ import annotations

import argparse
import itertools
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pipeline  # noqa: E402, F401  (before numpy: it pins numpy's CPU kernels, README: Reproducible to the byte)

# isort: split
import numpy as np  # noqa: E402
from sklearn.base import BaseEstimator, TransformerMixin  # noqa: E402
from sklearn.metrics import f1_score  # noqa: E402

from pipeline.data.actors import ActorRegistry  # noqa: E402
from pipeline.data.candidates import article_candidates  # noqa: E402
from pipeline.data.labels import LABELS, best_labels  # noqa: E402
from pipeline.errors import DataError  # noqa: E402
from pipeline.features.lexicon import load_cue_lexicon  # noqa: E402
from pipeline.features.sentiment import WindowSentiment  # noqa: E402
from pipeline.modeling.build import build_model, cluster_ngrams, fit_deterministic, for_registry  # noqa: E402
from pipeline.modeling.predict import class_scores, pairs_frame  # noqa: E402
from pipeline.params import load_params  # noqa: E402

TARGETS = ["abortion", "atheism", "climate", "feminist", "hillary"]
LABEL_OF = {"0": "neutral", "1": "oppose", "2": "support"}  # none / against / favor in this project's names
LEADERBOARD = [  # TweetEval's published test figures (F_avg of against and favor, pooled)
    ("SVM", 67.3),
    ("FastText", 65.4),
    ("LSTM", 59.4),
    ("RoBERTa-base", 68.0),
    ("RoBERTa retrained on tweets", 69.3),
    ("BERTweet", 71.2),
    ("TimeLMs-2021", 72.9),
]
# Every tweet of the task carries the hashtag the organisers searched for; it says nothing.
DATASET_TAG = re.compile(r"\s*#SemST\b", re.IGNORECASE)
GRID = {
    "C": [0.3, 1.0, 3.0, 10.0],
    "char_ngrams": [[0, 0], [2, 5]],
    "class_weight": ["balanced", "none"],
    "cue_features": [True, False],
}
# SemEval-2016's own names of the targets: the encoder's second segment, as an actor's id is in the preset
TARGET_NAMES = {
    "abortion": "Legalization of Abortion",
    "atheism": "Atheism",
    "climate": "Climate Change is a Real Concern",
    "feminist": "Feminist Movement",
    "hillary": "Hillary Clinton",
}
PRESET_MARGIN = 1.0  # F_avg on validation by which the preset must beat the linear model before test is read
SENTIMENT_MARGIN = 1.0  # and by which the tweet's VADER valences must beat the settings without them
OTHER_TARGET_WEIGHTS = [0.1, 0.3]  # --other-targets: the weight of the other four targets' tweets in a target's fit
OTHER_TARGETS_MARGIN = 1.0  # F_avg on validation by which they must beat the chosen settings without them
NONE_OFFSETS = [0.05, 0.10, 0.15, 0.20, 0.25, 0.30]  # --none-offset: taken from the probability of `none`
NONE_OFFSET_MARGIN = 1.0  # F_avg on validation by which an offset must beat none
TWEET_CLUSTERS = [256, 1024]  # --word-clusters: k of the k-means clusters of the tweets' words
TWEET_CLUSTERS_MARGIN = 1.0  # F_avg on validation by which they must beat the chosen settings without them
LAYER_READINGS = ["last four", "first and last"]  # --layers: how MiniLM's layers are read, besides its last alone
LAYERS_MARGIN = 1.0  # F_avg on validation by which a reading must beat the last layer alone
AUTHORS = ActorRegistry({}, {}, [], author="document")  # what `author: document` in actors.yaml loads


def read_split(folder: Path, split: str) -> tuple[list[str], list[str]]:
    texts_path, labels_path = folder / f"{split}_text.txt", folder / f"{split}_labels.txt"
    for path in (texts_path, labels_path):
        if not path.is_file():
            raise DataError(path, None, "missing; PATH must be TweetEval's datasets/stance folder")
    texts = texts_path.read_text(encoding="utf-8").splitlines()
    labels = labels_path.read_text(encoding="utf-8").splitlines()
    if len(texts) != len(labels):
        raise DataError(labels_path, None, f"{len(labels)} labels for {len(texts)} tweets in {texts_path.name}")
    for line, label in enumerate(labels, start=1):
        if label.strip() not in LABEL_OF:
            raise DataError(labels_path, line, f"label {label!r} is not 0, 1 or 2")
    return [DATASET_TAG.sub("", t).strip() for t in texts], [LABEL_OF[label.strip()] for label in labels]


def document_pairs(texts: list[str]):
    """One pair per tweet, its holder the author, from the project's candidate generator."""
    pairs = [next(article_candidates(str(i), text or ".", AUTHORS)) for i, text in enumerate(texts)]
    return pairs_frame(pairs)


def author_params(base, **overrides):
    """The project's train params as they apply to the author unit, with the grid's overrides.

    The word clusters of params.yaml read an actor's window; the tweet's own come only from --word-clusters."""
    values = for_registry(base, AUTHORS).model_dump() | {"word_clusters": 0} | overrides
    values["synthetic_weight"] = 1.0
    return type(base).model_validate(values)


class LayerEmbedder(BaseEstimator, TransformerMixin):
    """Tweets -> MiniLM's token means of several layers (--layers), rounded as the embeddings column rounds.

    "last": the last layer's, unit length (what `SentenceEmbedder` gives); "last four": each of the last
    four layers' at unit length, side by side, halved so the whole has unit length; "first and last": the
    mean of the first and last layers' means, at unit length."""

    _means: dict[str, np.ndarray] = {}  # text -> (layers + 1, 384), one encoding per text and process

    def __init__(self, reading: str = "last"):
        self.reading = reading

    def fit(self, X, y=None):
        return self

    def transform(self, X) -> np.ndarray:
        from pipeline.features.embeddings import DECIMALS, tags_as_words

        texts = [tags_as_words(str(t)) for t in (X.tolist() if hasattr(X, "tolist") else X)]
        self._encode([t for t in dict.fromkeys(texts) if t not in self._means])
        means = np.stack([self._means[t] for t in texts])
        if self.reading == "last":
            vectors = _unit(means[:, -1])
        elif self.reading == "last four":
            vectors = np.concatenate([_unit(means[:, k]) / 2 for k in (-4, -3, -2, -1)], axis=1)
        else:  # "first and last": layer 1, the first transformer layer (0 is the token embeddings)
            vectors = _unit((means[:, 1] + means[:, -1]) / 2)
        return np.round(vectors, DECIMALS)

    @classmethod
    def _encode(cls, texts: list[str]) -> None:
        import torch

        from pipeline.features.embeddings import _load_encoder

        encoder = _load_encoder()
        tokenizer, model = encoder[0].tokenizer, encoder[0].auto_model
        for start in range(0, len(texts), 64):
            batch = texts[start : start + 64]
            tokens = tokenizer(
                batch, padding=True, truncation=True, max_length=encoder.max_seq_length, return_tensors="pt"
            )
            with torch.no_grad():
                layers = model(**tokens, output_hidden_states=True).hidden_states
            mask = tokens["attention_mask"].unsqueeze(-1).float()
            means = np.stack([((h * mask).sum(1) / mask.sum(1).clamp(min=1e-9)).numpy() for h in layers], axis=1)
            cls._means.update(zip(batch, means.astype(np.float64)))


def _unit(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.maximum(np.linalg.norm(vectors, axis=-1, keepdims=True), 1e-12)


def tweet_model(params, lexicon, layers: str | None = None):
    """`build_model` for the author unit; with `sentiment: vader`, VADER's valences of the whole tweet too,
    and with `word_clusters: k`, the tweet's words as k clusters (the model reads both in an actor's window,
    which the author unit has not); with `layers`, MiniLM's layers read so in place of the sentence embedding."""
    model = build_model(params, lexicon)
    columns = model.named_steps["features"].transformers
    if layers:
        columns[:] = [(n, LayerEmbedder(layers) if n == "embeddings" else t, c) for n, t, c in columns]
    if params.sentiment == "vader":
        columns.append(("sentiment", WindowSentiment(), "text"))
    if params.word_clusters:
        columns.append(("text_clusters", cluster_ngrams(params), "text"))
    return model


def fit_scores(params, lexicon, train_texts, train_labels, texts, weights=None, layers=None) -> np.ndarray:
    model = fit_deterministic(tweet_model(params, lexicon, layers), document_pairs(train_texts), train_labels, weights)
    return class_scores(model, document_pairs(texts))


def fit_predict(
    params, lexicon, train_texts, train_labels, texts, weights=None, none_offset=0.0, layers=None
) -> list[str]:
    scores = fit_scores(params, lexicon, train_texts, train_labels, texts, weights, layers)
    return with_none_offset(scores, none_offset)


def with_none_offset(scores: np.ndarray, offset: float) -> list[str]:
    """The best label of each row once `offset` is taken from the score of `none` (neutral)."""
    return best_labels(scores - offset * (np.array(LABELS) == "neutral"))


def with_other_targets(data, target: str, splits: list[str], weight: float):
    """A target's tweets of `splits` (weight 1), then the other four targets' (`weight`): against and favor
    mean other things for other targets, but how a tweet takes a side may carry over."""
    own = [(x, y) for split in splits for x, y in zip(*data[target][split])]
    other = [(x, y) for t in TARGETS if t != target for split in splits for x, y in zip(*data[t][split])]
    texts, labels = [x for x, _ in own + other], [y for _, y in own + other]
    return texts, labels, [1.0] * len(own) + [weight] * len(other)


def fit_data(data, target: str, splits: list[str], other_weight: float | None):
    """(texts, labels, weights) a target's model is fit on: its tweets of `splits`, with the other targets'
    weighing `other_weight` where --other-targets kept them (weights None: all weigh 1)."""
    if other_weight:
        return with_other_targets(data, target, splits, other_weight)
    return (
        [x for split in splits for x in data[target][split][0]],
        [y for split in splits for y in data[target][split][1]],
        None,
    )


def validation_f_avg(params, lexicon, data, other_weight: float | None, layers: str | None = None) -> float:
    """F_avg on validation, the five targets pooled, of `params` fit on each target's train split (with
    the other targets' tweets weighing `other_weight`, where given)."""
    gold, predicted = [], []
    for target in TARGETS:
        texts, labels, weights = fit_data(data, target, ["train"], other_weight)
        gold += data[target]["val"][1]
        predicted += fit_predict(params, lexicon, texts, labels, data[target]["val"][0], weights, layers=layers)
    return f_avg(gold, predicted)


def encoder_pairs(target: str, texts: list[str]) -> list[dict]:
    from pipeline.features.embeddings import tags_as_words

    return [{"sentence": tags_as_words(t), "mentions": [], "actor": TARGET_NAMES[target]} for t in texts]


def preset_scores(settings, data, params, lexicon, fit_splits, scored_split, layers=None):
    """Gold labels and the linear, fine-tuned and averaged probabilities of `scored_split`, the targets pooled."""
    from pipeline.modeling.ensemble import average
    from pipeline.modeling.finetuned import FineTunedEncoder

    fit_x, fit_y, gold, linear, pairs = [], [], [], [], []
    for target in TARGETS:
        texts, labels, _ = fit_data(data, target, fit_splits, None)
        fit_x += encoder_pairs(target, texts)
        fit_y += labels
        scored_x, scored_y = data[target][scored_split]
        gold += scored_y
        pairs += encoder_pairs(target, scored_x)
        linear.append(fit_scores(params, lexicon, texts, labels, scored_x, layers=layers))
    tuned = FineTunedEncoder(settings, switched_on_by="--preset").fit(fit_x, fit_y).class_scores(pairs)
    linear = np.concatenate(linear)
    return gold, {"linear": linear, "fine-tuned": tuned, "mean": average(linear, tuned, settings.weight)}


def report_preset(split: str, gold: list[str], scores: dict) -> dict[str, float]:
    figures = {name: f_avg(gold, best_labels(s)) for name, s in scores.items()}
    print(f"preset, {split}: " + ", ".join(f"{name} F_avg={score:.1f}" for name, score in figures.items()))
    return figures


def f_avg(gold: list[str], predicted: list[str]) -> float:
    """TweetEval's stance metric: mean F1 of against (oppose) and favor (support), in percent."""
    return 100 * float(np.mean(f1_score(gold, predicted, labels=["oppose", "support"], average=None)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", type=Path, help="TweetEval's datasets/stance folder")
    parser.add_argument("--embeddings", choices=["none", "sentence"], default="none")
    parser.add_argument("--sentiment", action="store_true", help="also VADER's valences of the tweet (.[sentiment])")
    parser.add_argument("--preset", action="store_true", help="also the fine-tuned preset (needs .[embeddings])")
    parser.add_argument(
        "--other-targets", action="store_true", help="also each target trained with the others' tweets, down-weighted"
    )
    parser.add_argument("--none-offset", action="store_true", help="also an offset on the probability of none")
    parser.add_argument("--word-clusters", action="store_true", help="also the tweet's words as k-means clusters")
    parser.add_argument("--layers", action="store_true", help="also MiniLM read through more of its layers")
    args = parser.parse_args()
    if args.layers and args.embeddings != "sentence":
        parser.error("--layers reads MiniLM's layers in place of the sentence embedding: give --embeddings sentence")
    try:
        data = {t: {s: read_split(args.path / t, s) for s in ("train", "val", "test")} for t in TARGETS}
    except DataError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    project = load_params(ROOT / "params.yaml")
    base, lexicon = project.train, load_cue_lexicon(ROOT / project.data.cues)

    # Choose the settings on validation, pooled over the five targets.
    grid = GRID | ({"sentiment": ["none", "vader"]} if args.sentiment else {})
    best = {}  # the best validation score and its settings, without and with the tweet's valences
    for values in itertools.product(*grid.values()):
        params = author_params(base, embeddings=args.embeddings, **dict(zip(grid, values)))
        score = validation_f_avg(params, lexicon, data, None)
        print(f"validation {dict(zip(grid, values))}: F_avg={score:.1f}")
        if params.sentiment not in best or score > best[params.sentiment][0]:
            best[params.sentiment] = (score, params, dict(zip(grid, values)))

    if "vader" in best:
        gain = best["vader"][0] - best["none"][0]
        print(f"the tweet's valences: best validation {best['vader'][0]:.1f} against {best['none'][0]:.1f}", end="")
        print("; kept" if gain >= SENTIMENT_MARGIN else f"; not kept (gain below {SENTIMENT_MARGIN})")
    chosen_score, params, chosen = best["vader"] if "vader" in best and gain >= SENTIMENT_MARGIN else best["none"]
    other_weight, best_other = None, chosen_score + OTHER_TARGETS_MARGIN
    if args.other_targets:  # with the chosen settings, on validation only
        for weight in OTHER_TARGET_WEIGHTS:
            score = validation_f_avg(params, lexicon, data, weight)
            print(f"validation, other targets weighing {weight}: F_avg={score:.1f} against {chosen_score:.1f}")
            if score >= best_other:
                other_weight, best_other = weight, score
        print(
            "other targets: "
            + (f"kept, weighing {other_weight}" if other_weight else f"not kept (gain below {OTHER_TARGETS_MARGIN})")
        )
        chosen = chosen | ({"other_targets": other_weight} if other_weight else {})
    if args.word_clusters:  # with the chosen settings fit on train, on validation only
        current_score = best_other if other_weight else chosen_score  # with the other targets' tweets, if kept
        kept_k, best_score = 0, current_score + TWEET_CLUSTERS_MARGIN
        for k in TWEET_CLUSTERS:
            score = validation_f_avg(params.model_copy(update={"word_clusters": k}), lexicon, data, other_weight)
            print(f"validation, the tweet's words as {k} clusters too: F_avg={score:.1f} against {current_score:.1f}")
            if score >= best_score:
                kept_k, best_score = k, score
        print("word clusters: " + (f"kept, k {kept_k}" if kept_k else f"not kept (gain below {TWEET_CLUSTERS_MARGIN})"))
        if kept_k:
            params, chosen = params.model_copy(update={"word_clusters": kept_k}), chosen | {"word_clusters": kept_k}
    layers = None
    if args.layers:  # with the chosen settings fit on train, on validation only
        current_score = validation_f_avg(params, lexicon, data, other_weight)  # with what was kept above
        best_score = current_score + LAYERS_MARGIN
        for reading in LAYER_READINGS:
            score = validation_f_avg(params, lexicon, data, other_weight, reading)
            print(f"validation, MiniLM's layers read as {reading}: F_avg={score:.1f} against {current_score:.1f}")
            if score >= best_score:
                layers, best_score = reading, score
        print("layers: " + (f"kept, {layers}" if layers else f"not kept (gain below {LAYERS_MARGIN})"))
        chosen = chosen | ({"layers": layers} if layers else {})
    none_offset = 0.0
    if args.none_offset:  # with the chosen settings fit on train, on validation only
        gold, scores = [], []
        for target in TARGETS:
            val_x, val_y = data[target]["val"]
            texts, labels, weights = fit_data(data, target, ["train"], other_weight)
            gold += val_y
            scores.append(fit_scores(params, lexicon, texts, labels, val_x, weights, layers))
        scores = np.concatenate(scores)
        unshifted = f_avg(gold, with_none_offset(scores, 0.0))
        best_offset = unshifted + NONE_OFFSET_MARGIN
        for offset in NONE_OFFSETS:
            score = f_avg(gold, with_none_offset(scores, offset))
            print(f"validation, none's probability less {offset:.2f}: F_avg={score:.1f} against {unshifted:.1f}")
            if score >= best_offset:
                none_offset, best_offset = offset, score
        print(
            "none offset: "
            + (f"kept, {none_offset:.2f}" if none_offset else f"not kept (gain below {NONE_OFFSET_MARGIN})")
        )
        chosen = chosen | ({"none_offset": none_offset} if none_offset else {})
    gold, predicted = [], []
    for target in TARGETS:
        test_x, test_y = data[target]["test"]
        texts, labels, weights = fit_data(data, target, ["train", "val"], other_weight)
        target_predicted = fit_predict(params, lexicon, texts, labels, test_x, weights, none_offset, layers)
        print(f"test {target}: F_avg={f_avg(test_y, target_predicted):.1f} ({len(test_y)} tweets)")
        gold += test_y
        predicted += target_predicted
    print("\nTweetEval leaderboard (test, F_avg):")
    for name, score in LEADERBOARD:
        print(f"  {name:<28} {score:.1f}")
    if args.preset:
        figures = report_preset(
            "validation", *preset_scores(project.finetune, data, params, lexicon, ["train"], "val", layers)
        )
        if figures["mean"] - figures["linear"] >= PRESET_MARGIN:
            test = report_preset(
                "test", *preset_scores(project.finetune, data, params, lexicon, ["train", "val"], "test", layers)
            )
            print(f"  the preset (mean of the two), test: F_avg={test['mean']:.1f}")
        else:
            print(f"preset: not scored on test (validation gain below {PRESET_MARGIN})")
    print(f"this project, embeddings={args.embeddings}, {chosen}: F_avg={f_avg(gold, predicted):.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
