"""A candidate: the blocks that know the actor weigh more beside the n-grams of the whole sentence.

    python benchmarks/block_weights.py            # grouped CV and held-out test; needs `dvc repro`
    python benchmarks/block_weights.py --locked   # the chosen arm against the shipped model, once

The sentence's word and character n-grams are mostly the same for every actor the sentence names
(only those touching the ACTORX / ACTORO marks differ), so in "France opposed the office that Japan
welcomed" they pull France and Japan mostly the same way; the actor's window, its word clusters and
the cue features scoped to its clause are what tell them apart. Each
block's weight scales its columns before the logistic regression, whose L2 penalty then costs the
scaled block less: a weight above 1 lets the model lean on that block. The cue features already have
theirs (`train.cue_weight`, 1.0); the arms weigh the window's two blocks (its n-grams and its word
clusters) 1.5 or 2, or the shared blocks (the sentence's words and characters) 0.5. Everything else
is the shipped pipeline.

Development only: grouped CV over the real articles and the held-out test of the model fit on the
train split. The rule, written before the first run (2026-12-06): look at the locked test (once,
`--locked`, for the arm best on grouped CV) only if it gains at least 0.005 in grouped CV over the
shipped model and its held-out test does not fall; keep it (as a param) only if the locked test gains
at least 0.010, the paired interval's low end is above -0.010 and the behavioural suite stays at 0.98
or more.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from candidates import development_round, locked_round, shipped_setup  # noqa: E402

import pipeline.modeling.build as build  # noqa: E402

ACTOR_BLOCKS = ("window", "window_clusters")  # what the actor's window gives (the cues have train.cue_weight)
SHARED_BLOCKS = ("words", "chars")  # mostly the same for every actor of a sentence
ARMS = [(ACTOR_BLOCKS, 1.5), (ACTOR_BLOCKS, 2.0), (SHARED_BLOCKS, 0.5)]  # (blocks, weight), in the order run
# The arm that met the rule for one look at the locked test: none did (2026-12-06, grouped CV / held-out test
# 0.793 / 0.808, 0.799 / 0.804 and 0.788 / 0.794 in ARMS order, against the shipped model's 0.802 / 0.811).
CHOSEN = None


def weighted(blocks: tuple[str, ...], weight: float):
    """build_model with `blocks` weighing `weight` (the other blocks keep theirs)."""
    shipped = build.build_model

    def build_model(p, lexicon):
        model = shipped(p, lexicon)
        features = model.named_steps["features"]
        missing = set(blocks) - {name for name, _, _ in features.transformers}
        if missing:  # else the arm would be the shipped model under another name
            raise SystemExit(f"these params build no {', '.join(sorted(missing))} block to weigh")
        features.transformer_weights = (features.transformer_weights or {}) | dict.fromkeys(blocks, weight)
        return model

    return build_model


def name_of(blocks: tuple[str, ...], weight: float) -> str:
    return f"{' and '.join(blocks)} weighing {weight}"


def main() -> int:
    shipped, lexicon, registry = shipped_setup()
    if sys.argv[1:] == ["--locked"]:
        if CHOSEN is None:
            raise SystemExit("no arm met the rule for a look at the locked test")
        locked_round(
            shipped, lexicon, registry, [("shipped", (shipped, None)), (name_of(*CHOSEN), (shipped, weighted(*CHOSEN)))]
        )
        return 0
    development_round(
        shipped, lexicon, [(name_of(blocks, weight), weighted(blocks, weight)) for blocks, weight in ARMS]
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
