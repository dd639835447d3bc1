"""`stance score`: parity with the pipeline, formats, order, bad input.

Tests that need the pipeline's outputs or a process pool use `built`/`model_path` (e2e);
the rest use `trained_model`, the same model (same bytes) fitted in-process, so the
quick tier covers the command's input and error handling.
"""

from __future__ import annotations

import codecs
import csv
import datetime
import io
import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import ROOT, earlier_output, run, unboxed

from pipeline.data.labels import LABELS
from pipeline.data.splits import load_split
from pipeline.errors import DataError
from pipeline.modeling.persist import load_model
from pipeline.modeling.predict import class_scores, pairs_frame
from pipeline.paths import TEST_SPLIT
from pipeline.scoring.inputs import Problem, read_inputs
from pipeline.scoring.outputs import PAIR_SCHEMA, SUMMARY_SCHEMA, arrow_array, check_outputs
from pipeline.scoring.scorer import score_texts

PAIR_FIELDS = [
    "article_id",
    "date",
    "sentence_index",
    "sentence",
    "actor",
    "stance",
    "confidence",
    "p_support",
    "p_oppose",
    "p_neutral",
]


def stance(model_path: Path, *args: str, stdin: str | None = None, cwd: Path = ROOT):
    return run(["stance", "score", "--model", str(model_path), *args], cwd, check=False, input=stdin)


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_scoring_the_test_articles_reproduces_the_pipelines_pairs_and_predictions(built, model_path, tmp_path):
    """The scorer finds exactly the pairs prepare found, and gives the saved model's predictions for them."""
    dataset, _ = load_split(built / TEST_SPLIT)
    rows = dataset.to_list()
    model, _ = load_model(model_path)
    expected = dict(
        zip([(r["article_id"], r["sentence_index"], r["actor"]) for r in rows], class_scores(model, pairs_frame(rows)))
    )
    # Test articles come from seeds/ and from the annotation loop's store (whose articles were labelled whole).
    folders = (built / "seeds", built / "data/targets/nato-tokyo-office/annotation/articles")
    articles = [
        next(f / f"{a}.txt" for f in folders if (f / f"{a}.txt").exists())
        for a in sorted({r["article_id"] for r in rows})
    ]
    result = stance(model_path, *map(str, articles), "--output", str(tmp_path / "o.jsonl"))
    assert result.returncode == 0, result.stderr
    scored = {(r["article_id"], r["sentence_index"], r["actor"]): r for r in read_jsonl(tmp_path / "o.jsonl")}
    assert scored.keys() == expected.keys()
    for key, probabilities in expected.items():
        assert [scored[key][f"p_{label}"] for label in LABELS] == [float(p) for p in probabilities]
        assert scored[key]["stance"] == LABELS[int(probabilities.argmax())]
    # The evaluate stage's report covers the same pairs (predicted there by the train-split model).
    with open(built / "reports/test_predictions.csv", newline="", encoding="utf-8") as handle:
        reported = {(r["article_id"], int(r["sentence_index"]), r["actor"]) for r in csv.DictReader(handle)}
    assert reported == expected.keys()


@pytest.mark.parametrize("schema", [PAIR_SCHEMA, SUMMARY_SCHEMA], ids=["pairs", "summary"])
def test_columns_built_from_buffers_equal_pyarrows_own_conversion(schema):
    import numpy as np
    import pyarrow as pa

    samples = {
        pa.string(): ["Macron said “non”.", None, "", "東京の事務所", "a\nb", None, "x" * 1000, "ñ"],
        pa.int32(): [0, None, 7, 2**31 - 1, -3, None, 12, 1],
        pa.float64(): [0.1, None, 1 / 3, np.float64(0.25), 1e-300, None, 0.0, 1.0],
    }
    for field in schema:
        values = samples[field.type]
        for sample in (values, values[:1], [], [None] * 9, values * 3):
            built = arrow_array(sample, field.type)
            built.validate(full=True)
            assert built.equals(pa.array(sample, type=field.type)), (field.name, sample)


def test_rows_have_exactly_the_documented_fields_in_every_format(model_path, tmp_path):
    article = str(ROOT / "seeds/000_5ea5e603efdd03d0.txt")
    for suffix in ("jsonl", "csv", "parquet"):
        result = stance(
            model_path, article, "--output", str(tmp_path / f"o.{suffix}"), "--summary", str(tmp_path / f"s.{suffix}")
        )
        assert result.returncode == 0, result.stderr
    rows = read_jsonl(tmp_path / "o.jsonl")
    assert list(rows[0]) == PAIR_FIELDS
    with open(tmp_path / "o.csv", newline="", encoding="utf-8") as handle:
        assert list(csv.DictReader(handle)) and handle.seek(0) == 0 and next(csv.reader(handle)) == PAIR_FIELDS
    parquet = pq.read_table(tmp_path / "o.parquet").to_pylist()
    assert parquet == rows
    for row in rows:
        assert row["stance"] in ("support", "oppose", "neutral")
        assert row["confidence"] == max(row["p_support"], row["p_oppose"], row["p_neutral"])
        assert abs(row["p_support"] + row["p_oppose"] + row["p_neutral"] - 1) < 1e-9


def test_summary_follows_the_documented_rule(model_path, tmp_path):
    result = stance(
        model_path, str(ROOT / "seeds"), "--output", str(tmp_path / "o.jsonl"), "--summary", str(tmp_path / "s.jsonl")
    )
    assert result.returncode == 0, result.stderr
    rows, summary = read_jsonl(tmp_path / "o.jsonl"), read_jsonl(tmp_path / "s.jsonl")
    for entry in summary:
        mine = [r for r in rows if r["article_id"] == entry["article_id"] and r["actor"] == entry["actor"]]
        support = sum(r["stance"] == "support" for r in mine)
        oppose = sum(r["stance"] == "oppose" for r in mine)
        assert entry["pairs"] == len(mine) and entry["n_support"] == support and entry["n_oppose"] == oppose
        expected = (
            "support" if support > oppose else "oppose" if oppose > support else "mixed" if support else "neutral"
        )
        assert entry["stance"] == expected
    assert any(
        e["article_id"].startswith("000_") and e["actor"] == "france" and e["stance"] == "oppose" for e in summary
    )


