"""Cue features: which stance cues of the lexicon this pair's actor holds, in which clause.

Cue features. The lexicon (data/cues.yaml) is matched on the marked tokens. The
sentence is cut into clauses at strong boundaries (quotes that open or close a
quotation, semicolons, "but", "while"...). Some mentions never hold a cue: names
of the target ("a Japan office") and addressees ("Japan should make the right
call"). Each stance cue gets one holder: the agent of a passive ("spearheaded by
Stoltenberg"); else a possessor or modifier right before it ("France's
objection", "French objections"); else, when a subject pronoun stands between the
cue and the actors before it, the sentence's first actor ("Macron told
Stoltenberg he opposes"); else the nearest actor before it in its clause that is
not itself an object ("objected to NATO's plan", "expanding NATO's reach"); else
the nearest actor after it in the clause; else the speaker of the sentence
("the Elysee official added", "said Macron."). Actors listed together ("China,
like France,") share the cue. A negator shortly before the cue in its clause
flips its polarity; a reversal cue under a condition ("if France lifted its
veto") presupposes the opposite stance; a plain cue under a condition is marked
as not asserted; the power to decide ("could use its veto to scupper") is a
class of its own, neutral by the guide. Then, for this actor: does it hold a
support / oppose / no-comment / power cue, is another actor holding one, is the
sentence about the office or only about another target (membership, Brussels,
Ukraine), is the mention a place ("an office in Tokyo") or part of the target's
name?
"""

from __future__ import annotations

from pipeline.features.lexicon import STANCE_CLASSES
from pipeline.features.tokens import OTHER_TOKEN, TARGET_TOKEN, is_word

NEGATION_REACH = 5  # tokens between a negator and the cue it flips
PLACE_WORDS = {"in", "to", "at", "from", "of", "over", "near"}
# A mention right after one of these is an object ("objected to NATO's expansion"), not the
# subject of the cues that follow it.
OBJECT_MARKERS = {
    "to",
    "of",
    "into",
    "against",
    "for",
    "on",
    "with",
    "at",
    "from",
    "in",
    "toward",
    "towards",
    "about",
    "unlike",
    "than",
}
SUBJECT_PRONOUNS = {"he", "she", "they", "we", "i"}
SKIPPABLE = {"the", "a", "an"}
ADDRESSEE_MODALS = {"should", "must", "ought"}
QUOTES = {'"', "“", "”"}
PASSIVE_AUXILIARIES = {"is", "are", "was", "were", "been", "being", "be"}
# A support cue right after a determiner names the plan ("blocked the plan", "the proposed
# office"); it is the object of someone's stance, not a stance of its own.
DETERMINERS = {"the", "a", "an", "this", "that", "such", "any"}
# ...unless the cue starts with a verb: "countries that would be happy to see it".
AUXILIARIES = {"would", "will", "could", "might", "may", "is", "are", "was", "were", "has", "have", "had"}


def boundary_flags(tokens, boundary_spans, reporting_spans) -> list[bool]:
    flags = [False] * len(tokens)
    reporting_ends = {last for _, last in reporting_spans}
    for first, _ in boundary_spans:
        # A quotation mark between two words of one clause ("Japan was 'working' towards it")
        # quotes a phrase, not a speaker: it does not end the clause.
        if (
            tokens[first] in QUOTES
            and 0 < first < len(tokens) - 1
            and is_word(tokens[first - 1])
            and is_word(tokens[first + 1])
            and first - 1 not in reporting_ends
        ):
            continue
        flags[first] = True
    return flags


def _is_gerund(token: str) -> bool:
    """ "expanding NATO's reach": an actor right after a verb in -ing is its object."""
    return len(token) > 5 and token.endswith("ing") and token not in ("during", "according")


def _clause_ids(boundaries: list[bool]) -> list[int]:
    ids, clause = [], 0
    for is_boundary in boundaries:
        if is_boundary:
            clause += 1
        ids.append(clause)
    return ids


