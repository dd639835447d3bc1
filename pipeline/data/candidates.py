"""The one function that turns raw text into (sentence, actor) candidate pairs.

Both the prepare stage (training data) and the scorer (new articles) call
`article_candidates`, so what the model is trained on and what it scores are
built the same way.
"""

from __future__ import annotations

from collections.abc import Iterator

from pipeline.data.actors import AUTHOR, ActorRegistry
from pipeline.data.text import split_sentences


def candidates_of(articles: dict[str, str], registry: ActorRegistry) -> list[dict]:
    """Every candidate pair of every article, articles in the mapping's order."""
    return [c for article_id, text in articles.items() for c in article_candidates(article_id, text, registry)]


def article_candidates(article_id: str, text: str, registry: ActorRegistry) -> Iterator[dict]:
    """Yield one candidate per (sentence, actor) that the sentence mentions, in text order.

    Actors within a sentence come in the order of their first mention. A registry of the
    author unit gives one candidate per sentence, or one per document (its sentences joined
    by a space, as sentence 0), held by AUTHOR.
    """
    sentences = split_sentences(text)
    if registry.author == "document":
        if sentences:
            yield _candidate(article_id, 0, " ".join(s.text for s in sentences), AUTHOR, [], [], "", "")
        return
    for position, sentence in enumerate(sentences):
        mentions = registry.find(sentence.text)
        if not mentions and registry.author is None:
            continue
        previous = sentences[position - 1].text if position > 0 else ""
        following = sentences[position + 1].text if position + 1 < len(sentences) else ""
        if registry.author == "sentence":
            yield _candidate(article_id, sentence.index, sentence.text, AUTHOR, [], [], previous, following)
            continue
        by_actor: dict[str, list[list[int]]] = {}
        for mention in mentions:
            by_actor.setdefault(mention.actor, []).append([mention.start, mention.end])
        for actor, spans in by_actor.items():
            others = [[m.start, m.end] for m in mentions if m.actor != actor]
            yield _candidate(article_id, sentence.index, sentence.text, actor, spans, others, previous, following)


def _candidate(article_id, index, sentence, actor, mentions, other_mentions, previous, following) -> dict:
    return {
        "article_id": article_id,
        "sentence_index": index,
        "sentence": sentence,
        "actor": actor,
        "mentions": mentions,  # this actor's [start, end] in the sentence; none for AUTHOR
        "other_mentions": other_mentions,
        "previous_sentence": previous,
        "next_sentence": following,
    }