def test_two_workers_write_the_same_output_as_one(model_path, tmp_path):
    folder = tmp_path / "many"
    folder.mkdir()
    for copy in range(6):  # enough articles for several batches
        for article in sorted((ROOT / "seeds").glob("*.txt")):
            shutil.copy(article, folder / f"{copy}_{article.name}")
    for workers in ("1", "2"):
        result = stance(
            model_path,
            str(folder),
            "--workers",
            workers,
            "--output",
            str(tmp_path / f"w{workers}.jsonl"),
            "--summary",
            str(tmp_path / f"s{workers}.jsonl"),
        )
        assert result.returncode == 0, result.stderr
    assert (tmp_path / "w1.jsonl").read_bytes() == (tmp_path / "w2.jsonl").read_bytes()
    assert (tmp_path / "s1.jsonl").read_bytes() == (tmp_path / "s2.jsonl").read_bytes()


def test_one_worker_scores_with_the_model_frozen_out_of_the_collector_and_hands_it_back(
    model_path, tmp_path, monkeypatch
):
    """The collector's full passes skip what lives for the whole run; a caller gets its collector back."""
    import gc

    from pipeline.scoring.scorer import Scorer, run_score

    frozen_while_scoring = []
    score_batch = Scorer.score_batch

    def watched(self, batch):
        frozen_while_scoring.append(gc.get_freeze_count())
        return score_batch(self, batch)

    monkeypatch.setattr(Scorer, "score_batch", watched)
    gc.unfreeze()  # nothing is frozen before a command runs
    code = run_score([str(ROOT / "seeds")], model_path, output=str(tmp_path / "pairs.jsonl"), progress=False)
    assert code == 0 and read_jsonl(tmp_path / "pairs.jsonl")
    assert frozen_while_scoring and min(frozen_while_scoring) > 10_000  # the imports and the model
    assert gc.get_freeze_count() == 0
    # A caller that froze objects itself keeps them frozen, and nothing more: its arrangement is its own.
    kept = [object() for _ in range(3)]
    gc.freeze()
    frozen = gc.get_freeze_count()
    assert run_score([str(ROOT / "seeds")], model_path, output=str(tmp_path / "again.jsonl"), progress=False) == 0
    assert frozen - 100 < gc.get_freeze_count() <= frozen and kept  # (the run may free a few by refcount)
    gc.unfreeze()


def test_jsonl_from_stdin_with_custom_field_names_and_the_python_api_agree(trained_model):
    text = "France blocked the liaison office. Japan welcomed it."
    result = stance(
        trained_model,
        "-",
        "--id-field",
        "key",
        "--text-field",
        "body",
        stdin=json.dumps({"key": "k1", "body": text}) + "\n",
    )
    assert result.returncode == 0, result.stderr
    cli_rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert cli_rows == list(score_texts({"k1": text}, model_path=trained_model))
    assert [(r["actor"], r["stance"]) for r in cli_rows][0] == ("france", "oppose")


def make_bad_inputs(folder: Path) -> dict[str, Path]:
    folder.mkdir()
    paths = {
        "good": folder / "good.txt",
        "empty": folder / "empty.txt",
        "latin1": folder / "latin1.txt",
        "binary": folder / "binary.txt",
        "no_actor": folder / "no_actor.txt",
        "jsonl": folder / "batch.jsonl",
        "huge": folder / "huge.jsonl",
    }
    paths["good"].write_text("France blocked the liaison office.", encoding="utf-8")
    paths["empty"].write_bytes(b"")
    paths["latin1"].write_bytes("Japan welcomed the caf\u00e9 talks on the office.".encode("latin-1"))
    paths["binary"].write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00IHDR" + bytes(range(256)))
    paths["no_actor"].write_text("Nobody here holds any view at all.", encoding="utf-8")
    paths["jsonl"].write_text(
        "\n".join(
            [
                json.dumps({"id": "j1", "text": "Russia criticised the plan."}),
                "{not json",
                json.dumps({"id": "j3", "body": "no text field"}),
                json.dumps({"id": "j4", "text": "China opposes the office."}),
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    with open(paths["huge"], "w", encoding="utf-8") as handle:  # one 50 MB article on one line
        handle.write('{"id": "huge", "text": "' + "France objects. " * 3_300_000 + '"}\n')
    return paths


def test_each_bad_input_is_named_on_one_line_and_the_rest_is_still_scored(trained_model, tmp_path):
    paths = make_bad_inputs(tmp_path / "in")
    inputs = [str(p) for p in paths.values()] + [str(tmp_path / "missing.txt")]
    result = stance(
        trained_model, *inputs, "--output", str(tmp_path / "o.jsonl"), "--summary", str(tmp_path / "s.jsonl")
    )
    assert result.returncode == 3  # finished, but something was skipped
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    expected = {
        f"skipped: {paths['empty']}: empty article",
        f"skipped: {paths['latin1']}:1: not UTF-8 (byte 0xe9 at column 23); save the file as UTF-8",
        f"skipped: {paths['binary']}: binary file",
        f"skipped: {paths['jsonl']}:2: not valid JSON",
        f"skipped: {paths['jsonl']}:3: no string field 'text'",
        f"skipped: {paths['huge']}:1: article has 52800000 characters",
        f"skipped: {tmp_path / 'missing.txt'}: no such file",
    }
    for start in expected:
        assert any(line.startswith(start) for line in lines), (start, lines)
    assert len(lines) == len(expected)
    scored = {r["article_id"] for r in read_jsonl(tmp_path / "o.jsonl")}
    assert scored == {"good", "j1", "j4"}  # a legacy encoding is refused, never scored as mangled text
    summary = read_jsonl(tmp_path / "s.jsonl")
    assert {"article_id": "no_actor", "actor": None, "pairs": 0, "stance": "no_actors"}.items() <= next(
        e for e in summary if e["article_id"] == "no_actor"
    ).items()


def test_fail_fast_stops_at_the_first_bad_input_and_keeps_the_old_output(trained_model, tmp_path):
    paths = make_bad_inputs(tmp_path / "in")
    output = tmp_path / "o.jsonl"
    earlier_output(output, "previous good output\n")
    result = stance(trained_model, str(paths["good"]), str(paths["empty"]), "--fail-fast", "--output", str(output))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "--fail-fast" in result.stderr
    assert output.read_text(encoding="utf-8") == "previous good output\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_fail_fast_on_standard_output_says_how_many_rows_went_out_before_it(trained_model, tmp_path):
    """Rows on standard output are not renamed into place: the error said no output was written."""
    feed = tmp_path / "feed.jsonl"
    good = [json.dumps({"id": f"a{i}", "text": "France blocked the liaison office."}) for i in range(600)]
    feed.write_text("\n".join([*good, "not json"]) + "\n", encoding="utf-8")
    result = stance(trained_model, str(feed), "--fail-fast", "--summary", str(tmp_path / "s.csv"))
    rows = result.stdout.splitlines()
    assert result.returncode == 1 and rows and "Traceback" not in result.stderr
    assert result.stderr.splitlines()[-1] == (
        f"error: stopped at the first bad input (--fail-fast); {len(rows)} pair rows had gone to standard output "
        "before it; no file was written"
    )
    assert not (tmp_path / "s.csv").exists()
    result = stance(trained_model, str(feed), "--fail-fast", "--output", str(tmp_path / "o.jsonl"), "--summary", "-")
    rows = result.stdout.splitlines()
    assert result.returncode == 1 and rows and not (tmp_path / "o.jsonl").exists()
    assert result.stderr.splitlines()[-1] == (
        f"error: stopped at the first bad input (--fail-fast); {len(rows)} summary rows had gone to standard output "
        "before it; no file was written"
    )


def test_when_every_input_is_skipped_the_run_stops_and_the_old_output_stays(trained_model, tmp_path):
    empty, output = tmp_path / "empty.txt", tmp_path / "o.jsonl"
    empty.write_text("", encoding="utf-8")
    earlier_output(output, "previous good output\n")
    result = stance(trained_model, str(empty), "--output", str(output))
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"skipped: {empty}: empty article",
        "error: every input was skipped (each named above); no output was written",
    ]
    assert output.read_text(encoding="utf-8") == "previous good output\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.txt", "o.jsonl", "o.jsonl.meta.json"]


def test_an_empty_stdin_is_named_as_empty_and_the_old_output_stays(trained_model, tmp_path):
    output = tmp_path / "o.jsonl"
    earlier_output(output, "previous good output\n")
    result = stance(trained_model, "-", "--output", str(output), stdin="")
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "skipped: <stdin>: empty: no records",
        "error: every input was skipped (each named above); no output was written",
    ]
    assert output.read_text(encoding="utf-8") == "previous good output\n"


