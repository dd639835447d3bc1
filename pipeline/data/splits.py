"""The prepared splits: labelled pairs grouped into article clusters, split by cluster.

Articles that share a near-duplicate sentence (the same quotation reported by several
outlets) form one cluster that stays on one side of every split, so no quote is both
trained and tested on. A split is a Hugging Face `datasets` table whose label is a
ClassLabel, stored as Parquet.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
from datasets import ClassLabel, Dataset, Features, List, Value
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import GroupShuffleSplit

from pipeline.data.labels import LABELS, REAL
from pipeline.errors import DataError
from pipeline.files import atomic_output, files_sha256
from pipeline.paths import PREPARE_SUMMARY, TEST_SPLIT, TRAIN_SPLIT

FEATURES = Features(
    {
        "article_id": Value("string"),
        "sentence_index": Value("int32"),
        "sentence": Value("string"),
        "actor": Value("string"),
        "mentions": List(List(Value("int32"))),
        "other_mentions": List(List(Value("int32"))),
        "previous_sentence": Value("string"),
        "next_sentence": Value("string"),
        "cluster": Value("string"),  # articles linked by near-duplicate sentences; the unit of splitting
        "origin": Value("string"),  # where the article comes from: REAL, SYNTHETIC or REWRITE (pipeline.data.labels)
        "label": ClassLabel(names=list(LABELS)),
    }
)


def article_clusters(examples: list[dict], threshold: float, min_words: int) -> dict[str, str]:
    """Map each article to its cluster: articles joined when they share a near-duplicate sentence."""
    sentences = sorted({(e["article_id"], e["sentence"]) for e in examples if len(e["sentence"].split()) >= min_words})
    parent = {e["article_id"]: e["article_id"] for e in examples}

    def root(article):
        while parent[article] != article:
            article = parent[article]
        return article

    if len(sentences) > 1:
        vectors = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True).fit_transform([s for _, s in sentences])
        similar = (vectors @ vectors.T).tocoo()
        for i, j, cosine in zip(similar.row, similar.col, similar.data):
            a, b = sentences[i][0], sentences[j][0]
            if a != b and cosine >= threshold:
                first, second = sorted((root(a), root(b)))
                parent[second] = first
    return {article: root(article) for article in parent}


def split_by_cluster(examples: list[dict], test_fraction: float, seed: int) -> tuple[list[dict], list[dict]]:
    clusters = np.array([e["cluster"] for e in examples])
    if len(set(clusters)) < 2:
        raise DataError(
            "params.yaml",
            None,
            f"only {len(set(clusters))} group of articles (articles sharing a quote "
            "form one group); the train/test split needs at least 2: add articles",
        )
    if math.ceil(test_fraction * len(set(clusters))) >= len(set(clusters)):  # how GroupShuffleSplit counts them
        raise DataError(
            "params.yaml",
            None,
            f"prepare.test_fraction {test_fraction} leaves none of the {len(set(clusters))} groups of articles "
            "for training; give a smaller fraction",
        )
    splitter = GroupShuffleSplit(n_splits=1, test_size=test_fraction, random_state=seed)
    train_index, test_index = next(splitter.split(clusters, groups=clusters))
    return [examples[i] for i in train_index], [examples[i] for i in test_index]


def write_split(rows: list[dict], path: Path) -> None:
    dataset = Dataset.from_list(rows, features=FEATURES)
    with atomic_output(path) as temporary:
        dataset.to_parquet(str(temporary))


def load_split(path: Path) -> tuple[Dataset, list[str]]:
    """A prepared split, read offline from its Parquet file: (the dataset, its label names)."""
    dataset = Dataset.from_parquet(str(path))
    names = dataset.features["label"].names
    return dataset, [names[i] for i in dataset["label"]]


def check_prepared_for(target: str | Path) -> None:
    """Stop unless the prepared splits are the pairs of this target: `stance train` run by hand after
    `data.target` changed, with no `stance prepare` between, trained one target's pairs under another's
    registry and name without a word. The prepare stage records the target folder's name in its summary."""
    if not PREPARE_SUMMARY.exists():
        return  # nothing prepared: reading the splits names what is missing
    try:
        prepared_for = json.loads(PREPARE_SUMMARY.read_text(encoding="utf-8")).get("target")
    except (OSError, ValueError, AttributeError):
        prepared_for = None
    if prepared_for != Path(target).name:
        raise DataError(
            PREPARE_SUMMARY,
            None,
            f"the prepared pairs are {'of target ' + repr(prepared_for) if prepared_for else 'of an unknown target'}, "
            f"not of params.yaml's data.target {Path(target).name!r}; run `stance prepare` (or `dvc repro`)",
        )


def every_labelled_pair() -> tuple[list[dict], list[str]]:
    """Both prepared splits, train first, as (rows, label names): what the shipped models are fit on."""
    rows, labels = [], []
    for split in (TRAIN_SPLIT, TEST_SPLIT):
        dataset, split_labels = load_split(split)
        rows += dataset.to_list()
        labels += split_labels
    return rows, labels


def training_data_sha256() -> str:
    """The digest of both prepared splits, recorded by every model fit on them: the scorer refuses to
    average two models whose digests differ."""
    return files_sha256([TRAIN_SPLIT, TEST_SPLIT])


def split_origins(rows: list[dict], labels: list[str]) -> tuple[list, list, list, list]:
    """(real rows, their labels, the other rows, their labels): only real reports are ever scored;
    synthetic text and rewrites are trained on."""
    real, real_labels, other, other_labels = [], [], [], []
    for row, label in zip(rows, labels):
        into, into_labels = (real, real_labels) if row["origin"] == REAL else (other, other_labels)
        into.append(row)
        into_labels.append(label)
    return real, real_labels, other, other_labels
