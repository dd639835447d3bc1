"""The engine of PairView, the model's first step: each candidate pair as what the vectorisers read.

For each (sentence, this actor's mention spans, other actors' spans) it gives:

- `text`: the sentence with this actor's mentions as ACTORX and other actors' as
  ACTORO, lower-cased, and (optionally) every token in a negation's scope
  prefixed NOT_, so "not against" and "against" are different n-grams; and (optionally)
  every token of a power phrase and of its content prefixed POWER_, so "could use its
  veto" is not read as the veto used;
- `window`: the marked tokens nearest this actor's mentions;
- `context`: the marked neighbouring sentences (optional);
- `cues`: a dict of lexicon features scoped to this actor (see `cues` and `holders`), and with
  `frame_roles` each stance it holds again under its role in the target's frame
  ("host|self:support"; the roles are the lexicon's `frame_roles` section);
- `sentence`: the raw sentence, for the optional sentence embeddings.

Plain Python, no scikit-learn: the estimator PairView (pipeline.features.pair_view) adds
fit and transform to it, and the plain scoring model (pipeline.modeling.plain) uses it as it is.
"""

from __future__ import annotations

import weakref

from pipeline.features.cues import boundary_flags, pair_cue_features, sentence_cues
from pipeline.features.lexicon import STANCE_CLASSES, Lexicon, Syntax
from pipeline.features.tokens import (
    NEGATED_PREFIX,
    OTHER_TOKEN,
    POWER_PREFIX,
    TARGET_TOKEN,
    token_starts,
    tokenize,
    tokens_with_slots,
)

