"""Batch scoring of new articles: which actors each article presents as supporting or opposing.

One unit of work, `Scorer.score_batch(articles)`, is shared by every way of running it:
inline in one process, in a pool of N processes (`workers`), or on Dask workers.
It calls the same candidate generator as the prepare stage and the same saved
Pipeline as the evaluate stage, so scoring a training article reproduces the
evaluate stage's prediction.

Python API, for notebooks:

    from pipeline.scoring.scorer import score_texts
    for row in score_texts({"a1": "France blocked the office."}):
        print(row["actor"], row["stance"], row["p_oppose"])

Summary rule (one row per article and actor): the article-level stance is the
more frequent of support and oppose among the actor's predicted pairs, `mixed`
on a tie, and `neutral` when it has neither. An article with no actor mention
still gets one summary row, with an empty actor, 0 pairs and stance `no_actors`.
"""

from __future__ import annotations

import collections
import functools
import gc
import os
import signal
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from pipeline.data.actors import ActorRegistry
from pipeline.data.candidates import article_candidates
from pipeline.data.labels import LABELS, PROBABILITY_FIELDS, UNCERTAIN, best_labels, scored_article_stance
from pipeline.errors import EXIT_ERROR, EXIT_OK, EXIT_SKIPPED, DataError  # noqa: F401 (the scorer's exit codes)
from pipeline.files import MAX_ARTICLE_CHARS
from pipeline.modeling.metadata import metadata_path, plain_path, read_metadata
from pipeline.paths import MODEL as MODEL_PATH
from pipeline.scoring.inputs import Article, Problem, read_inputs
from pipeline.scoring.pool import (
    a_worker_ended,
    end_broken_pool,
    pool_context,
    quiet_when_broken,
    start_pool,
    widen_pipes,
)

MAX_PAIRS_PER_PREDICT = 4096  # bounds the feature matrix of one predict call
BATCH_ARTICLES = 64
IN_FLIGHT_PER_WORKER = 2  # batches queued or being scored per worker: memory stays flat
BATCH_CHARS = 2_000_000
WORKER_CHECK_SECONDS = 1.0  # while a batch is awaited, how often the workers are checked for one that died
TAIL_PIECES_PER_WORKER = 2  # the last two batches, split for a pool so its workers finish together


@dataclass
class ArticleResult:
    article_id: str
    rows: list[dict]
    date: str | None = None


class Scorer:
    """A loaded model and the actor registry it was trained with.

    The model is the plain scoring model (pipeline.modeling.plain) where the train stage could
    write one, which loads without scikit-learn; otherwise the skops pipeline. Both give the same
    numbers. With `explain_top` K > 0 each pair row gets an `explanation`: the K features that
    pushed most toward its predicted class, with their exact contributions (pipeline.modeling.explain).
    """

    def __init__(self, model, registry: ActorRegistry, explain_top: int = 0):
        self.model = model
        self.registry = registry
        self.explain_top = explain_top
        self.explainer = None
        if explain_top:
            from pipeline.modeling.explain import Explainer

            self.explainer = Explainer(model)

    @classmethod
    def load(cls, model_path: str | Path = MODEL_PATH, explain_top: int = 0) -> Scorer:
        """The model at `model_path`, averaged with the fine-tuned encoder beside it where that preset is on."""
        from pipeline.modeling.finetuned import check_preset, finetuned_folder

        folder = finetuned_folder(model_path)
        preset = check_preset(folder, read_metadata(model_path), explain=explain_top > 0)  # before any loading
        scorer = cls.load_plain(model_path, explain_top)
        if scorer is None:
            from pipeline.modeling.persist import load_model

            model, metadata = load_model(model_path)
            scorer = cls(model, ActorRegistry.from_dict(metadata["registry"]), explain_top)
        if preset:  # only then: the linear model alone loads without scikit-learn, pandas or torch
            from pipeline.modeling.ensemble import load_ensemble

            scorer.model = load_ensemble(scorer.model, preset, folder)
        return scorer

    @classmethod
    def load_plain(cls, model_path: str | Path, explain_top: int = 0) -> Scorer | None:
        """A scorer on the plain model, which loads without scikit-learn; None where the model has none."""
        from pipeline.modeling.plain import load_plain

        metadata = read_metadata(model_path)
        model = load_plain(model_path, metadata)
        return None if model is None else cls(model, ActorRegistry.from_dict(metadata["registry"]), explain_top)

    def class_scores(self, pairs: list[dict]):
        """Per-class probabilities in LABELS order, one row per candidate pair."""
        if hasattr(self.model, "class_scores"):  # the plain model, or the fine-tuned ensemble
            return self.model.class_scores(pairs)
        from pipeline.modeling.predict import class_scores

        return class_scores(self.model, pairs)

    def score_batch(self, articles: list[Article]) -> list[ArticleResult]:
        """Score every (sentence, actor) pair of these articles; one result per article, in order."""
        pairs, owner = [], []
        for index, article in enumerate(articles):
            for pair in article_candidates(article.id, article.text, self.registry):
                pairs.append(pair)
                owner.append(index)
        results = [ArticleResult(article.id, [], article.date) for article in articles]
        for start in range(0, len(pairs), MAX_PAIRS_PER_PREDICT):
            chunk = pairs[start : start + MAX_PAIRS_PER_PREDICT]
            if self.explainer:
                scores, explanations = self.explainer.explain(chunk, self.explain_top)
            else:
                scores, explanations = self.class_scores(chunk), None
            for offset, (probabilities, stance) in enumerate(zip(scores, best_labels(scores))):
                pair = chunk[offset]
                row = {
                    "article_id": pair["article_id"],
                    "date": results[owner[start + offset]].date,
                    "sentence_index": pair["sentence_index"],
                    "sentence": pair["sentence"],
                    "actor": pair["actor"],
                    "stance": stance,
                    "confidence": float(probabilities.max()),
                }
                row.update({name: float(p) for name, p in zip(PROBABILITY_FIELDS, probabilities)})
                if explanations:
                    row["explanation"] = explanations[offset]["features"]
                results[owner[start + offset]].rows.append(row)
        return results


