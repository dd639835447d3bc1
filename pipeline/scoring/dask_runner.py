"""The same scorer on Dask: partitions of the input scored on the workers of a cluster.

    stance score shards/ --dask local:4 --output scored/
    stance score shards/ --dask tcp://scheduler:8786 --output /shared/scored/

The client only lists the inputs and plans partitions (a JSONL or Parquet file
each, or a group of .txt paths); every worker reads its own partition, so the
client never holds the corpus. Each partition runs `Scorer.score_batch`, the
unit the single-machine scorer runs, and writes

    OUTPUT/pairs/part-NNNNN.parquet     the pair rows, in input order
    OUTPUT/summary/part-NNNNN.parquet   the (article, actor) summary rows

each to a temporary name that is renamed when whole. A partition's output is there
once and complete, or not at all, even if a worker dies mid-way (Dask then reruns
that partition elsewhere). Each part records a digest of what it was scored from:
its inputs' paths, sizes, modification times and inodes, the reading options and
the provenance record (the model, the package version). A re-run into the same
folder (after a crash, Ctrl-C or a worker lost) scores only the partitions without
parts; a folder holding parts scored from anything else (an article edited, a file
added or removed, another model) is refused, and nothing in it is touched: its rows
would be read as this run's. A partition that skipped an input also writes

    OUTPUT/skipped/part-NNNNN.txt       what it skipped, one line each

before its parts, and is scored again by the next run: the input may have been
fixed since. Reading the parts in name order gives exactly the rows of the
single-machine scorer.

The model is shipped once per worker by a WorkerPlugin (also to workers that join
later), loaded there with the same safe loader as everywhere else. The plugin is the
run's own and is removed when the run ends, with the model's copy on each worker; a run
killed before it could remove its plugin leaves it until the next run on the cluster
finds its client gone and removes it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import signal
import sys
import tempfile
import uuid
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.errors import DataError, shown
from pipeline.features.embeddings import limit_threads
from pipeline.files import MAX_ARTICLE_CHARS, atomic_output, file_format
from pipeline.modeling.metadata import metadata_path, plain_path
from pipeline.modeling.persist import load_model
from pipeline.paths import MODEL as MODEL_PATH
from pipeline.scoring.inputs import Problem, distinct_ids, expand_inputs, read_source
from pipeline.scoring.outputs import FORMATS, check_outputs
from pipeline.scoring.provenance import METADATA_KEY, provenance

TXT_FILES_PER_PARTITION = 256
INSTALL_HINT = "Dask is not installed; install the extra: pip install -e '.[dask]'"


PART_KEY = "partition_sha256"  # in a part's provenance: the digest of what it was scored from
SETUP_KEY = "setup_sha256"  # and of how: its inputs' paths (not their contents), the options and the model
PART_FILE = re.compile(r"part-(\d{5,})\.parquet")


@dataclass
class Partition:
    index: int
    sources: list[tuple[str, str]] = field(default_factory=list)  # (kind, path)
    digest: str = ""  # of its sources' paths, sizes and times, the model and the options: `with_digests`
    setup: str = ""  # the same without the sizes and times: what stays when only an input's contents change

    @property
    def name(self) -> str:
        return f"part-{self.index:05d}.parquet"


def plan_partitions(inputs: list[str], txt_per_partition: int = TXT_FILES_PER_PARTITION):
    """Partitions (paths only) and the problems found while listing, e.g. a missing path."""
    partitions, problems, texts = [], [], []

    def close_texts():
        if texts:
            partitions.append(Partition(len(partitions), list(texts)))
            texts.clear()

    for source in expand_inputs(inputs):
        if isinstance(source, Problem):
            problems.append(source)
        elif source[0] == "stdin":
            raise DataError("-", None, "standard input cannot be split into partitions; write it to a .jsonl file")
        elif source[0] == "txt":
            texts.append(source)
            if len(texts) >= txt_per_partition:
                close_texts()
        else:
            close_texts()
            partitions.append(Partition(len(partitions), [source]))
    close_texts()
    return partitions, problems


def with_digests(partitions: list[Partition], provenance: dict, options: dict) -> list[Partition]:
    """Each partition's digest of what it is scored from: its inputs (by resolved path, size, modification
    time and inode: they stand for the bytes, as for make and rsync, so the client never reads the corpus),
    the reading options and the provenance record (the model's files, the package version)."""
    for partition in partitions:
        sources = []
        for kind, path in partition.sources:
            try:
                status = os.stat(path)
                sources.append([kind, os.path.realpath(path), status.st_size, status.st_mtime_ns, status.st_ino])
            except OSError:  # gone since it was listed: the worker names it
                sources.append([kind, os.path.realpath(path), None, None, None])
        record = {"provenance": provenance, "options": options, "sources": sources}
        partition.digest = _sha256(record)
        partition.setup = _sha256({**record, "sources": [source[:2] for source in sources]})
    return partitions


def _sha256(record: dict) -> str:
    return hashlib.sha256(json.dumps(record, sort_keys=True).encode("utf-8", "surrogateescape")).hexdigest()


def partition_done(output: Path, partition: Partition) -> bool:
    """Both parts are there, scored from what the partition holds now, and no input of it was skipped."""
    parts = [output / "pairs" / partition.name, output / "summary" / partition.name]
    return all(part_digest(part) == partition.digest for part in parts) and not skipped_list(output, partition).exists()


def part_digest(part: Path, key: str = PART_KEY) -> str | None:
    """The digest a part records (`key`: PART_KEY or SETUP_KEY); None for a missing part, "" for one that
    records none or cannot be read."""
    import pyarrow.parquet as pq

    if not part.exists():
        return None
    try:
        recorded = json.loads((pq.read_schema(part).metadata or {}).get(METADATA_KEY.encode(), b"{}"))
    except Exception:  # cut short, not Parquet, or not readable
        return ""
    return (recorded.get(key) or "") if isinstance(recorded, dict) else ""


def foreign_parts(output: Path, partitions: list[Partition]) -> list[Path]:
    """Part files in `output` that this run's partitions do not vouch for: scored from other inputs, options
    or model (an article edited, a file added, removed or named otherwise, an older version), or numbered
    beyond them. Read beside this run's, their rows would be taken for its own."""
    foreign = []
    for folder in ("pairs", "summary"):
        for path in sorted((output / folder).glob("part-*.parquet")):
            match = PART_FILE.fullmatch(path.name)
            index = int(match.group(1)) if match else len(partitions)
            if index >= len(partitions):
                foreign.append(path)
            # A partition that skipped an input is scored again, its parts replaced: the input may be fixed since.
            elif part_digest(path) != partitions[index].digest and not skipped_list(output, partitions[index]).exists():
                foreign.append(path)
    return foreign


def skipped_list(output: Path, partition: Partition) -> Path:
    """The inputs a partition skipped, one line each; while it exists the partition is not done."""
    return output / "skipped" / partition.name.replace(".parquet", ".txt")


def write_skipped_list(path: Path, problems: list[Problem]) -> None:
    with atomic_output(path) as temporary:
        temporary.write_text("".join(f"{problem}\n" for problem in problems), encoding="utf-8")


class _NothingToWrite(Exception):
    """A partition whose every input was skipped: no part file, so the next run tries it again."""


# --- on the workers ---
PLUGIN_PREFIX = "stance-model-"  # then the model's digest, the run's own id, "@" and its client's id


try:
    from distributed.diagnostics.plugin import WorkerPlugin
except ImportError:  # the [dask] extra is not installed; run_dask says how to install it
    WorkerPlugin = object


class ShipModel(WorkerPlugin):
    """Carries the model's files to each worker once (and to workers that join later); loads it there safely.

    `files` maps paths relative to the model's folder to bytes: the skops model first, then its
    metadata and plain model, and the fine-tuned preset's folder where it is on."""

    def __init__(self, files: dict[str, bytes]):
        self.files, self.folder, self.scorer = files, None, None  # the scorer is this worker's own copy

    def setup(self, worker):
        from pipeline.scoring.scorer import Scorer

        self.folder = Path(tempfile.mkdtemp(prefix=PLUGIN_PREFIX, dir=worker.local_directory))
        for name, data in self.files.items():
            (self.folder / name).parent.mkdir(parents=True, exist_ok=True)
            (self.folder / name).write_bytes(data)
        self.scorer = Scorer.load(self.folder / next(iter(self.files)))
        limit_threads(1)  # Dask supplies the parallelism: one task per worker thread

    def teardown(self, worker):
        """The run is over (its plugin unregistered): free the model and delete its files on this worker."""
        self.scorer = None
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)