def cue_features(tokens, boundaries, found: dict) -> dict[str, float]:
    clause = _clause_ids(boundaries)
    actors = [(i, t == TARGET_TOKEN) for i, t in enumerate(tokens) if t in (TARGET_TOKEN, OTHER_TOKEN)]
    if not any(is_target for _, is_target in actors):
        return {}
    negator_ends = [last for _, last in found["negators"]]
    condition_starts = [first for first, _ in found["conditions"]]
    hedge_starts = [first for first, _ in found["hedges"]]
    reporting = [first for first, _ in found["reporting"]]

    # The speaker: an actor mention up to three tokens before a reporting word ("Macron said",
    # "a French official added"), or after one when the mention ends the phrase ("said Macron.",
    # "according to Paris,"); "he said Japan should..." makes Japan the reported subject.
    speaker = None
    for position, is_target in actors:
        after_ends_phrase = position + 1 >= len(tokens) or not is_word(tokens[position + 1])
        if any(
            0 <= r - position <= 3 or (0 < position - r <= 3 and (after_ends_phrase or tokens[r] == "according"))
            for r in reporting
        ):
            speaker = is_target
            break
    # "a Japan office", "the NATO liaison office": a mention naming the office's place or owner
    # is part of the target's name, not the subject of the cues around it.
    target_starts = {first for first, _ in found["target"]}
    modifiers = {p for p, _ in actors if p + 1 in target_starts}
    # "he said Japan should make the right call": an actor told what it should do is the
    # addressee of someone else's stance, not its holder.
    addressees = {p for p, _ in actors if any(t in ADDRESSEE_MODALS for t in tokens[p + 1 : p + 3])}

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
                and tokens[first - 1] in DETERMINERS
                and tokens[first] not in AUXILIARIES
            )
        ]
    )
    # "could use its veto to scupper the plan": the verb after a power phrase is the power's
    # content, not a choice made.
    power_ends = [last for first, last, name in stance_spans if name == "power"]
    stance_spans = [
        (first, last, name)
        for first, last, name in stance_spans
        if not any(clause[end] == clause[first] and 0 < first - end <= 2 for end in power_ends)
    ]
    stance_ends = {last for _, last, _ in stance_spans}
    for first, last, name in stance_spans:
        holder = _holder(tokens, clause, actors, first, last, stance_ends, speaker, modifiers | addressees)
        negated = any(
            clause[n] == clause[first]
            and 0 < first - n <= NEGATION_REACH
            and not any(t in (TARGET_TOKEN, OTHER_TOKEN) for t in tokens[n + 1 : first])
            and not any(n < end < first for end in stance_ends)
            for n in negator_ends
        )
        conditional = any(clause[c] == clause[first] and c < first for c in condition_starts)
        hedged = any(clause[h] == clause[first] and h < first for h in hedge_starts)
        stance = _effective_stance(name, negated, conditional)
        who = "self" if holder is True else "other" if holder is False else "nobody"
        features[f"{who}:{stance}"] = 1.0
        if negated:
            features[f"{who}:{stance}:negated"] = 1.0
        if hedged:
            features[f"{who}:{stance}:hedged"] = 1.0
        if holder is True:
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
    if all(p > 0 and tokens[p - 1] in PLACE_WORDS for p in target_positions):
        features["mention:place"] = 1.0
    if all(p in modifiers for p in target_positions):
        features["mention:names_office"] = 1.0
    if speaker is True:
        features["self:speaker"] = 1.0
    return features


COORDINATORS = {",", "and", "or", "like"}  # "China, like France, opposes": both hold it


def _holder(tokens, clause, actors, first, last, stance_ends, speaker, not_holders):
    """Who holds the cue at tokens[first..last]: True (this actor), False (another), None (nobody).

    Actors listed together ("Australia, New Zealand and South Korea would be happy") hold
    a cue together, so the answer is True when this actor is in the holder's list.
    """
    candidates = [(p, t) for p, t in actors if p not in not_holders]
    holder = _holder_position(tokens, clause, candidates, first, last, stance_ends)
    if holder is None:
        return speaker
    positions = [p for p, _ in actors]
    index = positions.index(holder)
    group = {index}
    for step in (-1, 1):
        i = index
        while 0 <= i + step < len(actors):
            a, b = sorted((positions[i], positions[i + step]))
            if not all(t in COORDINATORS for t in tokens[a + 1 : b]):
                break
            i += step
            group.add(i)
    return any(actors[i][1] for i in group)


def _holder_position(tokens, clause, actors, first, last, stance_ends):
    in_clause = [(p, t) for p, t in actors if clause[p] == clause[first]]
    # The passive's agent: "the push was spearheaded by Stoltenberg", "it is opposed by Paris".
    if any(t in PASSIVE_AUXILIARIES for t in tokens[max(0, first - 2) : first]):
        agent = last + 2 if last + 1 < len(tokens) and tokens[last + 1] == "by" else None
        while agent is not None and agent < len(tokens) and tokens[agent] in SKIPPABLE:
            agent += 1
        if agent is not None and any(p == agent for p, _ in in_clause):
            return agent
    before = [(p, t) for p, t in in_clause if p < first]
    if before:
        position, is_target = before[-1]
        # "France's objection", "French objections", "NATO initiative": the possessor or
        # modifier holds its cue noun.
        if position + 1 == first or (first - position <= 3 and tokens[position + 1] == "'s"):
            return position
        # "... Stoltenberg that he opposes": the pronoun's referent, taken as the sentence's first actor.
        if any(t in SUBJECT_PRONOUNS for t in tokens[position + 1 : first]):
            return actors[0][0]
        for position, _ in reversed(before):
            previous = position - 1
            while previous >= 0 and tokens[previous] in SKIPPABLE:
                previous -= 1
            if previous >= 0 and (
                tokens[previous] in OBJECT_MARKERS or previous in stance_ends or _is_gerund(tokens[previous])
            ):
                continue  # an object, as in "objected to NATO's expansion"
            return position
    after = [(p, t) for p, t in in_clause if p > last]
    clause_start = clause.index(clause[first])
    if not before and any(t in SUBJECT_PRONOUNS for t in tokens[clause_start:first]):
        return None  # "he warned that expanding NATO's reach...": the speaker is the pronoun's referent
    if after:
        return after[0][0]
    if before:
        return before[-1][0]
    return None


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
