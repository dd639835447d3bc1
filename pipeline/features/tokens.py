"""Tokens: how sentences are cut into words, and how actor mentions become placeholder tokens."""

from __future__ import annotations

import re
from itertools import accumulate, count
from operator import add

TARGET_TOKEN = "actorx"  # this pair's actor
OTHER_TOKEN = "actoro"  # any other actor
NEGATED_PREFIX = "not_"
POWER_PREFIX = "power_"  # a word of a power to decide ("could use its veto"), not of a choice made
# PairView has already tokenised: the vectorisers keep its tokens (actorx, not_x, punctuation) by
# cutting its texts at white space, which no token holds.
VECTORIZER_TOKEN_PATTERN = r"\S+"
TOKEN = re.compile(r"n't|'s\b|\w+(?:'\w+)*|[^\w\s]")


def tokens_with_slots(sentence: str, spans) -> tuple[list[str], dict[int, int]]:
    """Lower-cased tokens with each actor mention as one OTHER token; {span start: its token index}."""
    tokens, slots, position = [], {}, 0
    for start, end in sorted(spans):
        if start < position:  # overlapping spans cannot come from the matcher; skip defensively
            continue
        tokens.extend(tokenize(sentence[position:start]))
        slots[start] = len(tokens)
        tokens.append(OTHER_TOKEN)
        position = end
    tokens.extend(tokenize(sentence[position:]))
    return tokens, slots


def tokenize(text: str) -> list[str]:
    return TOKEN.findall(text.lower().replace("’", "'"))


def token_starts(tokens: list[str]) -> list[int]:
    """Where each token starts in " ".join(tokens): the lengths before it, plus a space after each."""
    if not tokens:
        return []
    return list(map(add, accumulate(map(len, tokens[:-1]), initial=0), count()))


def is_word(token: str) -> bool:
    return token[:1].isalnum()
