"""Static word vectors: the committed vectors, the StaticEmbedder columns, and the distill stage.

The vectors in models/static_vectors/ are the distill stage's output, committed to git;
reading them needs numpy, safetensors and tokenizers, never torch. Rebuilding them needs
the `distill` extra and is checked once, end to end, against the committed bytes.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
from conftest import ROOT, clone_project, run
from safetensors.numpy import load_file

from pipeline import paths
from pipeline.errors import DataError
from pipeline.features import vector_table
from pipeline.features.static_vectors import StaticEmbedder, load_vectors
from pipeline.modeling.build import build_model, fit_deterministic
from pipeline.modeling.persist import load_model, save_model
from pipeline.modeling.predict import class_scores, pairs_frame
from pipeline.params import load_params

VECTORS = ROOT / paths.STATIC_VECTORS


def test_the_committed_vectors_load_and_embed_without_torch():
    code = (
        "import sys; from pipeline.features.static_vectors import StaticEmbedder; "
        "e = StaticEmbedder(source='sentence').fit(None); "
        "v = e.transform(['France objects to a NATO office in Tokyo.']); "
        "print(v.shape[1], 'torch' in sys.modules, 'transformers' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    dimensions = int(load_params(ROOT / "params.yaml").distill.pca_dims)
    assert result.stdout.split() == [str(dimensions), "False", "False"]


def test_embeddings_are_unit_length_and_the_same_in_any_batch():
    embedder = StaticEmbedder(source="sentence", vectors=str(VECTORS)).fit(None)
    texts = ["France objects to a NATO office in Tokyo.", "Japan welcomed the proposal.", "", "?!"]
    batch = embedder.transform(texts)
    assert np.allclose(np.linalg.norm(batch[[0, 1, 3]], axis=1), 1, atol=1e-4)
    assert not batch[2].any()  # no tokens: a zero row, not NaN
    for i, text in enumerate(texts):
        assert np.array_equal(embedder.transform([text])[0], batch[i])
    # Wording it has never seen still lands near its paraphrase, not near an unrelated sentence.
    objection, paraphrase, unrelated = embedder.transform(
        ["Paris rejected the plan for an office.", "France turned down the office proposal.", "It rained in Oslo."]
    )
    assert objection @ paraphrase > objection @ unrelated


def test_the_window_is_embedded_without_pair_view_marks():
    embedder = StaticEmbedder(source="window", vectors=str(VECTORS)).fit(None)
    marked, plain = embedder.transform(
        ["L_did L_not L_not_back L_the actorx said", "did not back the this actor said"]  # as PairView writes it
    )
    assert np.array_equal(marked, plain)
    power, plain = embedder.transform(
        ["actorx power_could power_not_veto L_power_block", "this actor could veto block"]
    )
    assert np.array_equal(power, plain)


@pytest.fixture(scope="module")
def static_model(tmp_path_factory):
    """The shipped pipeline with static sentence and window columns, fit on the real training articles."""
    from pipeline.data.splits import load_split
    from pipeline.features.lexicon import load_cue_lexicon
    from pipeline.stages.prepare import prepare

    params = load_params(ROOT / "params.yaml")
    for name in type(params.data).model_fields:
        setattr(params.data, name, str(ROOT / getattr(params.data, name)))
    params.prepare.synthetic = params.prepare.rewrites = False  # the real articles are enough to test the mechanics
    params.train.embeddings, params.train.static_text = "static", "both"
    params.train.word_clusters = 0  # its centres and words are in the file: the size check is of the vectors alone
    workdir = tmp_path_factory.mktemp("static")
    with contextlib.chdir(workdir):
        prepare(params)
        dataset, labels = load_split(paths.TRAIN_SPLIT)
        test_set, _ = load_split(paths.TEST_SPLIT)
    model = build_model(params.train, load_cue_lexicon(params.data.cues))
    fit_deterministic(model, pairs_frame(dataset.to_list()), labels)
    return model, params, pairs_frame(test_set.to_list()), workdir


def test_a_static_model_saves_without_the_vectors_and_loads_as_allow_listed_types(static_model):
    model, params, test_pairs, workdir = static_model
    names = [name for name, _, _ in model.named_steps["features"].transformers]
    assert {"static_sentence", "static_window"} <= set(names)
    path = workdir / "model.skops"
    registry = {"aliases": {}, "exact_case": {}, "not_actors": []}
    save_model(model, path, {"params": params.train.model_dump(), "registry": registry})
    assert path.stat().st_size < (VECTORS / paths.STATIC_VECTORS_FILE).stat().st_size / 4  # a reference, not a copy
    loaded, _ = load_model(path)  # skops: refuses any type outside TRUSTED_TYPES
    assert np.array_equal(class_scores(loaded, test_pairs), class_scores(model, test_pairs))


def test_vectors_other_than_the_trained_ones_are_refused(static_model, tmp_path, monkeypatch):
    model, _, test_pairs, _ = static_model
    changed = tmp_path / "static_vectors"
    shutil.copytree(VECTORS, changed)
    (changed / paths.STATIC_TOKENIZER_FILE).write_text(
        json.dumps(json.loads((changed / paths.STATIC_TOKENIZER_FILE).read_text(encoding="utf-8")), indent=1),
        encoding="utf-8",
    )
    for _, transformer, _ in model.named_steps["features"].transformers_:
        if isinstance(transformer, StaticEmbedder):
            monkeypatch.setattr(transformer, "vectors", str(changed))
    with pytest.raises(DataError) as caught:
        class_scores(model, test_pairs)
    # The folder, not one file of it: here the tokenizer is the file that changed.
    assert str(caught.value).startswith(f"{changed}: these static vectors (vectors.safetensors and tokenizer.json)")
    assert "not the ones the model was trained with" in str(caught.value)


def test_missing_vectors_are_one_clear_error(tmp_path):
    with pytest.raises(DataError, match=r"static vectors not found.*stance distill"):
        load_vectors(tmp_path / "nowhere")


@pytest.mark.e2e
def test_the_distill_stage_rebuilds_the_committed_vectors(tmp_path):
    """Needs the distill extra (torch, transformers, model2vec), which the test command installs: without
    it the stage fails with the install hint, so a missing install step cannot pass unnoticed.

    The tokenizer and config come back byte for byte. The vectors do on the CPU that made them; on
    another (AVX-512 against AVX2) torch's kernels change float32's last bits, and about 1% of the
    float16 values land one step away: so every value must be within one float16 step at the
    vectors' scale, and every token's vector point the same way."""
    clone = clone_project(tmp_path)
    # Frozen in dvc.yaml, so a clone without torch never runs it, and its lock entry holds.
    assert "distill" not in run(["dvc", "status", "distill"], clone).stdout.replace("'distill' is frozen", "")
    shutil.rmtree(clone / paths.STATIC_VECTORS)
    result = run(["stance", "distill"], clone)
    assert "distilled" in result.stdout
    for name in (paths.STATIC_TOKENIZER_FILE, "config.json"):
        assert (clone / paths.STATIC_VECTORS / name).read_bytes() == (VECTORS / name).read_bytes(), name
    rebuilt, committed = (
        load_file(str(folder / paths.STATIC_VECTORS_FILE))["vectors"]
        for folder in (clone / paths.STATIC_VECTORS, VECTORS)
    )
    assert rebuilt.dtype == committed.dtype == np.float16 and rebuilt.shape == committed.shape
    rebuilt, committed = rebuilt.astype(np.float32), committed.astype(np.float32)
    assert np.allclose(rebuilt, committed, rtol=2**-10, atol=2**-9)
    cosines = (rebuilt * committed).sum(axis=1) / np.linalg.norm(rebuilt, axis=1) / np.linalg.norm(committed, axis=1)
    assert cosines.min() > 0.99999


@pytest.fixture(autouse=True)
def _fresh_cache():
    vector_table._loaded.clear()  # each test loads the vectors it names
    yield
