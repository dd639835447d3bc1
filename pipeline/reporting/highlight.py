"""Which characters of an evidence sentence to highlight: the actor's mentions and the deciding words.

The deciding words are, when the pair row carries an `explanation` (`stance score
--explain`), the word features with a positive contribution that occur in the
sentence; otherwise the stance cues the lexicon (the target's cues.yaml) finds in it:
support, oppose and reversal phrases and the negators that flip them.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from pipeline.data.actors import ActorRegistry
from pipeline.features.lexicon import Lexicon
from pipeline.features.tokens import TOKEN, token_starts

CUE_CLASSES = ("support", "oppose", "reversal", "negators")
# An explanation's feature names end in the words they count ("words__objects to", "word: objects");
# keep that part. Character n-grams and cue features match no whole words of the sentence.
FEATURE_WORDS = re.compile(r"^(?:.*(?:__|:|=))?\s*[\"']?([^\W\d_][\w' ]*?)[\"']?$")


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    kind: str  # "actor" or "cue"
    title: str


class Highlighter:
    def __init__(self, registry: ActorRegistry, lexicon: dict):
        self.registry = registry
        self.lexicon = Lexicon({name: lexicon.get(name, []) for name in CUE_CLASSES})

    def spans(self, sentence: str, actor: str, explanation: list[dict] | None = None) -> list[Span]:
        mentions = [
            Span(m.start, m.end, "actor", f"mention of {actor}")
            for m in self.registry.find(sentence)
            if m.actor == actor
        ]
        words = _token_spans(sentence)
        deciding = _explained(words, explanation) if explanation else self._cues(words)
        return mentions + deciding

    def _cues(self, words: list[tuple[str, int, int]]) -> list[Span]:
        tokens = [token for token, _, _ in words]
        joined, starts = " ".join(tokens), token_starts(tokens)
        found = []
        for name in CUE_CLASSES:
            for first, last in self.lexicon.find(name, joined, starts):
                found.append(Span(words[first][1], words[last][2], "cue", f"{name} cue in the lexicon"))
        return found


def _token_spans(sentence: str) -> list[tuple[str, int, int]]:
    """The scorer's tokens (lower-cased) with their character spans in the sentence."""
    # ’ -> ' keeps every offset: both are one character.
    return [(m.group().lower(), m.start(), m.end()) for m in TOKEN.finditer(sentence.replace("’", "'"))]


def _explained(words: list[tuple[str, int, int]], explanation: list[dict]) -> list[Span]:
    tokens = [token for token, _, _ in words]
    found = []
    for item in explanation:
        contribution = item.get("contribution")
        match = FEATURE_WORDS.match(item["feature"].strip().lower())
        if not match or not isinstance(contribution, (int, float)) or contribution <= 0:
            continue
        phrase = match.group(1).split()
        for first in range(len(tokens) - len(phrase) + 1):
            if tokens[first : first + len(phrase)] == phrase:
                last = first + len(phrase) - 1
                title = f"{item['feature']}: +{contribution:.3g} toward the prediction"
                found.append(Span(words[first][1], words[last][2], "cue", title))
    return found


def marked_html(sentence: str, spans: list[Span]) -> str:
    """The sentence as escaped HTML with <mark> around each span; where spans overlap, the actor wins."""
    kinds: list[Span | None] = [None] * len(sentence)
    for span in sorted(spans, key=lambda s: s.kind == "actor"):  # actor spans last, so they win
        for i in range(span.start, min(span.end, len(sentence))):
            kinds[i] = span
    parts, i = [], 0
    while i < len(sentence):
        span, j = kinds[i], i
        while j < len(sentence) and kinds[j] is span:
            j += 1
        text = html.escape(sentence[i:j])
        parts.append(
            f'<mark class="{span.kind}" title="{html.escape(span.title)}">{text}</mark>' if span is not None else text
        )
        i = j
    return "".join(parts)
