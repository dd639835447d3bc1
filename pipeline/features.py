"""Features that know which actor a pair is about, and what the cue lexicon says about it.

`PairView` is the first step of the model's scikit-learn Pipeline. It turns each
candidate pair (sentence, this actor's mention spans, other actors' spans) into:

- `text`: the sentence with this actor's mentions as ACTORX and other actors' as
  ACTORO, lower-cased, and (optionally) every token in a negation's scope
  prefixed NOT_, so "not against" and "against" are different n-grams;
- `window`: the marked tokens nearest this actor's mentions;
- `context`: the marked neighbouring sentences (optional);
- `cues`: a dict of lexicon features scoped to this actor, described below;
- `sentence`: the raw sentence, for the optional sentence embeddings.

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

import bisect
import re

import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from pipeline.datafiles import DataError, expect_list_of_strings, expect_mapping, line_of, load_yaml

TARGET_TOKEN = "actorx"
OTHER_TOKEN = "actoro"
NEGATED_PREFIX = "not_"
TOKEN = re.compile(r"n't|'s\b|\w+(?:'\w+)*|[^\w\s]")
CUE_CLASSES = ("support", "oppose", "reversal", "no_comment", "power", "negators", "hedges", "conditions", "reporting",
               "target", "related", "off_target", "boundaries")
STANCE_CLASSES = ("support", "oppose", "reversal", "no_comment", "power")
NEGATION_REACH = 5  # tokens between a negator and the cue it flips
PLACE_WORDS = {"in", "to", "at", "from", "of", "over", "near"}
# A mention right after one of these is an object ("objected to NATO's expansion"), not the
# subject of the cues that follow it.
OBJECT_MARKERS = {"to", "of", "into", "against", "for", "on", "with", "at", "from", "in", "toward", "towards", "about",
                  "unlike", "than"}
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


def load_cue_lexicon(path) -> dict[str, list[str]]:
    """The lexicon as plain {class: [phrase, ...]}: plain data, so it is saved inside the model."""
    data = expect_mapping(load_yaml(path), path, "the cue lexicon")
    lexicon = {}
    for name in CUE_CLASSES:
        if name not in data:
            raise DataError(path, data.line or 1, f"missing cue class {name!r}; the file needs {', '.join(CUE_CLASSES)}")
        phrases = expect_list_of_strings(data[name], path, name, data.key_lines[name])
        for phrase in phrases:
            tokens = phrase.split()
            if not tokens or any(t in {"*"} for t in tokens):
                raise DataError(path, line_of(phrase, data.key_lines[name]), f"{name}: phrase {phrase!r} is empty or a bare *")
            if phrase != phrase.lower():
                raise DataError(path, line_of(phrase, data.key_lines[name]), f"{name}: write {phrase!r} in lower case")
            split = " ".join(" ".join(tokenize(t.rstrip("*"))) + ("*" if t.endswith("*") else "") for t in tokens)
            if split != " ".join(tokens):
                # Sentences are matched token by token; "ill-advised" would never match "ill - advised".
                raise DataError(path, line_of(phrase, data.key_lines[name]),
                                f"{name}: phrase {phrase!r} can never match; write it as {split!r}")
        lexicon[name] = [str(p) for p in phrases]
    unknown = set(data) - set(CUE_CLASSES)
    if unknown:
        key = sorted(unknown)[0]
        raise DataError(path, data.key_lines[key], f"unknown cue class {key!r}; use {', '.join(CUE_CLASSES)}")
    return lexicon


def _phrase_regex(phrases: list[str]) -> re.Pattern:
    """One regex over space-joined tokens for a class of phrases; longest phrases first."""
    def token_pattern(token):
        return re.escape(token[:-1]) + r"\S*" if token.endswith("*") and len(token) > 1 else re.escape(token)

    alternatives = sorted({" ".join(token_pattern(t) for t in p.split()) for p in phrases}, key=lambda p: (-len(p), p))
    return re.compile(r"(?<!\S)(?:" + "|".join(alternatives) + r")(?!\S)")


class _Lexicon:
    def __init__(self, lexicon: dict[str, list[str]]):
        self.regexes = {name: _phrase_regex(phrases) for name, phrases in lexicon.items() if phrases}

    def find(self, name: str, joined: str, starts: list[int]) -> list[tuple[int, int]]:
        """Token spans [first, last] of the class's phrases in the space-joined tokens."""
        regex = self.regexes.get(name)
        if regex is None:
            return []
        return [(bisect.bisect_right(starts, m.start()) - 1, bisect.bisect_right(starts, m.end() - 1) - 1)
                for m in regex.finditer(joined)]


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