def score_partition(
    partition: Partition,
    output: str,
    plugin: str,
    id_field: str,
    text_field: str,
    max_chars: int,
    provenance: dict | None = None,
    fail_fast: bool = False,
) -> dict:
    """Score one partition on a worker; write its two part files; return its problems and counts.

    With `fail_fast` the first skipped input ends the partition there, and it writes no part."""
    from pipeline.scoring.outputs import PAIR_SCHEMA, SUMMARY_SCHEMA, output_format, row_writers
    from pipeline.scoring.scorer import batches, encode_batch

    out = Path(output)
    if partition_done(out, partition):
        return {"index": partition.index, "problems": [], "articles": 0, "pairs": 0, "skipped_done": True}
    from distributed import get_worker

    scorer = getattr(get_worker().plugins.get(plugin), "scorer", None)
    if scorer is None:  # the plugin's setup failed here (a worker that joined later logs it, nothing more)
        raise DataError(output, None, "the model did not load on this worker; see the worker's log")
    problems, articles, pairs, removed = [], 0, 0, []
    events = distinct_ids(  # within the partition; an id repeated across partitions is not seen here
        event for kind, path in partition.sources for event in read_source(kind, path, id_field, text_field, max_chars)
    )
    part_kind = output_format(partition.name)
    skipped = skipped_list(out, partition)
    try:
        # Both parts are renamed into place together, all or none; a partition is done only when both exist.
        parts = [
            (str(out / "pairs" / partition.name), PAIR_SCHEMA),
            (str(out / "summary" / partition.name), SUMMARY_SCHEMA),
        ]
        recorded = {**(provenance or {}), PART_KEY: partition.digest, SETUP_KEY: partition.setup}
        with row_writers(parts, recorded) as (write_pairs, write_summary):
            for item in batches(events):
                if isinstance(item, Problem):
                    problems.append(item)
                    if fail_fast and item.skipped:  # a warning's article was scored: not a bad input
                        raise _NothingToWrite
                    continue
                batch = encode_batch(scorer.score_batch(item), part_kind, PAIR_SCHEMA, part_kind, min_confidence=0.0)
                write_pairs(batch.pairs)  # a batch at a time, encoded as `stance score` encodes it
                write_summary(batch.summary)
                articles += batch.articles
                pairs += batch.pairs.rows
            if any(problem.skipped for problem in problems):
                if not articles:
                    raise _NothingToWrite
                # Before the parts are in place, so a partition that skipped an input is never seen as done.
                write_skipped_list(skipped, problems)
    except _NothingToWrite:  # no part, so the next run tries again; an earlier list now says what was skipped
        if skipped.exists():
            write_skipped_list(skipped, problems)
            # Parts an earlier run wrote from the same inputs, options and model, when the inputs held articles
            # they no longer hold: nothing replaces them now, and read beside this run's they would be taken for
            # its own. Never on another setup (a mistyped option keeps them), nor under --fail-fast, which
            # stops at the first skipped input before knowing whether the rest give an article.
            for folder in ("pairs", "summary") if not fail_fast else ():
                part = out / folder / partition.name
                if part_digest(part, SETUP_KEY) == partition.setup and part_digest(part) != partition.digest:
                    part.unlink()
                    removed.append(f"{folder}/{partition.name}")
    else:
        if not any(problem.skipped for problem in problems):
            skipped.unlink(missing_ok=True)  # an earlier run's list, now that the parts are whole
    return {
        "index": partition.index,
        "problems": problems,
        "articles": articles,
        "pairs": pairs,
        "skipped_done": False,
        "removed": removed,
    }


