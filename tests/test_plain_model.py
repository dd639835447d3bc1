"""The plain scoring model: the skops pipeline's numbers to the last bit, loaded without scikit-learn,
and refused in one line when it does not belong to the model beside it."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from pipeline.data.actors import ActorRegistry
from pipeline.data.candidates import article_candidates
from pipeline.data.splits import load_split
from pipeline.features.lexicon import load_cue_lexicon
from pipeline.modeling.build import build_model, calibration_groups, fit_deterministic
from pipeline.modeling.explain import Explainer
from pipeline.modeling.metadata import sealed
from pipeline.modeling.persist import load_model
from pipeline.modeling.plain import PlainModel, load_plain, plain_path, plain_spec, save_plain
from pipeline.modeling.predict import class_scores, pairs_frame
from pipeline.params import load_params
from pipeline.paths import TRAIN_SPLIT
from pipeline.scoring.scorer import Scorer

ROOT = Path(__file__).resolve().parents[1]
ARTICLE = ROOT / "seeds/000_5ea5e603efdd03d0.txt"


@pytest.fixture(scope="module")
def shipped_pairs(trained_model):
    """Every candidate pair of every article in the repository (real and synthetic)."""
    _, metadata = load_model(trained_model)
    registry = ActorRegistry.from_dict(metadata["registry"])
    return [
        pair
        for folder in ("seeds", "data/targets/nato-tokyo-office/synthetic/articles")
        for path in sorted((ROOT / folder).glob("*.txt"))
        for pair in article_candidates(path.stem, path.read_text(encoding="utf-8"), registry)
    ]


def test_the_trained_plain_model_gives_the_pipelines_numbers_to_the_last_bit(trained_model, shipped_pairs):
    model, metadata = load_model(trained_model)
    plain = load_plain(trained_model, metadata)
    assert isinstance(plain, PlainModel) and metadata["plain_model"]["covered"]
    assert len(shipped_pairs) > 2000
    expected = class_scores(model, shipped_pairs)
    assert np.array_equal(plain.class_scores(shipped_pairs), expected)
    assert np.array_equal(plain.class_scores(shipped_pairs[::-1]), expected[::-1])  # with its word cache warm


def test_the_plain_model_explains_each_pair_as_the_pipeline_does_to_the_last_bit(trained_model, shipped_pairs):
    """`--explain` reads the plain model, so one article is explained without importing scikit-learn:
    every feature's name and contribution, the score and the intercept are the skops pipeline's."""
    model, metadata = load_model(trained_model)
    pairs = shipped_pairs[::7]
    plain_scores, plain_explanations = Explainer(load_plain(trained_model, metadata)).explain(pairs, top=None)
    scores, explanations = Explainer(model).explain(pairs, top=None)
    assert np.array_equal(plain_scores, scores)
    assert plain_explanations == explanations
    assert sum(len(e["features"]) for e in explanations) > 20 * len(pairs)


@pytest.fixture(scope="module")
def train_rows(trained_model):
    dataset, labels = load_split(trained_model.parents[1] / TRAIN_SPLIT)
    return dataset.to_list(), labels


@pytest.mark.parametrize(
    "changes",
    [
        {"calibration": "none", "word_ngrams": [1, 1], "char_ngrams": [3, 5]},  # softmax of a bare logreg
        {"char_ngrams": [0, 0], "window": 0, "cue_features": False},  # words only
        {"frame_roles": True},  # cue features that read the pair's actor
        {"class_offsets": "macro_f1"},  # decision offsets, folded into the intercepts
    ],
)
def test_other_covered_settings_give_the_same_numbers_too(train_rows, shipped_pairs, changes, tmp_path):
    rows, labels = train_rows
    params = load_params(ROOT / "params.yaml").train.model_copy(update=changes)
    model = build_model(params, load_cue_lexicon(ROOT / "data/targets/nato-tokyo-office/cues.yaml"))
    fit_deterministic(model, pairs_frame(rows), labels, groups=calibration_groups(rows))
    covered, _ = save_plain(model, tmp_path / "model.npz")
    assert covered
    plain = PlainModel.read(tmp_path / "model.npz", (tmp_path / "model.npz").read_bytes())
    assert np.array_equal(plain.class_scores(shipped_pairs), class_scores(model, shipped_pairs))
    save_plain(model, tmp_path / "again.npz")  # the same model always gives the same bytes
    assert (tmp_path / "again.npz").read_bytes() == (tmp_path / "model.npz").read_bytes()


def test_a_model_the_format_does_not_hold_is_scored_from_its_skops_file(train_rows, tmp_path):
    rows, labels = train_rows
    params = load_params(ROOT / "params.yaml").train.model_copy(update={"classifier": "linear_svm"})
    params = params.model_copy(update={"calibration": "none"})
    model = build_model(params, load_cue_lexicon(ROOT / "data/targets/nato-tokyo-office/cues.yaml"))
    fit_deterministic(model, pairs_frame(rows[:600]), labels[:600])
    spec, arrays = plain_spec(model)
    assert not spec["covered"] and "LinearSVC" in spec["reason"] and arrays == {}
    from pipeline.modeling.persist import save_model

    save_model(model, tmp_path / "model.skops", {})
    metadata = json.loads((tmp_path / "model.json").read_text(encoding="utf-8"))
    assert metadata["plain_model"]["covered"] is False and plain_path(tmp_path / "model.skops").exists()
    assert load_plain(tmp_path / "model.skops", metadata) is None


def copy_model(trained_model: Path, folder: Path, plain: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    suffixes = (".skops", ".json", ".npz") if plain else (".skops", ".json")
    for suffix in suffixes:
        shutil.copy(trained_model.with_suffix(suffix), folder / f"model{suffix}")
    return folder / "model.skops"


def score(model: Path, output: Path, *extra: str) -> subprocess.CompletedProcess:
    command = ["stance", "score", str(ARTICLE), "--model", str(model), "--output", str(output), *extra]
    return subprocess.run(command, capture_output=True, text=True, cwd=ROOT)


def test_scoring_one_article_imports_no_scikit_learn_and_writes_what_the_skops_model_writes(trained_model, tmp_path):
    with_plain = copy_model(trained_model, tmp_path / "with")
    without = copy_model(trained_model, tmp_path / "without", plain=False)  # copied without it: skops
    check = (
        "import sys; from pipeline.scoring.scorer import run_score; "
        f"code = run_score([{str(ARTICLE)!r}], {str(with_plain)!r}, output={str(tmp_path / 'api.jsonl')!r}); "
        # Parquet too: pyarrow would import pandas to convert the rows if they were handed over as lists.
        f"code += run_score([{str(ARTICLE)!r}], {str(with_plain)!r}, output={str(tmp_path / 'api.parquet')!r}, "
        f"summary={str(tmp_path / 'summary.parquet')!r}); "
        "print(code, sorted({m.split('.')[0] for m in sys.modules} & {'sklearn', 'skops', 'pandas', 'torch'}))"
    )
    result = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, cwd=ROOT)
    assert result.stdout.strip() == "0 []", result.stderr
    assert pq.read_table(tmp_path / "api.parquet").num_rows == len((tmp_path / "api.jsonl").read_text().splitlines())
    for model, name in ((with_plain, "plain.jsonl"), (without, "skops.jsonl")):
        assert score(model, tmp_path / name).returncode == 0
    plain_rows = (tmp_path / "plain.jsonl").read_text(encoding="utf-8")
    assert plain_rows and plain_rows == (tmp_path / "skops.jsonl").read_text(encoding="utf-8")
    assert plain_rows == (tmp_path / "api.jsonl").read_text(encoding="utf-8")


def test_a_plain_model_that_does_not_belong_to_its_model_is_refused_in_one_line(trained_model, tmp_path):
    model = copy_model(trained_model, tmp_path / "model")
    data = bytearray(plain_path(model).read_bytes())
    data[-40] ^= 0xFF
    plain_path(model).write_bytes(bytes(data))
    result = score(model, tmp_path / "out.jsonl")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1 and "does not belong to model.skops" in result.stderr
    assert str(plain_path(model)) in result.stderr and not (tmp_path / "out.jsonl").exists()


def write_vouched_plain(model: Path, arrays: dict) -> None:
    """Write `arrays` as the model's plain file and record its SHA-256 in model.json, as a build would."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, array in arrays.items():
            with archive.open(f"{name}.npy", "w") as entry:
                np.lib.format.write_array(entry, array, allow_pickle=array.dtype == object)
    plain_path(model).write_bytes(buffer.getvalue())
    metadata = json.loads(model.with_suffix(".json").read_text(encoding="utf-8"))
    metadata["plain_model"]["sha256"] = hashlib.sha256(buffer.getvalue()).hexdigest()
    model.with_suffix(".json").write_text(json.dumps(sealed(metadata)), encoding="utf-8")