@pytest.mark.parametrize("name", ["feed.jsonl", "feed.parquet"])
def test_a_data_file_that_holds_no_record_is_named_as_empty(trained_model, tmp_path, name):
    feed, good = tmp_path / name, tmp_path / "good.txt"
    if name.endswith(".jsonl"):
        feed.write_text("\n\n", encoding="utf-8")
    else:
        pq.write_table(pa.table({"id": pa.array([], pa.string()), "text": pa.array([], pa.string())}), feed)
    good.write_text("Japan welcomed NATO's plan for a liaison office in Tokyo.", encoding="utf-8")
    result = stance(trained_model, str(feed), str(good), "--output", str(tmp_path / "o.jsonl"))
    assert result.returncode == 3
    assert result.stderr.strip() == f"skipped: {feed}: empty: no records"
    assert {r["article_id"] for r in read_jsonl(tmp_path / "o.jsonl")} == {"good"}


def test_a_folder_is_read_as_its_txt_articles_and_only_without_them_as_its_data_files(trained_model, tmp_path):
    """As --help says: beside .txt articles a .jsonl is their metadata (seeds/SOURCES.jsonl), not read, and said so."""
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "day1.jsonl").write_text(json.dumps({"id": "a", "text": "France objected."}) + "\n", encoding="utf-8")
    result = stance(trained_model, str(folder), "--output", str(tmp_path / "o.jsonl"))
    assert result.returncode == 0 and {r["article_id"] for r in read_jsonl(tmp_path / "o.jsonl")} == {"a"}
    (folder / "note.txt").write_text("Japan welcomed the plan.", encoding="utf-8")
    (folder / "SOURCES.jsonl").write_text(json.dumps({"id": "note", "date": "2023-06-01"}) + "\n", encoding="utf-8")
    result = stance(trained_model, str(folder), "--output", str(tmp_path / "o.jsonl"))
    assert result.returncode == 0 and {r["article_id"] for r in read_jsonl(tmp_path / "o.jsonl")} == {"note"}
    # never without a word: shards beside a README.txt would otherwise be dropped unseen (the articles' dates are no shard)
    assert result.stderr == (
        f"warning: {folder}: read as its 1 .txt file(s); its 1 .jsonl/.parquet file(s) (day1.jsonl) are not read: "
        "name one to score it\n"
    )
    both = stance(trained_model, str(folder), str(folder / "day1.jsonl"), "--output", str(tmp_path / "o.jsonl"))
    assert both.returncode == 0 and both.stderr == ""  # the shard named too: it is read, so nothing to warn of
    assert {r["article_id"] for r in read_jsonl(tmp_path / "o.jsonl")} == {"note", "a"}


def test_a_txt_article_in_capitals_is_read_from_a_folder(trained_model, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "A1.TXT").write_text("France objected to the office.", encoding="utf-8")
    (folder / "a2.txt").write_text("Japan welcomed the plan.", encoding="utf-8")
    result = stance(trained_model, str(folder), "--output", str(tmp_path / "o.jsonl"))
    assert result.returncode == 0, result.stderr
    assert {r["article_id"] for r in read_jsonl(tmp_path / "o.jsonl")} == {"A1", "a2"}


@pytest.mark.parametrize("name", ["feed.json", "articles.csv"])
def test_a_data_file_this_reader_does_not_take_is_named_not_scored_as_text(trained_model, tmp_path, name):
    """Read as text, its JSON or CSV syntax would be scored as sentences of one article."""
    data, article = tmp_path / name, tmp_path / "a.txt"
    data.write_text('[{"id": "x", "text": "France objected to the office."}]\n', encoding="utf-8")
    article.write_text("Japan welcomed the plan.", encoding="utf-8")
    result = stance(trained_model, str(data), str(article), "--output", str(tmp_path / "o.jsonl"))
    assert result.returncode == 3
    assert result.stderr.splitlines()[0].startswith(f"skipped: {data}: ")
    assert ".jsonl" in result.stderr.splitlines()[0]
    assert {r["article_id"] for r in read_jsonl(tmp_path / "o.jsonl")} == {"a"}


