"""A candidate tried and not kept: static vectors distilled from MiniLM fine-tuned on the pairs.

    python benchmarks/finetuned_static.py OUT      # ~15 min on 2 cores; needs .[embeddings,distill] and `dvc repro`
    cp OUT/* models/static_vectors/ && dvc exp run -S train.embeddings=static
    git checkout -- params.yaml dvc.lock metrics.json models/ plots/ reports/ && dvc checkout

The last line goes back to the shipped model (`dvc exp show` keeps the candidate).

The static vectors of the distill stage come from the bundled MiniLM as it ships; they did
not move the locked test (docs/QUALITY.md). The fine-tuned preset's encoder reads wordings
the n-grams miss, but costs a hundredth of the speed. This asks whether its knowledge
survives distillation into one vector per token, which scores at the speed of the static
vectors: the preset's encoder and settings (`finetune` in params.yaml) are fit on the train
split only, so the held-out test and the locked test never reach it (grouped CV does: it is
no estimate for this candidate), then the distill stage's own `distill_encoder` distills it as it
distills the base encoder (`distill` in params.yaml) into OUT: vectors.safetensors, tokenizer.json,
config.json, the files of models/static_vectors/.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline import paths  # noqa: E402
from pipeline.data.splits import load_split  # noqa: E402
from pipeline.modeling.finetuned import FineTunedEncoder  # noqa: E402
from pipeline.params import load_params  # noqa: E402
from pipeline.stages.distill import distill_encoder  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="folder for the distilled vectors")
    args = parser.parse_args()
    out = args.out.resolve()
    # Before the encoder imports tqdm, which reads it once: model2vec's per-token bar would fill the log.
    os.environ.setdefault("TQDM_DISABLE", "1")
    os.chdir(ROOT)  # the params' paths (distill.vocabulary) are the project's, as in the stages
    params = load_params(paths.PARAMS)
    rows, labels = load_split(paths.TRAIN_SPLIT)
    print(f"fine-tuning on the train split ({len(labels)} pairs)", flush=True)
    encoder = FineTunedEncoder(params.finetune).fit(rows.to_list(), labels).encoder
    about = "the bundled MiniLM fine-tuned on the train split (benchmarks/finetuned_static.py)"
    distill_encoder(params.distill, out, encoder, about)
    return 0


if __name__ == "__main__":
    sys.exit(main())
