"""Cue features: which stance cues of the lexicon this pair's actor holds, in which clause.

The lexicon (data/cues.yaml) is matched on the marked tokens. The sentence is cut
into clauses at strong boundaries (quotes that open or close a quotation,
semicolons, "but", "while"...); a quotation mark between two words of one clause
quotes a phrase and does not cut it. A support cue right after a determiner names
the plan ("blocked the plan"), not a stance, unless it starts with an auxiliary
("would be happy"); a cue shortly after a power phrase is the power's content
("could use its veto to scupper"), not a choice. Each remaining stance cue gets one
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
`distances` sections of data/cues.yaml, given here as a `Syntax`.
"""

from __future__ import annotations

from pipeline.features.holders import addressees, find_speaker, holder, target_name_modifiers
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
    clause = _clause_ids(boundaries)
    actors = [(i, t == TARGET_TOKEN) for i, t in enumerate(tokens) if t in (TARGET_TOKEN, OTHER_TOKEN)]
    if not any(is_target for _, is_target in actors):
        return {}
    negator_ends = [last for _, last in found["negators"]]
    condition_starts = [first for first, _ in found["conditions"]]
    hedge_starts = [first for first, _ in found["hedges"]]
    reporting = [first for first, _ in found["reporting"]]

    speaker = find_speaker(tokens, actors, reporting, syntax)
    # Mentions that never hold a cue: part of the target's name, or told what to do.
    modifiers = target_name_modifiers(actors, {first for first, _ in found["target"]})
    not_holders = modifiers | addressees(tokens, actors, syntax)

    features: dict[str, float] = {}
    held: list[tuple[int, str]] = []  # (token position, stance) of cues this actor holds
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
    stance_ends = {last for _, last, _ in stance_spans}
    for first, last, name in stance_spans:
        held_by = holder(tokens, clause, actors, first, last, stance_ends, speaker, not_holders, syntax)
        negated = any(
            clause[n] == clause[first]
            and 0 < first - n <= syntax.negation_reach
            and not any(t in (TARGET_TOKEN, OTHER_TOKEN) for t in tokens[n + 1 : first])
            and not any(n < end < first for end in stance_ends)
            for n in negator_ends
        )
        conditional = any(clause[c] == clause[first] and c < first for c in condition_starts)
        hedged = any(clause[h] == clause[first] and h < first for h in hedge_starts)
        stance = _effective_stance(name, negated, conditional)
        who = "self" if held_by is True else "other" if held_by is False else "nobody"
        features[f"{who}:{stance}"] = 1.0
        if negated:
            features[f"{who}:{stance}:negated"] = 1.0
        if hedged:
            features[f"{who}:{stance}:hedged"] = 1.0
        if held_by is True:
            held.append((first, stance))

    if held:
        features[f"self_last:{held[-1][1]}"] = 1.0
    has_target = bool(found["target"])
    has_related = bool(found["related"])
    if found["off_target"] and not has_target:
        features["off_target_only" if not has_related else "off_target_and_related"] = 1.0
        # Prior knowledge (guide, Target): a stance on another target says nothing about the office.
        for key in [k for k in features if k.startswith("self:")]:
            features["off:" + key] = features.pop(key)
    features["about:office" if has_target else "about:related" if has_related else "about:unclear"] = 1.0
    target_positions = [p for p, is_target in actors if is_target]
    if all(p > 0 and tokens[p - 1] in syntax.place_words for p in target_positions):
        features["mention:place"] = 1.0
    if all(p in modifiers for p in target_positions):
        features["mention:names_office"] = 1.0
    if speaker is True:
        features["self:speaker"] = 1.0
    return features


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