def test_a_json_error_message_reads_as_one_phrase(trained_model, tmp_path):
    feed = tmp_path / "feed.jsonl"
    feed.write_bytes(b'{"id": "a", "text": "tab\there"}\n' + json.dumps({"id": "b", "text": "NATO."}).encode() + b"\n")
    result = stance(trained_model, str(feed), "--output", str(tmp_path / "o.jsonl"))
    assert result.returncode == 3
    assert result.stderr.strip() == f"skipped: {feed}:1: not valid JSON (Invalid control character at column 25)"


def test_a_record_with_its_text_id_or_date_twice_and_a_text_with_a_nul_are_named_not_scored(trained_model, tmp_path):
    """json keeps the last of two equal keys silently, and a NUL would reach every output: name both."""
    feed = tmp_path / "feed.jsonl"
    feed.write_text(
        '{"id": "a", "text": "France objected to the office.", "text": "Japan welcomed it."}\n'
        '{"id": "b", "id": "c", "text": "Japan welcomed it."}\n'
        + json.dumps({"id": "d", "text": "Japan welcomed it.\x00"})
        + "\n"
        + json.dumps({"id": "e", "text": "Japan welcomed it.", "meta": {"text": 1}, "source": "text"})
        + "\n"
        + '{"id": "f", "text": "France objected.", "te\\u0078t": "Japan welcomed it."}\n'  # "text" spelt with an escape
        + '{"id": "g", "text": "France objected.", "date": "2024-01-01", "date": "1999-12-31"}\n'
        + json.dumps({"id": "h\x00", "text": "Japan welcomed it."})
        + "\n",
        encoding="utf-8",
    )
    columns = pa.Table.from_arrays(
        [pa.array(["h"]), pa.array(["France objected."]), pa.array(["Japan."])], ["id", "text", "text"]
    )
    pq.write_table(columns, tmp_path / "columns.parquet")
    # A NUL within the first 8 KB makes a file binary; later, it is text with a NUL on a line
    late_nul = tmp_path / "late_nul.txt"
    late_nul.write_bytes(b"France objected to the office.\n" + b"Japan welcomed it. " * 500 + b"\nA\x00B.\n")
    inputs = [str(feed), str(late_nul), str(tmp_path / "columns.parquet")]
    result = stance(trained_model, *inputs, "--output", str(tmp_path / "o.jsonl"))
    assert result.returncode == 3 and "Traceback" not in result.stderr
    twice = "appears twice; which one is meant cannot be known"
    assert result.stderr.splitlines() == [
        f"skipped: {feed}:1: the field 'text' {twice}",
        f"skipped: {feed}:2: the field 'id' {twice}",
        f"skipped: {feed}:3: the text holds a NUL character (U+0000); not scored",
        f"skipped: {feed}:5: the field 'text' {twice}",
        f"skipped: {feed}:6: the field 'date' {twice}",
        f"skipped: {feed}:7: the id holds a NUL character (U+0000); not scored",
        f"skipped: {late_nul}:3: the text holds a NUL character (U+0000); not scored",
        f"skipped: {tmp_path / 'columns.parquet'}: the column 'text' {twice}",
    ]
    assert {r["article_id"] for r in read_jsonl(tmp_path / "o.jsonl")} == {"e"}


def test_an_ndjson_file_is_read_as_json_lines_not_as_the_text_of_one_article(trained_model, tmp_path):
    """.ndjson is another name for JSONL: read as text, its syntax was scored as one article's sentences."""
    record = {"id": "a", "text": "France objected to the NATO office in Tokyo."}
    (tmp_path / "feed.ndjson").write_text(json.dumps(record) + "\n", encoding="utf-8")
    (tmp_path / "feed.jsonl").write_text(json.dumps(record) + "\n", encoding="utf-8")
    for name in ("feed.ndjson", "feed.jsonl"):
        assert (
            stance(trained_model, str(tmp_path / name), "--output", str(tmp_path / f"{name}.out.jsonl")).returncode == 0
        )
    rows = read_jsonl(tmp_path / "feed.ndjson.out.jsonl")
    assert rows == read_jsonl(tmp_path / "feed.jsonl.out.jsonl") and rows[0]["article_id"] == "a"


def test_records_ended_by_carriage_returns_alone_are_named_as_such(trained_model, tmp_path):
    """A file saved with classic Mac line ends is one line to JSON Lines: say why it is not JSON."""
    feed = tmp_path / "mac.jsonl"
    records = [{"id": "a", "text": "France objected."}, {"id": "b", "text": "Japan welcomed it."}]
    feed.write_bytes(b"\r".join(json.dumps(r).encode() for r in records) + b"\r")
    result = stance(trained_model, str(feed), "--output", str(tmp_path / "o.jsonl"))
    assert result.returncode == 1 and not (tmp_path / "o.jsonl").exists()
    assert result.stderr.splitlines()[0] == (
        f"skipped: {feed}:1: not valid JSON (Extra data at column 41); its records end in a carriage return, "
        "where JSON Lines ends each with a newline"
    )


@pytest.mark.parametrize("damage", ["missing", "corrupt"])
def test_a_missing_or_corrupt_model_stops_the_run_and_says_how_to_build_one(trained_model, tmp_path, damage):
    bad = tmp_path / "model.skops"
    shutil.copy(trained_model.with_suffix(".json"), bad.with_suffix(".json"))
    if damage == "corrupt":
        bad.write_bytes(trained_model.read_bytes()[:5000])
    result = stance(bad, str(ROOT / "seeds/000_5ea5e603efdd03d0.txt"))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1 and "dvc repro" in result.stderr and str(bad) in result.stderr


def test_an_unknown_output_format_is_refused_before_any_work(trained_model, tmp_path):
    result = stance(trained_model, str(ROOT / "seeds"), "--output", str(tmp_path / "o.xlsx"))
    assert result.returncode == 2 and "unknown output format '.xlsx'" in unboxed(result.stderr)  # a usage error
    assert not list(tmp_path.iterdir())


