"""Holder rules: which actor holds a stance cue.

Before the rules, some mentions are set aside as never holding a cue:
`target_name_modifiers` ("a Japan office", "the NATO liaison office": part of the
target's name) and `addressees` ("he said Japan should make the right call": told
what to do). `find_speaker` finds the sentence's speaker ("Macron said", "said
Macron.", "according to Paris,").

Each stance cue then gets one holder: the rules that the lexicon's `holder_rules`
lists (the target's cues.yaml) are tried in its order, and the first that gives an answer
wins; with no answer the sentence's speaker holds it. The rules ("actors" are the
mentions not set aside, "in its clause" means in the cue's clause), in the shipped order:

1. passive_agent: the agent of a passive ("spearheaded by Stoltenberg").
2. possessor_or_modifier: the actor right before the cue, or with "'s" shortly before it ("France's objection", "French objections").
3. pronoun_refers_to_first_actor: a subject pronoun between the nearest actor before and the cue stands for the sentence's first actor ("Macron told Stoltenberg he opposes").
4. nearest_subject_before: the nearest actor before the cue in its clause that is not an object ("objected to NATO's plan", "expanding NATO's reach").
5. pronoun_subject_is_speaker: with no actor before the cue in its clause, a subject pronoun before it there stands for the speaker ("he warned that expanding NATO's reach...").
6. first_actor_after: the first actor after the cue in its clause.
7. nearest_object_before: the nearest actor before the cue in its clause, even an object.
8. the_speaker: the sentence's speaker, or nobody when it has none.

Actors listed together ("China, like France,") share the holder's cue: `listed_together`.
The rule order and the word lists and distances the rules use are data (the
`holder_rules`, `syntax` and `distances` sections of the target's cues.yaml), given here as a `Syntax`.
"""

from __future__ import annotations

from functools import cached_property

from pipeline.features.lexicon import Syntax
from pipeline.features.tokens import is_word

# A rule's answer that the speaker holds the cue (the speaker is found once per sentence).
SPEAKER = "speaker"


def find_speaker(tokens, actors, reporting_starts, syntax: Syntax):
    """Is the speaker this actor (True), another (False), or is there none (None)?

    The speaker is the first actor mention at most `speaker_before_reporting` tokens
    before a reporting word ("Macron said", "a French official added"), or at most
    `speaker_after_reporting` tokens after one when the mention ends the phrase ("said
    Macron.") or the word is a `reporting_before_speaker` ("according to Paris,"); "he
    said Japan should..." makes Japan the reported subject, not the speaker.
    """
    for position, is_target in actors:
        after_ends_phrase = position + 1 >= len(tokens) or not is_word(tokens[position + 1])
        if any(
            0 <= r - position <= syntax.speaker_before_reporting
            or (
                0 < position - r <= syntax.speaker_after_reporting
                and (after_ends_phrase or tokens[r] in syntax.reporting_before_speaker)
            )
            for r in reporting_starts
        ):
            return is_target
    return None


def target_name_modifiers(actors, target_starts) -> set[int]:
    """Mentions right before a target phrase name its place or owner ("a Japan office", "the NATO liaison office")."""
    return {p for p, _ in actors if p + 1 in target_starts}


def addressees(tokens, actors, syntax: Syntax) -> set[int]:
    """Mentions followed within `addressee_modal_reach` tokens by an addressee modal ("Japan should make...")."""
    reach = syntax.addressee_modal_reach
    return {p for p, _ in actors if any(t in syntax.addressee_modals for t in tokens[p + 1 : p + 1 + reach])}


class Cue:
    """One stance cue at tokens[first..last], and the actors that may hold it."""

    def __init__(self, tokens, clause, candidates, first, last, stance_ends, syntax: Syntax):
        self.tokens = tokens
        self.clause = clause  # clause id of every token
        self.candidates = candidates  # (position, is this actor) of every mention that may hold a cue
        self.first = first
        self.last = last
        self.stance_ends = stance_ends  # last token of every stance cue of the sentence
        self.syntax = syntax

    @cached_property
    def in_clause(self):
        return [(p, t) for p, t in self.candidates if self.clause[p] == self.clause[self.first]]

    @cached_property
    def before(self):
        return [(p, t) for p, t in self.in_clause if p < self.first]

    @cached_property
    def after(self):
        return [(p, t) for p, t in self.in_clause if p > self.last]

    def is_object(self, position: int) -> bool:
        """A mention after an object marker, another cue or a verb in -ing ("objected to NATO's expansion")."""
        tokens, syntax = self.tokens, self.syntax
        previous = position - 1
        while previous >= 0 and tokens[previous] in syntax.skipped_articles:
            previous -= 1
        return previous >= 0 and (
            tokens[previous] in syntax.object_markers
            or previous in self.stance_ends
            or _is_gerund(tokens[previous], syntax)
        )


def _is_gerund(token: str, syntax: Syntax) -> bool:
    """ "expanding NATO's reach": an actor right after a verb in -ing is its object."""
    return len(token) >= syntax.gerund_min_length and token.endswith("ing") and token not in syntax.not_gerunds


