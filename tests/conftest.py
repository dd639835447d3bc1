"""Shared fixtures. The pipeline fixture runs the real `dvc repro` in a temporary clone."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def run(args: list[str], cwd: Path, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True, env=env, **kwargs)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(args)} exited {result.returncode}\n{result.stdout}\n{result.stderr}")
    return result


def clone_project(destination: Path) -> Path:
    """A git repository holding the project's files as they are in the working tree, without DVC outputs.

    Copying the working tree (rather than `git clone`) lets the tests see uncommitted
    changes; git-ignored files (the DVC outputs, caches, virtualenvs) are left out, as a
    fresh clone would have them.
    """
    listed = run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], ROOT).stdout
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    run(["git", "init", "-q"], destination)
    run(["git", "-c", "user.name=test", "-c", "user.email=test@example.com", "add", "-A"], destination)
    run(["git", "-c", "user.name=test", "-c", "user.email=test@example.com", "commit", "-qm", "clone"], destination)
    return destination


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> Path:
    """A temporary clone in which `dvc repro` has run every stage."""
    clone = clone_project(tmp_path_factory.mktemp("clone"))
    # The evaluate stage's small outputs are committed to git; remove them so it must run.
    for pattern in ("metrics.json", "plots/*.csv", "reports/*.csv"):
        for committed in clone.glob(pattern):
            committed.unlink()
    result = run(["dvc", "repro"], clone)
    for stage in ("prepare", "train", "evaluate"):
        assert f"Running stage '{stage}'" in result.stdout
    return clone


@pytest.fixture(scope="session")
def model_path(built) -> Path:
    return built / "models" / "model.skops"
