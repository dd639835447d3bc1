"""`explain()`: pair rows with the features behind each stance, for notebooks.

    from pipeline.scoring.explain import explain
    for row in explain({"a1": "France blocked the office."}, top=3):
        print(row["actor"], row["stance"], row["explanation"])

Each row is a `stance score` pair row plus `explanation`: the `top` features that
pushed most toward its stance, as {"feature", "contribution"}, largest first (past the
ones that pushed toward it, those that pushed against it, with negative contributions). A
contribution is the feature's value times the linear classifier's coefficient for that
class, so all of a pair's contributions plus the class's intercept are its score
exactly (pipeline.modeling.explain).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from pipeline.paths import MODEL as MODEL_PATH
from pipeline.scoring.inputs import Article
from pipeline.scoring.scorer import ArticleResult, score_events


def explain(
    articles: dict[str, str] | Iterable[tuple[str, str]], model_path: str | Path = MODEL_PATH, top: int = 5
) -> Iterator[dict]:
    """Explained pair rows for in-memory articles ({id: text} or (id, text) pairs)."""
    if top < 1:
        raise ValueError("top must be at least 1")
    items = articles.items() if isinstance(articles, dict) else articles
    events = (Article(str(article_id), text, str(article_id)) for article_id, text in items)
    for event in score_events(events, model_path, explain_top=top):
        if isinstance(event, ArticleResult):
            yield from event.rows
