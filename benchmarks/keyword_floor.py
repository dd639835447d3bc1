"""The floor for `stance score`: the same reading, splitting, matching and writing, and a keyword rule for a model.

    python benchmarks/keyword_floor.py corpus.jsonl --output out.parquet

Reads the inputs as `stance score` does, cuts every article into candidate pairs with
the same function, labels each pair by the evaluate stage's keyword baseline (the
cue lexicon's oppose and support phrases anywhere in the sentence), and writes the
same pair rows. No model is loaded: what `stance score` costs beyond this is the model.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.data.actors import ActorRegistry  # noqa: E402
from pipeline.data.candidates import article_candidates  # noqa: E402
from pipeline.data.labels import PROBABILITY_FIELDS  # noqa: E402
from pipeline.features.lexicon import load_cue_lexicon, phrase_regex  # noqa: E402
from pipeline.features.tokens import tokenize  # noqa: E402
from pipeline.scoring.inputs import Article, read_inputs  # noqa: E402
from pipeline.scoring.outputs import PAIR_SCHEMA, row_writer  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("inputs", nargs="+")
    parser.add_argument("--output", required=True)
    args = parser.parse_args()
    registry = ActorRegistry.load(ROOT / "data/targets/nato-tokyo-office/actors.yaml")
    lexicon = load_cue_lexicon(ROOT / "data/targets/nato-tokyo-office/cues.yaml")
    # The evaluate stage's keyword baseline (evaluation.metrics.keyword_rule), its regexes compiled once.
    oppose, support = phrase_regex(lexicon["oppose"]), phrase_regex(lexicon["support"])
    with row_writer(args.output, PAIR_SCHEMA) as write:
        for event in read_inputs(args.inputs):
            if not isinstance(event, Article):
                continue
            rows = []
            for pair in article_candidates(event.id, event.text, registry):
                joined = " ".join(tokenize(pair["sentence"]))
                stance = "oppose" if oppose.search(joined) else "support" if support.search(joined) else "neutral"
                row = {key: pair[key] for key in ("article_id", "sentence_index", "sentence", "actor")}
                row.update(
                    stance=stance, confidence=1.0, **{name: float(name == f"p_{stance}") for name in PROBABILITY_FIELDS}
                )
                rows.append(row)
            write(rows)


if __name__ == "__main__":
    main()
