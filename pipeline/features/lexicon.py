"""The cue lexicon (data/cues.yaml): phrases by class, validated on load, matched on tokens.

The lexicon is plain data ({class: [phrase, ...]}), so it is saved inside the model
and scoring matches exactly the phrases training matched.
"""

from __future__ import annotations

import bisect
import re

from pipeline.errors import DataError
from pipeline.features.tokens import tokenize
from pipeline.files import expect_list_of_strings, expect_mapping, line_of, load_yaml

CUE_CLASSES = (
    "support",
    "oppose",
    "reversal",
    "no_comment",
    "power",
    "negators",
    "hedges",
    "conditions",
    "reporting",
    "target",
    "related",
    "off_target",
    "boundaries",
)
STANCE_CLASSES = ("support", "oppose", "reversal", "no_comment", "power")


def load_cue_lexicon(path) -> dict[str, list[str]]:
    """The lexicon as plain {class: [phrase, ...]}: plain data, so it is saved inside the model."""
    data = expect_mapping(load_yaml(path), path, "the cue lexicon")
    lexicon = {}
    for name in CUE_CLASSES:
        if name not in data:
            raise DataError(
                path, data.line or 1, f"missing cue class {name!r}; the file needs {', '.join(CUE_CLASSES)}"
            )
        phrases = expect_list_of_strings(data[name], path, name, data.key_lines[name])
        for phrase in phrases:
            tokens = phrase.split()
            if not tokens or any(t in {"*"} for t in tokens):
                raise DataError(
                    path, line_of(phrase, data.key_lines[name]), f"{name}: phrase {phrase!r} is empty or a bare *"
                )
            if phrase != phrase.lower():
                raise DataError(path, line_of(phrase, data.key_lines[name]), f"{name}: write {phrase!r} in lower case")
            split = " ".join(" ".join(tokenize(t.rstrip("*"))) + ("*" if t.endswith("*") else "") for t in tokens)
            if split != " ".join(tokens):
                # Sentences are matched token by token; "ill-advised" would never match "ill - advised".
                raise DataError(
                    path,
                    line_of(phrase, data.key_lines[name]),
                    f"{name}: phrase {phrase!r} can never match; write it as {split!r}",
                )
        lexicon[name] = [str(p) for p in phrases]
    unknown = set(data) - set(CUE_CLASSES)
    if unknown:
        key = sorted(unknown)[0]
        raise DataError(path, data.key_lines[key], f"unknown cue class {key!r}; use {', '.join(CUE_CLASSES)}")
    return lexicon


def phrase_regex(phrases: list[str]) -> re.Pattern:
    """One regex over space-joined tokens for a class of phrases; longest phrases first."""

    def token_pattern(token):
        return re.escape(token[:-1]) + r"\S*" if token.endswith("*") and len(token) > 1 else re.escape(token)

    alternatives = sorted({" ".join(token_pattern(t) for t in p.split()) for p in phrases}, key=lambda p: (-len(p), p))
    return re.compile(r"(?<!\S)(?:" + "|".join(alternatives) + r")(?!\S)")


class Lexicon:
    """Compiled regexes of a lexicon, one per class."""

    def __init__(self, lexicon: dict[str, list[str]]):
        self.regexes = {name: phrase_regex(phrases) for name, phrases in lexicon.items() if phrases}

    def find(self, name: str, joined: str, starts: list[int]) -> list[tuple[int, int]]:
        """Token spans [first, last] of the class's phrases in the space-joined tokens."""
        regex = self.regexes.get(name)
        if regex is None:
            return []
        return [
            (bisect.bisect_right(starts, m.start()) - 1, bisect.bisect_right(starts, m.end() - 1) - 1)
            for m in regex.finditer(joined)
        ]