class PairView(BaseEstimator, TransformerMixin):
    """Candidate pairs -> a frame of actor-aware texts and cue features (stateless)."""

    def __init__(self, lexicon=None, mark_actors=True, negation_scope=True, window=5, context_sentences=False,
                 cue_features=True):
        self.lexicon = lexicon
        self.mark_actors = mark_actors
        self.negation_scope = negation_scope
        self.window = window
        self.context_sentences = context_sentences
        self.cue_features = cue_features

    def fit(self, X, y=None):
        return self

    def transform(self, X) -> pd.DataFrame:
        lexicon = _Lexicon(self.lexicon or {})
        records = X.to_dict("records") if isinstance(X, pd.DataFrame) else list(X)
        rows, key, analysis = [], None, None
        for record in records:
            # Tokens and lexicon matches depend on the sentence and where its mentions are, not on
            # which actor is marked: pairs of one sentence (adjacent) share one analysis.
            spans = [tuple(m) for m in record["mentions"]] + [tuple(m) for m in record["other_mentions"]]
            if (record["sentence"], spans) != key:
                key = (record["sentence"], spans)
                analysis = self._analyse(record["sentence"], spans, lexicon)
            rows.append(self._view(record, analysis))
        return pd.DataFrame(rows, columns=["sentence", "text", "window", "context", "cues"])

    def _analyse(self, sentence: str, spans, lexicon: _Lexicon) -> dict:
        if self.mark_actors:
            tokens, slots = tokens_with_slots(sentence, spans)
        else:
            tokens, slots = tokenize(sentence), {}
        joined = " ".join(tokens)
        starts = _token_starts(tokens)
        found = {name: lexicon.find(name, joined, starts) for name in CUE_CLASSES}
        return {"tokens": tokens, "slots": slots, "found": found,
                "boundaries": _boundary_flags(tokens, found["boundaries"], found["reporting"])}

    def _view(self, pair: dict, analysis: dict) -> dict:
        tokens = list(analysis["tokens"])
        for start, _ in pair["mentions"]:
            if start in analysis["slots"]:
                tokens[analysis["slots"][start]] = TARGET_TOKEN
        boundaries, found = analysis["boundaries"], analysis["found"]
        shown = self._negation_marked(tokens, boundaries, found["negators"])
        window = _actor_window(shown, boundaries, self.window) if self.window and self.mark_actors else []
        context = ""
        if self.context_sentences:
            context = " ".join(" ".join(tokenize(pair.get(key) or "")) for key in ("previous_sentence", "next_sentence"))
        cues = _cue_features(tokens, boundaries, found) if self.cue_features and self.mark_actors else {}
        return {"sentence": pair["sentence"], "text": " ".join(shown), "window": " ".join(window), "context": context,
                "cues": cues}

    def _negation_marked(self, tokens, boundaries, negators) -> list[str]:
        if not self.negation_scope:
            return list(tokens)
        shown, scope = [], False
        negator_ends = {last for _, last in negators}
        for i, token in enumerate(tokens):
            if boundaries[i] or token == ",":
                scope = False
            shown.append(NEGATED_PREFIX + token if scope and token not in (TARGET_TOKEN, OTHER_TOKEN) else token)
            if i in negator_ends:
                scope = True
        return shown


def _actor_window(shown: list[str], boundaries: list[bool], size: int) -> list[str]:
    """The words this actor's mentions govern: up to `size` tokens each side, within its clause.

    Words after a mention are what the actor does ("ACTORX objected to"); words before it,
    prefixed L_, are what is said of it ("objected to ACTORX's expansion"). Each side stops at
    a clause boundary and at another actor's mention (kept as the last token), so one actor's
    window does not take in another actor's verb.
    """
    window = []
    for i, token in enumerate(shown):
        if token != TARGET_TOKEN:
            continue
        left = []
        for j in range(i - 1, max(-1, i - size - 1), -1):
            if boundaries[j + 1] or shown[j] == TARGET_TOKEN:
                break
            left.append("L_" + shown[j])
            if shown[j] == OTHER_TOKEN:
                break
        right = []
        for j in range(i + 1, min(len(shown), i + size + 1)):
            if boundaries[j] or shown[j] == TARGET_TOKEN:
                break
            right.append(shown[j])
            if shown[j] == OTHER_TOKEN:
                break
        window.extend(reversed(left))
        window.append(TARGET_TOKEN)
        window.extend(right)
    return window


