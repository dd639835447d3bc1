"""Stage 1, prepare: articles + registry + gold labels -> labelled (sentence, actor) examples.

Writes `data/prepared/{train,test}.parquet`, Hugging Face `datasets` tables whose
label is a ClassLabel. The split is by article, and articles that share a
near-duplicate sentence (the same quotation reported by several outlets) form
one cluster that stays on one side, so no quote is both trained and tested on.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from datasets import ClassLabel, Dataset, Features, List, Value
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import GroupShuffleSplit

from pipeline.actors import ActorRegistry
from pipeline.candidates import article_candidates
from pipeline.datafiles import DataError, atomic_output, write_json
from pipeline.labels import LABELS, attach_gold, load_articles, read_gold
from pipeline.params import load_params

OUTPUT_DIR = Path("data/prepared")

FEATURES = Features({
    "article_id": Value("string"),
    "sentence_index": Value("int32"),
    "sentence": Value("string"),
    "actor": Value("string"),
    "mentions": List(List(Value("int32"))),
    "other_mentions": List(List(Value("int32"))),
    "previous_sentence": Value("string"),
    "next_sentence": Value("string"),
    "cluster": Value("string"),  # articles linked by near-duplicate sentences; the unit of splitting
    "label": ClassLabel(names=list(LABELS)),
})


def build_examples(articles: dict[str, str], registry: ActorRegistry, gold, labels_path, articles_dir) -> list[dict]:
    candidates = [c for article_id, text in articles.items() for c in article_candidates(article_id, text, registry)]
    return attach_gold(candidates, gold, labels_path, articles, articles_dir)


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
        raise DataError("params.yaml", None, f"only {len(set(clusters))} group of articles (articles sharing a quote "
                                             "form one group); the train/test split needs at least 2: add articles")
    splitter = GroupShuffleSplit(n_splits=1, test_size=test_fraction, random_state=seed)
    train_index, test_index = next(splitter.split(clusters, groups=clusters))
    return [examples[i] for i in train_index], [examples[i] for i in test_index]


def write_dataset(rows: list[dict], path: Path) -> None:
    dataset = Dataset.from_list(rows, features=FEATURES)
    with atomic_output(path) as temporary:
        dataset.to_parquet(str(temporary))


def prepare(params: dict, output_dir: Path = OUTPUT_DIR) -> dict:
    data, settings = params["data"], params["prepare"]
    registry = ActorRegistry.load(data["actors"])
    articles = load_articles(data["articles"])
    gold = read_gold(data["labels"], set(registry.actors))
    examples = build_examples(articles, registry, gold, data["labels"], data["articles"])
    clusters = article_clusters(examples, settings["near_duplicate_threshold"], settings["near_duplicate_min_words"])
    for example in examples:
        example["cluster"] = clusters[example["article_id"]]
    train, test = split_by_cluster(examples, settings["test_fraction"], settings["split_seed"])
    write_dataset(train, output_dir / "train.parquet")
    write_dataset(test, output_dir / "test.parquet")
    summary = {
        "articles": len(articles),
        "clusters": len(set(clusters.values())),
        "examples": {"train": len(train), "test": len(test)},
        "labels": {split: {label: sum(e["label"] == label for e in rows) for label in LABELS}
                   for split, rows in (("train", train), ("test", test))},
    }
    write_json(output_dir / "summary.json", summary)
    return summary


def main(params_path: str = "params.yaml") -> None:
    summary = prepare(load_params(params_path))
    print(f"prepared {summary['examples']['train']} train and {summary['examples']['test']} test examples "
          f"from {summary['articles']} articles in {summary['clusters']} clusters")


if __name__ == "__main__":
    from pipeline.cli import run_stage

    run_stage(main)
