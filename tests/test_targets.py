"""A target is data: a folder of files chosen in params.yaml, read by code that names no story."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import ROOT, clone_project, run

from pipeline.data.target import Target
from pipeline.errors import DataError
from pipeline.params import DataParams

SECOND = "data/targets/fukushima-water"


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
