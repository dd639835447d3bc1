"""The one function that turns raw text into (sentence, actor) candidate pairs.

Both the prepare stage (training data) and the scorer (new articles) call
`article_candidates`, so what the model is trained on and what it scores are
built the same way.
"""

from __future__ import annotations

from collections.abc import Iterator

from pipeline.data.actors import ActorRegistry
from pipeline.data.text import split_sentences


def candidates_of(articles: dict[str, str], registry: ActorRegistry) -> list[dict]:
    """Every candidate pair of every article, articles in the mapping's order."""
    return [c for article_id, text in articles.items() for c in article_candidates(article_id, text, registry)]


def article_candidates(article_id: str, text: str, registry: ActorRegistry) -> Iterator[dict]:
    """Yield one candidate per (sentence, actor) that the sentence mentions, in text order.

    Actors within a sentence come in the order of their first mention.
    """
    sentences = split_sentences(text)
    for position, sentence in enumerate(sentences):
        mentions = registry.find(sentence.text)
        if not mentions:
            continue
        by_actor: dict[str, list[list[int]]] = {}
        for mention in mentions:
            by_actor.setdefault(mention.actor, []).append([mention.start, mention.end])
        for actor, spans in by_actor.items():
            yield {
                "article_id": article_id,
                "sentence_index": sentence.index,
                "sentence": sentence.text,
                "actor": actor,
                "mentions": spans,
                "other_mentions": [[m.start, m.end] for m in mentions if m.actor != actor],
                "previous_sentence": sentences[position - 1].text if position > 0 else "",
                "next_sentence": sentences[position + 1].text if position + 1 < len(sentences) else "",
            }
