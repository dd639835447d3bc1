"""The holder-rule audit: does each hand-written holder rule earn its place?

    python benchmarks/holder_rules.py            # needs `dvc repro` first (the prepared pairs)

For each rule that `holder_rules` in data/targets/nato-tokyo-office/cues.yaml lists (but the last, the speaker,
which is also what happens when no rule answers), the default model is trained with
that one rule left out of the list, as the train stage trains it, and compared with
the model that applies every rule:

- grouped CV macro-F1, computed as the evaluate stage computes it;
- locked-test macro-F1 (aggregate figures only, never a per-pair prediction), and the
  95% interval of its difference from the model with every rule, the same resampled
  articles for both (paired).

A rule earns its place when leaving it out lowers the locked-test macro-F1. Prints one
line per rule and writes nothing.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from candidates import fit_and_score_locked, labelled_pairs, paired_difference  # noqa: E402

from pipeline.data.actors import ActorRegistry  # noqa: E402
from pipeline.evaluation.metrics import grouped_cv, scores  # noqa: E402
from pipeline.features.lexicon import load_cue_lexicon  # noqa: E402
from pipeline.params import load_params  # noqa: E402


def main() -> None:
    os.chdir(ROOT)  # params.yaml names its files relative to the project
    params = load_params()
    lexicon = load_cue_lexicon(params.data.cues)
    registry = ActorRegistry.load(params.data.actors)
    real_rows, real_labels, synthetic_rows, synthetic_labels = labelled_pairs()
    rules = lexicon["holder_rules"]
    baseline = None
    for left_out in [None, *rules[:-1]]:
        variant = {**lexicon, "holder_rules": [rule for rule in rules if rule != left_out]}
        cv, _ = grouped_cv(params, real_rows, real_labels, variant, synthetic_rows, synthetic_labels)
        _, figures, predicted = fit_and_score_locked(
            params, variant, registry, real_rows + synthetic_rows, real_labels + synthetic_labels
        )
        baseline = baseline or predicted
        delta = paired_difference(params, registry, predicted, baseline)
        name = "every rule" if left_out is None else f"without {left_out}"
        print(
            f"{name:<40} grouped CV {scores(real_labels, cv['model'])['macro_f1']:.3f}  locked "
            f"{figures['locked_macro_f1']:.3f} ({figures['locked_low']:.3f} to {figures['locked_high']:.3f}), "
            f"support recall {figures['support_recall']:.2f}, oppose recall {figures['oppose_recall']:.2f}, "
            f"minus every rule's {delta['delta_low']:+.3f} to {delta['delta_high']:+.3f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