def test_a_plain_model_holding_an_object_array_is_refused_without_unpickling(trained_model, tmp_path):
    """Even with a metadata file vouching for it: np.load never unpickles."""
    model = copy_model(trained_model, tmp_path / "model")
    with np.load(plain_path(model)) as original:
        arrays = {
            name: np.array([print], dtype=object) if name == "coef" else original[name] for name in original.files
        }
    write_vouched_plain(model, arrays)
    result = score(model, tmp_path / "out.jsonl")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "plain model file is corrupt" in result.stderr and "dvc repro" in result.stderr


def test_explanations_come_from_the_plain_model_without_scikit_learn_and_match_the_skops_ones(trained_model, tmp_path):
    """Before, `--explain` loaded the skops pipeline: 3 seconds for one article, against 0.5 without it."""
    with_plain = copy_model(trained_model, tmp_path / "with")
    without = copy_model(trained_model, tmp_path / "without", plain=False)
    assert isinstance(Scorer.load(with_plain, explain_top=3).model, PlainModel)
    assert hasattr(Scorer.load(without, explain_top=3).model, "named_steps")
    check = (
        "import sys; from pipeline.scoring.scorer import run_score; "
        f"code = run_score([{str(ARTICLE)!r}], {str(with_plain)!r}, output={str(tmp_path / 'api.jsonl')!r}, "
        "explain_top=3); "
        "print(code, sorted({m.split('.')[0] for m in sys.modules} & {'sklearn', 'skops', 'pandas', 'torch'}))"
    )
    result = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, cwd=ROOT)
    assert result.stdout.strip() == "0 []", result.stderr
    assert score(without, tmp_path / "skops.jsonl", "--explain", "3").returncode == 0
    explained = (tmp_path / "api.jsonl").read_text(encoding="utf-8")
    assert '"explanation": [{"feature": ' in explained
    assert explained == (tmp_path / "skops.jsonl").read_text(encoding="utf-8")