def summarise(result: ArticleResult) -> list[dict]:
    """One row per actor of the article, in order of first mention (see the module doc for the rule)."""
    if not result.rows:
        return [
            {
                "article_id": result.article_id,
                "date": result.date,
                "actor": None,
                "pairs": 0,
                **{f"n_{label}": 0 for label in LABELS},
                f"n_{UNCERTAIN}": 0,
                **{f"mean_{name}": None for name in PROBABILITY_FIELDS},
                "stance": "no_actors",
            }
        ]
    by_actor: dict[str, list[dict]] = collections.defaultdict(list)
    for row in result.rows:
        by_actor[row["actor"]].append(row)
    summary = []
    for actor, rows in by_actor.items():
        counts = collections.Counter(row["stance"] for row in rows)
        stance = scored_article_stance(row["stance"] for row in rows)
        summary.append(
            {
                "article_id": result.article_id,
                "date": result.date,
                "actor": actor,
                "pairs": len(rows),
                **{f"n_{label}": counts[label] for label in LABELS},
                f"n_{UNCERTAIN}": counts[UNCERTAIN],
                **{f"mean_{name}": sum(r[name] for r in rows) / len(rows) for name in PROBABILITY_FIELDS},
                "stance": stance,
            }
        )
    return summary


def batches(
    events: Iterable[Article | Problem],
    max_articles: int = BATCH_ARTICLES,
    max_chars: int = BATCH_CHARS,
    tail_pieces: int = 1,
) -> Iterator[Problem | list[Article]]:
    """Group consecutive articles into batches; problems pass through as they are read.

    With `tail_pieces` > 1 the articles of the last two batches come as that many smaller
    batches of even size. For a pool: with full batches to the end, one worker scores the
    last batch alone while the others wait (up to a batch's time, about 0.15 s); small ones
    let them finish together. To know which batches are the last, each is yielded only once
    the two after it are formed (so streamed input reaches a pool two batches later)."""
    if tail_pieces <= 1:
        yield from _full_batches(events, max_articles, max_chars)
        return
    held: collections.deque = collections.deque()  # the last two batches formed
    for item in _full_batches(events, max_articles, max_chars):
        if isinstance(item, Problem):
            yield item
            continue
        held.append(item)
        if len(held) > 2:
            yield held.popleft()
    tail = [article for batch in held for article in batch]
    size = -(-len(tail) // tail_pieces)  # ceiling: at most tail_pieces batches
    for start in range(0, len(tail), size or 1):
        yield tail[start : start + size]


def _full_batches(
    events: Iterable[Article | Problem], max_articles: int, max_chars: int
) -> Iterator[Problem | list[Article]]:
    batch, size = [], 0
    for event in events:
        if isinstance(event, Problem):
            yield event
            continue
        batch.append(event)
        size += len(event.text)
        if len(batch) >= max_articles or size >= max_chars:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


# glibc's mallopt parameters (malloc.h) and the sizes set for them.
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
KEPT_FREE_BYTES = 512 * 2**20


def keep_freed_memory() -> None:
    """Let this process keep the memory it frees, where the C library is glibc.

    Each batch builds feature matrices of some MB and frees them. glibc hands such blocks
    back to the system at once and the next batch faults every page in again: 260k page
    faults for 40k sentences, 4 to 8% of the time. Kept, they are reused (40k faults);
    the peak memory is the same, it is only not returned between batches.
    """
    import ctypes

    if sys.platform != "linux":
        return
    try:
        libc = ctypes.CDLL(None)  # the C library this process already runs on: no search, no subprocess
        if hasattr(libc, "mallopt"):  # glibc; musl and others have none
            libc.mallopt(M_MMAP_THRESHOLD, KEPT_FREE_BYTES)
            libc.mallopt(M_TRIM_THRESHOLD, KEPT_FREE_BYTES)
    except OSError:
        return


# --- many processes: the model is loaded once per worker process, not once per batch ---
_worker_scorer: Scorer | None = None
_worker_error: DataError | None = None
_preloaded: dict[tuple, Scorer] = {}  # in the fork server: (model files' identity) -> a warmed-up scorer


def _model_identity(model_path: str | Path) -> tuple | None:
    """The model's path and its three files' size and modification time: a file replaced since is not the
    one loaded. None where they cannot be read (the worker then loads the model and reports what is wrong)."""
    try:
        path = Path(model_path).resolve()
        files = (path, metadata_path(path), plain_path(path))
        return (str(path), *((f.stat().st_size, f.stat().st_mtime_ns) if f.exists() else None for f in files))
    except Exception:  # a symlink loop, a permission: no warm model, never a failed worker start
        return None


def preload(model_path: str) -> None:
    """Load the plain model and score one short text, in the fork server, so that workers fork warm (pool.py).

    Only the plain model: a model that needs scikit-learn (embeddings) would bring torch and its
    threads into the server, and a process with threads should not fork."""
    from pipeline.modeling.finetuned import finetuned_folder, read_manifest

    try:
        if read_manifest(finetuned_folder(model_path)):  # torch would come into the server: workers load it
            return
        identity = _model_identity(model_path)  # before loading: a file replaced meanwhile is then not this one
        scorer = Scorer.load_plain(model_path)
        if identity is None or scorer is None:
            return
        actor = scorer.registry.actors[0]
        text = f"{scorer.registry.names(actor)[0]} said on Monday it would not back the plan. Others did."
        scorer.score_batch([Article("warm-up", text, "warm-up")])
        _preloaded[identity] = scorer
    except Exception:  # each worker then loads the model itself and reports what is wrong
        return


def _init_worker(model_path: str, threads: int, explain_top: int = 0) -> None:
    global _worker_scorer, _worker_error
    # Ctrl-C is the run's to answer: it ends the pool (pool.py, `_ctrl_c_left_to_the_run`; workers that
    # do not come from the fork server start afresh, with Python's own handler, so set it here too).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    keep_freed_memory()
    try:
        from pipeline.modeling.finetuned import finetuned_folder, read_manifest

        # The server preloads the linear model alone: never reuse it once the preset is on (it may have been
        # switched on since the server started).
        reuse = _preloaded and not explain_top and not read_manifest(finetuned_folder(model_path))
        preloaded = _preloaded.get(_model_identity(model_path)) if reuse else None
        _worker_scorer = preloaded or Scorer.load(model_path, explain_top)
    except DataError as err:  # reported with the first batch: a failing initializer would restart forever
        _worker_error = err
    # What the worker holds now, the server's objects it forked with included, lives as long as it does:
    # frozen, the collector's full passes skip it (see run_score), and never write to the inherited
    # objects' headers, which would copy the server's pages into every worker (Python's docs on gc.freeze).
    gc.freeze()
    if "torch" in sys.modules:  # the embeddings extra: N workers share the cores, not a thread per core each
        from pipeline.features.embeddings import limit_threads

        limit_threads(threads)


def _score_in_worker(batch: list[Article], finish: Callable | None = None):
    if _worker_error is not None:
        raise _worker_error
    results = _worker_scorer.score_batch(batch)
    return finish(results) if finish else results


def score_events(
    events: Iterable[Article | Problem],
    model_path: str | Path = MODEL_PATH,
    workers: int = 1,
    scorer: Scorer | None = None,
    explain_top: int = 0,
) -> Iterator[Problem | ArticleResult]:
    """Problems and scored articles, in input order, however many workers score them."""
    for item in score_batches(events, model_path, workers, scorer, explain_top):
        yield from [item] if isinstance(item, Problem) else item


def score_batches(
    events: Iterable[Article | Problem],
    model_path: str | Path = MODEL_PATH,
    workers: int = 1,
    scorer: Scorer | None = None,
    explain_top: int = 0,
    finish: Callable[[list[ArticleResult]], object] | None = None,
) -> Iterator:
    """Problems, and each batch's scored articles (or `finish` of them, run where they were scored),
    in input order, however many workers score them.

    With workers > 1 at most IN_FLIGHT_PER_WORKER x workers batches are in flight, so memory stays flat
    however long the input, and results come back in submission order. `finish` must pickle (a
    module-level function, or a functools.partial of one).
    """
    if workers <= 1:
        scorer = scorer or Scorer.load(model_path, explain_top)
        for item in batches(events):
            if isinstance(item, Problem):
                yield item
            else:
                results = scorer.score_batch(item)
                yield finish(results) if finish else results
        return
    context = pool_context(None if explain_top else model_path)  # the preloaded scorer explains nothing
    threads = max(1, (os.cpu_count() or 1) // workers)
    # Decided before the pool starts: creating it waits for the workers' server, so this costs the run nothing.
    tail_pieces = TAIL_PIECES_PER_WORKER * workers if scores_each_pair_alone(model_path, explain_top) else 1
    with start_pool(
        context, workers, initializer=_init_worker, initargs=(str(model_path), threads, explain_top)
    ) as pool:
        widen_pipes(pool)
        started = list(getattr(pool, "_pool", []))  # the workers it began with, each to last as long as it
        with quiet_when_broken(pool, started):
            pending: collections.deque = collections.deque()
            for item in batches(events, tail_pieces=tail_pieces):
                if isinstance(item, Problem):
                    pending.append(item)
                else:
                    pending.append(pool.apply_async(_score_in_worker, (item, finish)))
                while len(pending) > IN_FLIGHT_PER_WORKER * workers or (pending and isinstance(pending[0], Problem)):
                    yield _resolved(pending.popleft(), pool, started)
            while pending:
                yield _resolved(pending.popleft(), pool, started)
            if a_worker_ended(started):  # after the last batch's rows: nothing lost, but the pool's end waits on it
                end_broken_pool(pool, started)


def scores_each_pair_alone(model_path: str | Path, explain_top: int = 0) -> bool:
    """Whether the model scoring `model_path` gives each pair the same numbers whatever batch it is in.

    The plain model does, to the last bit, so a pool may cut the last batches smaller and still
    write what one process writes. A MiniLM encoder (the embeddings, the fine-tuned preset) encodes
    the texts of a batch together, and its numbers can move in their last bits with the batch
    (tests/test_embeddings.py caught it). A run with explanations keeps full batches, as it always has."""
    from pipeline.modeling.finetuned import finetuned_folder, read_manifest

    try:
        covered = (read_metadata(model_path).get("plain_model") or {}).get("covered")
        plain = bool(covered) and plain_path(model_path).exists()  # as pipeline.modeling.plain.load_plain decides
        return plain and not explain_top and read_manifest(finetuned_folder(model_path)) is None
    except DataError:  # the workers load the model and report what is wrong
        return False


def _resolved(item, pool, started: list):
    """A Problem as it is, or a batch's result once its worker has sent it; `WorkerLost` once a worker of
    `started` has died, looked for before each batch's result and each WORKER_CHECK_SECONDS of waiting."""
    if isinstance(item, Problem):
        return item
    while True:
        if a_worker_ended(started):
            raise WorkerLost(end_broken_pool(pool, started))
        if item.ready():
            return item.get()
        item.wait(WORKER_CHECK_SECONDS)


def score_texts(
    articles: dict[str, str] | Iterable[tuple[str, str]], model_path: str | Path = MODEL_PATH, workers: int = 1
) -> Iterator[dict]:
    """Pair rows for in-memory articles ({id: text} or (id, text) pairs)."""
    items = articles.items() if isinstance(articles, dict) else articles
    events = (Article(str(article_id), text, str(article_id)) for article_id, text in items)
    for event in score_events(events, model_path, workers):
        if isinstance(event, ArticleResult):
            yield from event.rows


def score_paths(
    inputs: Iterable[str],
    model_path: str | Path = MODEL_PATH,
    workers: int = 1,
    id_field: str = "id",
    text_field: str = "text",
    max_chars: int = MAX_ARTICLE_CHARS,
) -> Iterator[Problem | ArticleResult]:
    """What `stance score` does, as events: .txt files, folders, .jsonl files ("-" for stdin)."""
    yield from score_events(read_inputs(inputs, id_field, text_field, max_chars), model_path, workers)


class NoOutputWritten(Exception):
    """The run stopped inside the outputs' context, so none of them replaced an earlier file."""

    reason = ""  # what the user reads: "error: <reason>; <outcome>"
    outcome = "no output was written"  # a --dask run's fail-fast stop keeps partitions already whole, and says so


class FailFast(NoOutputWritten):
    """--fail-fast: the first bad input ends the run."""

    reason = "stopped at the first bad input (--fail-fast)"


class ReaderQuit(NoOutputWritten):
    """Standard output was closed by its reader (`| head`) while the run also wrote files."""

    reason = "standard output was closed by its reader before the run ended"


class WorkerLost(NoOutputWritten):
    """A worker process ended in the middle of the run (the system killed it when memory ran out, say)."""

    def __init__(self, exitcode: int | None):
        super().__init__(exitcode)
        if exitcode == -getattr(signal, "SIGKILL", 9):
            ended = (
                f"killed by signal {-exitcode}, as the system kills a process when memory runs out; try fewer --workers"
            )
        elif exitcode is not None and exitcode < 0:
            ended = f"killed by signal {-exitcode}"
        elif exitcode is None or exitcode == 255:  # what multiprocessing reads once the workers' server has ended
            ended = "its exit status lost: the workers' server may have ended too"
        else:
            ended = f"exit code {exitcode}"
        self.reason = f"a worker process ended before the run did ({ended})"


class NothingScored(NoOutputWritten):
    """Every input was skipped: writing an empty output would only replace an earlier one."""

    reason = "every input was skipped (each named above)"


def mark_uncertain(rows: list[dict], min_confidence: float) -> list[dict]:
    """--min-confidence: a pair whose confidence is below it is labelled `uncertain` (its
    probabilities stay, so the leaning is still there to read)."""
    for row in rows:
        if row["confidence"] < min_confidence:
            row["stance"] = UNCERTAIN
    return rows


@dataclass(frozen=True)
class EncodedBatch:
    """One batch of `stance score`'s output, ready to write: pair rows, summary rows (or None)."""

    pairs: object  # pipeline.scoring.outputs.Encoded
    summary: object | None
    articles: int


def encode_batch(
    results: list[ArticleResult], pair_kind: str, pair_schema, summary_kind: str | None, min_confidence: float
) -> EncodedBatch:
    """Everything `stance score` does to a batch after scoring it but the writing: run where the
    batch was scored, so the process that writes the outputs only writes."""
    from pipeline.scoring.outputs import SUMMARY_SCHEMA, encode

    rows = [row for result in results for row in mark_uncertain(result.rows, min_confidence)]
    summary = None
    if summary_kind is not None:
        summary = encode([row for result in results for row in summarise(result)], summary_kind, SUMMARY_SCHEMA)
    return EncodedBatch(encode(rows, pair_kind, pair_schema), summary, len(results))


def run_score(
    inputs: list[str],
    model_path: str | Path = MODEL_PATH,
    output: str | None = None,
    summary: str | None = None,
    workers: int = 1,
    id_field: str = "id",
    text_field: str = "text",
    fail_fast: bool = False,
    max_chars: int = MAX_ARTICLE_CHARS,
    progress: bool | None = None,
    explain_top: int = 0,
    min_confidence: float = 0.0,
) -> int:
    """`stance score`: write pair rows and summary rows; return the exit code.

    0: every input was scored; 3: some input was skipped (each named on stderr);
    1: the run could not go on (bad model, --fail-fast, every input skipped); the table is
    pipeline.errors.EXIT_CODES.
    Outputs are renamed into place only at the end, so on exit 1 or an interrupt an earlier
    output stays intact. Each output carries its provenance (pipeline.scoring.provenance).
    """
    import contextlib

    from tqdm import tqdm

    from pipeline.scoring.outputs import (
        SUMMARY_SCHEMA,
        check_outputs,
        check_replaceable,
        check_unchanged,
        output_format,
        pair_schema,
        row_writers,
    )
    from pipeline.scoring.provenance import provenance

    pair_kind, schema = output_format(output), pair_schema(explain_top > 0)
    summary_kind = output_format(summary) if summary is not None else None
    check_outputs(list(inputs), {"--output": output or "-", "--summary": summary})
    found = check_replaceable({"--output": output, "--summary": summary})
    pairs_to_stdout, summary_to_stdout = output in (None, "-"), summary == "-"  # not renamed into place
    # A missing or bad model fails early, with a clear message: loaded here for one worker; with
    # more, the parent only reads and writes, so it checks the metadata and the workers load the model.
    keep_freed_memory()
    scorer = Scorer.load(model_path, explain_top) if workers <= 1 else None
    if scorer is None:
        from pipeline.modeling.finetuned import check_preset, finetuned_folder

        check_preset(finetuned_folder(model_path), read_metadata(model_path), explain=explain_top > 0)
        pool_context(None if explain_top else model_path)  # started now if `stance score` has not started it yet
    about = provenance(model_path, explain_top=explain_top, min_confidence=min_confidence)
    skipped = 0
    show = sys.stderr.isatty() if progress is None else progress

    def with_stdout_outcome(stop: NoOutputWritten) -> NoOutputWritten:  # stdout is not renamed into place
        if pairs_to_stdout and pairs:
            stop.outcome = f"{pairs} pair rows had gone to standard output before it; no file was written"
        elif summary_to_stdout and summaries:
            stop.outcome = f"{summaries} summary rows had gone to standard output before it; no file was written"
        return stop

    try:
        with contextlib.ExitStack() as stack:
            if scorer is not None and gc.get_freeze_count() == 0:  # a caller that froze objects keeps its own
                # The imports and the model live as long as the run, yet every full collection walked them
                # all: about 0.1 s per 40k sentences. Frozen, the collector skips them; whatever reference
                # counting frees is still freed. (Workers freeze theirs as they start: _init_worker.)
                gc.freeze()
                stack.callback(gc.unfreeze)  # a caller in this process gets its collector back as it was
            # One set: a failed rename leaves neither a new summary beside the earlier pairs nor the reverse.
            outputs = [(output, schema), *([(summary, SUMMARY_SCHEMA)] if summary else [])]
            unchanged = functools.partial(check_unchanged, {"--output": output, "--summary": summary}, found)
            write_pairs, *summary_writer = stack.enter_context(row_writers(outputs, about, unchanged))
            write_summary = summary_writer[0] if summary_writer else None
            bar = stack.enter_context(tqdm(unit=" articles", disable=not show, file=sys.stderr, dynamic_ncols=True))
            pairs = summaries = articles = 0
            events = read_inputs(inputs, id_field, text_field, max_chars)
            finish = functools.partial(
                encode_batch,
                pair_kind=pair_kind,
                pair_schema=schema,
                summary_kind=summary_kind,
                min_confidence=min_confidence,
            )
            for batch in score_batches(events, model_path, workers, scorer, explain_top, finish):
                if isinstance(batch, Problem):
                    print(batch, file=sys.stderr)
                    skipped += batch.skipped
                    if fail_fast and batch.skipped:  # a warning's article was scored: not a bad input
                        raise with_stdout_outcome(FailFast(str(batch)))
                    continue
                write_pairs(batch.pairs)
                if write_summary:
                    write_summary(batch.summary)
                pairs += batch.pairs.rows
                summaries += batch.summary.rows if batch.summary else 0
                articles += batch.articles
                bar.update(batch.articles)
                bar.set_postfix(pairs=pairs, refresh=False)
            if skipped and not articles:
                raise NothingScored  # raised inside the outputs' context, so none of them is replaced
    except BrokenPipeError:  # standard output's reader quit (`| head`): the run cannot go on
        files = [
            f"{flag} {path}" for flag, path in (("--output", output), ("--summary", summary)) if path not in (None, "-")
        ]
        if not files or not (pairs_to_stdout or summary_to_stdout):  # nothing else asked for, or not stdout's pipe
            raise  # run_stage: a quiet exit 1
        stop = ReaderQuit()  # the files' temporaries are gone, none renamed: say so, or they seem written
        stop.outcome = f"{' and '.join(files)} not written (any earlier file there is kept)"
        raise stop from None
    except WorkerLost as lost:
        raise with_stdout_outcome(lost) from None
    return EXIT_SKIPPED if skipped else EXIT_OK