COLUMNS = ["sentence", "text", "window", "context", "cues"]
HELD_STANCES = frozenset(f"self:{name}" for name in STANCE_CLASSES)  # the cue features frame roles repeat
# Compiled lexicons beside each instance, never in it: the saved params stay plain data.
_COMPILED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class PairRows:
    """Candidate pairs (dicts) -> one dict of COLUMNS each; stateless apart from its params."""

    def __init__(
        self,
        lexicon=None,
        mark_actors=True,
        negation_scope=True,
        power_scope=False,
        window=6,
        context_sentences=False,
        cue_features=True,
        frame_roles=False,
    ):
        self.lexicon = lexicon
        self.mark_actors = mark_actors
        self.negation_scope = negation_scope
        self.power_scope = power_scope
        self.window = window
        self.context_sentences = context_sentences
        self.cue_features = cue_features
        self.frame_roles = frame_roles

    def view_rows(self, records: list[dict], token_lists: bool = False) -> list[dict]:
        """`transform` without the frame: one dict of COLUMNS per candidate pair (a dict).

        With `token_lists`, `text` and `window` are their token lists, not joined by spaces: what a
        vectoriser that splits on white space would cut them into anyway (the plain model)."""
        lexicon, syntax = self._compiled()
        rows, key, analysis = [], None, None
        for record in records:
            # Tokens and lexicon matches depend on the sentence and where its mentions are, not on
            # which actor is marked: pairs of one sentence (adjacent) share one analysis.
            spans = sorted([tuple(m) for m in record["mentions"]] + [tuple(m) for m in record["other_mentions"]])
            if (record["sentence"], spans) != key:
                key = (record["sentence"], spans)
                analysis = self._analyse(record["sentence"], spans, lexicon, syntax)
            rows.append(self._view(record, analysis, syntax, token_lists))
        return rows

    def _compiled(self) -> tuple[Lexicon, Syntax]:
        """The lexicon's regexes and word sets, built once per lexicon (sets never go into the params)."""
        cached = _COMPILED.get(self)
        if cached is None or cached[0] is not self.lexicon:
            cached = (self.lexicon, Lexicon(self.lexicon or {}), Syntax.from_lexicon(self.lexicon or {}))
            _COMPILED[self] = cached
        return cached[1], cached[2]

    def _analyse(self, sentence: str, spans, lexicon: Lexicon, syntax: Syntax) -> dict:
        """Everything about a sentence that does not depend on which of its actors is marked."""
        if self.mark_actors:
            tokens, slots = tokens_with_slots(sentence, spans)
        else:
            tokens, slots = tokenize(sentence), {}
        joined = " ".join(tokens)
        starts = token_starts(tokens)
        found = lexicon.find_all(tokens, joined, starts)
        boundaries = boundary_flags(tokens, found["boundaries"], found["reporting"], syntax)
        return {
            "slots": slots,
            # The word "actorx" written in the sentence reads as a marked mention, as it always has.
            "literal_targets": [i for i, token in enumerate(tokens) if token == TARGET_TOKEN],
            "found": found,
            "boundaries": boundaries,
            # Mentions are never in a negation's scope, so one actor's marking does not change the rest.
            "shown": self._power_marked(
                self._negation_marked(tokens, boundaries, found["negators"]), boundaries, found["power"], syntax
            ),
            "cues": sentence_cues(tokens, boundaries, found, syntax)
            if self.cue_features and self.mark_actors
            else None,
        }

    def _view(self, pair: dict, analysis: dict, syntax: Syntax, token_lists: bool = False) -> dict:
        shown, slots = analysis["shown"], analysis["slots"]
        marked = [slots[start] for start, _ in pair["mentions"] if start in slots]
        if marked:
            shown = list(shown)
            for position in marked:
                shown[position] = TARGET_TOKEN
        targets = sorted(set(marked).union(analysis["literal_targets"]))  # where TARGET_TOKEN stands
        boundaries = analysis["boundaries"]
        window = _actor_window(shown, boundaries, self.window, targets) if self.window and self.mark_actors else []
        context = ""
        if self.context_sentences:
            context = " ".join(
                " ".join(tokenize(pair.get(key) or "")) for key in ("previous_sentence", "next_sentence")
            )
        cues = {}
        if analysis["cues"] is not None:
            # A pair with no mention is the author's (the author unit, pipeline.data.actors).
            cues = pair_cue_features(analysis["cues"], set(targets), author=not pair["mentions"])
            role = syntax.role_of.get(pair.get("actor")) if self.frame_roles else None
            if role is not None:
                # The same words can mean another stance from the host than from a neighbour.
                for key in [k for k in cues if k in HELD_STANCES]:
                    cues[f"{role}|{key}"] = 1.0
        return {
            "sentence": pair["sentence"],
            "text": shown if token_lists else " ".join(shown),
            "window": window if token_lists else " ".join(window),
            "context": context,
            "cues": cues,
        }

    def _negation_marked(self, tokens, boundaries, negators) -> list[str]:
        if not self.negation_scope or not negators:  # no negator, no scope: most sentences
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

    def _power_marked(self, shown, boundaries, powers, syntax: Syntax) -> list[str]:
        """The guide: "France could use its veto" is neutral, "France used its veto" oppose. The
        phrase and the cue it may take as content (power_content_reach) read as other words than the act."""
        if not self.power_scope or not powers:
            return shown
        shown = list(shown)
        for first, last in powers:
            for i in range(first, min(len(shown), last + 1 + syntax.power_content_reach)):
                if i > last and (boundaries[i] or shown[i] == ","):  # the content stays in the phrase's clause
                    break
                if shown[i] not in (TARGET_TOKEN, OTHER_TOKEN) and not shown[i].startswith(POWER_PREFIX):
                    shown[i] = POWER_PREFIX + shown[i]
        return shown


def _actor_window(shown: list[str], boundaries: list[bool], size: int, targets: list[int]) -> list[str]:
    """The words this actor's mentions govern: up to `size` tokens each side, within its clause.

    Words after a mention are what the actor does ("ACTORX objected to"); words before it,
    prefixed L_, are what is said of it ("objected to ACTORX's expansion"). Each side stops at
    a clause boundary and at another actor's mention (kept as the last token), so one actor's
    window does not take in another actor's verb.
    """
    window = []
    for i in targets:  # the positions of TARGET_TOKEN in `shown`, in order
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
