"""The annotation loop: export, import (CSV and Label Studio), agreement, adjudication, merge, retraining.

The fixtures in tests/fixtures/annotation are three short articles written for these tests
(in no seed) and a Label Studio "Export > JSON" file of one annotator's labels for a batch
exported from them, in Label Studio's export format (tasks with data, predictions and
annotations[].result[]).
"""

from __future__ import annotations

import contextlib
import csv
import errno
import json
import os
import re
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml
from conftest import ROOT, own_signal_handlers, run, target_folder
from typer.testing import CliRunner

from pipeline.annotation.adjudication import agree, merge, read_finals
from pipeline.annotation.export import export, select
from pipeline.annotation.passes import RowProblems, import_pass
from pipeline.annotation.store import name_problem, store_articles, write_pass
from pipeline.cli import app
from pipeline.data.labels import LABELS
from pipeline.errors import DataError
from pipeline.files import atomic_outputs
from pipeline.params import load_params
from pipeline.stages.prepare import prepare

FIXTURES = ROOT / "tests/fixtures/annotation"
LABEL_STUDIO = FIXTURES / "label_studio_export.json"
ARTICLE = "x01_summit-office-debate"
SENTENCE = "Japan has said it would welcome the office as a way to deepen dialogue with the alliance."
HEADER = "article_id,sentence,actor,label,model_guess"
GOOD = f'{ARTICLE},"{SENTENCE}",japan,support,support'


def ls_labels() -> dict[tuple, str]:
    """{(article_id, sentence, actor): label} of the Label Studio fixture, read independently of the importer."""
    labels = {}
    for task in json.loads(LABEL_STUDIO.read_text(encoding="utf-8")):
        data = task["data"]
        (choice,) = [r for r in task["annotations"][0]["result"] if r["type"] == "choices"]
        labels[(data["article_id"], data["text"], data["actor"])] = choice["value"]["choices"][0]
    return labels


@pytest.fixture
def params(tmp_path):
    params = load_params(ROOT / "params.yaml")
    params.data.articles = str(ROOT / "seeds")
    shutil.copy(ROOT / "data/targets/nato-tokyo-office/labels.csv", tmp_path / "labels.csv")
    params.data.target = target_folder(
        tmp_path / "target", labels=tmp_path / "labels.csv", annotation_articles=FIXTURES / "articles"
    )
    return params


@pytest.fixture
def export_params(tmp_path):
    """The shipped target, but for an empty annotation articles folder of the test's: what an export stores goes there."""
    params = load_params(ROOT / "params.yaml")
    params.data.articles = str(ROOT / "seeds")
    (tmp_path / "stored").mkdir()
    params.data.target = target_folder(tmp_path / "target", annotation_articles=tmp_path / "stored")
    return params


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def params_file(params, folder: Path) -> Path:
    """The project's params.yaml, but for the test's seeds and target folder, for a command run on them."""
    project = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    project["data"].update(articles=params.data.articles, target=params.data.target)
    path = folder / "params.yaml"
    path.write_text(yaml.safe_dump(project), encoding="utf-8")
    return path


# --- import: every bad row is one line naming the file and line, and nothing is stored ---


@pytest.mark.parametrize(
    "row, words",
    [
        (f'{ARTICLE},"{SENTENCE}",japan,,support', "empty label"),
        (f'{ARTICLE},"{SENTENCE}",japan,maybe,support', "label 'maybe' is not one of support, oppose, neutral"),
        (f'{ARTICLE},"{SENTENCE}",atlantis,support,support', "unknown actor 'atlantis'"),
        (f'{ARTICLE},"Japan said no.",japan,oppose,neutral', f"sentence not found in article '{ARTICLE}'"),
        (f'x99_nowhere,"{SENTENCE}",japan,support,support', "article 'x99_nowhere' is neither in"),
        (GOOD, "duplicate of line 2"),
        (f"{GOOD},an extra field", "wrong number of fields"),
        (f'{ARTICLE},"{SENTENCE}",japan', "wrong number of fields"),
        (f'{ARTICLE},"{SENTENCE}",france,oppose,neutral', "no candidate pair"),
        (
            "000_5ea5e603efdd03d0,\"French officials have restated the country's lack of support for the idea of the "
            'NATO military alliance opening a liaison office in Japan, which would be its first outpost in Asia.",'
            "france,oppose,oppose",
            "already gold in",
        ),
    ],
)
def test_each_bad_csv_row_is_one_line_with_file_and_line(params, tmp_path, row, words):
    batch = write(tmp_path / "batch.csv", [HEADER, GOOD, row])
    with pytest.raises(RowProblems) as caught:
        import_pass(params, str(batch), "alice", folder=tmp_path / "passes")
    first, summary = caught.value.problems
    assert first.startswith(f"{batch}:3: ") and "\n" not in first
    assert words in first
    assert summary == f"{batch}: 1 problem(s); nothing was stored"
    assert not (tmp_path / "passes").exists()


def test_a_csv_with_a_column_named_twice_or_a_quote_never_closed_is_named_where_it_is(params, tmp_path):
    """A header with `label` twice imported the last column's labels without a word; a quote opened and not
    closed was named at the line where the swallowed record ended, as a wrong count of fields."""
    twice = write(
        tmp_path / "twice.csv",
        ["article_id,sentence,actor,label,label", f'{ARTICLE},"{SENTENCE}",japan,support,neutral'],
    )
    with pytest.raises(RowProblems) as caught:
        import_pass(params, str(twice), "alice", folder=tmp_path / "passes")
    assert (
        caught.value.problems[0]
        == f"{twice}:1: column 'label' appears twice in the header; keep the header the export wrote"
    )
    unclosed = write(tmp_path / "unclosed.csv", [HEADER, GOOD, f'{ARTICLE},"{SENTENCE}","japan,support', GOOD, GOOD])
    with pytest.raises(RowProblems) as caught:
        import_pass(params, str(unclosed), "alice", folder=tmp_path / "passes")
    assert caught.value.problems[0] == (
        f"{unclosed}:3: not valid CSV: a quote opened in this record closes before its field ends (left open, it "
        "closed at a later quote); quote whole fields and double any quote inside one"
    )
    spare = write(
        tmp_path / "spare.csv", ["article_id,sentence,actor,,,label,label", GOOD.replace(",support,", ",,,support,")]
    )
    with pytest.raises(RowProblems) as caught:
        import_pass(params, str(spare), "alice", folder=tmp_path / "passes")
    assert (
        caught.value.problems[0]
        == f"{spare}:1: column 'label' appears twice in the header; keep the header the export wrote"
    )
    assert not (tmp_path / "passes").exists()


