"""Loading a model never runs code from the file, and a model from another setup is refused.

The tampering tests use `trained_model` (the real model, fitted in-process), so they run in the quick tier.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import skops.io as sio

from pipeline.errors import DataError
from pipeline.modeling.metadata import sealed
from pipeline.modeling.persist import load_model
from pipeline.scoring.scorer import Scorer

MARKER = Path("/tmp") / "stance-model-safety-marker"
ARTICLE = Path(__file__).resolve().parents[1] / "seeds/000_5ea5e603efdd03d0.txt"


class Payload:
    """Writes a marker file if anything ever restores it: proof of code execution."""

    def __setstate__(self, state):
        MARKER.write_text("code ran")

    def __reduce__(self):
        return (MARKER.write_text, ("code ran",))


@pytest.fixture(autouse=True)
def no_marker():
    MARKER.unlink(missing_ok=True)
    yield
    MARKER.unlink(missing_ok=True)


def with_metadata(model_path: Path, target: Path, **changes) -> Path:
    metadata = json.loads(model_path.with_suffix(".json").read_text(encoding="utf-8"))
    metadata.update(changes)
    target.with_suffix(".json").write_text(json.dumps(sealed(metadata)), encoding="utf-8")  # as a build writes it
    return target


def vouch_for(crafted: Path, model_path: Path) -> None:
    """The model's metadata beside `crafted`, with the SHA-256 of `crafted`."""
    with_metadata(model_path, crafted, model_sha256=hashlib.sha256(crafted.read_bytes()).hexdigest())


def test_the_built_model_loads_and_is_the_model_trained_in_process(model_path, trained_model):
    model, metadata = load_model(model_path)
    assert list(model.named_steps) == ["pairs", "features", "classifier"]
    assert metadata["labels"] == ["support", "oppose", "neutral"]
    # The quick tier's `trained_model` stands for the pipeline's model: they are the same bytes.
    assert trained_model.read_bytes() == model_path.read_bytes()


def test_a_skops_file_with_a_foreign_object_is_refused_without_running_it(trained_model, tmp_path):
    model, _ = load_model(trained_model)
    model.named_steps["classifier"].payload = Payload()  # rides inside an otherwise valid model
    crafted = tmp_path / "model.skops"
    sio.dump(model, crafted)
    vouch_for(crafted, trained_model)  # a model.json edited to match: the allow-list still holds
    with pytest.raises(DataError) as caught:
        load_model(crafted)
    assert "not allowed" in str(caught.value) and "Payload" in str(caught.value)
    assert not MARKER.exists()


def test_a_pickle_renamed_to_skops_is_refused_without_running_it(trained_model, tmp_path):
    crafted = tmp_path / "model.skops"
    crafted.write_bytes(pickle.dumps(Payload()))
    vouch_for(crafted, trained_model)
    with pytest.raises(DataError, match="corrupt or not a skops model"):
        load_model(crafted)
    assert not MARKER.exists()


@pytest.mark.parametrize(
    "changes, words",
    [
        ({"labels": ["pro", "anti", "neutral"]}, "trained for labels"),
        ({"feature_version": 0}, "feature version"),
        ({"sklearn_version": "0.24.2"}, "scikit-learn 0.24.2"),
    ],
)
def test_a_model_from_another_setup_is_refused(trained_model, tmp_path, changes, words):
    target = tmp_path / "model.skops"
    shutil.copy(trained_model, target)
    with pytest.raises(DataError, match=words):
        load_model(with_metadata(trained_model, target, **changes))


@pytest.mark.parametrize(
    "changes, words",
    [
        ({"plain_model": [1]}, "plain_model: should be a JSON object or null"),
        ({"plain_model": "x"}, "plain_model: should be a JSON object or null"),
        ({"plain_model": {"covered": 1}}, "plain_model.covered: should be true or false"),
        ({"registry": None}, "registry: should be a JSON object"),
        ({"registry": [1, 2]}, "registry: should be a JSON object"),
        ({"registry": {}}, "registry.aliases: missing"),
        (
            {"registry": {"aliases": {"japan": ["Japan", 7]}, "exact_case": {}, "not_actors": []}},
            "registry.aliases.japan.1: should be text",
        ),
        (
            {"registry": {"aliases": {}, "exact_case": {}, "not_actors": [], "author": 1}},
            "registry.author: should be text or null",
        ),
        ({"params": None}, "params: should be a JSON object"),
        ({"sklearn_version": None}, "sklearn_version: should be text"),
        ({"model_sha256": 7}, "model_sha256: should be text"),
    ],
)
def test_a_metadata_file_of_the_wrong_shape_is_refused_in_one_line(trained_model, tmp_path, changes, words):
    target = tmp_path / "model.skops"
    for suffix in (".skops", ".npz"):
        shutil.copy(trained_model.with_suffix(suffix), target.with_suffix(suffix))
    with_metadata(trained_model, target, **changes)
    for load in (Scorer.load, load_model):  # the plain model, as `stance score` loads it, and the skops one
        with pytest.raises(DataError, match=f"model.json: model metadata is corrupt \\({re.escape(words)}\\)"):
            load(target)