def passive_agent(cue: Cue):
    """ "the push was spearheaded by Stoltenberg", "it is opposed by Paris": the agent after "by"."""
    tokens, syntax = cue.tokens, cue.syntax
    lookback = tokens[max(0, cue.first - syntax.passive_auxiliary_lookback) : cue.first]
    if not any(t in syntax.passive_auxiliaries for t in lookback):
        return None
    if not (cue.last + 1 < len(tokens) and tokens[cue.last + 1] in syntax.agent_markers):
        return None
    agent = cue.last + 2
    while agent < len(tokens) and tokens[agent] in syntax.skipped_articles:
        agent += 1
    return agent if any(p == agent for p, _ in cue.in_clause) else None


def possessor_or_modifier(cue: Cue):
    """ "France's objection", "French objections", "NATO initiative": the possessor or modifier holds its cue noun."""
    if not cue.before:
        return None
    position = cue.before[-1][0]
    if position + 1 == cue.first or (
        cue.first - position <= cue.syntax.possessor_reach and cue.tokens[position + 1] in cue.syntax.possessive_markers
    ):
        return position
    return None


def pronoun_refers_to_first_actor(cue: Cue):
    """ "... Stoltenberg that he opposes": the pronoun's referent, taken as the sentence's first actor."""
    if not cue.before:
        return None
    position = cue.before[-1][0]
    if any(t in cue.syntax.subject_pronouns for t in cue.tokens[position + 1 : cue.first]):
        return cue.candidates[0][0]
    return None


def nearest_subject_before(cue: Cue):
    """The nearest actor before the cue in its clause that is not an object ("China objected to NATO's plan")."""
    for position, _ in reversed(cue.before):
        if not cue.is_object(position):
            return position
    return None


def pronoun_subject_is_speaker(cue: Cue):
    """ "he warned that expanding NATO's reach...": with no actor before, the pronoun's referent is the speaker."""
    if cue.before:
        return None
    clause_start = cue.clause.index(cue.clause[cue.first])
    if any(t in cue.syntax.subject_pronouns for t in cue.tokens[clause_start : cue.first]):
        return SPEAKER
    return None


def first_actor_after(cue: Cue):
    """The first actor after the cue in its clause."""
    return cue.after[0][0] if cue.after else None


def nearest_object_before(cue: Cue):
    """When every actor before the cue is an object and none follows it, the nearest one before it."""
    return cue.before[-1][0] if cue.before else None


def the_speaker(cue: Cue):
    """The sentence's speaker holds whatever no actor in the clause holds."""
    return SPEAKER


RULES = {
    rule.__name__: rule
    for rule in (
        passive_agent,
        possessor_or_modifier,
        pronoun_refers_to_first_actor,
        nearest_subject_before,
        pronoun_subject_is_speaker,
        first_actor_after,
        nearest_object_before,
        the_speaker,
    )
}  # by the names the lexicon's `holder_rules` uses (validated against these on load)


def holder_position(cue: Cue):
    """The first answer of the lexicon's holder rules: an actor's token position, or SPEAKER."""
    for name in cue.syntax.holder_rules:
        answer = RULES[name](cue)
        if answer is not None:
            return answer
    return SPEAKER


def listed_together(tokens, actors, index: int, syntax: Syntax) -> set[int]:
    """Indexes into `actors` of the list the actor at `index` is in: neighbours joined only by coordinators.

    "Australia, New Zealand and South Korea would be happy", "China, like France, opposes".
    """
    positions = [p for p, _ in actors]
    group = {index}
    for step in (-1, 1):
        i = index
        while 0 <= i + step < len(actors):
            a, b = sorted((positions[i], positions[i + step]))
            if not all(t in syntax.coordinators for t in tokens[a + 1 : b]):
                break
            i += step
            group.add(i)
    return group


def holder_of(tokens, clause, actors, first, last, stance_ends, not_holders, syntax: Syntax) -> int | None:
    """The token position of the mention that holds the cue at tokens[first..last], or None for the speaker.

    `actors` are all mentions as (position, flag); `not_holders` the positions set aside
    (target-name modifiers, addressees). The answer does not depend on the flags.
    """
    candidates = [(p, t) for p, t in actors if p not in not_holders]
    position = holder_position(Cue(tokens, clause, candidates, first, last, stance_ends, syntax))
    return None if position == SPEAKER else position


def holder(tokens, clause, actors, first, last, stance_ends, speaker, not_holders, syntax: Syntax):
    """Who holds the cue at tokens[first..last]: True (this actor), False (another), None (nobody).

    `actors` are all mentions as (position, is this actor); `not_holders` the positions set
    aside (target-name modifiers, addressees). Actors listed together hold a cue together,
    so the answer is True when this actor is in the holder's list.
    """
    position = holder_of(tokens, clause, actors, first, last, stance_ends, not_holders, syntax)
    if position is None:
        return speaker
    index = [p for p, _ in actors].index(position)
    return any(actors[i][1] for i in listed_together(tokens, actors, index, syntax))
