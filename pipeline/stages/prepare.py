"""Stage 1, prepare: articles + actor registry + gold labels -> labelled (sentence, actor) pairs.

Writes data/prepared/{train,test}.parquet (split by article cluster) and a summary.

Two kinds of articles: those in `data.articles` (seeds/) must be fully labelled, every
candidate pair with a gold row; those in `data.annotation_articles` (written by
`stance label export`) may be partly labelled and give only their labelled pairs.
Clusters are computed over every candidate sentence of both kinds, labelled or not.

Two kinds of training text beside them: synthetic articles (`synthetic`, each its own
cluster, always on the training side) and rewrites (`rewrites`: a real article retold in
other words, in its source's cluster and on its source's side of the split, so the test
split's sources are never learnt through their retellings). Neither is ever scored.
"""

from __future__ import annotations

from pathlib import Path

from pipeline import paths
from pipeline.data.actors import ActorRegistry
from pipeline.data.candidates import candidates_of
from pipeline.data.labels import (
    LABELS,
    REAL,
    REWRITE,
    SYNTHETIC,
    attach_gold,
    load_all_articles,
    load_labelled_set,
    read_gold,
    read_sources,
)
from pipeline.data.splits import article_clusters, split_by_cluster, write_split
from pipeline.errors import DataError
from pipeline.files import outputs_together, write_json
from pipeline.params import Params


@outputs_together(folders=[paths.PREPARED])  # the splits and their summary replace the previous ones together
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
        example["origin"] = REAL
    train, test = split_by_cluster(examples, params.prepare.test_fraction, params.prepare.split_seed)
    synthetic = synthetic_examples(params, registry, set(articles)) if params.prepare.synthetic else []
    rewrites = rewrite_examples(params, registry, clusters, synthetic) if params.prepare.rewrites else []
    test_clusters = {e["cluster"] for e in test}
    train += synthetic + [e for e in rewrites if e["cluster"] not in test_clusters]
    test += [e for e in rewrites if e["cluster"] in test_clusters]
    write_split(train, paths.TRAIN_SPLIT)
    write_split(test, paths.TEST_SPLIT)
    summary = {
        "target": Path(params.data.target).name,  # train and evaluate check it (splits.check_prepared_for)
        # seeds all count; a partly labelled article counts once it has a labelled pair
        "articles": len(set(articles) - partly_labelled) + len({e["article_id"] for e in examples} & partly_labelled),
        "clusters": len({e["cluster"] for e in examples}),
        "examples": {"train": len(train), "test": len(test), "synthetic": len(synthetic), "rewrites": len(rewrites)},
        "labels": {
            split: {label: sum(e["label"] == label for e in rows) for label in LABELS}
            for split, rows in (("train", train), ("test", test))
        },
    }
    write_json(paths.PREPARE_SUMMARY, summary)
    print(
        f"prepared {len(train)} train and {len(test)} test examples ({len(synthetic)} synthetic, "
        f"{len(rewrites)} rewritten) "
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
        example["origin"] = SYNTHETIC
    return examples


def rewrite_examples(
    params: Params, registry: ActorRegistry, clusters: dict[str, str], synthetic: list[dict] = ()
) -> list[dict]:
    """The rewrites' pairs, each in the cluster of the real article it retells (`sources.csv`:
    article_id, source_id). A target may have none: no rewrites/ folder gives no pair."""
    folder = Path(params.data.rewrites)
    if not (folder / "articles").is_dir():
        return []
    sources = read_sources(folder / "sources.csv", clusters, folder / "articles")
    synthetic_ids = {e["article_id"] for e in synthetic}
    examples = load_labelled_set(folder, registry)
    for example in examples:
        article = example["article_id"]
        if article not in sources:
            raise DataError(
                folder / "sources.csv", None, f"no row for the rewrite {article}; add {article},<source id>"
            )
        if article in synthetic_ids:
            raise DataError(folder / "articles" / f"{article}.txt", None, "a synthetic article has the same id")
        example["cluster"] = clusters[sources[article]]
        example["origin"] = REWRITE
    return examples