def first_idf(arrays: dict) -> str:
    return min(name for name in arrays if name.startswith("idf_"))


@pytest.mark.parametrize(
    "edit, words, extra",
    [
        (lambda a: a.update(coef=a["coef"][:, :-1]), "coef is float64 of shape (3, ", ()),
        (lambda a: a.update(coef=a["coef"][:2]), "coef is float64 of shape (2, ", ("--workers", "2")),
        (lambda a: a.pop(first_idf(a)), "no array idf_", ()),
        (lambda a: a.update({first_idf(a): a[first_idf(a)][:-5]}), "not float64 of shape", ()),
        (lambda a: a["coef"].__setitem__((0, 0), np.nan), "coef holds a value that is not a finite number", ()),
    ],
)
def test_a_plain_model_edited_with_its_sha256_updated_is_refused_in_one_line(
    trained_model, tmp_path, edit, words, extra
):
    """model.json vouches for the file, but its arrays do not fit its spec or each other."""
    model = copy_model(trained_model, tmp_path / "model")
    with np.load(plain_path(model)) as original:
        arrays = {name: original[name] for name in original.files}
    edit(arrays)
    write_vouched_plain(model, arrays)
    result = score(model, tmp_path / "out.jsonl", *extra)
    assert result.returncode == 1 and result.stderr.count("\n") == 1, result.stderr
    assert f"{plain_path(model)}: plain model file is corrupt (" in result.stderr and words in result.stderr
    assert "dvc repro" in result.stderr and not (tmp_path / "out.jsonl").exists()
