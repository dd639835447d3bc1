"""The scorer's own work, counted in machine instructions: a measure this noisy machine cannot move.

    valgrind --tool=callgrind --callgrind-out-file=/dev/null \
        python benchmarks/scorer_work.py --articles 200
    valgrind --tool=callgrind --callgrind-out-file=/dev/null \
        python benchmarks/scorer_work.py --articles 200 --setup-only

Wall and CPU seconds on a shared 2-core machine wander by a third within a day, which
hides a 5% step. The instructions callgrind counts ("Collected") do not wander: the
first command minus the second is what `Scorer.score_batch` executes for the first
`--articles` shipped articles, in batches of 64 as `stance score` runs them (after
the same imports, model load and one warm-up batch in both). Run it on two commits to
see what a change saves; it also prints its own CPU seconds, for a run without valgrind.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.paths import MODEL as MODEL_PATH  # noqa: E402
from pipeline.scoring.inputs import Article  # noqa: E402
from pipeline.scoring.scorer import BATCH_ARTICLES, Scorer  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=200, help="score this many articles (the seeds, repeated)")
    parser.add_argument("--setup-only", action="store_true", help="imports, model load and warm-up, no scoring")
    parser.add_argument("--model", type=Path, default=ROOT / MODEL_PATH)
    args = parser.parse_args()
    seeds = [(p.stem, p.read_text(encoding="utf-8")) for p in sorted((ROOT / "seeds").glob("*.txt"))]
    articles = [
        Article(f"{i // len(seeds)}-{seeds[i % len(seeds)][0]}", seeds[i % len(seeds)][1], "benchmark")
        for i in range(args.articles)
    ]
    scorer = Scorer.load(args.model)
    scorer.score_batch(articles[:BATCH_ARTICLES])  # compiles the lexicon's regexes, fills the caches
    if args.setup_only:
        return
    start = time.process_time()
    pairs = 0
    for offset in range(0, len(articles), BATCH_ARTICLES):
        pairs += sum(len(result.rows) for result in scorer.score_batch(articles[offset : offset + BATCH_ARTICLES]))
    print(f"{len(articles)} articles, {pairs} pairs scored in {time.process_time() - start:.2f} CPU s")


if __name__ == "__main__":
    main()
