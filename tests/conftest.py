"""Shared fixtures, and the two tiers of tests.

`built` runs the real `dvc repro` once per session in a temporary clone; `trained_model`
fits the same model in-process (prepare and train stages as plain functions, on the
shipped articles and labels) in about two seconds, for tests that need a real model
but not the pipeline around it.

Tiers: a test that runs `dvc repro`/`dvc exp`, uses `built` or `model_path` (or
another fixture below that needs them), a process pool, a Dask cluster or the
embeddings model is marked `e2e`, automatically where a fixture says so. The quick
tier is `pytest -m "not e2e"`; CI runs both with plain `pytest`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.params import DataParams

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
TARGET = ROOT / "data/targets/nato-tokyo-office"  # the shipped target's folder


# What `stance label` writes in the annotation folder: the passes, the disagreements and the store's lock.
LOOP_STORE = {Path(DataParams.TARGET_FILES[name]).name for name in ("passes", "disagreements")} | {".lock"}


def earlier_output(path: Path, text: str) -> None:
    """An earlier `stance score` run's output: its rows and the provenance sidecar that marks it as one
    (the scorer replaces no other file)."""
    path.write_text(text, encoding="utf-8")
    Path(f"{path}.meta.json").write_text('{"model_sha256": "an earlier model"}\n', encoding="utf-8")


def target_folder(destination: Path, **replaced: Path) -> str:
    """A target folder that is the shipped one but for the files named in `replaced`
    (labels=..., annotation_articles=...: the name params.data reads it under), each
    linked, not copied; for tests that run a stage on files of their own. The annotation
    loop's store (passes, disagreements) is not linked: it starts empty."""
    destination.mkdir(parents=True, exist_ok=True)
    swaps = {DataParams.TARGET_FILES[name]: Path(path).resolve() for name, path in replaced.items()}
    for entry in TARGET.iterdir():
        inner = {name.split("/", 1)[1]: path for name, path in swaps.items() if name.startswith(entry.name + "/")}
        private = LOOP_STORE if entry.name == "annotation" and entry.name not in swaps else set()
        if inner or private:  # link this folder's entries one by one
            (destination / entry.name).mkdir()
            for child in entry.iterdir():
                if child.name in private and child.name not in inner:
                    continue  # the loop writes here: a test's store starts empty, and never writes into ours
                (destination / entry.name / child.name).symlink_to(inner.get(child.name, child))
            for name, path in inner.items():
                if not (destination / entry.name / name).exists():
                    (destination / entry.name / name).symlink_to(path)
        else:
            (destination / entry.name).symlink_to(swaps.get(entry.name, entry))
    return str(destination)


def run(args: list[str], cwd: Path, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True, env=env, **kwargs)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(args)} exited {result.returncode}\n{result.stdout}\n{result.stderr}")
    return result


def unboxed(stderr: str) -> str:
    """A usage error's text without rich's box and line breaks."""
    return " ".join(stderr.translate({ord(c): " " for c in "│╭╮╰╯─"}).split())


@contextlib.contextmanager
def own_signal_handlers():
    """`stance` installs SIGINT/SIGTERM handlers; run in-process, give pytest its own back."""
    saved = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in saved.items():
            signal.signal(signum, handler)


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
    for pattern in ("metrics.json", "plots/confusion_*.csv", "reports/*.csv"):
        for committed in clone.glob(pattern):
            committed.unlink()
    result = run(["dvc", "repro"], clone)
    for stage in ("prepare", "train", "evaluate"):
        assert f"Running stage '{stage}'" in result.stdout
    return clone


@pytest.fixture(scope="session")
def model_path(built) -> Path:
    return built / "models" / "model.skops"


# Using any of these fixtures makes a test e2e: each runs the real pipeline or a cluster.
E2E_FIXTURES = {"built", "model_path", "embedded", "embedded_twice", "client", "single_process_rows"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if E2E_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def trained_model(tmp_path_factory) -> Path:
    """The model `stance train` fits, trained in-process on the shipped data (no DVC, no subprocess)."""
    from pipeline.params import load_params
    from pipeline.stages.prepare import prepare
    from pipeline.stages.train import train

    params = load_params(ROOT / "params.yaml")
    for name in type(params.data).model_fields:  # every data path, relative to the project
        setattr(params.data, name, str(ROOT / getattr(params.data, name)))
    workdir = tmp_path_factory.mktemp("trained")
    with contextlib.chdir(workdir):  # the stages write below the working directory
        prepare(params)
        train(params)
    return workdir / "models" / "model.skops"


# What a Dask run of `stance score` leaves on a cluster, for client.run_on_scheduler and client.run.
def stance_plugins(dask_scheduler) -> list[str]:
    """The scheduler's plugins of this program's runs."""
    from pipeline.scoring.dask_runner import PLUGIN_PREFIX

    return [name for name in dask_scheduler.worker_plugins if name.startswith(PLUGIN_PREFIX)]


def left_on_worker(dask_worker) -> tuple[list[str], list[str]]:
    """A worker's plugins of this program's runs, and the model folders they wrote."""
    from pipeline.scoring.dask_runner import PLUGIN_PREFIX

    plugins = [name for name in dask_worker.plugins if name.startswith(PLUGIN_PREFIX)]
    return plugins, sorted(p.name for p in Path(dask_worker.local_directory).glob(f"{PLUGIN_PREFIX}*"))
