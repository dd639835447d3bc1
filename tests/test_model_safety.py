"""Loading a model never runs code from the file, and a model from another setup is refused."""

from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path

import pytest
import skops.io as sio

from pipeline.errors import DataError
from pipeline.modeling.persist import load_model

MARKER = Path("/tmp") / "stance-model-safety-marker"


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
    target.with_suffix(".json").write_text(json.dumps(metadata), encoding="utf-8")
    return target


def test_the_built_model_loads(model_path):
    model, metadata = load_model(model_path)
    assert list(model.named_steps) == ["pairs", "features", "classifier"]
    assert metadata["labels"] == ["support", "oppose", "neutral"]


def test_a_skops_file_with_a_foreign_object_is_refused_without_running_it(model_path, tmp_path):
    model, _ = load_model(model_path)
    model.named_steps["classifier"].payload = Payload()  # rides inside an otherwise valid model
    crafted = with_metadata(model_path, tmp_path / "model.skops")
    sio.dump(model, crafted)
    with pytest.raises(DataError) as caught:
        load_model(crafted)
    assert "not allowed" in str(caught.value) and "Payload" in str(caught.value)
    assert not MARKER.exists()


def test_a_pickle_renamed_to_skops_is_refused_without_running_it(model_path, tmp_path):
    crafted = with_metadata(model_path, tmp_path / "model.skops")
    crafted.write_bytes(pickle.dumps(Payload()))
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
def test_a_model_from_another_setup_is_refused(model_path, tmp_path, changes, words):
    target = tmp_path / "model.skops"
    shutil.copy(model_path, target)
    with pytest.raises(DataError, match=words):
        load_model(with_metadata(model_path, target, **changes))
