"""The scorer on a local Dask cluster: same rows as one process, nothing lost or doubled when a worker dies."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
import types
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from conftest import ROOT, left_on_worker, stance_plugins

from pipeline.data.text import split_sentences
from pipeline.errors import DataError
from pipeline.scoring.scorer import ArticleResult, score_paths

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def shards(tmp_path_factory) -> list[Path]:
    """About 3,000 short articles (three sentences of the shipped articles each) in 12 JSONL shards."""
    sentences = [
        s.text
        for path in sorted((ROOT / "seeds").glob("*.txt"))
        for s in split_sentences(path.read_text(encoding="utf-8"))
    ]
    folder = tmp_path_factory.mktemp("shards")
    articles = [(f"a{i:05d}", " ".join(sentences[(3 * i + k) % len(sentences)] for k in range(3))) for i in range(3000)]
    paths = []
    for shard in range(12):
        path = folder / f"shard-{shard:02d}.jsonl"
        path.write_text(
            "".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in articles[shard::12]), encoding="utf-8"
        )
        paths.append(path)
    return paths


@pytest.fixture(scope="module")
def single_process_rows(shards, model_path) -> list[dict]:
    return [
        row
        for event in score_paths([str(p) for p in shards], model_path)
        if isinstance(event, ArticleResult)
        for row in event.rows
    ]


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    )
    with distributed.Client(cluster) as client:
        yield client
    cluster.close()


def read_parts(folder: Path) -> list[dict]:
    return [row for part in sorted(folder.glob("part-*.parquet")) for row in pq.read_table(part).to_pylist()]


def test_dask_writes_the_same_rows_as_one_process(shards, single_process_rows, model_path, client, tmp_path):
    from pipeline.scoring.dask_runner import run_dask

    code = run_dask([str(p) for p in shards], "unused", str(tmp_path / "out"), model_path, client=client)
    assert code == 0
    assert len(list((tmp_path / "out/pairs").glob("part-*.parquet"))) == len(shards)
    assert read_parts(tmp_path / "out/pairs") == single_process_rows
    summary = read_parts(tmp_path / "out/summary")
    assert len({row["article_id"] for row in summary}) == 3000


def test_a_rerun_scores_only_the_missing_partitions(shards, single_process_rows, model_path, client, tmp_path, capsys):
    from pipeline.scoring.dask_runner import run_dask

    out = tmp_path / "out"
    run_dask([str(p) for p in shards], "unused", str(out), model_path, client=client)
    (out / "pairs/part-00003.parquet").unlink()
    before = {p.name: p.stat().st_mtime_ns for p in (out / "pairs").glob("*.parquet")}
    capsys.readouterr()
    run_dask([str(p) for p in shards], "unused", str(out), model_path, client=client)
    assert "into 1 partitions (11 already done)" in capsys.readouterr().err
    after = {p.name: p.stat().st_mtime_ns for p in (out / "pairs").glob("*.parquet")}
    assert all(after[name] == mtime for name, mtime in before.items())
    assert read_parts(out / "pairs") == single_process_rows


def test_killing_a_worker_mid_run_loses_and_doubles_nothing(shards, single_process_rows, model_path, client, tmp_path):
    from pipeline.scoring.dask_runner import run_dask

    out = tmp_path / "out"
    pids = client.run(os.getpid)
    victim = sorted(pids.values())[0]
    outcome = {}
    worker = threading.Thread(
        target=lambda: outcome.update(
            code=run_dask([str(p) for p in shards], "unused", str(out), model_path, client=client)
        )
    )
    worker.start()
    deadline = time.time() + 120
    while not list((out / "pairs").glob("part-*.parquet")) and time.time() < deadline:
        time.sleep(0.05)
    os.kill(victim, signal.SIGKILL)  # mid-run: some partitions done, others in flight on this worker
    worker.join(timeout=300)
    assert outcome.get("code") == 0
    assert victim not in client.run(os.getpid).values()  # the worker really died (and was replaced)
    assert sorted(p.name for p in (out / "pairs").glob("part-*.parquet")) == [
        f"part-{i:05d}.parquet" for i in range(12)
    ]
    assert read_parts(out / "pairs") == single_process_rows


def test_without_dask_installed_the_option_says_how_to_install_it(monkeypatch):
    from pipeline.scoring import dask_runner

    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(DataError, match=r"pip install -e '\.\[dask\]'"):
        dask_runner.connect("local:1")


def test_the_cli_runs_on_a_local_cluster(shards, model_path, tmp_path):
    from conftest import run

    result = run(
        [
            "stance",
            "score",
            str(shards[0]),
            "--dask",
            "local:1",
            "--model",
            str(model_path),
            "--output",
            str(tmp_path / "out"),
        ],
        ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out/pairs/part-00000.parquet").exists()
    assert (tmp_path / "out/summary/part-00000.parquet").exists()


def test_ctrl_c_on_a_local_cluster_is_one_line_and_a_rerun_finishes_the_rest(shards, model_path, tmp_path):
    """Ctrl-C reaches the terminal's whole process group, the local workers too; each of them printed a
    KeyboardInterrupt traceback before the run's own `interrupted`."""
    import subprocess

    from conftest import run

    out = tmp_path / "out"
    command = ["stance", "score", *map(str, shards), "--dask", "local:1", "--model", str(model_path)]
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    process = subprocess.Popen(
        [*command, "--output", str(out)], cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    deadline = time.time() + 120
    while not list(out.glob("pairs/part-*.parquet")) and time.time() < deadline and process.poll() is None:
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
    _, stderr = process.communicate(timeout=120)
    if process.returncode == 0:
        pytest.skip("the run finished before Ctrl-C reached it")
    assert (process.returncode, stderr) == (130, "interrupted\n")
    finished = run([*command, "--output", str(out)], ROOT, check=False)
    assert finished.returncode == 0, finished.stderr
    assert sorted(p.name for p in (out / "pairs").iterdir()) == [f"part-{i:05d}.parquet" for i in range(len(shards))]


def test_a_partition_that_skipped_an_input_is_scored_again_once_the_input_is_fixed(
    model_path, client, tmp_path, capsys
):
    from pipeline.scoring.dask_runner import run_dask

    articles, out = tmp_path / "articles", tmp_path / "out"
    articles.mkdir()
    seed = sorted((ROOT / "seeds").glob("*.txt"))[0].read_text(encoding="utf-8")
    (articles / "fixed-later.txt").write_text("", encoding="utf-8")
    (articles / "whole.txt").write_text(seed, encoding="utf-8")

    assert run_dask([str(articles)], "unused", str(out), model_path, client=client) == 3
    assert "skipped: " in (out / "skipped/part-00000.txt").read_text(encoding="utf-8")
    assert {row["article_id"] for row in read_parts(out / "pairs")} == {"whole"}

    (articles / "fixed-later.txt").write_text(seed, encoding="utf-8")
    assert run_dask([str(articles)], "unused", str(out), model_path, client=client) == 0
    assert not (out / "skipped/part-00000.txt").exists()
    assert {row["article_id"] for row in read_parts(out / "pairs")} == {"fixed-later", "whole"}
    capsys.readouterr()
    assert run_dask([str(articles)], "unused", str(out), model_path, client=client) == 0
    assert "into 0 partitions (1 already done)" in capsys.readouterr().err


def test_a_partition_whose_inputs_now_give_no_article_loses_its_earlier_rows(model_path, client, tmp_path, capsys):
    """Its earlier parts stayed, and `stance report` counted an article no input held any more."""
    from pipeline.scoring.dask_runner import run_dask
    from pipeline.scoring.scorer import NoOutputWritten, NothingScored

    articles, out = tmp_path / "articles", tmp_path / "out"
    articles.mkdir()
    (articles / "broken.txt").write_text("", encoding="utf-8")
    (articles / "whole.txt").write_text(sorted((ROOT / "seeds").glob("*.txt"))[0].read_text(encoding="utf-8"))
    assert run_dask([str(articles)], "unused", str(out), model_path, client=client) == 3
    assert {row["article_id"] for row in read_parts(out / "pairs")} == {"whole"}
    elsewhere = tmp_path / "elsewhere"  # a mistyped folder: another setup, whose parts are not these
    elsewhere.mkdir()
    (elsewhere / "empty.txt").write_text("", encoding="utf-8")
    with pytest.raises(NothingScored) as stop:
        run_dask([str(elsewhere)], "unused", str(out), model_path, client=client)
    assert stop.value.outcome == "no output was written"
    assert {row["article_id"] for row in read_parts(out / "pairs")} == {"whole"}
    (articles / "whole.txt").write_text("", encoding="utf-8")  # the article taken out of its file
    with pytest.raises(NoOutputWritten):  # --fail-fast stops at the first skipped input: it cannot tell
        run_dask([str(articles)], "unused", str(out), model_path, client=client, fail_fast=True)
    assert {row["article_id"] for row in read_parts(out / "pairs")} == {"whole"}
    capsys.readouterr()
    with pytest.raises(NothingScored) as stop:
        run_dask([str(articles)], "unused", str(out), model_path, client=client)
    assert stop.value.outcome == "no rows were written, and the 2 part file(s) named above were removed"
    err = capsys.readouterr().err
    for folder in ("pairs", "summary"):
        assert f"removed: {out / folder / 'part-00000.parquet'}: scored from an earlier version of its inputs" in err
        assert not list((out / folder).glob("*.parquet"))
    assert "whole.txt" in (out / "skipped/part-00000.txt").read_text(encoding="utf-8")


def test_when_every_input_is_skipped_nothing_is_written(model_path, client, tmp_path):
    from pipeline.scoring.dask_runner import run_dask
    from pipeline.scoring.scorer import NothingScored

    (tmp_path / "empty.txt").write_text("", encoding="utf-8")
    with pytest.raises(NothingScored):
        run_dask([str(tmp_path / "empty.txt")], "unused", str(tmp_path / "out"), model_path, client=client)
    assert not (tmp_path / "out").exists()


def test_a_long_lived_cluster_keeps_no_model_after_a_run(shards, model_path, client, tmp_path):
    """Each run ships the model under a plugin of its own and removes it when done, with the
    model's files and scorer on every worker: a cluster that serves many runs does not fill up.
    A run killed before it could remove its plugin (its client gone) is cleaned up by the next;
    the plugin of a run whose client is alive stays, even where that client's name holds an "@"."""
    from pipeline.scoring.dask_runner import PLUGIN_PREFIX, ShipModel, checked_model_files, run_dask

    files = checked_model_files(model_path)
    killed = f"{PLUGIN_PREFIX}0123456789ab-deadbeef@Client-gone"  # as a run killed with -9 leaves it
    client.register_plugin(ShipModel(files), name=killed)
    other = distributed.Client(client.scheduler.address, name="alice@host")  # another analyst's run, alive
    running = f"{PLUGIN_PREFIX}0123456789ab-cafecafe@{other.id}"
    other.register_plugin(ShipModel(files), name=running)
    assert sorted(client.run_on_scheduler(stance_plugins)) == sorted([killed, running])

    assert run_dask([str(shards[0])], "unused", str(tmp_path / "out0"), model_path, client=client) == 0
    assert client.run_on_scheduler(stance_plugins) == [running]
    other.close()  # now that run's client is gone too
    assert run_dask([str(shards[1])], "unused", str(tmp_path / "out1"), model_path, client=client) == 0
    assert client.run_on_scheduler(stance_plugins) == []
    assert list(client.run(left_on_worker).values()) == [([], [])] * 2


def test_fail_fast_on_dask_goes_on_after_a_warning_and_stops_at_a_skipped_input(model_path, client, tmp_path):
    from pipeline.scoring.dask_runner import run_dask
    from pipeline.scoring.scorer import FailFast

    feed = tmp_path / "feed.jsonl"
    record = {"id": "a", "text": "France blocked the liaison office.", "date": "someday"}  # a date dropped: a warning
    feed.write_text(json.dumps(record) + "\n", encoding="utf-8")
    assert run_dask([str(feed)], "unused", str(tmp_path / "out"), model_path, fail_fast=True, client=client) == 0
    assert {row["article_id"] for row in read_parts(tmp_path / "out" / "pairs")} == {"a"}
    (tmp_path / "empty.txt").write_text("", encoding="utf-8")
    with pytest.raises(FailFast, match="empty article"):
        run_dask(
            [str(tmp_path / "empty.txt")], "unused", str(tmp_path / "out2"), model_path, fail_fast=True, client=client
        )


def test_a_rerun_into_a_folder_of_parts_scored_from_anything_else_is_refused_and_touches_nothing(
    shards, model_path, client, tmp_path, monkeypatch
):
    """Before, a partition was done once its parts existed: an edited article's earlier rows stayed, and
    were read as the new run's; then the first fix deleted every part it could not vouch for, so a
    mistyped input path wiped the folder."""
    from pipeline.scoring.dask_runner import run_dask

    copies = []
    for shard in shards[:4]:
        copies.append(tmp_path / shard.name)
        copies[-1].write_bytes(shard.read_bytes())
    out = tmp_path / "out"
    assert run_dask(list(map(str, copies)), "unused", str(out), model_path, client=client) == 0
    earlier = {path: path.read_bytes() for path in out.rglob("*") if path.is_file()}

    def refused(inputs: list[str], **options) -> str:
        with pytest.raises(DataError, match="scored from other inputs, options or model than this run's") as error:
            run_dask(inputs, "unused", str(out), model_path, client=client, **options)
        assert {path: path.read_bytes() for path in out.rglob("*") if path.is_file()} == earlier
        return str(error.value)

    names = list(map(str, copies))
    typo = [names[0], str(tmp_path / "typo.jsonl"), *names[1:]]  # named and skipped; the parts are these inputs'
    assert run_dask(typo, "unused", str(out), model_path, client=client) == 3
    assert {path: path.read_bytes() for path in out.rglob("*") if path.is_file()} == earlier
    one_fewer = refused(names[1:])  # the others renumbered
    assert one_fewer.startswith(f"{out / 'pairs/part-00000.parquet'}: ") and "as are 7 more part file(s)" in one_fewer
    refused(names[:2])  # parts beyond the inputs
    refused(names, id_field="other")  # another reading of the same files
    stamp = copies[2].stat()
    records = [json.loads(line) for line in copies[2].read_text(encoding="utf-8").splitlines()]
    records[0]["text"] = "Japan rejected the NATO liaison office in Tokyo. " + records[0]["text"]
    copies[2].write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")  # an article edited
    assert refused(names).startswith(f"{out / 'pairs/part-00002.parquet'}: ")
    copies[2].write_bytes(shards[2].read_bytes())  # the same bytes again, but written since
    refused(names)
    # What the parts were scored from, named another way, is the same: a resumed run goes on.
    (out / "pairs/part-00003.parquet").unlink()
    monkeypatch.chdir(tmp_path)
    relative = [os.path.relpath(name, tmp_path) for name in names[:2]] + names[2:]
    os.utime(copies[2], ns=(stamp.st_atime_ns, stamp.st_mtime_ns))  # as it was when scored
    assert run_dask(relative, "unused", str(out), model_path, client=client) == 0
    assert {path: path.read_bytes() for path in out.rglob("*") if path.is_file()} == earlier


def test_fail_fast_on_dask_writes_no_part_for_the_bad_partition_and_says_what_it_kept(model_path, client, tmp_path):
    from pipeline.scoring.dask_runner import run_dask
    from pipeline.scoring.scorer import FailFast

    good = {"id": "a", "text": "France blocked the liaison office."}
    (tmp_path / "good.jsonl").write_text(json.dumps(good) + "\n", encoding="utf-8")
    lines = [json.dumps({**good, "id": f"b{i}"}) for i in range(3)]
    (tmp_path / "bad.jsonl").write_text("\n".join([lines[0], "{not json", *lines[1:]]) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    assert run_dask([str(tmp_path / "good.jsonl")], "unused", str(out), model_path, client=client) == 0
    inputs = [str(tmp_path / "good.jsonl"), str(tmp_path / "bad.jsonl")]
    with pytest.raises(FailFast, match="bad.jsonl:2: not valid JSON") as stop:
        run_dask(inputs, "unused", str(out), model_path, fail_fast=True, client=client)
    assert stop.value.outcome == f"the 1 partition(s) already whole are kept in {out}; a re-run scores the rest"
    assert sorted(p.name for p in out.rglob("part-*")) == ["part-00000.parquet"] * 2  # none for the bad file
    with pytest.raises(FailFast, match="missing.jsonl: no such file") as stop:  # found while listing
        run_dask(
            [str(tmp_path / "missing.jsonl")],
            "unused",
            str(tmp_path / "none"),
            model_path,
            fail_fast=True,
            client=client,
        )
    assert stop.value.outcome == "no output was written" and not (tmp_path / "none").exists()
    for refused in ("out.parquet", "good.jsonl"):  # a file's name, or a file
        with pytest.raises(DataError, match="with --dask, --output is a folder"):
            run_dask([str(tmp_path / "good.jsonl")], "unused", str(tmp_path / refused), model_path, client=client)
    assert run_dask([str(tmp_path / "good.jsonl")], "unused", str(tmp_path / "run.v2"), model_path, client=client) == 0
    assert (tmp_path / "run.v2/pairs/part-00000.parquet").is_file()  # a folder's name may hold a dot


def test_a_partition_whose_pairs_part_cannot_be_renamed_keeps_both_earlier_parts(trained_model, tmp_path, monkeypatch):
    """A partition's pairs and summary parts are one set: a failed rename never leaves a new summary
    part beside the earlier pairs. Scored in this process, the worker's scorer stubbed in."""
    import pipeline.files as files
    from pipeline.scoring import dask_runner
    from pipeline.scoring.provenance import provenance
    from pipeline.scoring.scorer import Scorer

    plugin = types.SimpleNamespace(scorer=Scorer.load(trained_model))
    monkeypatch.setattr(distributed, "get_worker", lambda: types.SimpleNamespace(plugins={"stance": plugin}))
    about = provenance(trained_model, shipped=dask_runner.checked_model_files(trained_model))
    seeds = sorted((ROOT / "seeds").glob("*.txt"))
    articles, out = tmp_path / "articles", tmp_path / "out"
    articles.mkdir()
    (articles / "a.txt").write_text(seeds[0].read_text(encoding="utf-8"), encoding="utf-8")
    (partition,), _ = dask_runner.plan_partitions([str(articles)])

    def score() -> dict:
        return dask_runner.score_partition(partition, str(out), "stance", "id", "text", 10**7, about)

    assert score()["articles"] == 1
    earlier = {path: path.read_bytes() for path in out.rglob("*") if path.is_file()}
    assert sorted(path.parent.name for path in earlier) == ["pairs", "summary"]
    (articles / "a.txt").write_text(seeds[1].read_text(encoding="utf-8"), encoding="utf-8")  # other rows
    (out / "summary" / partition.name).unlink()  # so the partition is not done and is scored again
    earlier = {path: data for path, data in earlier.items() if path.exists()}
    real_replace, refused = os.replace, []

    def replace(source, destination):  # the new pairs part's rename fails; putting the earlier one back works
        if str(destination) == str(out / "pairs" / partition.name) and not refused:
            refused.append(source)
            raise PermissionError(13, "Permission denied", str(source))
        real_replace(source, destination)

    monkeypatch.setattr(files.os, "replace", replace)
    with pytest.raises(DataError, match="could not be written"):
        score()
    assert refused
    assert {path: path.read_bytes() for path in out.rglob("*") if path.is_file()} == earlier
