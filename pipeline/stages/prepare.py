"""Stage 1, prepare: articles + actor registry + gold labels -> labelled (sentence, actor) pairs.

Writes data/prepared/{train,test}.parquet (split by article cluster) and a summary.

Two kinds of articles: those in `data.articles` (seeds/) must be fully labelled, every
candidate pair with a gold row; those in `data.annotation_articles` (written by
`stance label export`) may be partly labelled and give only their labelled pairs.
Clusters are computed over every candidate sentence of both kinds, labelled or not.
"""

from __future__ import annotations

from pathlib import Path

from pipeline import paths
from pipeline.data.actors import ActorRegistry
from pipeline.data.candidates import candidates_of
from pipeline.data.labels import LABELS, attach_gold, load_all_articles, load_labelled_set, read_gold
from pipeline.data.splits import article_clusters, split_by_cluster, write_split
from pipeline.errors import DataError
from pipeline.files import write_json
from pipeline.params import Params


def prepare(params: Params) -> dict:
    registry = ActorRegistry.load(params.data.actors)
    articles, partly_labelled = load_all_articles(params.data.articles, params.data.annotation_articles)
    gold = read_gold(params.data.labels, set(registry.actors))
    candidates = candidates_of(articles, registry)
    examples = attach_gold(
        candidates,
        gold,
        params.data.labels,
        articles,
        params.data.articles,
        partly_labelled,
        params.data.annotation_articles,
    )
    clusters = article_clusters(
        candidates, params.prepare.near_duplicate_threshold, params.prepare.near_duplicate_min_words
    )
    for example in examples:
        example["cluster"] = clusters[example["article_id"]]
        example["origin"] = "real"
    train, test = split_by_cluster(examples, params.prepare.test_fraction, params.prepare.split_seed)
    synthetic = synthetic_examples(params, registry, set(articles)) if params.prepare.synthetic else []
    train += synthetic
    write_split(train, paths.TRAIN_SPLIT)
    write_split(test, paths.TEST_SPLIT)
    summary = {
        # seeds all count; a partly labelled article counts once it has a labelled pair
        "articles": len(set(articles) - partly_labelled) + len({e["article_id"] for e in examples} & partly_labelled),
        "clusters": len({e["cluster"] for e in examples}),
        "examples": {"train": len(train), "test": len(test), "synthetic": len(synthetic)},
        "labels": {
            split: {label: sum(e["label"] == label for e in rows) for label in LABELS}
            for split, rows in (("train", train), ("test", test))
        },
    }
    write_json(paths.PREPARE_SUMMARY, summary)
    print(
        f"prepared {len(train)} train ({len(synthetic)} synthetic) and {len(test)} test examples "
        f"from {summary['articles']} articles in {summary['clusters']} clusters"
    )
    return summary


def synthetic_examples(params: Params, registry: ActorRegistry, real_ids: set[str]) -> list[dict]:
    """The synthetic articles' pairs: training material only, each article its own cluster.
    A target may have none: a synthetic/ folder with no articles/ gives no pair."""
    if not (Path(params.data.synthetic) / "articles").is_dir():
        return []
    examples = load_labelled_set(params.data.synthetic, registry)
    for example in examples:
        if example["article_id"] in real_ids:
            raise DataError(
                Path(params.data.synthetic) / "articles" / f"{example['article_id']}.txt",
                None,
                "a real article has the same id; give synthetic articles a prefix of their own",
            )
        example["cluster"] = f"synthetic/{example['article_id']}"
        example["origin"] = "synthetic"
    return examples
