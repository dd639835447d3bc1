"""PairView: the model's first step, turning each candidate pair into what the vectorisers read.

For each (sentence, this actor's mention spans, other actors' spans) it gives:

- `text`: the sentence with this actor's mentions as ACTORX and other actors' as
  ACTORO, lower-cased, and (optionally) every token in a negation's scope
  prefixed NOT_, so "not against" and "against" are different n-grams;
- `window`: the marked tokens nearest this actor's mentions;
- `context`: the marked neighbouring sentences (optional);
- `cues`: a dict of lexicon features scoped to this actor (see `cues` and `holders`);
- `sentence`: the raw sentence, for the optional sentence embeddings.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from pipeline.features.cues import boundary_flags, cue_features
from pipeline.features.lexicon import CUE_CLASSES, Lexicon, Syntax
from pipeline.features.tokens import (
    NEGATED_PREFIX,
    OTHER_TOKEN,
    TARGET_TOKEN,
    token_starts,
    tokenize,
    tokens_with_slots,
)

OUTPUT_COLUMNS = ("sentence", "text", "window", "context", "cues")


class PairView(BaseEstimator, TransformerMixin):
    """Candidate pairs -> a frame of actor-aware texts and cue features (stateless)."""

    def __init__(
        self, lexicon=None, mark_actors=True, negation_scope=True, window=6, context_sentences=False, cue_features=True
    ):
        self.lexicon = lexicon
        self.mark_actors = mark_actors
        self.negation_scope = negation_scope
        self.window = window
        self.context_sentences = context_sentences
        self.cue_features = cue_features

    def fit(self, X, y=None):
        return self

    def transform(self, X) -> pd.DataFrame:
        lexicon = Lexicon(self.lexicon or {})
        # Sets are built here, never kept in the params: the saved lexicon stays plain data.
        syntax = Syntax.from_lexicon(self.lexicon or {})
        records = X.to_dict("records") if isinstance(X, pd.DataFrame) else list(X)
        rows, key, analysis = [], None, None
        for record in records:
            # Tokens and lexicon matches depend on the sentence and where its mentions are, not on
            # which actor is marked: pairs of one sentence (adjacent) share one analysis.
            spans = [tuple(m) for m in record["mentions"]] + [tuple(m) for m in record["other_mentions"]]
            if (record["sentence"], spans) != key:
                key = (record["sentence"], spans)
                analysis = self._analyse(record["sentence"], spans, lexicon, syntax)
            rows.append(self._view(record, analysis, syntax))
        return pd.DataFrame(rows, columns=list(OUTPUT_COLUMNS))

    def get_feature_names_out(self, input_features=None):
        """The columns `transform` gives, so `model[:-1].get_feature_names_out()` names every feature."""
        return np.asarray(OUTPUT_COLUMNS, dtype=object)

    def _analyse(self, sentence: str, spans, lexicon: Lexicon, syntax: Syntax) -> dict:
        if self.mark_actors:
            tokens, slots = tokens_with_slots(sentence, spans)
        else:
            tokens, slots = tokenize(sentence), {}
        joined = " ".join(tokens)
        starts = token_starts(tokens)
        found = {name: lexicon.find(name, joined, starts) for name in CUE_CLASSES}
        return {
            "tokens": tokens,
            "slots": slots,
            "found": found,
            "boundaries": boundary_flags(tokens, found["boundaries"], found["reporting"], syntax),
        }

    def _view(self, pair: dict, analysis: dict, syntax: Syntax) -> dict:
        tokens = list(analysis["tokens"])
        for start, _ in pair["mentions"]:
            if start in analysis["slots"]:
                tokens[analysis["slots"][start]] = TARGET_TOKEN
        boundaries, found = analysis["boundaries"], analysis["found"]
        shown = self._negation_marked(tokens, boundaries, found["negators"])
        window = _actor_window(shown, boundaries, self.window) if self.window and self.mark_actors else []
        context = ""
        if self.context_sentences:
            context = " ".join(
                " ".join(tokenize(pair.get(key) or "")) for key in ("previous_sentence", "next_sentence")
            )
        cues = cue_features(tokens, boundaries, found, syntax) if self.cue_features and self.mark_actors else {}
        return {
            "sentence": pair["sentence"],
            "text": " ".join(shown),
            "window": " ".join(window),
            "context": context,
            "cues": cues,
        }

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
