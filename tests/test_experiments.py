"""Versioning and experiments the DVC way, in temporary clones (the user's workspace is never touched)."""

from __future__ import annotations

import json

import pytest
from conftest import ROOT, clone_project, run

pytestmark = pytest.mark.e2e  # DVC pushes, pulls and experiments: real pipeline runs


def test_push_then_pull_into_a_fresh_clone_gives_a_clean_status_and_the_same_scores(built, tmp_path):
    remote = tmp_path / "remote"
    run(["dvc", "remote", "add", "--local", "-d", "store", str(remote)], built)
    run(["dvc", "push"], built)
    assert any(remote.rglob("*")), "nothing was pushed"

    second = tmp_path / "second"
    run(["git", "clone", "-q", str(built), str(second)], tmp_path)
    assert not (second / "models/model.skops").exists()
    run(["dvc", "remote", "add", "--local", "-d", "store", str(remote)], second)
    run(["dvc", "pull"], second)
    assert "up to date" in run(["dvc", "status"], second).stdout

    article = str(ROOT / "seeds/u02_aa-macron-ft-objection.txt")
    scores = [
        run(["stance", "score", article, "--model", "models/model.skops"], clone).stdout for clone in (built, second)
    ]
    assert scores[0] and scores[0] == scores[1]


def find_experiment(shown, name: str) -> dict:
    """The data of the experiment called `name` in `dvc exp show --json` output."""
    stack = [shown]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if node.get("name") == name and "data" in node:
                return node["data"]
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    raise AssertionError(f"experiment {name} not in dvc exp show")


def test_two_experiments_keep_their_own_params_and_metrics(tmp_path):
    clone = clone_project(tmp_path / "clone")
    params_before = (clone / "params.yaml").read_bytes()
    # Each from HEAD in a temporary directory, as a queued run would be, without the queue's worker.
    run(["dvc", "exp", "run", "--temp", "-n", "strong-reg", "-S", "train.C=0.3"], clone)
    run(["dvc", "exp", "run", "--temp", "-n", "no-cues", "-S", "train.cue_features=false"], clone)
    assert (clone / "params.yaml").read_bytes() == params_before  # the workspace is as it was
    assert run(["git", "status", "--porcelain", "--untracked-files=no"], clone).stdout == ""
    shown = json.loads(run(["dvc", "exp", "show", "--json"], clone).stdout)
    results = {}
    for name in ("strong-reg", "no-cues"):
        data = find_experiment(shown, name)
        params = data["params"]["params.yaml"]["data"]["train"]
        metrics = data["metrics"]["metrics.json"]["data"]
        results[name] = (params, metrics["cv"]["model"]["macro_f1"])
    assert results["strong-reg"][0]["C"] == 0.3 and results["strong-reg"][0]["cue_features"] is True
    assert results["no-cues"][0]["cue_features"] is False and results["no-cues"][0]["C"] != 0.3
    assert results["strong-reg"][1] != results["no-cues"][1]