def test_an_output_that_would_overwrite_an_input_or_the_other_output_is_refused_before_anything(
    trained_model, tmp_path
):
    feed = tmp_path / "feed.jsonl"
    feed.write_text(json.dumps({"id": "a1", "text": "France blocked the office."}) + "\n", encoding="utf-8")
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "a2.txt").write_text("Japan welcomed the office.\n", encoding="utf-8")
    (tmp_path / "link.jsonl").symlink_to(feed)
    cases = [
        ([str(feed)], {"--output": str(feed)}, "--output is the input"),
        ([str(feed)], {"--output": str(tmp_path / "link.jsonl")}, "--output is the input"),
        ([str(folder)], {"--output": str(folder / "scored.csv")}, "--output is inside the input"),
        ([str(feed)], {"--output": None, "--summary": str(feed)}, "--summary is the input"),
        (
            [str(feed)],
            {"--output": str(tmp_path / "s.parquet"), "--summary": str(tmp_path / "s.parquet")},
            "--output and --summary are the same file",
        ),
    ]
    for inputs, outputs, words in cases:
        with pytest.raises(DataError, match=words):
            check_outputs(inputs, outputs)
    check_outputs([str(feed), str(folder)], {"--output": str(tmp_path / "pairs.csv"), "--summary": None})
    # Through the command: one line, exit 1, and the input is whole.
    before = feed.read_bytes()
    result = stance(trained_model, str(feed), "--output", str(feed))
    assert result.returncode == 1 and result.stderr.count("\n") == 1 and "--output is the input" in result.stderr
    assert feed.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["articles", "feed.jsonl", "link.jsonl"]


def test_an_output_that_is_the_file_standard_input_reads_is_refused(trained_model, tmp_path):
    """`stance score - --output feed.jsonl < feed.jsonl` would replace the feed with its scores."""
    feed = tmp_path / "feed.jsonl"
    feed.write_text(json.dumps({"id": "a1", "text": "France blocked the office."}) + "\n", encoding="utf-8")
    before = feed.read_bytes()
    command = ["stance", "score", "--model", str(trained_model), "-", "--output", str(feed)]
    with feed.open("rb") as stdin:
        result = run(command, ROOT, check=False, stdin=stdin)
    assert result.returncode == 1 and result.stderr.count("\n") == 1
    assert f"{feed}: --output is the file standard input reads" in result.stderr
    assert feed.read_bytes() == before
    # The same feed piped in, or redirected into another output, is scored as before.
    with feed.open("rb") as stdin:
        result = run([*command[:-1], str(tmp_path / "pairs.jsonl")], ROOT, check=False, stdin=stdin)
    assert result.returncode == 0 and [row["actor"] for row in read_jsonl(tmp_path / "pairs.jsonl")] == ["france"]


def test_an_output_under_a_file_says_that_the_file_is_not_a_folder(trained_model, tmp_path):
    (tmp_path / "notes.md").write_text("notes\n", encoding="utf-8")
    output = tmp_path / "notes.md" / "pairs.jsonl"
    result = stance(trained_model, str(ROOT / "seeds/000_5ea5e603efdd03d0.txt"), "--output", str(output))
    assert result.returncode == 1 and result.stderr.count("\n") == 1
    assert result.stderr == (
        f"error: {output}: cannot write here ({tmp_path / 'notes.md'} is a file, not a folder); "
        "choose another place (nothing was written)\n"
    )


def test_from_a_subfolder_the_default_model_is_pointed_to(tmp_path):
    """The default --model is relative to the project's root; run from below it, the error says where it is."""
    project = tmp_path / "project"
    (project / "models").mkdir(parents=True)
    (project / "models" / "model.skops").write_bytes(b"not read")
    (project / "docs").mkdir()
    result = run(["stance", "score", str(ROOT / "seeds/000_5ea5e603efdd03d0.txt")], project / "docs", check=False)
    assert result.returncode == 1 and result.stderr.count("\n") == 1
    assert result.stderr == (
        "error: models/model.skops: model file not found; the project's is ../models/model.skops: "
        f"run from {project}, or pass --model ../models/model.skops\n"
    )
    # Where no folder above holds it, the error says how to build one, as before.
    (tmp_path / "elsewhere").mkdir()
    result = run(["stance", "score", str(ROOT / "seeds/000_5ea5e603efdd03d0.txt")], tmp_path / "elsewhere", check=False)
    assert (
        result.stderr
        == "error: models/model.skops: model file not found; build one with `dvc repro` (or `stance train`)\n"
    )


def test_hostile_jsonl_lines_are_skipped_one_line_each_and_the_rest_is_scored(trained_model, tmp_path):
    feed = tmp_path / "feed.jsonl"
    lines = [
        '{"id": "surrogate", "text": "France \\ud800 opposes the liaison office."}',  # half a surrogate pair
        "[" * 100_000 + "]" * 100_000,  # nested past the parser, and too long before that
        json.dumps({"id": "long", "text": "France " * 150}),
        json.dumps({"id": "good", "text": "France blocked the liaison office."}),
    ]
    feed.write_text("\n".join(lines) + "\n", encoding="utf-8")
    output = tmp_path / "o.jsonl"
    result = stance(trained_model, str(feed), "--max-article-chars", "100", "--output", str(output))
    assert result.returncode == 3 and "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        f"skipped: {feed}:1: text or id holds an unpaired surrogate escape (\\ud800-\\udfff), not Unicode text",
        f"skipped: {feed}:2: line too long for an article of at most 100 characters; skipped (see --max-article-chars)",
        f"skipped: {feed}:3: article has 1050 characters, more than 100; skipped (see --max-article-chars)",
    ]
    assert {row["article_id"] for row in read_jsonl(output)} == {"good"}