def test_a_metadata_file_that_is_not_an_object_is_refused_in_one_line(trained_model, tmp_path):
    target = tmp_path / "model.skops"
    shutil.copy(trained_model, target)
    target.with_suffix(".json").write_text("[]", encoding="utf-8")
    with pytest.raises(DataError, match=r"model metadata is corrupt \(not a JSON object\)"):
        Scorer.load(target)


def test_the_metadata_records_the_model_files_sha256_and_a_metadata_without_it_is_an_older_build(
    trained_model, tmp_path
):
    metadata = json.loads(trained_model.with_suffix(".json").read_text(encoding="utf-8"))
    assert metadata["model_sha256"] == hashlib.sha256(trained_model.read_bytes()).hexdigest()
    target = tmp_path / "model.skops"
    shutil.copy(trained_model, target)
    del metadata["model_sha256"]
    target.with_suffix(".json").write_text(json.dumps(metadata), encoding="utf-8")
    with pytest.raises(DataError, match=r"model.json: model metadata has no SHA-256 of model.skops \(an older build\)"):
        Scorer.load(target)


@pytest.mark.parametrize("extra", [(), ("--workers", "2")])
def test_model_metadata_edited_by_hand_is_refused_in_one_line(trained_model, tmp_path, extra):
    """Its registry decides which pairs are scored and its params are the run's provenance: an alias
    edited by hand used to drop France's pairs while the output still named the same model."""
    target = tmp_path / "model.skops"
    for suffix in (".skops", ".npz"):
        shutil.copy(trained_model.with_suffix(suffix), target.with_suffix(suffix))
    metadata = json.loads(trained_model.with_suffix(".json").read_text(encoding="utf-8"))
    metadata["registry"]["aliases"]["france"] = ["Germany"]
    target.with_suffix(".json").write_text(json.dumps(metadata, indent=2), encoding="utf-8")
    output = tmp_path / "out.jsonl"
    command = ["stance", "score", str(ARTICLE), "--model", str(target), "--output", str(output), *extra]
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 1 and not output.exists(), result.stderr
    assert result.stderr == (
        f"error: {target.with_suffix('.json')}: model metadata was changed after training (its SHA-256 differs); "
        "build one with `dvc repro` (or `stance train`)\n"
    )
    # Only the content counts: the same metadata written in another layout is the build's
    target.with_suffix(".json").write_text(
        trained_model.with_suffix(".json").read_text(encoding="utf-8").replace("\n", "")
    )
    assert subprocess.run(command, capture_output=True, text=True).returncode == 0


@pytest.mark.parametrize("extra", [(), ("--workers", "2"), ("--explain", "1")])
def test_a_truncated_model_file_beside_its_plain_model_is_refused_in_one_line(trained_model, tmp_path, extra):
    """The plain model scores without reading model.skops, but the output would name its SHA-256."""
    target = tmp_path / "model.skops"
    for suffix in (".json", ".npz"):
        shutil.copy(trained_model.with_suffix(suffix), target.with_suffix(suffix))
    target.write_bytes(trained_model.read_bytes()[:100_000])
    output = tmp_path / "out.jsonl"
    command = ["stance", "score", str(ARTICLE), "--model", str(target), "--output", str(output), *extra]
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 1 and result.stderr.count("\n") == 1, result.stderr
    assert f"{target}: model file does not belong to model.json (its SHA-256 differs)" in result.stderr
    assert "dvc repro" in result.stderr and not output.exists()


@pytest.mark.parametrize("given", ["", ".", "/", "folder"])
def test_a_folder_given_as_the_model_is_refused_in_one_line(tmp_path, given):
    """`--model ""`, `.` or a folder ended in a ValueError traceback (a folder's path has no suffix to change)."""
    (tmp_path / "folder").mkdir()
    for extra in ((), ("--workers", "2")):
        command = ["stance", "score", str(ARTICLE), "--model", given, "--output", "out.jsonl", *extra]
        result = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path)
        assert result.returncode == 1 and result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
        assert result.stderr.endswith(": is a folder, not a model file; give its model.skops (models/model.skops)\n")
        assert not (tmp_path / "out.jsonl").exists()


def test_a_model_whose_cue_lexicon_is_of_an_older_feature_set_is_refused_in_one_line(trained_model, tmp_path):
    """Even with a model.json that vouches for it: --explain used to fail with a KeyError at the first pair."""
    model, _ = load_model(trained_model)
    del model.named_steps["pairs"].lexicon["syntax"]["infinitive_markers"]  # a key older builds lack
    crafted = tmp_path / "model.skops"
    sio.dump(model, crafted)
    vouch_for(crafted, trained_model)
    with pytest.raises(DataError, match="built by another version: its cue lexicon has no 'infinitive_markers'"):
        Scorer.load(crafted, explain_top=1)
