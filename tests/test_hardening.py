"""The trust boundary: fuzzed text and inputs, reproducibility under change, interrupted runs."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT, run, target_folder
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.data.actors import ActorRegistry
from pipeline.data.text import split_sentences
from pipeline.errors import DataError
from pipeline.evaluation.model_card import read_article_dates
from pipeline.files import outputs_together, write_json
from pipeline.params import load_params
from pipeline.paths import TEST_SPLIT, TRAIN_SPLIT
from pipeline.scoring.inputs import Article, Problem, read_inputs
from pipeline.scoring.scorer import BATCH_ARTICLES, ArticleResult, Scorer, score_events
from pipeline.stages.prepare import prepare

REGISTRY = ActorRegistry.load(ROOT / "data/targets/nato-tokyo-office/actors.yaml")
ALIASES = [a for actor in REGISTRY.actors for a in REGISTRY.names(actor)]
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Unicode of every kind, plus the things scraped pages contain: aliases, NUL, CR/CRLF, RTL marks, emoji.
messy_text = st.lists(
    st.one_of(
        st.text(),
        st.sampled_from(ALIASES),
        st.sampled_from(["\r\n", "\r", "\n", "\x00", "\u202e", "\u200f", "🇯🇵", "U.S.", "Mr.", '"', "’s", ". ", "…"]),
    ),
    max_size=40,
).map("".join)


@FUZZ
@given(messy_text)
def test_sentences_are_ordered_exact_slices_that_cover_every_visible_character(text):
    sentences = split_sentences(text)
    position = 0
    for index, sentence in enumerate(sentences):
        assert sentence.index == index
        assert text[sentence.start : sentence.end] == sentence.text and sentence.text.strip()
        assert sentence.start >= position
        assert not text[position : sentence.start].strip(), "visible text left out of every sentence"
        position = sentence.end
    assert not text[position:].strip()


@FUZZ
@given(messy_text)
def test_every_mention_span_is_an_alias(text):
    folded = {" ".join(a.split()).casefold() for a in ALIASES}
    for mention in REGISTRY.find(text):
        found = text[mention.start : mention.end]
        assert " ".join(found.split()).casefold() in folded
        assert mention.actor in REGISTRY.actors


@FUZZ
@given(st.binary(max_size=2000), st.sampled_from([".txt", ".jsonl"]))
def test_any_bytes_as_an_input_file_give_articles_or_problems_never_an_exception(tmp_path_factory, data, suffix):
    path = tmp_path_factory.mktemp("fuzz") / f"input{suffix}"
    path.write_bytes(data)
    for event in read_inputs([str(path)]):
        assert isinstance(event, (Article, Problem))
        if isinstance(event, Problem):
            assert str(path) in str(event) and "\n" not in str(event)


def test_a_one_megabyte_sentence_and_thousands_of_mentions_in_one_sentence(trained_model):
    huge = "word " * 200_000
    assert "".join(s.text for s in split_sentences(huge)).replace(" ", "") == huge.replace(" ", "")
    crowded = "France and Japan and NATO " * 3000
    assert len(REGISTRY.find(crowded)) == 9000
    [result] = Scorer.load(trained_model).score_batch([Article("crowded", crowded, "crowded")])
    assert {row["actor"] for row in result.rows} == {"france", "japan", "nato"}


@pytest.fixture(scope="module")
def scorer(trained_model) -> Scorer:
    return Scorer.load(trained_model)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(messy_text, min_size=1, max_size=6))
def test_the_scorer_summarises_each_input_article_exactly_once(scorer, texts):
    articles = [Article(f"a{i}", text, f"a{i}") for i, text in enumerate(texts)]
    results = [e for e in score_events(articles, scorer=scorer) if isinstance(e, ArticleResult)]
    assert [r.article_id for r in results] == [a.id for a in articles]


def prepared_bytes(tmp_path: Path, labels: Path | None = None, articles: Path | None = None, seed=None) -> bytes:
    params = load_params(ROOT / "params.yaml")
    workdir = tmp_path / f"run-{random.random()}"
    workdir.mkdir()
    params.data.target = target_folder(workdir / "target", **({"labels": labels} if labels else {}))
    params.data.articles = str(articles or ROOT / "seeds")
    if seed is not None:
        params.prepare.split_seed = seed
    with contextlib.chdir(workdir):  # the stage writes data/prepared/ below the working directory
        prepare(params)
    return (workdir / TRAIN_SPLIT).read_bytes() + (workdir / TEST_SPLIT).read_bytes()


def test_the_order_of_gold_rows_and_of_articles_on_disk_changes_nothing(tmp_path):
    original = prepared_bytes(tmp_path)
    rows = list(
        csv.reader(
            io.StringIO((ROOT / "data/targets/nato-tokyo-office/labels.csv").read_text(encoding="utf-8"), newline="")
        )
    )
    body = rows[1:]
    random.Random(7).shuffle(body)
    shuffled = tmp_path / "labels.csv"
    with open(shuffled, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerows([rows[0], *body])
    articles = tmp_path / "articles"
    articles.mkdir()
    for path in sorted((ROOT / "seeds").glob("*.txt"), reverse=True):  # created in the opposite order
        (articles / path.name).write_bytes(path.read_bytes())
    assert prepared_bytes(tmp_path, labels=shuffled, articles=articles) == original


def test_another_split_seed_gives_another_split(tmp_path):
    assert prepared_bytes(tmp_path, seed=1) != prepared_bytes(tmp_path, seed=2)


def test_touching_files_without_changing_them_reruns_nothing(built):
    for path in [
        *(built / "seeds").glob("*.txt"),
        built / "data/targets/nato-tokyo-office/labels.csv",
        built / "params.yaml",
    ]:
        path.touch()
    assert "Running stage" not in run(["dvc", "repro"], built).stdout


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL])
def test_killing_the_scorer_mid_run_leaves_no_partial_output_and_the_next_run_succeeds(model_path, tmp_path, sig):
    texts = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "seeds").glob("*.txt"))]
    lines = [json.dumps({"id": f"a{i}", "text": texts[i % len(texts)]}) + "\n" for i in range(BATCH_ARTICLES + 1)]
    output = tmp_path / "out.jsonl"
    command = [sys.executable, "-m", "pipeline.cli", "score", "-", "--model", str(model_path), "--output", str(output)]
    process = subprocess.Popen(command, cwd=ROOT, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    # One full batch and one more article, then standard input stays open: the run cannot
    # finish before the signal, however fast or slow the machine.
    process.stdin.write("".join(lines).encode("utf-8"))
    process.stdin.flush()
    # Rows of the first batch in the temporary file: the signal handlers were installed
    # before it was opened (run_stage), and the run is under way.
    deadline = time.monotonic() + 120
    while not [t for t in tmp_path.glob(".out.jsonl.*.tmp") if t.stat().st_size] and time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read().decode()
        time.sleep(0.05)
    assert [t for t in tmp_path.glob(".out.jsonl.*.tmp") if t.stat().st_size], "no rows written within 120 s"
    process.send_signal(sig)
    process.wait(timeout=60)
    process.stdin.close()
    stderr = process.stderr.read().decode()
    assert not output.exists()
    if sig == signal.SIGKILL:
        assert process.returncode == -signal.SIGKILL
    else:  # a catchable signal ends the run cleanly and also removes the temporary file
        assert process.returncode == 130 and stderr.strip().endswith("interrupted"), (process.returncode, stderr)
        assert not list(tmp_path.glob(".out.jsonl.*.tmp"))
        assert "Traceback" not in stderr
    again = subprocess.run(command, cwd=ROOT, input="".join(lines[:2]).encode("utf-8"), capture_output=True)
    assert again.returncode == 0, again.stderr.decode()
    assert {json.loads(row)["article_id"] for row in output.read_text(encoding="utf-8").splitlines()} == {"a0", "a1"}


def catches(pid: int, sig: signal.Signals) -> bool:
    """Whether process `pid` has a handler installed for `sig` (Linux: SigCgt in /proc/PID/status)."""
    status = Path(f"/proc/{pid}/status").read_text(encoding="utf-8")
    caught = int(next(line.split()[1] for line in status.splitlines() if line.startswith("SigCgt:")), 16)
    return bool(caught >> (sig - 1) & 1)


def test_killing_a_stage_mid_run_keeps_its_previous_outputs_whole(built):
    before = {name: (built / name).read_bytes() for name in ("metrics.json", "plots/confusion_cv.csv")}
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "stance"), "evaluate"], cwd=built, stderr=subprocess.PIPE
    )
    # Wait until the stage catches SIGTERM (run_stage installs the handler just before the
    # stage starts): then it is loading data or cross-validating for seconds, and has renamed
    # nothing into place yet.
    deadline = time.monotonic() + 60
    while not catches(process.pid, signal.SIGTERM) and time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read().decode()
        time.sleep(0.02)
    assert catches(process.pid, signal.SIGTERM), "the stage never installed its SIGTERM handler"
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=60)
    stderr = process.stderr.read().decode()
    assert process.returncode == 130 and stderr.strip().endswith("interrupted"), (process.returncode, stderr)
    assert "Traceback" not in stderr
    for name, data in before.items():
        assert (built / name).read_bytes() == data
    assert not [p for p in built.rglob("*.tmp") if ".dvc" not in p.parts]
    assert "up to date" in run(["dvc", "status"], built).stdout


def test_a_stage_stopped_by_a_bad_param_keeps_its_previous_outputs_and_dvc_status_stays_true(built):
    """`dvc exp run -S train.C=three` deleted the model, the metrics and the card before the stage
    refused the value (DVC removes outputs before a stage runs); now they stay, matching dvc.lock."""
    names = ["models/model.skops", "models/model.json", "models/model.npz", "metrics.json", "models/MODEL_CARD.md"]
    before = {name: (built / name).read_bytes() for name in names}
    params = (built / "params.yaml").read_text(encoding="utf-8")
    assert "\n  C: " in params
    try:
        (built / "params.yaml").write_text(params.replace("\n  C: ", "\n  C: three # ", 1), encoding="utf-8")
        failed = subprocess.run(["dvc", "repro"], cwd=built, capture_output=True, text=True)
    finally:
        (built / "params.yaml").write_text(params, encoding="utf-8")
    assert failed.returncode != 0 and "train.C" in failed.stdout + failed.stderr
    assert {name: (built / name).read_bytes() for name in names} == before
    assert "up to date" in run(["dvc", "status"], built).stdout


def test_outputs_written_in_a_stage_are_held_back_until_it_ends_then_renamed_in_together(tmp_path):
    first, second = tmp_path / "a.json", tmp_path / "sub" / "b.json"
    first.write_text("old\n", encoding="utf-8")
    with outputs_together():
        write_json(first, {"new": 1})
        with outputs_together():  # a block inside another joins it
            write_json(second, {"new": 2})
        assert first.read_text(encoding="utf-8") == "old\n" and not second.exists()
        write_json(first, {"new": 3})  # written twice: the later file is the output
    assert json.loads(first.read_text(encoding="utf-8")) == {"new": 3}
    assert json.loads(second.read_text(encoding="utf-8")) == {"new": 2}
    assert not list(tmp_path.rglob("*.tmp"))


@pytest.mark.parametrize("stop", [DataError("params.yaml", 1, "bad"), KeyboardInterrupt()], ids=["error", "ctrl-c"])
def test_a_stage_that_stops_after_writing_some_outputs_leaves_every_output_as_it_was(tmp_path, stop):
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    first.write_text("old\n", encoding="utf-8")
    with pytest.raises(type(stop)), outputs_together():
        write_json(first, {"new": 1})
        write_json(second, {"new": 2})
        raise stop
    assert first.read_text(encoding="utf-8") == "old\n" and not second.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json"]


def test_prepare_stopped_after_writing_its_splits_leaves_the_previous_splits_and_summary(tmp_path, monkeypatch):
    """A new train split beside the old test split would put articles on both sides without a word."""
    params = load_params(ROOT / "params.yaml")
    params.data.target = target_folder(tmp_path / "target")
    params.data.articles = str(ROOT / "seeds")
    params.prepare.synthetic = params.prepare.rewrites = False
    with contextlib.chdir(tmp_path):
        prepare(params)
        outputs = [TRAIN_SPLIT, TEST_SPLIT, TRAIN_SPLIT.parent / "summary.json"]
        before = {path: path.read_bytes() for path in outputs}

        def full_disk(path, data):
            raise DataError(path, None, "could not be written (no space left on device)")

        monkeypatch.setattr("pipeline.stages.prepare.write_json", full_disk)  # the last of its three outputs
        params.prepare.split_seed += 1  # other splits, had they been renamed in
        with pytest.raises(DataError, match="no space left"):
            prepare(params)
        assert {path: path.read_bytes() for path in outputs} == before
        assert not list(Path("data").rglob("*.tmp"))
        # A file the stage did not write is gone once a run succeeds, as DVC removed it before a stage ran.
        monkeypatch.undo()
        (TRAIN_SPLIT.parent / "notes.txt").write_text("a stray note\n", encoding="utf-8")
        prepare(params)
        assert sorted(p.name for p in TRAIN_SPLIT.parent.iterdir()) == sorted(path.name for path in outputs)


@pytest.mark.parametrize(
    "content, expected",
    [
        (
            b'{"id": "a", "date": "2023-07-01"}\n{"id": "b", "date": "2023-07-02"}\n',
            {"a": "2023-07-01", "b": "2023-07-02"},
        ),
        (b'\xef\xbb\xbf{"id": "a", "date": "2023-07-01"}\n\n{"id": "b"}\n', {"a": "2023-07-01", "b": None}),  # Notepad
        (b'{"id": "a"}\nnot json\n', "2: not a JSON record; write one object a line"),
        (b'{"id": "a"}\n{"url": "https://example.org"}\n', "2: a JSON object with a text 'id'"),
        (b'{"id": "a", "date": 20230701}\n', "1: 'date' is 20230701; write it as text"),
        (b'{"id": "a", "date": "July 2023"}\n', "1: 'date' is 'July 2023'; write it as text, YYYY-MM-DD"),
        (b'{"id": "a", "date": "2023-13-45"}\n', "1: 'date' is '2023-13-45'; write it as text, YYYY-MM-DD"),
        (b'{"id": "a"}\n{"id": "b"}\n{"id": "a"}\n', "3: id 'a' is also on line 1; keep one"),
        (b'{"id": "a"}\n{"id": "a.txt", "date": "2023-07-01"}\n', "2: id 'a.txt' names no article a.txt.txt in "),
        (b'{"id": "c", "date": "2023-07-01"}\n', "1: id 'c' names no article c.txt in "),  # a misspelt id
        (b'{"id": "../x/a", "date": "2023-07-01"}\n', "1: id '../x/a' names no article"),  # a path: no article's id
        # U+2028 may stand raw in a JSON string (json.dumps(..., ensure_ascii=False)): no line break there
        ('{"id": "a", "note": "one\u2028two", "date": "2023-07"}\r\n'.encode(), {"a": "2023-07"}),
    ],
)
def test_the_articles_dates_file_is_read_or_refused_in_one_line(tmp_path, content, expected):
    """A blank line or a byte-order mark in SOURCES.jsonl ended the evaluate stage in a traceback after minutes of
    work, with metrics.json and the plots already rewritten and the model card not; it is now read first."""
    sources = tmp_path / "SOURCES.jsonl"
    sources.write_bytes(content)
    for article in ("a", "b"):
        (tmp_path / f"{article}.txt").write_text("France blocked the office.\n", encoding="utf-8")
    if isinstance(expected, dict):
        assert read_article_dates([sources, tmp_path / "absent.jsonl"]) == expected
        return
    with pytest.raises(DataError) as caught:
        read_article_dates([sources])
    assert str(caught.value).startswith(f"{sources}:{expected}")


def test_more_folds_or_a_test_fraction_than_the_articles_allow_is_one_line_before_any_fitting(
    trained_model, monkeypatch
):
    """Both passed validation: `cv_folds: 1000` ended evaluate in scikit-learn's traceback after the held-out
    fit, `test_fraction: 0.99` ended prepare in one (an empty training split)."""
    from pipeline.data.splits import split_by_cluster
    from pipeline.stages.evaluate import evaluate

    examples = [{"cluster": f"c{i % 4}"} for i in range(40)]
    assert [len(part) for part in split_by_cluster(examples, 0.5, 13)] == [20, 20]
    with pytest.raises(DataError, match=r"^params.yaml: prepare.test_fraction 0.99 leaves none of the 4 groups"):
        split_by_cluster(examples, 0.99, 13)
    params = load_params(ROOT / "params.yaml")
    for name in type(params.data).model_fields:
        setattr(params.data, name, str(ROOT / getattr(params.data, name)))
    params = params.model_copy(update={"evaluate": params.evaluate.model_copy(update={"cv_folds": 1000})})
    monkeypatch.setattr("pipeline.stages.evaluate.fit_pairs", lambda *args: pytest.fail("fitted before the check"))
    with contextlib.chdir(trained_model.parents[1]), pytest.raises(DataError) as caught:
        evaluate(params)
    assert re.fullmatch(
        r"params.yaml: evaluate.cv_folds 1000 is more than the (\d+) groups of articles .*", str(caught.value)
    )


def test_evaluating_a_model_fit_on_other_prepared_pairs_is_one_line_before_any_fitting(
    trained_model, monkeypatch, tmp_path
):
    """`stance prepare` run again by hand (another split seed) and then `stance evaluate` without
    `stance train`: its locked figures were the old model's, beside CV and held-out figures refit on the
    new splits, and nothing said so."""
    import shutil

    from pipeline.stages.evaluate import evaluate

    shutil.copytree(trained_model.parents[1], tmp_path, dirs_exist_ok=True)
    params = load_params(ROOT / "params.yaml")
    for name in type(params.data).model_fields:
        setattr(params.data, name, str(ROOT / getattr(params.data, name)))
    params.prepare.split_seed += 1
    monkeypatch.setattr("pipeline.stages.evaluate.fit_pairs", lambda *args: pytest.fail("fitted before the check"))
    with contextlib.chdir(tmp_path):
        prepare(params)
        with pytest.raises(DataError) as caught:
            evaluate(params)
    assert str(caught.value) == (
        "models/model.skops: was fit on other prepared pairs than data/prepared/ holds now; "
        "run `stance train` (or dvc repro) first"
    )


def test_evaluating_a_model_fit_with_other_train_params_is_one_line_before_any_fitting(trained_model, monkeypatch):
    """`train.C` edited and `stance evaluate` run by hand: CV and the held-out test were refit with the new C
    beside the locked figures of the model fit with the old one, and the card described the new params."""
    from pipeline.stages.evaluate import evaluate

    params = load_params(ROOT / "params.yaml")
    for name in type(params.data).model_fields:
        setattr(params.data, name, str(ROOT / getattr(params.data, name)))
    params.train.C, params.train.word_clusters = 1.0, 0
    monkeypatch.setattr("pipeline.stages.evaluate.fit_pairs", lambda *args: pytest.fail("fitted before the check"))
    with contextlib.chdir(trained_model.parents[1]), pytest.raises(DataError) as caught:
        evaluate(params)
    assert str(caught.value) == (
        "models/model.skops: was fit with other train params than params.yaml's (train.C, train.word_clusters); "
        "run `stance train` (or dvc repro) first"
    )


def test_labels_too_few_to_fit_the_model_are_one_line_naming_the_gold_file(trained_model, monkeypatch, tmp_path):
    """A label with no pair trained a model that no file could be scored with (its three columns were
    assumed); a label in one article group ended train in an IndexError inside calibration."""
    from pipeline.data.splits import every_labelled_pair
    from pipeline.stages.train import train

    params = load_params(ROOT / "params.yaml")
    for name in type(params.data).model_fields:
        setattr(params.data, name, str(ROOT / getattr(params.data, name)))
    with contextlib.chdir(trained_model.parents[1]):
        rows, labels = every_labelled_pair()
    one_cluster = next(r["cluster"] for r, label in zip(rows, labels) if label == "support" and r["origin"] == "real")
    cases = {
        "no neutral": (lambda row, label: label != "neutral", "no pair labelled 'neutral'; the model needs"),
        "neutral in synthetic pairs alone": (
            lambda row, label: label != "neutral" or row["origin"] != "real",
            "calibration: no real pair is labelled 'neutral'",
        ),
        "support in one article group": (
            lambda row, label: label != "support" or row["cluster"] == one_cluster,
            "calibration: pairs labelled 'support' come from too few article groups for its 5 folds",
        ),
    }
    for keep, message in cases.values():
        kept = [(row, label) for row, label in zip(rows, labels) if keep(row, label)]
        monkeypatch.setattr(
            "pipeline.stages.train.every_labelled_pair",
            lambda kept=kept: ([r for r, _ in kept], [la for _, la in kept]),
        )
        with contextlib.chdir(trained_model.parents[1]), pytest.raises(DataError) as caught:
            train(params, tmp_path / "model.skops")
        assert str(caught.value).startswith(f"{params.data.labels}: {message}")
        assert "label more articles" in str(caught.value)
    assert not list(tmp_path.iterdir())  # no model saved


def test_training_another_targets_prepared_pairs_is_one_line(trained_model, tmp_path):
    """`data.target` changed and `stance train` run by hand without `stance prepare`: it trained the old
    target's pairs under the new one's name and registry, and said nothing."""
    from pipeline.stages.evaluate import evaluate
    from pipeline.stages.train import train

    params = load_params(ROOT / "params.yaml")
    params.data.target = "data/targets/fukushima-water"
    for name in type(params.data).model_fields:
        setattr(params.data, name, str(ROOT / getattr(params.data, name)))
    for stage in (lambda: train(params, tmp_path / "model.skops"), lambda: evaluate(params)):
        with contextlib.chdir(trained_model.parents[1]), pytest.raises(DataError) as caught:
            stage()
        assert str(caught.value) == (
            "data/prepared/summary.json: the prepared pairs are of target 'nato-tokyo-office', not of params.yaml's "
            "data.target 'fukushima-water'; run `stance prepare` (or `dvc repro`)"
        )
    assert not list(tmp_path.iterdir())


def test_numbers_dvc_writes_with_an_exponent_are_read_as_numbers(tmp_path):
    """`dvc exp run -S train.C=0.00001` writes `C: 1e-05`, which YAML 1.1 (PyYAML) read as text and refused."""
    text = (ROOT / "params.yaml").read_text(encoding="utf-8")
    path = tmp_path / "params.yaml"
    for written, value in (("1e-05", 1e-05), ("2E+1", 20.0), (".5", 0.5), ("7", 7)):
        path.write_text(
            text.replace("  C: 3.0", f"  C: {written}").replace("  cue_weight: 1.0", f"  cue_weight: {written}")
        )
        params = load_params(path)
        assert params.train.C == value and params.train.cue_weight == value


def test_an_oversized_registry_file_is_refused_before_parsing(tmp_path):
    path = tmp_path / "actors.yaml"
    path.write_text("actors:\n" + "#" * 6_000_000 + "\n", encoding="utf-8")
    with pytest.raises(DataError) as caught:
        ActorRegistry.load(path)
    assert str(caught.value).startswith(f"{path}: file is") and "more than" in str(caught.value)


@pytest.mark.parametrize("command", [["prepare"], ["label", "agree"]])
def test_a_misspelt_target_folder_is_one_line_at_its_params_line_and_nothing_is_written(tmp_path, command):
    """`-S data.target=data/targets/nato-tokio-office` stopped on 'actors.yaml: file not found', naming a file
    where the mistake is the folder; a command that writes into the target could have made that folder."""
    text = (ROOT / "params.yaml").read_text(encoding="utf-8")
    path = tmp_path / "params.yaml"
    path.write_text(text.replace("target: data/targets/nato-tokyo-office", "target: data/targets/nato-tokio-office"))
    line = 1 + text[: text.index("  target: ")].count("\n")
    result = run(["stance", *command, "--params", str(path)], ROOT, check=False)
    assert result.returncode == 1 and result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith(
        f"error: {path}:{line}: data.target: no folder data/targets/nato-tokio-office below {ROOT}; "
        "the targets in data/targets: "
    )
    assert "nato-tokyo-office" in result.stderr.strip().split(": ")[-1].split(", ")
    assert not (ROOT / "data/targets/nato-tokio-office").exists()
    elsewhere = run(["stance", *command, "--params", str(ROOT / "params.yaml")], tmp_path, check=False)
    assert elsewhere.returncode == 1 and elsewhere.stderr == (
        f"error: {ROOT / 'params.yaml'}:{line}: data.target: no folder data/targets/nato-tokyo-office below "
        f"{tmp_path}; run in the project folder\n"
    )


@pytest.mark.parametrize(
    "edit, line, message",
    [
        (lambda text: text.replace("  C: 3.0", "  C: .inf"), "C", "train.C: Input should be a finite number, not inf"),
        (lambda text: text.replace("  cue_weight: 1.0", "  cue_weight: .nan"), "cue_weight", "train.cue_weight: "),
        (
            lambda text: text.replace("  window: 6 ", "  window: 100000000000000000000 "),
            "window",
            "train.window: Input should be less than or equal to 100, not 100000000000000000000",
        ),
        (
            lambda text: text.replace("  seed: 0", "  seed: 0\x00"),
            "seed",
            "invalid YAML: character #x00 is not allowed",
        ),
        (
            lambda text: text.replace("  split_seed: 13", "  split_seed: 4294967296"),
            "split_seed",
            "prepare.split_seed: Input should be less than or equal to 4294967295, not 4294967296",
        ),
        (
            lambda text: text.replace("  split_seed: 13", "  ? [split_seed]\n  : 13"),
            "split_seed",
            "a key must be a name, not a list or mapping",
        ),
        # YAML 1.1's booleans are text here, as DVC reads them: `-S train.cue_features=no` ran with the cue
        # features off while `dvc exp show` said 'no'; and a number is a number only if it is one
        (
            lambda text: text.replace("  cue_features: true ", "  cue_features: no   "),
            "cue_features",
            "train.cue_features: Input should be a valid boolean, not 'no'",
        ),
        (
            lambda text: text.replace("  learning_rate: 5.0e-5", "  learning_rate: true  "),
            "learning_rate",
            "finetune.learning_rate: Input should be a valid number, not True",
        ),
        (lambda text: "", None, "the file holds no sections; it needs data, distill, prepare, train"),
        (lambda text: "- data\n", None, "the file holds no sections"),
    ],
)
def test_params_that_yaml_or_numbers_refuse_are_one_line_naming_the_file(tmp_path, edit, line, message):
    """A seed past 2**32 - 1 passed, then numpy's traceback; a list as a key was a TypeError traceback."""
    text = (ROOT / "params.yaml").read_text(encoding="utf-8")
    path = tmp_path / "params.yaml"
    path.write_text(edit(text), encoding="utf-8")
    where = f"{path}:{1 + text[: text.index('  ' + line + ':')].count(chr(10))}" if line else str(path)
    with pytest.raises(DataError) as raised:
        load_params(path)
    assert str(raised.value).startswith(f"{where}: {message}") and "\n" not in str(raised.value)