def test_an_empty_id_is_named_as_empty_not_as_missing(tmp_path):
    feed, table = tmp_path / "feed.jsonl", tmp_path / "feed.parquet"
    texts = ["France objected.", "Japan welcomed it.", "NATO proposed it."]
    feed.write_text("".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in zip(["", " ", "c"], texts)))
    pq.write_table(pa.table({"id": ["", "\t", "c"], "text": texts}), table)
    for source in (feed, table):
        events = list(read_inputs([str(source)]))
        assert [e.id for e in events if not isinstance(e, Problem)] == ["c"]
        empty = "'id' is empty; every article needs an id"
        assert [str(e) for e in events if isinstance(e, Problem)] == [f"skipped: {source}:{n}: {empty}" for n in (1, 2)]


def test_a_jsonl_date_is_its_iso_date_or_month_and_anything_else_a_warning(tmp_path):
    """A time gives its own date (in its own zone); the month alone stays a month; a value of seven
    characters or items that is no month, a number or a list is dropped, and the article still scored."""
    dates = {
        "time": ("2023-07-09T23:30:00+09:00", "2023-07-09"),
        "day": ("2023-07-09", "2023-07-09"),
        "month": ("2023-07", "2023-07"),
        "short": ("2023-7", None),
        "number": (20230709, None),
        "seven": (list("2023-07"), None),
        "bad day": ("2023-02-30", None),
    }
    feed = tmp_path / "feed.jsonl"
    rows = [{"id": name, "text": "France objected.", "date": date} for name, (date, _) in dates.items()]
    feed.write_text("".join(json.dumps(row) + "\n" for row in rows))
    events = list(read_inputs([str(feed)]))
    assert {e.id: e.date for e in events if not isinstance(e, Problem)} == {n: kept for n, (_, kept) in dates.items()}
    not_iso = "not an ISO date (YYYY-MM-DD or YYYY-MM); scored without a date"
    assert [str(e) for e in events if isinstance(e, Problem)] == [
        f"warning: {feed}:{line}: field 'date' is {dates[name][0]!r}, {not_iso}"
        for line, name in enumerate(dates, start=1)
        if dates[name][1] is None
    ]


def test_a_parquet_string_cell_that_is_not_utf8_skips_its_row_and_an_undecodable_page_ends_the_file(tmp_path):
    # pyarrow checks UTF-8 when it writes a string column; other writers may not. A binary column viewed
    # as strings writes the same bytes another writer would.
    text = "France opposed the NATO office in Tokyo."
    not_utf8 = pa.array([text.encode(), b"Japan \xff\xfe welcomed it.", text.encode()]).view(pa.string())
    pq.write_table(pa.table({"id": ["a", "b", "c"], "text": not_utf8}), tmp_path / "text.parquet")
    bad_ids = pa.array([b"x", b"\xffy", b"z"]).view(pa.string())
    pq.write_table(pa.table({"id": bad_ids, "text": [text] * 3}), tmp_path / "ids.parquet")
    dictionary = pa.DictionaryArray.from_arrays(pa.array([0, 0, 1]), not_utf8.slice(0, 2))
    pq.write_table(pa.table({"id": ["d", "e", "f"], "text": dictionary}), tmp_path / "dictionary.parquet")
    events = list(read_inputs([str(tmp_path / name) for name in ("text.parquet", "ids.parquet", "dictionary.parquet")]))
    assert [e.id for e in events if not isinstance(e, Problem)] == ["a", "c", "x", "z"]
    assert [str(e) for e in events if isinstance(e, Problem)] == [
        f"skipped: {tmp_path / 'text.parquet'}:2: 'text' holds bytes that are not UTF-8, not text",
        f"skipped: {tmp_path / 'ids.parquet'}:2: 'id' holds bytes that are not UTF-8, not text",
        f"skipped: {tmp_path / 'dictionary.parquet'}: cannot be read past row 0 (Invalid UTF8 payload); "
        "the rest of the file was not read",
    ]


def test_a_bad_code_unit_in_a_utf16_text_file_is_named_at_its_line(tmp_path):
    lines = "France objected.\nJapan welcomed it.\nNATO proposed it.\n".encode("utf-16-le").split(
        "\n".encode("utf-16-le")
    )
    raw = codecs.BOM_UTF16_LE + "\n".encode("utf-16-le").join([lines[0], lines[1], b"\x00\xdc" + lines[2], lines[3]])
    (tmp_path / "a.txt").write_bytes(raw)
    [problem] = read_inputs([str(tmp_path / "a.txt")])
    assert (
        str(problem)
        == f"skipped: {tmp_path / 'a.txt'}:3: not valid UTF-16 (a byte-order mark says UTF-16); save the file as UTF-8"
    )


def test_an_article_within_the_limit_is_read_however_json_escaped_its_characters(tmp_path):
    feed = tmp_path / "feed.jsonl"
    text = "Japan said NATO should open an office in Tokyo. " + "東京" * 300 + "🙂" * 50  # 698 characters
    feed.write_text(json.dumps({"id": "escaped", "text": text}) + "\n", encoding="ascii")  # 4,048 bytes
    [article] = read_inputs([str(feed)], max_chars=700)
    assert (article.id, article.text) == ("escaped", text)
    [problem] = read_inputs([str(feed)], max_chars=690)  # one character too many is still named as such
    assert (
        str(problem)
        == f"skipped: {feed}:1: article has 698 characters, more than 690; skipped (see --max-article-chars)"
    )


def test_a_nested_line_within_the_length_limit_is_named_as_invalid_json(tmp_path):
    feed = tmp_path / "feed.jsonl"
    feed.write_text("[" * 100_000 + "]" * 100_000 + "\n", encoding="utf-8")
    [problem] = read_inputs([str(feed)])
    assert str(problem) == f"skipped: {feed}:1: not valid JSON here (nested too deeply)"


