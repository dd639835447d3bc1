"""A target is data: a folder of files chosen in params.yaml, read by code that names no story."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import ROOT, clone_project, run

from pipeline.data.actors import AUTHOR, ActorRegistry
from pipeline.data.candidates import article_candidates
from pipeline.data.target import Target
from pipeline.errors import DataError
from pipeline.features.lexicon import load_cue_lexicon
from pipeline.features.pair_view import PairView
from pipeline.params import DataParams

SECOND = "data/targets/fukushima-water"
OPINION = "data/targets/nato-tokyo-office-opinion"  # the author unit: no actors, the author holds the stance


def choose_target(clone: Path, folder: str, articles: str) -> None:
    """Point params.yaml's two data keys at another target, as a user edits them."""
    params = clone / "params.yaml"
    text = params.read_text(encoding="utf-8")
    text = re.sub(r"(?m)^  target: \S+", f"  target: {folder}", text)
    text = re.sub(r"(?m)^  articles: \S+", f"  articles: {articles}", text)
    params.write_text(text, encoding="utf-8")


@pytest.mark.e2e  # runs `dvc repro` on the second target
def test_a_second_target_runs_through_dvc_repro_by_changing_params_alone(tmp_path):
    clone = clone_project(tmp_path / "clone")
    code = {path: path.read_bytes() for path in (clone / "pipeline").rglob("*.py")}
    choose_target(clone, SECOND, f"{SECOND}/articles")
    result = run(["dvc", "repro"], clone)
    for stage in ("prepare", "train", "evaluate"):
        assert f"Running stage '{stage}'" in result.stdout
    assert {path: path.read_bytes() for path in (clone / "pipeline").rglob("*.py")} == code  # no code changed
    assert "up to date" in run(["dvc", "status"], clone).stdout
    lock = (clone / "dvc.lock").read_text(encoding="utf-8")
    assert f"path: {SECOND}/actors.yaml" in lock and "nato-tokyo-office" not in lock  # deps follow the params

    metrics = json.loads((clone / "metrics.json").read_text(encoding="utf-8"))
    target = Target.load(clone / SECOND / "target.yaml")
    locked = metrics["locked"]["model"]
    assert locked["articles"] == len(list((clone / SECOND / "locked/articles").glob("*.txt")))
    assert 0 < locked["macro_f1_interval"][0] <= locked["macro_f1"] <= locked["macro_f1_interval"][1] < 1
    assert metrics["cv"]["model"]["macro_f1"] > metrics["cv"]["majority"]["macro_f1"]
    assert metrics["examples"]["synthetic"] > 0 and metrics["paraphrase"]["rows"] > 0
    card = (clone / "models/MODEL_CARD.md").read_text(encoding="utf-8")
    assert f"toward {target.name}," in card and target.guide in card and "liaison" not in card
    metadata = json.loads((clone / "models/model.json").read_text(encoding="utf-8"))
    assert metadata["target"] == {"folder": SECOND, "name": target.name}
    assert set(metadata["registry"]["aliases"]) >= {"iaea", "tepco", "fisheries"}

    # and the scorer reads the new target's actors with the model it trained
    article = tmp_path / "a.txt"
    article.write_text("The IAEA said the discharge was safe, but Beijing banned Japanese seafood.\n", encoding="utf-8")
    scored = run(["stance", "score", str(article), "--model", str(clone / "models/model.skops")], tmp_path)
    assert {json.loads(line)["actor"] for line in scored.stdout.splitlines()} == {"iaea", "china", "japan"}


@pytest.mark.e2e  # runs `dvc repro` on the author unit's target
def test_the_author_unit_runs_through_every_stage_and_the_scorer(tmp_path):
    clone = clone_project(tmp_path / "clone")
    choose_target(clone, OPINION, f"{OPINION}/articles")
    result = run(["dvc", "repro"], clone)
    for stage in ("prepare", "train", "evaluate"):
        assert f"Running stage '{stage}'" in result.stdout
    metrics = json.loads((clone / "metrics.json").read_text(encoding="utf-8"))
    texts = len(list((clone / OPINION / "articles").glob("*.txt")))
    assert metrics["examples"]["train"] + metrics["examples"]["test"] == texts  # one pair per document
    assert metrics["examples"]["synthetic"] == 0  # its synthetic/ holds no articles
    assert metrics["locked"]["model"]["pairs"] == metrics["locked"]["model"]["articles"] == 40
    assert metrics["locked"]["model"]["macro_f1"] > metrics["locked"]["majority"]["macro_f1"]
    metadata = json.loads((clone / "models/model.json").read_text(encoding="utf-8"))
    assert metadata["registry"]["author"] == "document" and metadata["params"]["window"] == 0

    comments = tmp_path / "comments.jsonl"
    comments.write_text(
        json.dumps({"id": "c1", "text": "A NATO office in Tokyo? Terrible idea. Macron was right to block it."})
        + "\n"
        + json.dumps({"id": "c2", "text": "I fully support the liaison office in Tokyo."})
        + "\n",
        encoding="utf-8",
    )
    scored = run(["stance", "score", str(comments), "--model", str(clone / "models/model.skops")], tmp_path)
    rows = [json.loads(line) for line in scored.stdout.splitlines()]
    assert [(row["article_id"], row["actor"], row["sentence_index"]) for row in rows] == [
        ("c1", "author", 0),
        ("c2", "author", 0),
    ]
    assert rows[0]["sentence"].startswith("A NATO office in Tokyo?") and rows[0]["sentence"].endswith("block it.")


