"""The cue lexicon (the target's cues.yaml): phrases by class, word lists and distances, validated on load.

The lexicon is plain data, saved inside the model so that scoring matches exactly
the phrases, and applies exactly the word lists and distances, training did:

    {class: [phrase, ...], ..., "syntax": {list name: [token, ...]}, "distances": {name: int},
     "holder_rules": [rule name, ...], "frame_roles": {role: [actor id, ...]} (optional)}

`Syntax` is the sets, numbers and rule order the cue features and holder rules read, built
from that dict when PairView transforms (sets are never saved in the model).
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from typing import NamedTuple

from pipeline.errors import DataError
from pipeline.features.tokens import tokenize
from pipeline.files import IDENTIFIER, expect_list_of_strings, expect_mapping, kind, line_of, load_yaml

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
TOPIC_CLASSES = ("target", "related", "off_target")
# Classes no phrase may share, and why: in two of them one entry silently overrides the other (a
# stance match keeps the class first in CUE_CLASSES; a target match hides an off_target one).
# Classes of different kinds may share one: "refus*" is an oppose cue and negates the cue after it.
EXCLUSIVE_CLASSES = {
    STANCE_CLASSES: "a match gives one stance",
    TOPIC_CLASSES: "a match says once what the sentence is about",
}
# Each class's group from EXCLUSIVE_CLASSES (itself alone if in none): a phrase is listed at most once in a group.
EXCLUSIVE_GROUP = {name: next((g for g in EXCLUSIVE_CLASSES if name in g), (name,)) for name in CUE_CLASSES}
# Named lists of single tokens in the `syntax` section, and named token counts in `distances`.
SYNTAX_LISTS = (
    "place_words",
    "object_markers",
    "subject_pronouns",
    "skipped_articles",
    "addressee_modals",
    "quotes",
    "passive_auxiliaries",
    "agent_markers",
    "possessive_markers",
    "determiners",
    "auxiliaries",
    "coordinators",
    "sequencers",
    "infinitive_markers",
    "not_gerunds",
    "reporting_before_speaker",
)
DISTANCES = (
    "negation_reach",
    "speaker_before_reporting",
    "speaker_after_reporting",
    "addressee_modal_reach",
    "power_content_reach",
    "opposed_content_reach",
    "possessor_reach",
    "passive_auxiliary_lookback",
    "gerund_min_length",
)
SECTIONS = ("syntax", "distances", "holder_rules")
OPTIONAL_SECTIONS = ("frame_roles",)


def load_cue_lexicon(path, actors: list[str] | None = None) -> dict:
    """The lexicon as plain data (lists, strings, ints), so it is saved inside the model.

    {class: [phrase, ...]} for every cue class, then "syntax": {list name: [token, ...]},
    "distances": {name: int}, each in the order of CUE_CLASSES, SYNTAX_LISTS and DISTANCES,
    and "holder_rules": [rule name, ...] in the order the file gives; "frame_roles" when the file
    has that section, its actor ids checked against `actors` when they are given.
    """
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
    _refuse_repeats(data, path)
    unknown = set(data) - set(CUE_CLASSES) - set(SECTIONS) - set(OPTIONAL_SECTIONS)
    if unknown:
        key = sorted(unknown, key=str)[0]
        raise DataError(
            path,
            data.key_lines[key],
            f"unknown cue class {key!r}; use {', '.join(CUE_CLASSES)}, then the sections "
            f"{', '.join(SECTIONS + OPTIONAL_SECTIONS)}",
        )
    lexicon["syntax"] = _load_syntax(data, path)
    lexicon["distances"] = _load_distances(data, path)
    lexicon["holder_rules"] = _load_holder_rules(data, path)
    if "frame_roles" in data:  # only then, so a lexicon without roles is saved as it always was
        lexicon["frame_roles"] = _load_frame_roles(data, path, actors)
    return lexicon


class _Listing(NamedTuple):
    cue_class: str
    line: int
    phrase: str  # as written on that line: two listings may differ in the spaces between tokens


def _refuse_repeats(data, path) -> None:
    """Refuse a phrase listed twice in a class, or in two classes of EXCLUSIVE_CLASSES, at its later line."""
    seen: dict[tuple, _Listing] = {}  # (the classes it may be in once, its tokens) -> where first read
    for name in CUE_CLASSES:
        group = EXCLUSIVE_GROUP[name]
        for phrase in data[name]:
            key = (group, " ".join(phrase.split()))
            here = _Listing(name, line_of(phrase, data.key_lines[name]), phrase)
            if key not in seen:
                seen[key] = here
                continue
            previous = seen[key]
            # Classes are read in CUE_CLASSES order, not the file's: report the later line, as written there.
            earlier, later = (here, previous) if here.line < previous.line else (previous, here)
            if earlier.cue_class == later.cue_class:
                raise DataError(
                    path,
                    later.line,
                    f"{later.cue_class}: phrase {later.phrase!r} is listed twice (first on line {earlier.line}); "
                    "list it once",
                )
            raise DataError(
                path,
                later.line,
                f"{later.cue_class}: phrase {later.phrase!r} is also under {earlier.cue_class} "
                f"(line {earlier.line}); {EXCLUSIVE_CLASSES[group]}, so keep it in one of them",
            )


def _load_frame_roles(data, path, actors) -> dict[str, list[str]]:
    """{role: [actor id, ...]}: the part each actor plays in the target's frame (who proposes, who
    hosts); an actor has at most one role. With `actors` (the registry's ids) every id must be one."""
    section = expect_mapping(data["frame_roles"], path, "frame_roles", data.key_lines["frame_roles"])
    roles, role_of = {}, {}
    for role in section:
        line = section.key_lines[role]
        if not isinstance(role, str) or not IDENTIFIER.match(role):
            raise DataError(path, line, f"frame_roles: role {role!r} must be lower-case letters, digits and _")
        members = expect_list_of_strings(section[role], path, f"frame_roles: {role}", line)
        for actor in members:
            actor_line = line_of(actor, line)
            if actors is not None and actor not in actors:
                raise DataError(
                    path,
                    actor_line,
                    f"frame_roles: {role}: {actor!r} is not an actor of the registry ({', '.join(actors)})",
                )
            if role_of.get(actor) == role:
                raise DataError(path, actor_line, f"frame_roles: {role}: {actor!r} is listed twice; list it once")
            if actor in role_of:
                raise DataError(
                    path, actor_line, f"frame_roles: {actor!r} is already a {role_of[actor]}; give an actor one role"
                )
            role_of[actor] = str(role)
        roles[str(role)] = [str(actor) for actor in members]
    return roles


def _load_holder_rules(data, path) -> list[str]:
    """The holder rules to apply, in order: names of the engine's rules, each at most once.
    Rules are data: leaving one out, or reordering them, is an edit of the target's cues.yaml."""
    from pipeline.features.holders import RULES  # holders reads Syntax from here: imported when needed

    known = ", ".join(RULES)
    if "holder_rules" not in data:
        raise DataError(
            path,
            data.line or 1,
            f"missing section 'holder_rules'; list the rules to apply, in order: {known}",
        )
    rules = expect_list_of_strings(data["holder_rules"], path, "holder_rules", data.key_lines["holder_rules"])
    seen = set()
    for rule in rules:
        line = line_of(rule, data.key_lines["holder_rules"])
        if rule not in RULES:
            raise DataError(path, line, f"holder_rules: unknown rule {rule!r}; use {known}")
        if rule in seen:
            raise DataError(path, line, f"holder_rules: {rule!r} is listed twice; list each rule once")
        seen.add(rule)
    return [str(rule) for rule in rules]


def _section(data, path, name: str, needs: tuple[str, ...], what: str):
    """The mapping under `name`, refused when it is missing, has an unknown key or lacks one of `needs`."""
    if name not in data:
        raise DataError(
            path, data.line or 1, f"missing section {name!r}; the file needs {name}: with {', '.join(needs)}"
        )
    section = expect_mapping(data[name], path, name, data.key_lines[name])
    for key in section:
        if key not in needs:
            raise DataError(path, section.key_lines[key], f"{name}: unknown {what} {key!r}; use {', '.join(needs)}")
    for key in needs:
        if key not in section:
            raise DataError(path, data.key_lines[name], f"{name}: missing {what} {key!r}; add {key}: to it")
    return section


def _load_syntax(data, path) -> dict[str, list[str]]:
    section = _section(data, path, "syntax", SYNTAX_LISTS, "word list")
    syntax = {}
    for name in SYNTAX_LISTS:
        what = f"syntax: {name}"
        words = expect_list_of_strings(section[name], path, what, section.key_lines[name])
        for word in words:
            line = line_of(word, section.key_lines[name])
            if word != word.lower():
                raise DataError(path, line, f"{what}: write {word!r} in lower case")
            if tokenize(word) != [word]:
                # Sentences are cut into tokens first; a word list is compared token by token.
                raise DataError(path, line, f"{what}: {word!r} is not one token, so it can never match; split it")
        syntax[name] = [str(w) for w in words]
    return syntax


# Reaches count tokens, mostly within one clause, and gerund_min_length letters of one word;
# 100 is far past any clause or word, so a larger value is a slip (10**20), not a setting.
MAX_DISTANCE = 100


def _load_distances(data, path) -> dict[str, int]:
    section = _section(data, path, "distances", DISTANCES, "distance")
    distances = {}
    for name in DISTANCES:
        value = section[name]
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_DISTANCE:
            raise DataError(
                path,
                section.key_lines[name],
                f"distances: {name} must be a positive whole number of at most {MAX_DISTANCE}, "
                f"got {kind(value)} {value!r}; write e.g. {name}: 3",
            )
        distances[name] = int(value)
    return distances


@dataclass(frozen=True)
class Syntax:
    """The `syntax` word lists as sets and the `distances`, as the cue features and holder rules read them."""

    place_words: frozenset[str]
    object_markers: frozenset[str]
    subject_pronouns: frozenset[str]
    skipped_articles: frozenset[str]
    addressee_modals: frozenset[str]
    quotes: frozenset[str]
    passive_auxiliaries: frozenset[str]
    agent_markers: frozenset[str]
    possessive_markers: frozenset[str]
    determiners: frozenset[str]
    auxiliaries: frozenset[str]
    coordinators: frozenset[str]
    sequencers: frozenset[str]
    infinitive_markers: frozenset[str]
    not_gerunds: frozenset[str]
    reporting_before_speaker: frozenset[str]
    negation_reach: int
    speaker_before_reporting: int
    speaker_after_reporting: int
    addressee_modal_reach: int
    power_content_reach: int
    opposed_content_reach: int
    possessor_reach: int
    passive_auxiliary_lookback: int
    gerund_min_length: int
    holder_rules: tuple[str, ...]
    role_of: dict[str, str] = field(hash=False)  # actor id -> its role in the target's frame (frame_roles)

    @classmethod
    def from_lexicon(cls, lexicon: dict) -> Syntax:
        """Sets and numbers from a lexicon dict as `load_cue_lexicon` gives it (and the model keeps it)."""
        missing = [name for name in SECTIONS if name not in lexicon]
        if missing:
            raise ValueError(
                f"the cue lexicon has no {' or '.join(missing)} section; load it with load_cue_lexicon "
                "(a model saved without them must be rebuilt with `dvc repro`)"
            )
        words = {name: frozenset(lexicon["syntax"][name]) for name in SYNTAX_LISTS}
        distances = {name: int(lexicon["distances"][name]) for name in DISTANCES}
        role_of = {actor: role for role, actors in lexicon.get("frame_roles", {}).items() for actor in actors}
        return cls(**words, **distances, holder_rules=tuple(lexicon["holder_rules"]), role_of=role_of)


def phrase_regex(phrases: list[str]) -> re.Pattern:
    """One regex over space-joined tokens for a class of phrases; longest phrases first."""

    def token_pattern(token):
        return re.escape(token[:-1]) + r"\S*" if token.endswith("*") and len(token) > 1 else re.escape(token)

    alternatives = sorted({" ".join(token_pattern(t) for t in p.split()) for p in phrases}, key=lambda p: (-len(p), p))
    return re.compile(r"(?<!\S)(?:" + "|".join(alternatives) + r")(?!\S)")


STARTING_CACHE_SIZE = 100_000  # distinct tokens whose starting classes are remembered


class Lexicon:
    """Compiled regexes of a lexicon, one per cue class, and the first tokens its phrases can start with."""

    def __init__(self, lexicon: dict[str, list[str]]):
        self.regexes = {name: phrase_regex(lexicon[name]) for name in CUE_CLASSES if lexicon.get(name)}
        # A phrase starts with its first token, or with any token that begins like a first token "x*".
        self.by_first_token: dict[str, list[str]] = {}  # first token -> classes, in CUE_CLASSES order
        self.by_prefix: dict[str, list[str]] = {}
        for name in self.regexes:
            for phrase in lexicon[name]:
                first = phrase.split()[0]
                if first.endswith("*") and len(first) > 1:
                    classes = self.by_prefix.setdefault(first[:-1], [])
                else:
                    classes = self.by_first_token.setdefault(first, [])
                if name not in classes:
                    classes.append(name)
        self.prefix_lengths = sorted({len(prefix) for prefix in self.by_prefix})
        self._starting: dict[str, tuple[str, ...]] = {}  # token -> classes a phrase of may start with it

    def find(self, name: str, joined: str, starts: list[int]) -> list[tuple[int, int]]:
        """Token spans [first, last] of the class's phrases in the space-joined tokens."""
        regex = self.regexes.get(name)
        if regex is None:
            return []
        return [
            (bisect.bisect_right(starts, m.start()) - 1, bisect.bisect_right(starts, m.end() - 1) - 1)
            for m in regex.finditer(joined)
        ]

    def _classes_starting_with(self, token: str) -> tuple[str, ...]:
        names = list(self.by_first_token.get(token, ()))
        for length in self.prefix_lengths:
            names.extend(n for n in self.by_prefix.get(token[:length], ()) if n not in names)
        return tuple(names)

    def find_all(self, tokens: list[str], joined: str, starts: list[int]) -> dict[str, list[tuple[int, int]]]:
        """`find` for every class of CUE_CLASSES, in one pass over the tokens.

        A match can start only at a token that is some phrase's first token, so each class's regex
        is tried only there, in order, from where its last match ended: the matches `finditer` gives.
        """
        starting, candidates = self._starting, {}
        for position, token in enumerate(tokens):
            names = starting.get(token)
            if names is None:
                if len(starting) > STARTING_CACHE_SIZE:
                    starting.clear()
                names = starting[token] = self._classes_starting_with(token)
            for name in names:
                candidates.setdefault(name, []).append(position)
        found = {}
        for name in CUE_CLASSES:
            spans, resume = [], 0
            regex = self.regexes.get(name)
            for first in candidates.get(name, ()):
                start = starts[first]
                if start < resume:
                    continue
                match = regex.match(joined, start)
                if match is not None:
                    spans.append((first, bisect.bisect_right(starts, match.end() - 1) - 1))
                    resume = match.end()
            found[name] = spans
        return found
