"""Cue features: which stance cues of the lexicon this pair's actor holds, in which clause.

The lexicon (the target's cues.yaml) is matched on the marked tokens. The sentence is cut
into clauses at strong boundaries (quotes that open or close a quotation,
semicolons, "but", "while"...); a quotation mark between two words of one clause
quotes a phrase and does not cut it. A support cue right after a determiner names
the plan ("blocked the plan"), not a stance, unless it starts with an auxiliary
("would be happy"); a cue shortly after a power phrase is the power's content
("could use its veto to scupper"), not a choice, and a support or reversal cue shortly after
an oppose cue is what is opposed ("rejected plans to establish", "rejected calls to lift its
veto"). Each remaining stance cue gets one
holder by the holder rules of `holders` (the speaker, addressees and target-name
modifiers are found there too; actors listed together share a cue). A negator
shortly before the cue in its clause, with no actor or other cue between, flips its
polarity; a reversal cue under a condition ("if France lifted its veto")
presupposes the opposite stance; a plain cue under a condition is marked as not
asserted; the power to decide is a class of its own, neutral by the guide. Then,
for this actor: does it hold a support / oppose / no-comment / power cue, is
another actor holding one, is the sentence about the office or only about another
target (membership, Brussels, Ukraine), is the mention a place ("an office in
Tokyo") or part of the target's name?

The word lists and distances (how far a negator reaches, ...) are the `syntax` and
`distances` sections of the target's cues.yaml, given here as a `Syntax`.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.features.holders import (
    addressees,
    find_speaker,
    holder_of,
    listed_together,
    target_name_modifiers,
)
from pipeline.features.lexicon import STANCE_CLASSES, Syntax
from pipeline.features.tokens import OTHER_TOKEN, TARGET_TOKEN, is_word


def boundary_flags(tokens, boundary_spans, reporting_spans, syntax: Syntax) -> list[bool]:
    """For each token, does a new clause start there?"""
    flags = [False] * len(tokens)
    reporting_ends = {last for _, last in reporting_spans}
    for first, _ in boundary_spans:
        # A quotation mark between two words of one clause ("Japan was 'working' towards it")
        # quotes a phrase, not a speaker: it does not end the clause.
        if (
            tokens[first] in syntax.quotes
            and 0 < first < len(tokens) - 1
            and is_word(tokens[first - 1])
            and is_word(tokens[first + 1])
            and first - 1 not in reporting_ends
        ):
            continue
        flags[first] = True
    return flags


def _clause_ids(boundaries: list[bool]) -> list[int]:
    ids, clause = [], 0
    for is_boundary in boundaries:
        if is_boundary:
            clause += 1
        ids.append(clause)
    return ids


def cue_features(tokens, boundaries, found: dict, syntax: Syntax) -> dict[str, float]:
    """The cue features of the actor marked TARGET_TOKEN in `tokens`; {} when it is not marked."""
    targets = {i for i, t in enumerate(tokens) if t == TARGET_TOKEN}
    return pair_cue_features(sentence_cues(tokens, boundaries, found, syntax), targets)


@dataclass(frozen=True)
class SentenceCues:
    """What the cue features need that does not depend on which actor is marked (one per sentence)."""

    mentions: list[int]  # token positions of every actor mention
    place: list[bool]  # per mention: right after a place word ("an office in Tokyo")
    modifiers: frozenset[int]  # mentions that are part of the target's name
    speaker: int | None  # the speaker's mention, or None
    cues: list[tuple[str, bool, bool, int | None, frozenset[int]]]
    # per stance cue, in order: (stance, negated, hedged, holder mention or None for the speaker,
    # the holder's list of mentions held together)
    off_target: str | None  # "off_target_only" / "off_target_and_related" when only another target is named
    about: str


def sentence_cues(tokens, boundaries, found: dict, syntax: Syntax) -> SentenceCues:
    """The actor-independent part of the cue features; tokens may mark any actor (or none) as TARGET_TOKEN."""
    clause = _clause_ids(boundaries)
    actors = [(i, False) for i, t in enumerate(tokens) if t in (TARGET_TOKEN, OTHER_TOKEN)]
    positions = [p for p, _ in actors]
    negator_ends = [last for _, last in found["negators"]]
    condition_starts = [first for first, _ in found["conditions"]]
    hedge_starts = [first for first, _ in found["hedges"]]
    reporting = [first for first, _ in found["reporting"]]

    # find_speaker answers with the speaker's flag; flag every mention by its own position to learn which.
    speaker = find_speaker(tokens, [(p, p) for p in positions], reporting, syntax)
    # Mentions that never hold a cue: part of the target's name, or told what to do.
    modifiers = target_name_modifiers(actors, {first for first, _ in found["target"]})
    not_holders = modifiers | addressees(tokens, actors, syntax)

    stance_spans = _without_overlaps(
        [
            (first, last, name)
            for name in STANCE_CLASSES
            for first, last in found[name]
            if not (
                name == "support"
                and first > 0
                and tokens[first - 1] in syntax.determiners
                and tokens[first] not in syntax.auxiliaries
            )
        ]
    )
    # "could use its veto to scupper the plan": the verb after a power phrase is the power's
    # content, not a choice made.
    power_ends = [last for first, last, name in stance_spans if name == "power"]
    stance_spans = [
        (first, last, name)
        for first, last, name in stance_spans
        if not any(clause[end] == clause[first] and 0 < first - end <= syntax.power_content_reach for end in power_ends)
    ]
    # "rejected plans to establish the office", "rejected calls to lift its veto": a support or
    # reversal cue shortly after an oppose cue, with no actor, list or "then" between ("to then"
    # is still the plan), is what is opposed, not a second stance of the same holder.
    oppose_ends = [last for _, last, name in stance_spans if name == "oppose"]
    stance_spans = [
        (first, last, name)
        for first, last, name in stance_spans
        if not (
            name in ("support", "reversal")
            and any(_is_content(tokens, clause, end, first, syntax) for end in oppose_ends)
        )
    ]
    stance_ends = {last for _, last, _ in stance_spans}
    cues = []
    for first, last, name in stance_spans:
        position = holder_of(tokens, clause, actors, first, last, stance_ends, not_holders, syntax)
        group = frozenset()
        if position is not None:
            index = positions.index(position)
            group = frozenset(positions[i] for i in listed_together(tokens, actors, index, syntax))
        negated = any(
            clause[n] == clause[first]
            and 0 < first - n <= syntax.negation_reach
            and not any(t in (TARGET_TOKEN, OTHER_TOKEN) for t in tokens[n + 1 : first])
            and not any(n < end < first for end in stance_ends)
            for n in negator_ends
        )
        conditional = any(clause[c] == clause[first] and c < first for c in condition_starts)
        hedged = any(clause[h] == clause[first] and h < first for h in hedge_starts)
        cues.append((_effective_stance(name, negated, conditional), negated, hedged, position, group))

    has_target = bool(found["target"])
    has_related = bool(found["related"])
    off_target = None
    if found["off_target"] and not has_target:
        off_target = "off_target_only" if not has_related else "off_target_and_related"
    return SentenceCues(
        mentions=positions,
        place=[p > 0 and tokens[p - 1] in syntax.place_words for p in positions],
        modifiers=frozenset(modifiers),
        speaker=speaker,
        cues=cues,
        off_target=off_target,
        about="about:office" if has_target else "about:related" if has_related else "about:unclear",
    )


def pair_cue_features(sentence: SentenceCues, targets: set[int], author: bool = False) -> dict[str, float]:
    """The cue features of the actor whose mentions are at token positions `targets`; {} when there are none.

    With `author` the holder is the text's author, who is never named: the author holds every
    cue that no mention in the text holds (as a quote's speaker or its subject)."""
    if not author and not targets.intersection(sentence.mentions):
        return {}
    speaker_is_target = None if sentence.speaker is None else sentence.speaker in targets
    features: dict[str, float] = {}
    held: list[str] = []  # stances of the cues this actor holds
    for stance, negated, hedged, position, group in sentence.cues:
        held_by = speaker_is_target if position is None else not targets.isdisjoint(group)
        if author and position is None and sentence.speaker is None:
            held_by = True
        who = "self" if held_by is True else "other" if held_by is False else "nobody"
        features[f"{who}:{stance}"] = 1.0
        if negated:
            features[f"{who}:{stance}:negated"] = 1.0
        if hedged:
            features[f"{who}:{stance}:hedged"] = 1.0
        if held_by is True:
            held.append(stance)

    if held:
        features[f"self_last:{held[-1]}"] = 1.0
    if sentence.off_target:
        features[sentence.off_target] = 1.0
        # Prior knowledge (guide, Target): a stance on another target says nothing about the office.
        for key in [k for k in features if k.startswith("self:")]:
            features["off:" + key] = features.pop(key)
    features[sentence.about] = 1.0
    if author:
        return features
    mine = [i for i, p in enumerate(sentence.mentions) if p in targets]
    if all(sentence.place[i] for i in mine):
        features["mention:place"] = 1.0
    if all(sentence.mentions[i] in sentence.modifiers for i in mine):
        features["mention:names_office"] = 1.0
    if speaker_is_target is True:
        features["self:speaker"] = 1.0
    return features


def _is_content(tokens, clause, oppose_end: int, first: int, syntax: Syntax) -> bool:
    """Is the cue starting at `first` the object of the oppose cue ending at `oppose_end`?"""
    between = tokens[oppose_end + 1 : first]
    return (
        clause[oppose_end] == clause[first]
        and 0 < first - oppose_end <= syntax.opposed_content_reach
        and not any(t in (TARGET_TOKEN, OTHER_TOKEN) or t in syntax.coordinators for t in between)
        # "objected (at first) then lifted its veto": a second act; "rejected plans to then establish": the plan
        and not any(
            t in syntax.sequencers and tokens[k - 1] not in syntax.infinitive_markers
            for k, t in enumerate(between, start=oppose_end + 1)
        )
    )


def _without_overlaps(spans):
    """Keep the longest of overlapping cue spans ("not welcome" over "welcome")."""
    kept = []
    for first, last, name in sorted(spans, key=lambda s: (-(s[1] - s[0]), s[0])):
        if all(last < kept_first or first > kept_last for kept_first, kept_last, _ in kept):
            kept.append((first, last, name))
    return sorted(kept)


def _effective_stance(name: str, negated: bool, conditional: bool) -> str:
    if name in ("no_comment", "power"):
        return name
    if name == "reversal":
        # "X lifted its veto" is support now; "if X lifted its veto" presupposes X's veto.
        stance = "oppose" if conditional else "support"
        return _flip(stance) if negated else stance
    stance = _flip(name) if negated else name
    return f"{stance}:conditional" if conditional else stance


def _flip(stance: str) -> str:
    return "oppose" if stance == "support" else "support"