def _token_starts(tokens: list[str]) -> list[int]:
    starts, position = [], 0
    for token in tokens:
        starts.append(position)
        position += len(token) + 1
    return starts


def _boundary_flags(tokens, boundary_spans, reporting_spans) -> list[bool]:
    flags = [False] * len(tokens)
    reporting_ends = {last for _, last in reporting_spans}
    for first, _ in boundary_spans:
        # A quotation mark between two words of one clause ("Japan was 'working' towards it")
        # quotes a phrase, not a speaker: it does not end the clause.
        if (tokens[first] in QUOTES and 0 < first < len(tokens) - 1 and _is_word(tokens[first - 1])
                and _is_word(tokens[first + 1]) and first - 1 not in reporting_ends):
            continue
        flags[first] = True
    return flags


def _is_gerund(token: str) -> bool:
    """"expanding NATO's reach": an actor right after a verb in -ing is its object."""
    return len(token) > 5 and token.endswith("ing") and token not in ("during", "according")


def _is_word(token: str) -> bool:
    return token[:1].isalnum()


def _clause_ids(boundaries: list[bool]) -> list[int]:
    ids, clause = [], 0
    for is_boundary in boundaries:
        if is_boundary:
            clause += 1
        ids.append(clause)
    return ids


def _cue_features(tokens, boundaries, found: dict) -> dict[str, float]:
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
        after_ends_phrase = position + 1 >= len(tokens) or not _is_word(tokens[position + 1])
        if any(0 <= r - position <= 3 or (0 < position - r <= 3 and (after_ends_phrase or tokens[r] == "according"))
               for r in reporting):
            speaker = is_target
            break
    # "a Japan office", "the NATO liaison office": a mention naming the office's place or owner
    # is part of the target's name, not the subject of the cues around it.
    target_starts = {first for first, _ in found["target"]}
    modifiers = {p for p, _ in actors if p + 1 in target_starts}
    # "he said Japan should make the right call": an actor told what it should do is the
    # addressee of someone else's stance, not its holder.
    addressees = {p for p, _ in actors if any(t in ADDRESSEE_MODALS for t in tokens[p + 1:p + 3])}

    features: dict[str, float] = {}
    held: list[tuple[int, str]] = []  # (token position, stance) of cues this actor holds
    stance_spans = _without_overlaps([(first, last, name) for name in STANCE_CLASSES for first, last in found[name]
                                       if not (name == "support" and first > 0 and tokens[first - 1] in DETERMINERS
                                               and tokens[first] not in AUXILIARIES)])
    # "could use its veto to scupper the plan": the verb after a power phrase is the power's
    # content, not a choice made.
    power_ends = [last for first, last, name in stance_spans if name == "power"]
    stance_spans = [(first, last, name) for first, last, name in stance_spans
                    if not any(clause[end] == clause[first] and 0 < first - end <= 2 for end in power_ends)]
    stance_ends = {last for _, last, _ in stance_spans}
    for first, last, name in stance_spans:
        holder = _holder(tokens, clause, actors, first, last, stance_ends, speaker, modifiers | addressees)
        negated = any(clause[n] == clause[first] and 0 < first - n <= NEGATION_REACH
                      and not any(t in (TARGET_TOKEN, OTHER_TOKEN) for t in tokens[n + 1:first])
                      and not any(n < end < first for end in stance_ends)
                      for n in negator_ends)
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
            if not all(t in COORDINATORS for t in tokens[a + 1:b]):
                break
            i += step
            group.add(i)
    return any(actors[i][1] for i in group)


def _holder_position(tokens, clause, actors, first, last, stance_ends):
    in_clause = [(p, t) for p, t in actors if clause[p] == clause[first]]
    # The passive's agent: "the push was spearheaded by Stoltenberg", "it is opposed by Paris".
    if any(t in PASSIVE_AUXILIARIES for t in tokens[max(0, first - 2):first]):
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
        if any(t in SUBJECT_PRONOUNS for t in tokens[position + 1:first]):
            return actors[0][0]
        for position, is_target in reversed(before):
            previous = position - 1
            while previous >= 0 and tokens[previous] in SKIPPABLE:
                previous -= 1
            if previous >= 0 and (tokens[previous] in OBJECT_MARKERS or previous in stance_ends
                                  or _is_gerund(tokens[previous])):
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
        if all(last < f or first > l for f, l, _ in kept):
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