def test_an_author_registry_gives_one_pair_per_document_or_sentence_held_by_the_author(tmp_path):
    text = "A NATO office in Tokyo? Terrible idea.\nFrance was right."
    for unit, expected in (
        ("document", [(0, "A NATO office in Tokyo? Terrible idea. France was right.")]),
        ("sentence", [(0, "A NATO office in Tokyo?"), (1, "Terrible idea."), (2, "France was right.")]),
    ):
        path = tmp_path / f"{unit}.yaml"
        path.write_text(f"author: {unit}\n", encoding="utf-8")
        registry = ActorRegistry.load(path)
        pairs = list(article_candidates("a", text, registry))
        assert [(p["sentence_index"], p["sentence"]) for p in pairs] == expected
        assert {p["actor"] for p in pairs} == {AUTHOR} and all(p["mentions"] == [] for p in pairs)
        assert ActorRegistry.from_dict(registry.to_dict()).author == unit  # as the model saves it


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("author: paragraph\n", "author must be document or sentence"),
        ("author: document\nactors: {france: {aliases: [France]}}\n", "'actors' with 'author'"),
    ],
)
def test_a_bad_author_registry_is_refused_with_file_and_line(tmp_path, text, words):
    path = tmp_path / "actors.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataError, match=rf"^{re.escape(str(path))}:\d+: {re.escape(words)}"):
        ActorRegistry.load(path)


def test_the_author_holds_the_cues_no_named_actor_holds():
    lexicon = load_cue_lexicon(ROOT / "data/targets/nato-tokyo-office/cues.yaml")
    view = PairView(lexicon=lexicon)
    author = {"mentions": [], "other_mentions": [], "actor": AUTHOR, "previous_sentence": "", "next_sentence": ""}
    mine = view.view_rows([{**author, "sentence": "I strongly oppose the liaison office."}])[0]["cues"]
    assert mine.get("self:oppose") == 1.0 and "self:support" not in mine
    # a stance the text gives a named actor is that actor's, not the author's
    text = "France opposes the liaison office."
    theirs = view.view_rows([{**author, "sentence": text, "other_mentions": [[0, 6]]}])[0]["cues"]
    assert "self:oppose" not in theirs and theirs.get("other:oppose") == 1.0


def test_every_target_folder_holds_every_file_the_pipeline_reads():
    for folder in sorted((ROOT / "data/targets").iterdir()):
        for name in DataParams.TARGET_FILES.values():
            if name not in ("annotation/passes", "annotation/disagreements.csv"):  # made by the annotation loop
                assert (folder / name).exists(), folder / name
        assert Target.load(folder / "target.yaml").name


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("name: x\ndescription: y\nguide: g\nnot_target: []\nphrases: [p]\nowner: z\n", 6, "unknown key 'owner'"),
        ("name: x\ndescription: y\nguide: g\nnot_target: []\n", 1, "missing 'phrases'"),
        ("name: x\ndescription: y\nguide: g\nnot_target: []\nphrases: []\n", 5, "phrases needs at least one"),
        ("name: [x]\ndescription: y\nguide: g\nnot_target: []\nphrases: [p]\n", 1, "name must be a line of text"),
    ],
)
def test_a_bad_target_description_is_refused_with_file_and_line(tmp_path, text, line, words):
    path = tmp_path / "target.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataError, match=rf"^{re.escape(str(path))}:{line}: {words}"):
        Target.load(path)


def test_a_stage_on_a_target_folder_without_its_description_stops_with_one_line(tmp_path):
    clone = clone_project(tmp_path / "clone")
    (clone / "data/targets/nato-tokyo-office/target.yaml").unlink()
    run(["stance", "prepare"], clone)
    result = run(["stance", "train"], clone, check=False)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("error: data/targets/nato-tokyo-office/target.yaml: ")
    assert result.stderr.count("\n") == 1