# --- on the client ---
def checked_model_files(model_path: Path) -> dict[str, bytes]:
    """The files the workers need, by path relative to the model's folder, once they have loaded here.

    A bad model, or a fine-tuned preset that cannot run beside it, stops the run on the client
    in one line rather than on every worker."""
    from pipeline.modeling.finetuned import (
        MANIFEST,
        WEIGHTS,
        check_preset,
        check_weights,
        finetuned_folder,
        read_weights,
    )

    _, metadata = load_model(model_path)
    files = {
        path.name: path.read_bytes()
        for path in (model_path, metadata_path(model_path), plain_path(model_path))
        if path.exists()
    }
    folder = finetuned_folder(model_path)
    preset = check_preset(folder, metadata)
    if preset:  # the opt-in preset: its encoder travels with the linear model, as it sits beside it
        from pipeline.modeling.ensemble import preset_settings

        # Checked as read, without loading the encoder (torch) here: the workers load it.
        preset_settings(preset, folder)
        weights = read_weights(folder / WEIGHTS)
        check_weights(weights, folder / WEIGHTS)
        files[f"{folder.name}/{MANIFEST}"] = (folder / MANIFEST).read_bytes()
        files[f"{folder.name}/{WEIGHTS}"] = weights
    return files


def files_digest(files: dict[str, bytes]) -> str:
    """One SHA-256 over the shipped files' names and bytes, named in the run's plugin (the worker logs show which model)."""
    import hashlib

    digest = hashlib.sha256()
    for name, data in files.items():
        digest.update(f"{name}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()


def _orphaned_plugins(dask_scheduler) -> list[str]:
    """This program's plugins whose run's client has gone (killed before it could remove its own)."""
    orphans = []
    for name in dask_scheduler.worker_plugins:
        _, at, client_id = name.partition("@")  # the first "@": a client's own name may hold one too
        if name.startswith(PLUGIN_PREFIX) and at and client_id not in dask_scheduler.clients:
            orphans.append(name)
    return orphans


def local_workers(address: str) -> str | None:
    """The N of `local:N` as written ("" for `local`); None for a scheduler's address."""
    if address == "local" or address.startswith("local:"):
        return address.partition(":")[2]
    return None


SCHEDULER_SCHEMES = ("tcp", "tls", "ws", "wss")  # what `dask scheduler` serves; inproc and ucx need another setup
IPV6_HOST = re.compile(r"\[[0-9A-Fa-f:.]+(%[\w.-]+)?\]")  # a zone may follow: [fe80::1%eth0]


def address_problem(address: str) -> str | None:
    """Why `--dask ADDRESS` cannot be used, found before any cluster starts; None if it can."""
    from pipeline.scoring.pool import MAX_WORKERS_PER_CPU, worker_limit

    count = local_workers(address)
    if count is not None:
        limit = worker_limit()
        if address != "local" and not (count.isascii() and count.isdigit() and 1 <= int(count) <= limit):
            return f"local:N takes a number of workers from 1 to {limit} ({MAX_WORKERS_PER_CPU} per CPU), not {count!r}"
        return None
    give = "give host:port, tcp://host:port, tls://host:port or local[:N]"
    if local_workers(address.lower()) is not None:
        return f"{address!r}: write local in lower case; {give}"
    scheme, separator, location = address.rpartition("://")
    scheme = scheme if separator else "tcp"  # host:port alone is tcp
    if scheme not in SCHEDULER_SCHEMES:
        return f"{address!r}: the scheme {scheme!r} is not one a scheduler listens on here (tcp, tls, ws, wss); {give}"
    if location.startswith("["):  # an IPv6 host, in brackets: [::1]:8786
        host, bracket, port = location.partition("]:")
        host, colon = host + "]", bracket
    else:
        host, colon, port = location.rpartition(":")
        if ":" in host:
            return f"{address!r}: an IPv6 host needs brackets, as in tcp://[::1]:8786; {give}"
    if not colon or not host or not location.isprintable() or " " in location:
        return f"{address!r} is not host:port; {give}"
    if host.startswith("[") and not IPV6_HOST.fullmatch(host):
        return f"{address!r}: {host!r} is not an IPv6 address in brackets; {give}"
    if not (port.isascii() and port.isdigit() and 1 <= int(port) <= 65535):
        return f"{address!r}: the port {port!r} is not a number from 1 to 65535; {give}"
    return None


def connect(address: str):
    """A Client for a scheduler address, or for a new LocalCluster with `local` / `local:N`."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise DataError("--dask", None, INSTALL_HINT) from None
    from pipeline.scoring.pool import available_cpus

    count = local_workers(address)
    if count is not None:
        workers = int(count or available_cpus())  # the CPUs this process may use, as for --workers
        # Ctrl-C reaches every process of the terminal's group. The local workers start with it ignored
        # (a child keeps an ignored signal), so only this process answers it: it closes the cluster and
        # prints one line, where each worker printed its own KeyboardInterrupt traceback.
        handler = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            with warnings.catch_warnings():
                # The scheduler's web server takes another port when 8787 is taken (another run, a notebook's cluster).
                warnings.filterwarnings("ignore", message="Port .* is already in use", category=UserWarning)
                cluster = LocalCluster(
                    n_workers=workers,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                    silence_logs=logging.ERROR,  # not the warnings of tasks cancelled as the run stops
                )
        finally:
            signal.signal(signal.SIGINT, handler)
        return Client(cluster)
    return Client(address)


def _stopped(problem: Problem, out: Path, partitions: list[Partition]):
    """--fail-fast's stop, saying what stays on disk: partitions already whole are kept (a re-run skips them)."""
    from pipeline.scoring.scorer import FailFast

    stop = FailFast(str(problem))
    whole = sum(partition_done(out, partition) for partition in partitions)
    if whole:
        stop.outcome = f"the {whole} partition(s) already whole are kept in {out}; a re-run scores the rest"
    return stop


def run_dask(
    inputs: list[str],
    address: str,
    output: str | None,
    model_path: str | Path = MODEL_PATH,
    id_field: str = "id",
    text_field: str = "text",
    fail_fast: bool = False,
    max_chars: int = MAX_ARTICLE_CHARS,
    client=None,
    progress: bool | None = None,
) -> int:
    """`stance score --dask`: score every missing partition on the cluster; return the exit code."""
    from pipeline.scoring.scorer import EXIT_OK, EXIT_SKIPPED, NothingScored

    # A folder may have a dot in its name (run.v2); a file name of the formats `stance score` writes may not.
    if not output or file_format(output) in FORMATS or (Path(output).exists() and not Path(output).is_dir()):
        raise DataError(output or "--output", None, "with --dask, --output is a folder for partitioned Parquet")
    check_outputs(
        list(inputs), {f"--output's {part}/ folder": str(Path(output) / part) for part in ("pairs", "summary")}
    )
    model_files = checked_model_files(Path(model_path))
    partitions, problems = plan_partitions(inputs)
    options = {"id_field": id_field, "text_field": text_field, "max_chars": max_chars}
    about = provenance(model_path, shipped=model_files, explain_top=0, min_confidence=0.0)
    partitions = with_digests(partitions, about, options)
    out = Path(output)
    new_folders = [folder for folder in (out / "pairs", out / "summary", out / "skipped", out) if not folder.exists()]
    if fail_fast and any(p.skipped for p in problems):  # an input missing, found while listing: nothing scored yet
        for problem in problems:
            print(problem, file=sys.stderr)
        raise _stopped(next(p for p in problems if p.skipped), out, partitions)
    if foreign := foreign_parts(out, partitions):
        for problem in problems:  # a path mistyped or gone is the likeliest reason: say it first
            print(problem, file=sys.stderr)
        raise DataError(
            foreign[0],
            None,
            f"scored from other inputs, options or model than this run's, as are {len(foreign) - 1} more part "
            f"file(s) of {out} (an article edited; a file added, removed or named otherwise; another model); "
            "read with this run's they would be taken for its rows: give another --output, or remove the "
            "folder to score everything again (nothing was written)",
        )
    todo = [p for p in partitions if not partition_done(out, p)]
    own_client = client is None
    client = client or connect(address)
    plugin = None
    try:
        from distributed import as_completed
        from tqdm import tqdm

        # The run's own plugin: two runs on one cluster, of one model or two, never share or remove each other's.
        plugin = f"{PLUGIN_PREFIX}{files_digest(model_files)[:12]}-{uuid.uuid4().hex[:8]}@{client.id}"
        for orphan in client.run_on_scheduler(_orphaned_plugins):
            with contextlib.suppress(ValueError):  # another run starting now removed it first
                client.unregister_worker_plugin(orphan)
        client.register_plugin(ShipModel(model_files), name=plugin)
        futures = client.map(
            score_partition,
            todo,
            output=str(out.resolve()),
            plugin=plugin,
            id_field=id_field,
            text_field=text_field,
            max_chars=max_chars,
            provenance=about,
            fail_fast=fail_fast,
            pure=False,
        )
        show = sys.stderr.isatty() if progress is None else progress
        results = []
        with tqdm(total=len(todo), unit=" partitions", disable=not show, file=sys.stderr) as bar:
            for future in as_completed(futures):
                try:
                    result = future.result()
                except Exception as err:  # a worker's unexpected failure: one line, not a remote traceback
                    client.cancel(futures)
                    raise DataError(
                        output, None, f"a partition failed on a worker: {type(err).__name__}: {err}"
                    ) from None
                results.append(result)
                bar.update(1)
                skipped = [problem for problem in result["problems"] if problem.skipped]
                if fail_fast and skipped:  # a warning's article was scored: not a bad input
                    for problem in result["problems"]:
                        print(problem, file=sys.stderr)
                    client.cancel(futures)
                    raise _stopped(skipped[0], out, partitions)
    finally:
        if plugin:
            with contextlib.suppress(Exception):  # a cluster already gone has nothing left to free
                client.unregister_worker_plugin(plugin)
        if own_client:
            cluster = client.cluster
            client.close()
            if cluster is not None:
                cluster.close()
    for result in sorted(results, key=lambda r: r["index"]):
        problems.extend(result["problems"])
    for problem in problems:
        print(problem, file=sys.stderr)
    scored = sum(r["articles"] for r in results)
    removed = [part for r in sorted(results, key=lambda r: r["index"]) for part in r.get("removed", [])]
    for part in removed:
        message = (
            f"removed: {Path(output) / part}: scored from an earlier version of its inputs, which now give no article"
        )
        print(shown(message), file=sys.stderr)
    if not scored and len(todo) == len(partitions) and any(p.skipped for p in problems):
        for folder in new_folders:  # made by the workers on the way to writing nothing
            with contextlib.suppress(OSError):
                folder.rmdir()
        stop = NothingScored()
        if removed:
            stop.outcome = f"no rows were written, and the {len(removed)} part file(s) named above were removed"
        raise stop  # as without --dask
    print(
        shown(
            f"scored {scored} articles into {len(todo)} partitions ({len(partitions) - len(todo)} already done) under {out}"
        ),
        file=sys.stderr,
    )
    return EXIT_SKIPPED if any(p.skipped for p in problems) else EXIT_OK
