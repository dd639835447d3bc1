"""The static word vectors (models/static_vectors/): loaded once per process, without scikit-learn.

The vectors are distilled from the bundled MiniLM by the distill stage (model2vec) and committed.
`StaticEmbedder` averages them over a text; `WordClusters` and the plain model place words by them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pipeline.errors import DataError
from pipeline.files import files_sha256
from pipeline.paths import STATIC_TOKENIZER_FILE, STATIC_VECTORS, STATIC_VECTORS_FILE

PROJECT_ROOT = Path(__file__).resolve().parents[2]
_loaded: dict[str, tuple] = {}  # folder -> (tokenizer, vectors as float32, unknown-token id, sha256); one per process


def resolve(folder: str | Path) -> Path:
    """A relative folder is looked for in the working directory, then in the project (for `stance score` elsewhere)."""
    folder = Path(folder)
    if folder.is_absolute() or (folder / STATIC_VECTORS_FILE).exists():
        return folder
    return PROJECT_ROOT / folder


def vectors_sha256(folder: Path) -> str:
    return files_sha256([folder / STATIC_VECTORS_FILE, folder / STATIC_TOKENIZER_FILE])


def check_fitted_with(folder: str | Path, digest: str, fitted_sha256: str, fitted: str) -> None:
    """Refuse vectors (`digest`) other than the ones a model part was fit with: `fitted` says which part."""
    if digest != fitted_sha256:
        raise DataError(
            resolve(folder),
            None,
            f"these static vectors ({STATIC_VECTORS_FILE} and {STATIC_TOKENIZER_FILE}) are not the ones {fitted}; "
            "retrain it (`dvc repro`)",
        )


def load_vectors(folder: str | Path = STATIC_VECTORS) -> tuple:
    path = resolve(folder)
    key = str(path)
    if key not in _loaded:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        vectors_file = path / STATIC_VECTORS_FILE
        if not vectors_file.exists() or not (path / STATIC_TOKENIZER_FILE).exists():
            raise DataError(
                vectors_file, None, "static vectors not found; they are committed to git (or run `stance distill`)"
            )
        try:
            tokenizer = Tokenizer.from_file(str(path / STATIC_TOKENIZER_FILE))
            vectors = load_file(str(vectors_file))["vectors"].astype(np.float32)
        except Exception as err:  # safetensors and tokenizers raise their own kinds on a corrupt file
            raise DataError(
                vectors_file, None, f"static vectors unreadable ({type(err).__name__}); run `stance distill`"
            ) from None
        tokenizer.no_truncation()
        tokenizer.no_padding()
        unknown = tokenizer.token_to_id(tokenizer.model.unk_token) if hasattr(tokenizer.model, "unk_token") else None
        _loaded[key] = (tokenizer, vectors, unknown, vectors_sha256(path))
    return _loaded[key]
