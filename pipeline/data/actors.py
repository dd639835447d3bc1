"""The actor registry (the target's actors.yaml) and the matcher that finds actor mentions in text."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import DataError
from pipeline.files import IDENTIFIER, expect_list_of_strings, expect_mapping, line_of, load_yaml

AUTHOR = "author"  # the one holder of a registry of the author unit: whoever wrote the text
AUTHOR_UNITS = ("document", "sentence")  # one pair per document, or one per sentence


@dataclass(frozen=True)
class Mention:
    actor: str
    start: int  # character offsets into the text searched
    end: int


class ActorRegistry:
    """Canonical actor ids and their aliases, compiled into one whole-word regex.

    One alternation, longest alias first, finds every mention in a single left-to-right
    pass: the cost is linear in the text, and at any position the longest alias wins
    ("North Atlantic Council" over "NATO", "North Korean" over "Korean").

    A registry of the author unit (`author: document` or `author: sentence` in the file) has
    no actors: its one holder, AUTHOR, is whoever wrote each text (tweets, comments, op-eds).
    """

    def __init__(
        self,
        aliases: dict[str, list[str]],
        exact_case: dict[str, list[str]],
        not_actors: list[str] = (),
        author: str | None = None,
    ):
        self.author = author  # None, or the unit of AUTHOR_UNITS that one pair covers
        named = sorted(aliases)
        self.actors = [AUTHOR] if author else named
        self._definition = {
            "aliases": {a: list(aliases[a]) for a in named},
            "exact_case": {a: list(exact_case.get(a, [])) for a in named},
            "not_actors": list(not_actors),
        }
        self._names = {actor: list(aliases[actor]) + list(exact_case.get(actor, [])) for actor in named}
        if author:
            self._definition["author"] = author
            self._names[AUTHOR] = ["the author"]
        self._by_folded: dict[str, str | None] = {}
        self._by_exact: dict[str, str | None] = {}
        patterns: list[tuple[str, str]] = []  # (alias, regex piece)
        for actor in named:
            for alias in aliases[actor]:
                self._by_folded[alias.casefold()] = actor
                patterns.append((alias, f"(?i:{_alias_regex(alias)})"))
            for alias in exact_case.get(actor, []):
                self._by_exact[alias] = actor
                patterns.append((alias, f"(?-i:{_alias_regex(alias)})"))
        for phrase in not_actors:
            self._by_folded[phrase.casefold()] = None
            patterns.append((phrase, f"(?i:{_alias_regex(phrase)})"))
        self._regex = _mention_regex(patterns) if patterns else None

    @classmethod
    def load(cls, path: str | Path) -> ActorRegistry:
        data = expect_mapping(load_yaml(path), path, "the registry file")
        unknown = set(data) - {"actors", "not_actors", "author"}
        if unknown:
            key = sorted(unknown)[0]
            raise DataError(
                path,
                data.key_lines[key],
                f"unknown key {key!r}; expected 'actors' and optionally 'not_actors', or 'author' alone",
            )
        if "author" in data:
            if set(data) != {"author"}:
                key = sorted(set(data) - {"author"})[0]
                raise DataError(path, data.key_lines[key], f"{key!r} with 'author': the author unit has no actors")
            if data["author"] not in AUTHOR_UNITS:
                raise DataError(
                    path,
                    data.key_lines["author"],
                    f"author must be {' or '.join(AUTHOR_UNITS)} (the text one pair covers), not {data['author']!r}",
                )
            return cls({}, {}, [], author=str(data["author"]))
        if "actors" not in data:
            raise DataError(
                path,
                data.line or 1,
                "no 'actors' mapping; add one: each actor id with its aliases (see a shipped target's actors.yaml)",
            )
        actors = expect_mapping(data["actors"], path, "'actors'", data.key_lines["actors"])
        aliases: dict[str, list[str]] = {}
        exact: dict[str, list[str]] = {}
        seen: dict[str, tuple[str, int]] = {}
        for actor, entry in actors.items():
            line = actors.key_lines[actor]
            if not isinstance(actor, str) or not IDENTIFIER.match(actor):
                raise DataError(
                    path, line, f"actor id {actor!r} must be lower-case letters, digits and _ (like south_korea)"
                )
            entry = expect_mapping(entry, path, f"actor {actor!r}", line)
            bad = set(entry) - {"aliases", "exact_case"}
            if bad:
                key = sorted(bad)[0]
                raise DataError(
                    path, entry.key_lines[key], f"actor {actor!r}: unknown key {key!r}; use 'aliases' and 'exact_case'"
                )
            names = {}
            for field in ("aliases", "exact_case"):
                names[field] = list(expect_list_of_strings(entry.get(field, []), path, f"{actor}.{field}", line))
                for alias in names[field]:
                    _check_alias(path, line_of(alias, line), actor, alias)
                    key = alias if field == "exact_case" else alias.casefold()
                    if key in seen:
                        other, other_line = seen[key]
                        raise DataError(
                            path,
                            line_of(alias, line),
                            f"alias {alias!r} of {actor!r} is already an alias of {other!r} (line {other_line}); keep it under one actor",
                        )
                    seen[key] = (actor, line_of(alias, line))
            if not names["aliases"] and not names["exact_case"]:
                raise DataError(path, line, f"actor {actor!r} has no aliases; add at least one name")
            aliases[actor] = names["aliases"]
            exact[actor] = names["exact_case"]
        if not aliases:
            raise DataError(path, data.key_lines["actors"], "'actors' is empty; add at least one actor")
        not_actors = list(expect_list_of_strings(data.get("not_actors", []), path, "not_actors", data.line))
        for phrase in not_actors:
            _check_alias(path, line_of(phrase, data.line), "not_actors", phrase)
            if owner := seen.get(phrase.casefold()) or seen.get(phrase):
                raise DataError(
                    path,
                    line_of(phrase, data.line),
                    f"not_actors: {phrase!r} is also an alias of {owner[0]!r} (line {owner[1]}); a name is an "
                    "actor's or no actor's: keep one",
                )
        return cls(aliases, exact, not_actors)

    def to_dict(self) -> dict:
        """Plain data, saved beside the model so scoring matches the names it was trained with."""
        return self._definition

    @classmethod
    def from_dict(cls, definition: dict) -> ActorRegistry:
        return cls(definition["aliases"], definition["exact_case"], definition["not_actors"], definition.get("author"))

    def find(self, text: str) -> list[Mention]:
        if self._regex is None:  # the author unit: no one is named
            return []
        mentions = []
        for match in self._regex.finditer(text):
            found = match.group(0)
            actor = self._by_exact.get(found)
            if actor is None:
                # Only single ASCII spaces inside (the usual case): nothing to fold.
                plain = found.isprintable() and "  " not in found
                actor = self._by_folded.get((found if plain else _fold_spaces(found)).casefold())
            if actor is not None:
                mentions.append(Mention(actor, match.start(), match.end()))
        return mentions

    def names(self, actor: str) -> list[str]:
        """The actor's aliases in registry order; the first is its display name."""
        return self._names[actor]