def test_a_number_longer_than_python_reads_skips_its_own_line(trained_model, tmp_path):
    """json.loads raises a bare ValueError for an integer of more than 4,300 digits: a traceback lost every line."""
    feed = tmp_path / "feed.jsonl"
    good = {"id": "a", "text": "France objected to the NATO office in Tokyo."}
    feed.write_text(
        "\n".join(
            [
                json.dumps(good),
                '{"id": "b", "text": "NATO.", "views": ' + "9" * 4301 + "}",
                json.dumps(good | {"id": "c"}),
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    result = stance(trained_model, str(feed), "--output", str(tmp_path / "o.jsonl"))
    assert result.returncode == 3 and "Traceback" not in result.stderr
    assert result.stderr == f"skipped: {feed}:2: not read here: a number of more than 4,300 digits\n"
    assert {row["article_id"] for row in read_jsonl(tmp_path / "o.jsonl")} == {"a", "c"}


def test_a_text_input_that_never_ends_is_read_no_further_than_an_article_can_be(tmp_path):
    # A device reports size 0 whatever it holds; the reader stops after max_chars * 4 bytes.
    [problem] = read_inputs(["/dev/zero"], max_chars=1000)
    assert str(problem) == "skipped: /dev/zero: larger than 1000 characters; not an article (see --max-article-chars)"


def test_a_line_too_long_for_any_article_is_passed_over_without_holding_it(tmp_path):
    feed = tmp_path / "feed.jsonl"
    with feed.open("wb") as handle:
        handle.write(b'{"id": "big", "text": "' + b"a" * 5_000_000 + b'"}\n')
        handle.write(b'{"id": "next", "text": "Japan welcomed the office."}\n')
    events = list(read_inputs([str(feed)], max_chars=1000))
    assert str(events[0]).startswith(f"skipped: {feed}:1: line too long for an article of at most 1000 characters")
    assert [(e.id, e.origin) for e in events[1:]] == [("next", f"{feed}:2")]


def test_fail_fast_goes_on_after_a_warning_whose_article_was_scored(trained_model, tmp_path):
    feed = tmp_path / "feed.jsonl"
    feed.write_text(
        json.dumps({"id": "a", "text": "France blocked the liaison office.", "date": "someday"})
        + "\n"
        + json.dumps({"id": "a", "text": "Japan welcomed the liaison office."})
        + "\n",
        encoding="utf-8",
    )
    output = tmp_path / "o.jsonl"
    result = stance(trained_model, str(feed), "--fail-fast", "--output", str(output))
    assert result.returncode == 0, result.stderr
    assert [line.split(":")[0] for line in result.stderr.splitlines()] == ["warning", "warning"]
    assert {row["article_id"] for row in read_jsonl(output)} == {"a", "a#2"}


@pytest.mark.parametrize(
    "ids, kept",
    [(pa.array([["x"], ["y"]]), []), (pa.array([1.5, 2.0]), []), (pa.array([7, 8]), ["7", "8"])],
)
def test_a_parquet_id_is_a_string_or_an_integer_as_in_jsonl(tmp_path, ids, kept):
    feed = tmp_path / "feed.parquet"
    pq.write_table(pa.table({"id": ids, "text": ["France objected.", "Japan welcomed it."]}), feed)
    events = list(read_inputs([str(feed)]))
    assert [e.id for e in events if not isinstance(e, Problem)] == kept
    problems = [str(e) for e in events if isinstance(e, Problem)]
    assert problems == ([] if kept else [f"skipped: {feed}:{n}: row lacks a string or integer 'id'" for n in (1, 2)])


PARQUET_DATED_TEXTS = ["France blocked the liaison office.", "Japan welcomed the liaison office.", "NATO opened it."]


def test_a_parquet_date_column_is_kept_in_the_rows_as_a_jsonl_date_is(trained_model, tmp_path):
    """Strings by the JSONL rules; a date or timestamp column as the ISO date JSONL would give; a null is no date."""
    day, evening = datetime.date(2023, 7, 9), datetime.datetime(2023, 7, 9, 23, 30)
    columns = {
        "strings": pa.array(["2023-07-09", "2023-07", None]),
        "date32": pa.array([day, day, None], pa.date32()),
        "date64": pa.array([day, day, None], pa.date64()),
        # 23:30 UTC on 9 July is 08:30 on 10 July in the column's zone, as "2023-07-10T08:30+09:00" in JSONL
        "timestamp": pa.array([evening, evening, None], pa.timestamp("us", tz="Asia/Tokyo")),
    }
    expected = {
        "strings": ["2023-07-09", "2023-07", None],
        "date32": ["2023-07-09", "2023-07-09", None],
        "date64": ["2023-07-09", "2023-07-09", None],
        "timestamp": ["2023-07-10", "2023-07-10", None],
    }
    for name, dates in columns.items():
        ids = [f"{name}-{n}" for n in range(3)]
        pq.write_table(pa.table({"id": ids, "text": PARQUET_DATED_TEXTS, "date": dates}), tmp_path / f"{name}.parquet")
    with open(tmp_path / "strings.jsonl", "w", encoding="utf-8") as feed:  # the same articles and dates as JSONL
        for n, (text, date) in enumerate(zip(PARQUET_DATED_TEXTS, expected["strings"])):
            feed.write(json.dumps({"id": f"jsonl-{n}", "text": text, "date": date}) + "\n")
    inputs = [str(tmp_path / f"{name}.parquet") for name in columns] + [str(tmp_path / "strings.jsonl")]
    output, summary = tmp_path / "o.jsonl", tmp_path / "s.jsonl"
    result = stance(trained_model, *inputs, "--output", str(output), "--summary", str(summary))
    assert result.returncode == 0 and result.stderr == "", result.stderr
    expected["jsonl"] = expected["strings"]
    for rows in (read_jsonl(output), read_jsonl(summary)):
        dates = {(row["article_id"], row["date"]) for row in rows}
        assert dates == {(f"{name}-{n}", date) for name, days in expected.items() for n, date in enumerate(days)}
    # Apart from the article id, each file's rows are the JSONL file's: same dates, same scores.
    by_file: dict[str, list] = {}
    for row in read_jsonl(output):
        name, _, n = row.pop("article_id").rpartition("-")
        by_file.setdefault(name, []).append((n, row))
    assert by_file["strings"] == by_file["jsonl"]


def test_a_bad_parquet_date_is_dropped_with_a_warning_naming_the_row(trained_model, tmp_path):
    feed = tmp_path / "feed.parquet"
    dates = ["2023-07-09", "9 July 2023", "2023-13-01"]
    pq.write_table(pa.table({"id": ["a", "b", "c"], "text": PARQUET_DATED_TEXTS, "date": dates}), feed)
    # Dates Arrow holds and Python cannot: past the year 9999 (with a time zone too), and in a zone no database knows
    unreadable = {
        "far": pa.array([2**30], pa.date32()),
        "far_zoned": pa.array([2**62], pa.timestamp("us", tz="Asia/Tokyo")),
        "nowhere": pa.array([0], pa.timestamp("us", tz="Nowhere/Atlantis")),
    }
    for name, date in unreadable.items():
        pq.write_table(
            pa.table({"id": [name], "text": PARQUET_DATED_TEXTS[:1], "date": date}), tmp_path / f"{name}.parquet"
        )
    output = tmp_path / "o.jsonl"
    inputs = [str(feed), *(str(tmp_path / f"{name}.parquet") for name in unreadable)]
    result = stance(trained_model, *inputs, "--output", str(output))
    assert result.returncode == 0, result.stderr
    not_iso = "not an ISO date (YYYY-MM-DD or YYYY-MM); scored without a date"
    lines = result.stderr.splitlines()
    assert lines[:2] == [
        f"warning: {feed}:2: column 'date' is '9 July 2023', {not_iso}",
        f"warning: {feed}:3: column 'date' is '2023-13-01', {not_iso}",
    ]
    # The type and the number stored: Arrow's own text for a zoned timestamp past 9999 overflows
    assert lines[2:] == [
        f"warning: {tmp_path}/far.parquet:1: column 'date' is '<date32[day] {2**30}>', {not_iso}",
        f"warning: {tmp_path}/far_zoned.parquet:1: column 'date' is '<timestamp[us, tz=Asia/Tokyo] {2**62}>', {not_iso}",
        f"warning: {tmp_path}/nowhere.parquet:1: column 'date' is '<timestamp[us, tz=Nowhere/Atlantis] 0>', {not_iso}",
    ]
    dates = {(row["article_id"], row["date"]) for row in read_jsonl(output)}
    assert dates == {("a", "2023-07-09"), ("b", None), ("c", None)} | {(name, None) for name in unreadable}


NOT_DATES = "not a date or text; scored without dates"


def test_a_parquet_date_column_of_another_type_is_named_once_and_the_file_scored_without_dates(trained_model, tmp_path):
    """Its type is known before any row is read: one warning for the file, not one a row."""
    feed = tmp_path / "feed.parquet"
    dates = pa.array([20230709, 20230710, None], pa.int64())
    pq.write_table(pa.table({"id": ["a", "b", "c"], "text": PARQUET_DATED_TEXTS, "date": dates}), feed)
    output, summary = tmp_path / "o.jsonl", tmp_path / "s.jsonl"
    result = stance(trained_model, str(feed), "--output", str(output), "--summary", str(summary))
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [f"warning: {feed}: column 'date' is int64, {NOT_DATES}"]
    for rows in (read_jsonl(output), read_jsonl(summary)):
        assert {(row["article_id"], row["date"]) for row in rows} == {("a", None), ("b", None), ("c", None)}


@pytest.mark.parametrize(
    "dates, kept",
    [
        (pa.array([True, False]), None),
        (pa.array([1.5, None]), None),
        (pa.array([b"2023-07-09", None]), None),
        (pa.array([datetime.time(1), None], pa.time64("us")), None),
        (pa.array([["2023-07-09"], None]), None),
        (pa.array([{"year": 2023}, None]), None),
        (pa.array(["2023-07-09", None]).dictionary_encode(), ["2023-07-09", None]),
        (pa.array(["2023-07-09", None], pa.string_view()), ["2023-07-09", None]),
        (pa.array([None, None]), [None, None]),
    ],
    ids=["bool", "double", "binary", "time", "list", "struct", "dictionary", "string_view", "null"],
)
def test_only_text_date_timestamp_or_null_parquet_columns_are_read_as_dates(tmp_path, dates, kept):
    feed = tmp_path / "feed.parquet"
    pq.write_table(pa.table({"id": ["a", "b"], "text": PARQUET_DATED_TEXTS[:2], "date": dates}), feed)
    events = list(read_inputs([str(feed)]))
    problems = [str(e) for e in events if isinstance(e, Problem)]
    if kept is None:
        date_type = pq.ParquetFile(feed).schema_arrow.field("date").type
        assert problems == [f"warning: {feed}: column 'date' is {date_type}, {NOT_DATES}"]
    else:
        assert problems == []
    assert [e.date for e in events if not isinstance(e, Problem)] == (kept or [None, None])


def test_a_parquet_file_with_no_row_is_named_empty_after_its_date_columns_warning(tmp_path):
    feed = tmp_path / "feed.parquet"
    empty = {"id": pa.array([], pa.string()), "text": pa.array([], pa.string()), "date": pa.array([], pa.int64())}
    pq.write_table(pa.table(empty), feed)
    assert [str(e) for e in read_inputs([str(feed)])] == [
        f"warning: {feed}: column 'date' is int64, {NOT_DATES}",
        f"skipped: {feed}: empty: no records",
    ]


def test_a_line_that_goes_on_past_what_is_passed_over_ends_the_reading_of_its_input(monkeypatch):
    import pipeline.scoring.inputs as inputs

    monkeypatch.setattr(inputs, "MAX_PASSED_BYTES", 0)  # then 16 times the longest line: 16 * (12 * 10 + 1024)
    line = b"x" * 3 * 2**20 + b"\n" + json.dumps({"id": "a", "text": "France."}).encode()
    events = [str(e) for e in read_inputs(["-"], max_chars=10, stdin=io.BufferedReader(io.BytesIO(line)))]
    assert len(events) == 2 and events[0].startswith("skipped: <stdin>:1: line too long for an article")
    # 1,145 bytes read for the line, then 1 MiB at a time: past 16 * 1,144 after the first MiB
    assert (
        events[1]
        == f"skipped: <stdin>:1: the line goes on past {1145 + 2**20} bytes; the rest of the input was not read"
    )


def test_an_output_path_that_is_a_folder_is_refused_before_scoring(trained_model, tmp_path):
    article, output = tmp_path / "a.txt", tmp_path / "o.jsonl"
    article.write_text("France blocked the liaison office.", encoding="utf-8")
    output.mkdir()
    result = stance(trained_model, str(article), "--output", str(output))
    assert result.returncode == 1
    assert result.stderr == f"error: {output}: is a folder; give a file path (nothing was written)\n"
    assert list(output.iterdir()) == []