def test_a_file_of_bad_rows_shows_the_first_problems_and_counts_the_rest(params, tmp_path):
    batch = write(tmp_path / "batch.csv", [HEADER, *[f'{ARTICLE},"{SENTENCE}",japan,,support'] * 1000])
    with pytest.raises(RowProblems) as caught:
        import_pass(params, str(batch), "alice", folder=tmp_path / "passes")
    problems = caught.value.problems
    assert problems[:2] == [
        f"{batch}:2: empty label; write support, oppose or neutral",
        f"{batch}:3: empty label; write support, oppose or neutral",
    ]
    assert len(problems) == 21 and problems[19].startswith(f"{batch}:21: ")
    assert problems[-1] == f"{batch}: 1000 problem(s), the first 20 shown; nothing was stored"
    assert not (tmp_path / "passes").exists()


def test_a_label_studio_export_imports_as_a_pass(params, tmp_path):
    stored = import_pass(params, str(LABEL_STUDIO), "bob", folder=tmp_path / "passes")
    with open(stored, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["article_id", "sentence", "actor", "label"]
    assert {(r["article_id"], r["sentence"], r["actor"]): r["label"] for r in rows} == ls_labels()


def _label_studio_variant(tmp_path: Path, change) -> Path:
    tasks = json.loads(LABEL_STUDIO.read_text(encoding="utf-8"))
    change(tasks[1])
    path = tmp_path / "export.json"
    path.write_text(json.dumps(tasks), encoding="utf-8")
    return path


def _choices(task) -> dict:
    return next(r for r in task["annotations"][0]["result"] if r["type"] == "choices")


@pytest.mark.parametrize(
    "change, words",
    [
        (lambda task: task["annotations"][0].update(was_cancelled=True), "empty label"),
        (lambda task: _choices(task)["value"].update(choices=["against"]), "label 'against' is not one of"),
        (lambda task: task["data"].update(actor="atlantis"), "unknown actor 'atlantis'"),
        (lambda task: task["data"].update(text="France said nothing."), "sentence not found in article"),
        (lambda task: task["annotations"].append(task["annotations"][0]), "2 annotations"),
        (lambda task: task.update(annotations="support"), "`annotations` is not a list of objects"),
        (lambda task: task.update(annotations=[1]), "`annotations` is not a list of objects"),
        (lambda task: task["annotations"][0].update(result=[1, 2]), "`result` is not a list of objects"),
        (lambda task: task["annotations"][0].update(result={"choices": ["support"]}), "`result` is not a list"),
        (lambda task: _choices(task).update(value=["support"]), "`value.choices` is not a list of strings"),
        (lambda task: _choices(task)["value"].update(choices="support"), "`value.choices` is not a list of strings"),
        (lambda task: _choices(task)["value"].update(choices=[{"support": 1}]), "`value.choices` is not a list"),
    ],
)
def test_each_bad_label_studio_task_is_one_line_with_file_and_task_id(params, tmp_path, change, words):
    export = _label_studio_variant(tmp_path, change)
    task_id = json.loads(export.read_text(encoding="utf-8"))[1]["id"]
    with pytest.raises(RowProblems) as caught:
        import_pass(params, str(export), "bob", folder=tmp_path / "passes")
    first = caught.value.problems[0]
    assert first.startswith(f"{export}: task {task_id}: ") and "\n" not in first
    assert words in first
    assert not (tmp_path / "passes").exists()


def test_a_label_studio_task_without_a_one_line_id_is_named_by_its_place(params, tmp_path):
    export = _label_studio_variant(tmp_path, lambda task: task.update(id="4102\nerror: forged", annotations=7))
    with pytest.raises(RowProblems) as caught:
        import_pass(params, str(export), "bob", folder=tmp_path / "passes")
    assert caught.value.problems[0].startswith(f"{export}: task #2: `annotations` is not a list of objects; ")
    assert all("\n" not in problem for problem in caught.value.problems)


def test_a_label_studio_export_nested_too_deeply_is_one_line_naming_its_line(params, tmp_path):
    tasks = LABEL_STUDIO.read_text(encoding="utf-8").rstrip().removesuffix("]")
    export = tmp_path / "export.json"
    export.write_text(f"{tasks},\n{'[' * 100_000}{']' * 100_000}\n]\n", encoding="utf-8")
    line = tasks.count("\n") + 2
    with pytest.raises(RowProblems) as caught:
        import_pass(params, str(export), "bob", folder=tmp_path / "passes")
    assert caught.value.problems == [
        f"{export}:{line}: not valid JSON here (nested too deeply)",
        f"{export}: 1 problem(s); nothing was stored",
    ]
    assert not (tmp_path / "passes").exists()


def test_a_label_studio_export_with_a_number_longer_than_python_reads_is_one_line_naming_its_line(params, tmp_path):
    tasks = LABEL_STUDIO.read_text(encoding="utf-8").rstrip().removesuffix("]")
    export = tmp_path / "export.json"
    # A run of as many digits inside a string, with an escaped quote before it, comes first and is not the number
    in_text = f'{{"data": {{"text": "a \\"quote\\" {"7" * 4301}"}}}}'
    export.write_text(f'{tasks},\n{in_text},\n{{"id": {"9" * 4301}}}\n]\n', encoding="utf-8")
    with pytest.raises(RowProblems) as caught:
        import_pass(params, str(export), "bob", folder=tmp_path / "passes")
    assert caught.value.problems[0] == (
        f"{export}:{tasks.count(chr(10)) + 3}: not read here: a number of more than 4,300 digits"
    )
    assert not (tmp_path / "passes").exists()


def test_a_pass_is_never_overwritten_silently(params, tmp_path):
    passes = tmp_path / "passes"
    import_pass(params, str(LABEL_STUDIO), "bob", folder=passes)
    before = (passes / "bob.csv").read_bytes()
    with pytest.raises(DataError, match="already labelled 12 of these pairs"):
        import_pass(params, str(LABEL_STUDIO), "bob", folder=passes)
    assert (passes / "bob.csv").read_bytes() == before
    import_pass(params, str(LABEL_STUDIO), "bob", replace=True, folder=passes)  # asked for: allowed
    batch = write(tmp_path / "more.csv", [HEADER, 'x02_seoul-canberra-reactions,"Germany",germany,neutral,x'])
    with pytest.raises(RowProblems):  # a bad file leaves the pass as it was
        import_pass(params, str(batch), "bob", folder=passes)
    assert (passes / "bob.csv").read_bytes() == before


def test_an_annotator_name_that_cannot_be_a_file_name_is_a_usage_error_and_stores_nothing(params, tmp_path):
    batch = write(tmp_path / "batch.csv", [HEADER, GOOD])
    config = params_file(params, tmp_path)
    annotation = Path(params.data.annotation)

    def label_import(annotator: str):
        args = ["stance", "label", "import", str(batch), "--annotator", annotator, "--params", str(config)]
        return run(args, ROOT, check=False)

    for name in ("a/b", "../alice", "two words", "", "alice."):
        refused = label_import(name)
        assert refused.returncode == 2, (name, refused.stderr)
        assert "Invalid value for '--annotator'" in refused.stderr and "Traceback" not in refused.stderr
        assert refused.stdout == ""
        assert not Path(params.data.passes).exists() and not (annotation / ".lock").exists()
    stored = label_import("alice")  # the same file under a usable name is stored
    assert stored.returncode == 0, stored.stderr
    assert (Path(params.data.passes) / "alice.csv").exists()


def test_the_name_rule_is_stated_whole_on_one_short_line_however_long_the_name():
    for name in ("x" * 5000 + "/", "\n" * 5000):
        problem = name_problem(name)
        assert "\n" not in problem and len(problem) < 200, problem
        assert problem.endswith(
            "use 1 to 100 letters, digits, '.', '_' and '-', starting with a letter or digit and not ending in '.'"
        )


# --- agreement, adjudication, merge ---


def test_disagreements_must_be_adjudicated_before_the_merge(params, tmp_path):
    bob = ls_labels()
    keys = list(bob)
    alice = dict(bob)
    alice[keys[0]] = next(label for label in LABELS if label != bob[keys[0]])
    del alice[keys[-1]]  # labelled by bob only: waits for a second pass
    passes, disagreements = tmp_path / "passes", tmp_path / "disagreements.csv"
    write_pass(passes / "alice.csv", alice)
    write_pass(passes / "bob.csv", bob)
    rows = agree(passes, disagreements)
    assert [(r["article_id"], r["sentence"], r["actor"]) for r in rows] == [keys[0]]
    assert rows[0]["final"] == "" and rows[0]["label_alice"] == alice[keys[0]]
    gold_before = Path(params.data.labels).read_bytes()
    with pytest.raises(DataError, match="1 disagreements have no final label"):
        merge(params, passes, disagreements)
    assert Path(params.data.labels).read_bytes() == gold_before
    text = disagreements.read_text(encoding="utf-8")
    disagreements.write_text(text.rstrip("\n") + bob[keys[0]] + "\n", encoding="utf-8")
    assert agree(passes, disagreements)[0]["final"] == bob[keys[0]]  # a second agree keeps the final
    added = merge(params, passes, disagreements)
    assert [tuple(row[:3]) for row in added] == keys[:-1]
    assert Path(params.data.labels).read_bytes().startswith(gold_before)
    assert merge(params, passes, disagreements) == []  # idempotent


def test_columns_a_person_added_to_the_disagreements_file_are_kept_when_agree_rewrites_it(params, tmp_path):
    """A `reason` column written beside the finals (as adjudication.csv has) was dropped without a word."""
    bob = ls_labels()
    keys = list(bob)
    alice = dict(bob)
    for key in keys[:2]:
        alice[key] = next(label for label in LABELS if label != bob[key])
    passes, disagreements = tmp_path / "passes", tmp_path / "disagreements.csv"
    write_pass(passes / "alice.csv", alice)
    write_pass(passes / "bob.csv", bob)
    agree(passes, disagreements)
    header, first, second = disagreements.read_text(encoding="utf-8").splitlines()
    disagreements.write_text(
        "\n".join([f"{header},reason", f'{first}{bob[keys[0]]},"the guide, rule 5"', f"{second},"]) + "\n",
        encoding="utf-8",
    )
    write_pass(passes / "carol.csv", bob)  # a third pass: agree rewrites the file with a column more
    rows = agree(passes, disagreements)
    assert [(r["final"], r["reason"]) for r in rows] == [(bob[keys[0]], "the guide, rule 5"), ("", "")]
    assert disagreements.read_text(encoding="utf-8").splitlines()[0].endswith(",label_carol,final,reason")
    # A column added while the file has no row yet (no disagreement) is kept too: it is read from the header.
    for name in ("alice", "carol"):
        write_pass(passes / f"{name}.csv", bob)
    assert agree(passes, disagreements) == []
    header = disagreements.read_text(encoding="utf-8").splitlines()[0]
    assert header.endswith(",final,reason")
    disagreements.write_text(f"{header},checked by\n", encoding="utf-8")
    write_pass(passes / "alice.csv", alice)
    assert set(agree(passes, disagreements)[0]) >= {"reason", "checked by"}
    # Unnamed columns share one key, so their cells would be lost but one: refused while they hold text.
    lines = disagreements.read_text(encoding="utf-8").splitlines()
    disagreements.write_text("\n".join([lines[0] + ",,", lines[1] + ",my note,other note"]) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=r":2: a column without a name in the header holds text here; name the column"):
        agree(passes, disagreements)
    # Merge and agreement only read the finals, never rewrite the file: a note there is no matter to them
    assert [line for _, line in read_finals(disagreements).values()] == [2]


@pytest.mark.parametrize(
    "edit_lines, line, words",
    [
        (lambda lines: [lines[0].replace("article_id", "article"), *lines[1:]], 1, "header lacks column(s) article_id"),
        (lambda lines: [*lines[:2], lines[2] + ",extra", *lines[3:]], 3, "wrong number of fields"),
        (lambda lines: [*lines[:2], lines[2][: -len("neutral")] + '"neutral', *lines[3:]], 3, "not valid CSV"),
        (
            lambda lines: [*lines, 'x01,"a sentence whose quote never closes,japan,oppose,neutral,oppose'],
            -1,  # the last line
            "not valid CSV: a quote opened here is never closed",
        ),
    ],
)
def test_a_hand_broken_disagreements_file_stops_at_its_line_and_is_kept(params, tmp_path, edit_lines, line, words):
    """People write their finals into this file; agree rewrites it, so one it cannot read must stay as it is."""
    bob = ls_labels()
    alice = {
        key: (label if i % 5 else next(other for other in LABELS if other != label))
        for i, (key, label) in enumerate(bob.items())
    }
    passes, disagreements = tmp_path / "passes", tmp_path / "disagreements.csv"
    write_pass(passes / "alice.csv", alice)
    write_pass(passes / "bob.csv", bob)
    assert len(agree(passes, disagreements)) >= 2
    lines = disagreements.read_text(encoding="utf-8").splitlines()
    lines = edit_lines([lines[0], *(row + "neutral" for row in lines[1:])])  # every final filled in, then broken
    disagreements.write_text("\n".join(lines) + "\n", encoding="utf-8")
    line = len(lines) if line == -1 else line
    before = disagreements.read_bytes()
    for step in (lambda: agree(passes, disagreements), lambda: merge(params, passes, disagreements)):
        with pytest.raises(DataError, match=rf"^{re.escape(str(disagreements))}:{line}: .*{re.escape(words)}"):
            step()
        assert disagreements.read_bytes() == before


@pytest.mark.parametrize(
    "lines, line, words",
    [
        (["article_id,label,actor", "x01,oppose,japan"], 1, "header lacks column(s) sentence"),
        (['article_id,"sentence,actor,label', "x01,a,japan,oppose"], 1, "not valid CSV"),
        # a quote opened in the last column would swallow the rows after it into one label
        (
            [
                "article_id,sentence,actor,label",
                "x01,One.,japan,oppose",
                'x01,Two.,japan,"oppose',
                "x01,Three.,japan,support",
            ],
            3,
            "not valid CSV",
        ),
        (["article_id,sentence,actor,label", "x01,One.,japan,oppose", "x01,Two.,japan,maybe"], 3, "label 'maybe'"),
    ],
)
def test_a_broken_stored_pass_names_its_file_and_line_and_nothing_is_written(params, tmp_path, lines, line, words):
    passes = tmp_path / "passes"
    write_pass(passes / "bob.csv", ls_labels())
    write(passes / "alice.csv", lines)
    with pytest.raises(DataError, match=rf"^{re.escape(str(passes / 'alice.csv'))}:{line}: {re.escape(words)}"):
        agree(passes, tmp_path / "disagreements.csv")
    assert not (tmp_path / "disagreements.csv").exists()


# --- export: uncertainty order and spread ---


def _pair(article: str, index: int, actor: str, margin: float) -> dict:
    return {"article_id": article, "sentence_index": index, "actor": actor, "margin": margin}


def test_export_takes_the_most_uncertain_pairs_spread_across_articles_and_actors():
    long = [_pair("long", i, "nato" if i < 6 else "japan", 0.01 * (i + 1)) for i in range(12)]
    short = [_pair("short", 0, "france", 0.5), _pair("short", 1, "china", 0.4)]
    other = [_pair("other", 0, "usa", 0.9)]
    chosen = select(long + short + other, n=6, per_actor=2)
    assert [p["margin"] for p in chosen] == sorted(p["margin"] for p in chosen)  # most uncertain first
    assert {p["article_id"] for p in chosen} == {"long", "short", "other"}  # one article cannot fill it
    per_key = {}
    for p in chosen:
        per_key[(p["article_id"], p["actor"])] = per_key.get((p["article_id"], p["actor"]), 0) + 1
    assert max(per_key.values()) <= 2
    # Within an article, the most uncertain pairs go first.
    assert [p["margin"] for p in chosen if p["article_id"] == "long"] == [0.01, 0.02, 0.07]
    assert select(long, n=100, per_actor=2) == [long[0], long[1], long[6], long[7]]


@pytest.mark.parametrize("name", ["batch.csv", "batch.json"])
def test_an_export_that_cannot_write_its_batch_stores_no_article(export_params, trained_model, tmp_path, name):
    stored = Path(export_params.data.annotation_articles)
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the batch's folder should be\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"cannot write here .*\(nothing was written\)"):
        export(export_params, [str(FIXTURES / "articles")], 5, str(blocker / name), trained_model)
    assert list(stored.iterdir()) == []
    export(export_params, [str(FIXTURES / "articles")], 5, str(tmp_path / name), trained_model)
    assert sorted(p.name for p in stored.iterdir()) == sorted(p.name for p in (FIXTURES / "articles").iterdir())


@pytest.mark.parametrize("name", ["batch.csv", "batch.json"])
def test_an_export_never_replaces_labels_filled_in_or_another_programs_file(
    export_params, trained_model, tmp_path, monkeypatch, name
):
    """Annotators fill in the batch where it was written; exporting to that path again replaced their labels
    without a word, as it replaced any other file there."""
    articles = [str(FIXTURES / "articles")]
    stored = Path(export_params.data.annotation_articles)
    batch = tmp_path / name
    export(export_params, articles, 5, str(batch), trained_model)
    first = batch.read_bytes()
    batch.write_bytes(first.replace(b"\n", b"\r\n"))  # saved again, unchanged, by an editor that writes CRLF
    export(export_params, articles, 5, str(batch), trained_model)  # nothing filled in yet: replaced
    assert batch.read_bytes() == first
    for article in stored.iterdir():  # a refused export must store none of its articles again
        article.unlink()
    if name == "batch.csv":
        with open(batch, newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        rows[0]["label"], rows[2]["label"] = "support", "neutral"
        blind = [{k: v for k, v in row.items() if k in ("article_id", "sentence", "actor", "label")} for row in rows]
        works = [("2 labels filled in; store them", rows), ("2 labels filled in; store them", blind)]
    else:
        tasks = json.loads(batch.read_text(encoding="utf-8"))
        tasks[1]["annotations"] = [{"result": [{"from_name": "stance", "value": {"choices": ["oppose"]}}]}]
        drafted = json.loads(batch.read_text(encoding="utf-8"))
        drafted[0]["drafts"] = [{"result": []}]
        works = [("1 label filled in; store it", tasks), ("1 label filled in; store it", drafted)]
    for filled, work in works:
        if name == "batch.csv":  # as a spreadsheet saves it; the second without the model's guess, to label blind
            with open(batch, "w", newline="", encoding="utf-8-sig") as handle:
                writer = csv.DictWriter(handle, fieldnames=list(work[0]))
                writer.writeheader()
                writer.writerows(work)
        else:  # Label Studio's export (or a draft) saved over the tasks
            batch.write_text(json.dumps(work), encoding="utf-8")
        saved = batch.read_bytes()
        message = rf"^{re.escape(str(batch))}: --output is a batch with {filled} with `stance label import"
        with pytest.raises(DataError, match=message):
            export(export_params, articles, 5, str(batch), trained_model)
        assert batch.read_bytes() == saved and list(stored.iterdir()) == []
    foreign = "--output exists and is not a batch as `stance label export` writes it"
    if name == "batch.csv":  # a stray quote: import refuses the file, so its labels are not counted as none
        batch.write_text(first.decode().replace(",", ',"', 1) + "x,y,japan,support\n", encoding="utf-8")
        with pytest.raises(DataError, match=foreign):
            export(export_params, articles, 5, str(batch), trained_model)
    batch.write_text("a colleague's notes\n", encoding="utf-8")
    with pytest.raises(DataError, match=foreign):
        export(export_params, articles, 5, str(batch), trained_model)
    assert batch.read_text(encoding="utf-8") == "a colleague's notes\n" and list(stored.iterdir()) == []

    # Saved while the export runs (after the check, before the rename): checked again, kept, nothing stored.
    batch.write_text("", encoding="utf-8")
    import pipeline.annotation.export as export_module

    scored = export_module.scored_pairs

    def an_annotator_saves_meanwhile(*args, **kwargs):
        batch.write_bytes(saved)
        return scored(*args, **kwargs)

    monkeypatch.setattr(export_module, "scored_pairs", an_annotator_saves_meanwhile)
    with pytest.raises(DataError, match=message):
        export(export_params, articles, 5, str(batch), trained_model)
    assert batch.read_bytes() == saved and list(stored.iterdir()) == []
    monkeypatch.undo()
    batch.write_text("", encoding="utf-8")  # an empty file holds nothing to lose
    export(export_params, articles, 5, str(batch), trained_model)
    assert batch.read_bytes() == first


@pytest.mark.parametrize("folder", ["batch.csv", "batch.json", "batch.label_config.xml"])
def test_an_export_whose_batch_or_config_path_is_a_folder_stores_no_article(
    export_params, trained_model, tmp_path, folder
):
    stored = Path(export_params.data.annotation_articles)
    (tmp_path / folder).mkdir()
    name = "batch.csv" if folder == "batch.csv" else "batch.json"
    with pytest.raises(DataError, match=rf"{tmp_path / folder}: is a folder; give a file path \(nothing was written\)"):
        export(export_params, [str(FIXTURES / "articles")], 5, str(tmp_path / name), trained_model)
    assert list(stored.iterdir()) == []


def test_an_export_that_skips_an_input_exits_3_and_one_that_skips_every_input_writes_nothing(
    export_params, trained_model, tmp_path
):
    config = params_file(export_params, tmp_path)
    bad_line = write(tmp_path / "more.jsonl", ['{"id": "x09", "text": "Japan welcomed the office."', ""])
    binary = tmp_path / "scan.txt"
    binary.write_bytes(b"\x00\x01 not text")
    stored = Path(export_params.data.annotation_articles)

    def label_export(*inputs: str, output: Path):
        args = [*inputs, "--n", "5", "--output", str(output), "--model", str(trained_model)]
        return run(["stance", "label", "export", *args, "--params", str(config)], ROOT, check=False)

    some = label_export(str(FIXTURES / "articles"), str(bad_line), output=tmp_path / "batch.csv")
    assert some.returncode == 3, some.stderr
    assert some.stderr.startswith(f"skipped: {bad_line}:1: not valid JSON") and "Traceback" not in some.stderr
    assert "exported 5 of" in some.stdout and (tmp_path / "batch.csv").exists()

    before = sorted(stored.iterdir())
    none = label_export(str(binary), str(tmp_path / "missing"), output=tmp_path / "none.csv")
    assert none.returncode == 1, none.stderr
    assert none.stderr.splitlines() == [
        f"skipped: {binary}: binary file (NUL bytes), not text",
        f"skipped: {tmp_path / 'missing'}: no such file or folder",
        "error: every input was skipped (each named above); no output was written",
    ]
    assert none.stdout == "" and not (tmp_path / "none.csv").exists() and sorted(stored.iterdir()) == before


def export_of_new_articles(export_params, trained_model, tmp_path, output: str) -> tuple[Path, dict, list[str]]:
    """(the store, {name: (bytes, mtime)} of what it holds, CLI arguments) of an export of four new articles."""
    inputs = tmp_path / "new"
    shutil.copytree(FIXTURES / "articles", inputs)
    (inputs / "x04_later-report.txt").write_text("Japan welcomed the office again.\n", encoding="utf-8")
    stored = Path(export_params.data.annotation_articles)
    earlier = stored / "x00_earlier.txt"  # an article a previous export stored
    earlier.write_text("France blocked the office.\n", encoding="utf-8")
    config = params_file(export_params, tmp_path)
    args = ["label", "export", str(inputs), "--n", "8", "--output", str(tmp_path / output)]
    return stored, store_as_it_was(stored), [*args, "--model", str(trained_model), "--params", str(config)]


def store_as_it_was(stored: Path) -> dict[str, tuple[bytes, int]]:
    """{name: (bytes, mtime)} of every file in the store, temporary ones too."""
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in stored.iterdir()}


def test_an_export_whose_disk_fills_while_storing_articles_stores_none(
    export_params, trained_model, tmp_path, monkeypatch
):
    stored, before, args = export_of_new_articles(export_params, trained_model, tmp_path, "batch.csv")
    write_bytes = Path.write_bytes
    into_store = []

    def second_write_fills_the_disk(path: Path, data: bytes):
        if path.parent == stored:
            into_store.append(path)
            if len(into_store) == 2:
                raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return write_bytes(path, data)

    monkeypatch.setattr(Path, "write_bytes", second_write_fills_the_disk)
    with own_signal_handlers():
        result = CliRunner().invoke(app, args)
    assert result.exit_code == 1, result.stderr
    assert re.fullmatch(
        rf"error: {re.escape(str(stored))}/x0[1-4]_[a-z-]+\.txt: could not be written \(disk full\); "
        r"nothing was written\n",
        result.stderr,
    ), result.stderr
    assert len(into_store) == 2  # the failure came partway, after one article was written
    assert store_as_it_was(stored) == before
    assert not (tmp_path / "batch.csv").exists()

    monkeypatch.undo()  # with room on the disk, the same export stores every new article
    with own_signal_handlers():
        result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.stderr
    assert "stored 4 new articles" in result.stdout
    assert sorted(p.name for p in stored.iterdir()) == sorted(
        [*before, *(p.name for p in (tmp_path / "new").iterdir())]
    )
    assert store_as_it_was(stored)["x00_earlier.txt"] == before["x00_earlier.txt"]


def failing_rename(monkeypatch, fails, failure: BaseException | None = None) -> list[str]:
    """Make `os.replace` raise (an OSError naming the files, or `failure`) when `fails(destinations so far)`."""
    replace = os.replace
    destinations = []

    def rename(source, destination):
        destinations.append(str(destination))
        if fails(destinations):
            raise failure or OSError(errno.EACCES, "Permission denied", str(source), None, str(destination))
        return replace(source, destination)

    monkeypatch.setattr(os, "replace", rename)
    return destinations


@pytest.mark.parametrize("interrupt", [False, True], ids=["rename-refused", "ctrl-c"])
def test_an_export_whose_second_article_cannot_be_renamed_into_place_stores_none(
    export_params, trained_model, tmp_path, monkeypatch, interrupt
):
    stored, before, args = export_of_new_articles(export_params, trained_model, tmp_path, "batch.csv")

    def second_article(destinations: list[str]) -> bool:
        return Path(destinations[-1]).parent == stored and [Path(d).parent for d in destinations].count(stored) == 2

    renamed = failing_rename(monkeypatch, second_article, KeyboardInterrupt() if interrupt else None)
    with own_signal_handlers():
        result = CliRunner().invoke(app, args)
    article = rf"{re.escape(str(stored))}/x0[1-4]_[a-z-]+\.txt"
    if interrupt:
        assert (result.exit_code, result.stderr) == (130, "interrupted\n")
    else:
        assert result.exit_code == 1, result.stderr
        error = rf"error: {article}: could not be written \(permission denied\); nothing was written\n"
        assert re.fullmatch(error, result.stderr), result.stderr
    assert [Path(d).parent for d in renamed] == [stored, stored]  # one article was in place when the second failed
    assert store_as_it_was(stored) == before  # no new article, no temporary file, the earlier one untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new", "params.yaml", "stored", "target"]


@pytest.mark.parametrize("name", ["batch.csv", "batch.json"])
def test_an_export_whose_batch_cannot_be_renamed_into_place_stores_no_article(
    export_params, trained_model, tmp_path, monkeypatch, name
):
    stored, before, args = export_of_new_articles(export_params, trained_model, tmp_path, name)
    batch = tmp_path / name
    renamed = failing_rename(monkeypatch, lambda destinations: destinations[-1] == str(batch))
    with own_signal_handlers():
        result = CliRunner().invoke(app, args)
    assert result.exit_code == 1, result.stderr
    assert result.stderr == f"error: {batch}: could not be written (permission denied); nothing was written\n"
    assert sum(Path(d).parent == stored for d in renamed) == 4  # the articles were in place before the batch
    assert store_as_it_was(stored) == before and not batch.exists()
    assert not list(tmp_path.glob(".*.tmp"))


@pytest.mark.parametrize("interrupt", [False, True], ids=["rename-refused", "ctrl-c"])
def test_a_label_studio_batch_whose_config_cannot_be_renamed_keeps_the_earlier_batch_and_config(
    export_params, trained_model, tmp_path, monkeypatch, interrupt
):
    stored, before, args = export_of_new_articles(export_params, trained_model, tmp_path, "batch.json")
    batch, config = tmp_path / "batch.json", tmp_path / "batch.label_config.xml"
    batch.write_text('[{"data": {"text": "an earlier batch"}}]\n', encoding="utf-8")
    config.write_text("<View><!-- the earlier batch's config --></View>\n", encoding="utf-8")
    earlier = {path: path.read_bytes() for path in (batch, config)}
    # The tasks are renamed into place before the config: the failure comes with new tasks in place.
    renamed = failing_rename(
        monkeypatch, lambda destinations: destinations[-1] == str(config), KeyboardInterrupt() if interrupt else None
    )
    with own_signal_handlers():
        result = CliRunner().invoke(app, args)
    assert {path: path.read_bytes() for path in (batch, config)} == earlier  # not new tasks beside an old config
    assert str(batch) in renamed
    if interrupt:
        assert (result.exit_code, result.stderr) == (130, "interrupted\n")
    else:
        assert result.exit_code == 1, result.stderr
        assert result.stderr == (
            f"error: {config}: could not be written (permission denied); the previous files are unchanged\n"
        )
    assert store_as_it_was(stored) == before
    names = ["batch.json", "batch.label_config.xml", "new", "params.yaml", "stored", "target"]
    assert sorted(p.name for p in tmp_path.iterdir()) == names  # no temporary file, no previous file set aside


def test_an_article_whose_file_exists_unseen_stores_none(export_params):
    stored = Path(export_params.data.annotation_articles)
    (stored / "x02.txt").write_text("France blocked the office.\n", encoding="utf-8")  # X02's, on a disk ignoring case
    before = store_as_it_was(stored)
    with pytest.raises(DataError, match=rf"^{re.escape(str(stored / 'x02.txt'))}: already exists "):
        store_articles(export_params, {"x01": "Japan welcomed the office.\n", "x02": "Japan welcomed it.\n"})
    assert store_as_it_was(stored) == before  # x01 neither stored nor left in a temporary file


# --- outputs written together (the batch and its config, the stored articles): all or none ---


def test_outputs_written_together_are_all_renamed_into_place_once_the_block_succeeds(tmp_path):
    earlier, new = tmp_path / "batch.json", tmp_path / "batch.label_config.xml"
    earlier.write_text("the earlier batch\n", encoding="utf-8")
    with atomic_outputs([earlier, new]) as temporaries:
        assert [temporary.parent for temporary in temporaries] == [tmp_path, tmp_path]
        for temporary, text in zip(temporaries, ["tasks\n", "config\n"]):
            temporary.write_text(text, encoding="utf-8")
        assert earlier.read_text(encoding="utf-8") == "the earlier batch\n" and not new.exists()
    assert [earlier.read_text(encoding="utf-8"), new.read_text(encoding="utf-8")] == ["tasks\n", "config\n"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["batch.json", "batch.label_config.xml"]


@pytest.mark.parametrize("interrupt", [False, True], ids=["rename-refused", "ctrl-c"])
@pytest.mark.parametrize("failing", [1, 2], ids=["second-rename", "last-rename"])
def test_outputs_written_together_are_all_left_as_they_were_when_a_rename_fails(
    tmp_path, monkeypatch, failing, interrupt
):
    outputs = [tmp_path / "first.json", tmp_path / "second.csv", tmp_path / "third.xml"]
    outputs[0].write_bytes(b"first, before\n")
    outputs[2].write_bytes(b"third, before\n")  # the second is new
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    failure = KeyboardInterrupt() if interrupt else None
    renamed = failing_rename(monkeypatch, lambda destinations: destinations[-1] == str(outputs[failing]), failure)
    with pytest.raises(KeyboardInterrupt if interrupt else DataError) as raised:
        with atomic_outputs(outputs) as temporaries:
            for temporary in temporaries:
                temporary.write_bytes(b"new\n")
    # The outputs before the failing one were in place when it failed ...
    assert all(renamed.index(str(path)) < renamed.index(str(outputs[failing])) for path in outputs[:failing])
    # ... and are back as they were: the first's previous bytes, the new second absent, nothing set aside left.
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    if not interrupt:
        assert str(raised.value) == (
            f"{outputs[failing]}: could not be written (permission denied); the previous files are unchanged"
        )


def test_new_outputs_written_together_whose_last_rename_fails_leave_nothing(tmp_path, monkeypatch):
    outputs = [tmp_path / "batch.label_config.xml", tmp_path / "batch.json"]
    failing_rename(monkeypatch, lambda destinations: destinations[-1] == str(outputs[1]))
    with pytest.raises(DataError) as raised:
        with atomic_outputs(outputs) as temporaries:
            for temporary in temporaries:
                temporary.write_text("new\n", encoding="utf-8")
    assert str(raised.value) == f"{outputs[1]}: could not be written (permission denied); nothing was written"
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_just_after_the_last_article_is_renamed_stores_none(export_params, monkeypatch):
    """The rename is done when the interrupt comes: the articles stored by this call are removed all the same."""
    stored = Path(export_params.data.annotation_articles)
    before = store_as_it_was(stored)
    replace = os.replace

    def rename_then_interrupt(source, destination):
        replace(source, destination)
        if Path(destination).name == "x02.txt":
            raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", rename_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        store_articles(export_params, {"x01": "Japan welcomed the office.\n", "x02": "France blocked it.\n"})
    assert store_as_it_was(stored) == before


def test_outputs_written_together_must_be_distinct(tmp_path):
    with pytest.raises(ValueError, match="must be distinct"):
        with atomic_outputs([tmp_path / "a.json", tmp_path / "a.json"]):
            pass
    assert list(tmp_path.iterdir()) == []


def test_an_output_set_aside_by_another_run_meanwhile_is_not_put_back_as_an_empty_file(tmp_path, monkeypatch):
    """Two runs writing one output: the other run moves it away between this one's look and its own move."""
    outputs = [tmp_path / "s.jsonl", tmp_path / "s.jsonl.meta.json"]
    for path in outputs:
        path.write_text("earlier\n", encoding="utf-8")
    replace = os.replace

    def moved_away_first(source, destination):
        if Path(source) == outputs[0]:  # this run's set-aside: the other run got there first
            Path(source).unlink()
        return replace(source, destination)

    monkeypatch.setattr(os, "replace", moved_away_first)
    with atomic_outputs(outputs) as temporaries:
        for temporary in temporaries:
            temporary.write_text("new\n", encoding="utf-8")
    assert [path.read_text(encoding="utf-8") for path in outputs] == ["new\n", "new\n"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.jsonl", "s.jsonl.meta.json"]


def test_a_dangling_symlink_among_outputs_written_together_is_put_back_when_a_rename_fails(tmp_path, monkeypatch):
    outputs = [tmp_path / "a.json", tmp_path / "b.json"]
    outputs[0].symlink_to(tmp_path / "missing-target")
    failing_rename(monkeypatch, lambda destinations: destinations[-1] == str(outputs[1]))
    with pytest.raises(DataError) as raised:
        with atomic_outputs(outputs) as temporaries:
            for temporary in temporaries:
                temporary.write_text("new\n", encoding="utf-8")
    assert outputs[0].is_symlink() and os.readlink(outputs[0]) == str(tmp_path / "missing-target")
    assert str(raised.value).endswith("; the previous files are unchanged")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json"]


def test_a_previous_file_that_cannot_be_put_back_is_kept_and_named(tmp_path, monkeypatch):
    outputs = [tmp_path / "batch.label_config.xml", tmp_path / "batch.json"]
    outputs[0].write_text("the earlier config\n", encoding="utf-8")

    def last_rename_and_the_way_back(destinations: list[str]) -> bool:
        return destinations[-1] == str(outputs[1]) or destinations.count(str(outputs[0])) == 2

    failing_rename(monkeypatch, last_rename_and_the_way_back)
    with pytest.raises(DataError) as raised:
        with atomic_outputs(outputs) as temporaries:
            for temporary in temporaries:
                temporary.write_text("new\n", encoding="utf-8")
    (kept,) = tmp_path.glob(".batch.label_config.xml.*.tmp")
    assert str(raised.value) == (
        f"{outputs[0]}: could not be put back (permission denied); its previous file is {kept}: "
        "rename it to batch.label_config.xml"
    )
    assert kept.read_text(encoding="utf-8") == "the earlier config\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([outputs[0].name, kept.name])


# --- prepare: partly labelled articles ---


def test_a_partly_labelled_annotation_article_gives_only_its_labelled_pairs(tmp_path):
    (tmp_path / "seeds").mkdir()
    (tmp_path / "seeds/a1.txt").write_text("France blocked the office.\n", encoding="utf-8")
    (tmp_path / "seeds/b2.txt").write_text("Berlin stayed silent.\n", encoding="utf-8")
    (tmp_path / "annotation").mkdir()
    (tmp_path / "annotation/c3.txt").write_text("Japan welcomed the plan.\nChina objected.\n", encoding="utf-8")
    write(
        tmp_path / "labels.csv",
        [
            "article_id,sentence,actor,label",
            "a1,France blocked the office.,france,oppose",
            "b2,Berlin stayed silent.,germany,neutral",
            "c3,Japan welcomed the plan.,japan,support",
        ],
    )
    params = load_params(ROOT / "params.yaml")
    params.data.articles = str(tmp_path / "seeds")
    params.data.target = target_folder(
        tmp_path / "target", labels=tmp_path / "labels.csv", annotation_articles=tmp_path / "annotation"
    )
    params.prepare.test_fraction = 0.5
    params.prepare.synthetic = params.prepare.rewrites = False  # these few articles on their own
    with contextlib.chdir(tmp_path):
        summary = prepare(params)
        rows = [r for split in ("train", "test") for r in pq.read_table(f"data/prepared/{split}.parquet").to_pylist()]
    assert summary["articles"] == 3
    assert sorted((r["article_id"], r["actor"]) for r in rows) == [("a1", "france"), ("b2", "germany"), ("c3", "japan")]
    # The same id in both folders is refused: an article lives in one place.
    (tmp_path / "annotation/a1.txt").write_text("France blocked the office.\n", encoding="utf-8")
    with pytest.raises(DataError, match="a1.txt: article id 'a1' is also in"):
        prepare(params)


# --- the whole loop on the model the real pipeline built ---


@pytest.mark.e2e
def test_the_annotation_loop_end_to_end(built, tmp_path):
    clone = tmp_path / "clone"
    shutil.copytree(built, clone, symlinks=True)
    # The loop from a store without passes, whatever passes the project itself has stored.
    store = clone / "data/targets/nato-tokyo-office/annotation"
    shutil.rmtree(store / "passes", ignore_errors=True)
    (store / "disagreements.csv").unlink(missing_ok=True)
    inputs = ["seeds", str(FIXTURES / "articles")]
    # Every unlabelled pair, so the batch holds the pairs of the Label Studio fixture whatever the
    # model ranks first (the ranking itself is tested above).
    exported = run(
        ["stance", "label", "export", *inputs, "--n", "1000", "--per-actor", "1000", "--output", "batch.csv"], clone
    ).stdout
    assert re.search(r"exported (\d+) of \1 unlabelled pairs", exported) and "stored 3 new articles" in exported
    run(["stance", "label", "export", *inputs, "--n", "1000", "--per-actor", "1000", "--output", "batch.json"], clone)
    with open(clone / "batch.csv", newline="", encoding="utf-8") as handle:
        batch = list(csv.DictReader(handle))
    keys = [(r["article_id"], r["sentence"], r["actor"]) for r in batch]
    assert all(key[0].startswith("x0") for key in keys)  # every pair of seeds/ is labelled already
    margins = [float(r["margin"]) for r in batch]
    assert margins == sorted(margins) and all(r["label"] == "" for r in batch)
    for name in ("x01_summit-office-debate", "x02_seoul-canberra-reactions", "x03_office-on-hold"):
        stored = clone / "data/targets/nato-tokyo-office/annotation/articles" / f"{name}.txt"
        assert stored.read_bytes() == (FIXTURES / "articles" / f"{name}.txt").read_bytes()
    tasks = json.loads((clone / "batch.json").read_text(encoding="utf-8"))
    assert [(t["data"]["article_id"], t["data"]["text"], t["data"]["actor"]) for t in tasks] == keys
    for task in tasks:  # the actor's mentions are pre-annotated spans of the sentence
        for span in task["predictions"][0]["result"]:
            value = span["value"]
            assert task["data"]["text"][value["start"] : value["end"]] == value["text"]
            assert value["labels"] == [task["data"]["actor"]]
    assert '<Choices name="stance"' in (clone / "batch.label_config.xml").read_text(encoding="utf-8")

    # Bob labels in Label Studio (the fixture is his export); Alice fills the CSV and differs on two pairs.
    bob = ls_labels()
    assert set(bob) <= set(keys)
    flipped = [k for k in keys if k in bob][:2]
    for row, key in zip(batch, keys):
        label = bob.get(key, row["model_guess"])
        row["label"] = next(other for other in LABELS if other != label) if key in flipped else label
    with open(clone / "alice.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(batch[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(batch)
    run(["stance", "label", "import", "alice.csv", "--annotator", "alice"], clone)
    second = run(["stance", "label", "import", str(LABEL_STUDIO), "--annotator", "bob"], clone).stdout
    assert "Cohen's kappa alice-bob:" in second and "2 disagreements" in second

    refused = run(["stance", "label", "merge"], clone, check=False)
    assert refused.returncode == 1 and "2 disagreements have no final label" in refused.stderr
    path = clone / "data/targets/nato-tokyo-office/annotation/disagreements.csv"
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["article_id"], r["sentence"], r["actor"]) for r in rows] == flipped
    for row in rows:
        row["final"] = row["label_bob"]
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    merged = run(["stance", "label", "merge"], clone).stdout
    assert f"merged {len(bob)} labels" in merged and "2 adjudicated" in merged

    result = run(["dvc", "repro"], clone)
    assert "Running stage 'prepare'" in result.stdout and "Running stage 'train'" in result.stdout
    prepared = {}
    for split in ("train", "test"):
        table = pq.read_table(clone / f"data/prepared/{split}.parquet")
        for r in table.to_pylist():
            prepared[(r["article_id"], r["sentence"], r["actor"])] = LABELS[r["label"]]  # ClassLabel: LABELS order
    assert {key: prepared.get(key) for key in bob} == bob  # every merged label is training data now
    assert not {key for key in keys if key not in bob} & set(prepared)  # unlabelled pairs stay out


def test_an_export_that_would_overwrite_an_input_is_refused(trained_model, tmp_path):
    folder = tmp_path / "new"
    folder.mkdir()
    (folder / "n1.txt").write_text("France blocked the office.\n", encoding="utf-8")
    result = run(
        [
            "stance",
            "label",
            "export",
            str(folder),
            "--n",
            "1",
            "--model",
            str(trained_model),
            "--output",
            str(folder / "batch.csv"),
        ],
        ROOT,
        check=False,
    )
    assert result.returncode == 1 and "--output is inside the input" in result.stderr, result.stderr
    assert [p.name for p in folder.iterdir()] == ["n1.txt"]