def _mention_regex(patterns: list[tuple[str, str]]) -> re.Pattern:
    r"""One regex for every (alias, regex piece): at each position the longest alias that matches.

    (?<!\w) / (?!\w) rather than \b: aliases like "U.S." end in punctuation. The aliases are tried
    longest first, in groups by their first character, each behind a lookahead of its first
    characters, so a position tries a few groups instead of every alias. Only aliases of one group
    may match at a position, for the longest to win: an ASCII first character is its own group
    (either case), but i, k, s and every non-ASCII one share one, since the regex's ignore-case
    matches them across groups (i with "ı" and "İ", k with the Kelvin sign, s with "ſ").
    """
    groups: dict[str, list[tuple[str, str]]] = {}
    for alias, piece in sorted(patterns, key=lambda item: (-len(item[0]), item[0])):
        first = alias[0].lower()
        groups.setdefault(first if first.isascii() and first not in "iks" else "", []).append((alias, piece))
    branches = []
    for members in groups.values():
        letters = "".join(re.escape(c) for c in sorted({alias[0] for alias, _ in members}))
        branches.append(f"(?=(?i:[{letters}]))(?:" + "|".join(piece for _, piece in members) + ")")
    return re.compile(r"(?<!\w)(?:" + "|".join(branches) + r")(?![\w])")


def _alias_regex(alias: str) -> str:
    # Any run of white space between the words of a multi-word alias.
    return r"\s+".join(re.escape(word) for word in alias.split())


def _fold_spaces(text: str) -> str:
    return " ".join(text.split())


def _check_alias(path, line, actor, alias):
    if not alias.strip():
        raise DataError(path, line, f"{actor}: an alias is empty; remove it or write the name")
    if len(re.findall(r"\w", alias)) < 2:
        raise DataError(
            path,
            line,
            f"{actor}: alias {alias!r} has fewer than two letters and would match almost anything; write a real name",
        )
    if alias != alias.strip() or "\n" in alias:
        raise DataError(path, line, f"{actor}: alias {alias!r} has leading/trailing space or a line break; remove it")
    if alias != _fold_spaces(alias):  # the regex takes any spaces between words, the lookup only the alias's own
        raise DataError(
            path, line, f"{actor}: alias {alias!r} has other white space than one space between words; write one space"
        )
