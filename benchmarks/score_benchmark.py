"""Scoring throughput and peak memory, end to end, beside its floors, in one run.

    python benchmarks/score_benchmark.py --sentences 40000 --workers 1 2 4
    python benchmarks/score_benchmark.py --sentences 40000 --dask-sentences 1000000 --dask 2

Builds a JSONL corpus of the requested size from the shipped articles (each copy a
new article id), then for each size prints one table:

- keyword floor: `benchmarks/keyword_floor.py`, the same reading, splitting, alias
  matching and writing as `stance score`, with the keyword rule for a model;
- predict_proba: the model's own `predict_proba` on pairs already split and
  matched (features and classifier only), and `class_scores`, the scorer's walk
  through the same fitted pipeline (identical numbers);
- stance score: `stance score corpus.jsonl --output out.parquet --workers N` as a
  subprocess, for each N: the median wall time of `--repeat` runs (3), the worker counts
  taking turns;
- the machine's ceiling for N workers: N one-worker runs at once, each on one of N
  contiguous shares of the corpus with as equal a number of sentences as whole articles
  allow (the row names them), timed to the last one's end, the median of `--repeat` runs in
  the same turns. What it loses against one worker a pool of N loses too before it does
  anything of its own: N busy cores slow each other (shared caches and memory), and every
  run starts before it scores. The gap between it and the pool is what the pool costs;
- Dask: `stance score shards/ --dask local:N` on the corpus in 32 shards, at its own
  size (`--dask-sentences`);
- one article: `stance score one.txt` (the first seed article), best of three.

Each subprocess row gives wall seconds, sentences per second, CPU seconds (user +
system, of the whole process tree), sentences per CPU second (per core, and much less
sensitive to other load on the machine than the wall-clock rate) and peak memory summed
over the process tree, sampled every 50 ms with psutil. The `stance score` rows take their
wall times (the median) from the runs in turns, which nothing samples, and their CPU and
memory from one more run of each, after them: the sampler takes about 4% of a core (0.14 CPU s
in a 3.9 s run), and with every core busy that is time taken from the workers. The keyword
floor, Dask and one-article rows are sampled runs (one each; the best of three for one
article). Ratios: each rate against the keyword floor, and N workers against 1 worker (wall
clock: on a busy machine the ratio is only as good as the cores it got; empty without a
one-worker row).

    python benchmarks/score_benchmark.py --pathological 1 2.5 5 10

times one article made only of actor names (a hostile scrape) at each size, to
show that matching and scoring cost grow linearly with the article.

    python benchmarks/score_benchmark.py --embeddings window --sentences 10000

first trains, into a temporary folder, the current params' model with MiniLM
embeddings on (needs `.[embeddings]` and the prepared data from `dvc repro`), and
times that model instead: the CPU cost of the embeddings extra.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.data.candidates import article_candidates  # noqa: E402
from pipeline.data.text import split_sentences  # noqa: E402
from pipeline.modeling.persist import load_model  # noqa: E402
from pipeline.modeling.predict import class_scores, pairs_frame  # noqa: E402
from pipeline.paths import MODEL as MODEL_PATH  # noqa: E402
from pipeline.scoring.scorer import MAX_PAIRS_PER_PREDICT, Scorer  # noqa: E402


def build_corpus(path: Path, sentences: int) -> int:
    """Write copies of the shipped articles until `sentences` sentences; return the number written."""
    articles = [(p.stem, p.read_text(encoding="utf-8")) for p in sorted((ROOT / "seeds").glob("*.txt"))]
    counts = [len(split_sentences(text)) for _, text in articles]
    written, copy = 0, 0
    with open(path, "w", encoding="utf-8") as handle:
        while written < sentences:
            for (article_id, text), count in zip(articles, counts):
                handle.write(json.dumps({"id": f"{copy}-{article_id}", "text": text}) + "\n")
                written += count
                if written >= sentences:
                    break
            copy += 1
    return written


def prepared_pairs(corpus: Path, scorer: Scorer, limit_pairs: int) -> tuple[list[dict], int]:
    """Candidate pairs of the corpus's first articles (up to about `limit_pairs`), and their sentence count."""
    pairs, sentences = [], 0
    with open(corpus, encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            sentences += len(split_sentences(record["text"]))
            pairs.extend(article_candidates(record["id"], record["text"], scorer.registry))
            if len(pairs) >= limit_pairs:
                break
    return pairs, sentences


def predict_rates(corpus: Path, scorer: Scorer, model: Path, limit_pairs: int) -> dict[str, float]:
    """Sentences per (CPU) second of the model alone on pairs already split and matched: the skops
    pipeline's own predict_proba, `class_scores`' walk through it, and the plain model the scorer
    loads (all three the same numbers)."""
    pairs, sentences = prepared_pairs(corpus, scorer, limit_pairs)
    pipeline_model, _ = load_model(model)
    rates = {}
    for name, predict in (
        ("predict_proba", lambda chunk: pipeline_model.predict_proba(pairs_frame(chunk))),
        ("class_scores", lambda chunk: class_scores(pipeline_model, chunk)),
        ("PlainModel.class_scores", scorer.class_scores),
    ):
        start = time.process_time()
        for offset in range(0, len(pairs), MAX_PAIRS_PER_PREDICT):
            predict(pairs[offset : offset + MAX_PAIRS_PER_PREDICT])
        rates[name] = sentences / (time.process_time() - start)
    return rates


def deal(corpus: Path, shares: int) -> list[tuple[Path, int]]:
    """The corpus cut into `shares` contiguous runs of whole articles, as equal in sentences as whole
    articles allow (share-1-of-2.jsonl, ... beside it); each file with its sentence count.

    Contiguous runs, not articles dealt out in turn: the corpus repeats the same articles in the
    same order, so dealing them out would give one share the same articles every time (at 40k,
    20,940 sentences against 19,066), and the ceiling would time that imbalance."""
    lines = corpus.read_text(encoding="utf-8").splitlines(keepends=True)
    if len(lines) < shares:
        raise SystemExit(f"{corpus}: {len(lines)} articles cannot make {shares} shares")
    counts = [len(split_sentences(json.loads(line)["text"])) for line in lines]
    total, paths, written, start = sum(counts), [], [], 0
    for share in range(shares):
        after = shares - share - 1  # shares still to fill after this one, each needing an article
        goal = total * (share + 1) / shares - sum(written)
        end, sentences = start + 1, counts[start]  # at least one article
        while end < len(lines) - after and (after == 0 or sentences + counts[end] / 2 <= goal):
            sentences += counts[end]
            end += 1
        path = corpus.with_name(f"{corpus.stem}-share-{share + 1}-of-{shares}.jsonl")
        path.write_text("".join(lines[start:end]), encoding="utf-8")
        paths.append(path)
        written.append(sentences)
        start = end
    return list(zip(paths, written))


def shard(corpus: Path, folder: Path, shards: int) -> Path:
    """The corpus as `shards` JSONL files in one folder: Dask's unit of work is a file."""
    folder.mkdir(exist_ok=True)
    handles = [open(folder / f"shard-{i:03d}.jsonl", "w", encoding="utf-8") for i in range(shards)]
    with open(corpus, encoding="utf-8") as source:
        for number, line in enumerate(source):
            handles[number % shards].write(line)
    for handle in handles:
        handle.close()
    return folder


@dataclass
class Run:
    seconds: float  # wall clock
    cpu: float  # user + system seconds of the whole process tree
    peak_mib: float  # peak resident memory summed over the process tree


def wall_seconds(commands: list[list[str]]) -> float:
    """Start the commands at once and wait for all; the seconds until the last one exits.

    Nothing samples them: on a machine whose cores the commands keep busy, a sampler's own CPU
    is taken from them."""
    errors = [tempfile.TemporaryFile() for _ in commands]  # files, not pipes: a command ends when it exits
    processes = []
    try:
        start = time.perf_counter()
        for command, error in zip(commands, errors):
            processes.append(subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=error))
        for process in processes:
            process.wait()
        elapsed = time.perf_counter() - start
    finally:  # a command that could not start, or Ctrl-C: none of the others is left running
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    for command, process, error in zip(commands, processes, errors):
        _check_exit(command, process, error)
    return elapsed


def _check_exit(command: list[str], process: subprocess.Popen, errors) -> None:
    """Close the command's error file; stop the benchmark with what it said if it failed."""
    with errors:
        errors.seek(0)
        if process.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed: {errors.read().decode()}")


def timed(command: list[str]) -> Run:
    """Run a command; its wall time, CPU time and peak memory, over its whole process tree.

    The wall time ends when the command does (this thread waits for it). Meanwhile another thread
    samples each process of the tree every 50 ms: its resident memory (summed for the peak) and
    its own CPU time, user + system (the last value seen per process is kept, so a process that
    ends between two samples loses at most 50 ms of it).
    """
    errors = tempfile.TemporaryFile()  # not a pipe: the end of the command is when it exits, not when its pipes close
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=errors)
    root, cpu_of, peak = psutil.Process(process.pid), {}, [0]
    ended = threading.Event()

    def sample() -> None:
        while not ended.is_set():
            memory = 0
            for member in [root, *_descendants(root)]:
                try:
                    memory += member.memory_info().rss
                    times = member.cpu_times()
                    cpu_of[member.pid] = times.user + times.system
                except psutil.Error:
                    pass
            peak[0] = max(peak[0], memory)
            ended.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    process.wait()
    elapsed = time.perf_counter() - start
    ended.set()
    sampler.join()
    _check_exit(command, process, errors)
    return Run(elapsed, sum(cpu_of.values()), peak[0] / 2**20)


def _descendants(root: psutil.Process) -> list[psutil.Process]:
    try:
        return root.children(recursive=True)
    except psutil.Error:
        return []


def score_command(inputs: Path, output: Path, model: Path, workers: int = 1, dask: str | None = None) -> list[str]:
    command = [sys.executable, "-m", "pipeline", "score", str(inputs), "--output", str(output)]  # as `stance` runs
    command += ["--model", str(model)]
    return command + (["--dask", dask] if dask else ["--workers", str(workers)])


def keyword_floor_command(inputs: Path, output: Path) -> list[str]:
    return [sys.executable, str(ROOT / "benchmarks" / "keyword_floor.py"), str(inputs), "--output", str(output)]


def pathological(scorer: Scorer, sizes_mb: list[float]) -> None:
    """One article of nothing but actor names: cost must grow linearly with its size."""
    from pipeline.scoring.inputs import Article

    pattern = "France NATO Japan China Russia the alliance Washington Tokyo "
    print(f"{'article MB':>10} {'mentions':>9} {'match s':>8} {'score s':>8} {'score s/MB':>10}")
    for size in sizes_mb:
        text = pattern * int(size * 2**20 / len(pattern))
        start = time.perf_counter()
        mentions = sum(len(scorer.registry.find(s.text)) for s in split_sentences(text))
        matched = time.perf_counter() - start
        start = time.perf_counter()
        scorer.score_batch([Article("pathological", text, "pathological")])
        scored = time.perf_counter() - start
        print(f"{size:>10.1f} {mentions:>9} {matched:>8.2f} {scored:>8.2f} {scored / size:>10.2f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sentences", type=int, nargs="+", default=[40_000])
    parser.add_argument(
        "--workers", type=int, nargs="*", default=sorted({1, 2, os.cpu_count() or 1}), help="default: 1, 2, cores"
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of each worker count, interleaved; the median is shown"
    )
    parser.add_argument("--floor-pairs", type=int, default=20_000, help="pairs timed for predict_proba")
    parser.add_argument(
        "--dask",
        type=int,
        nargs="*",
        default=[],
        metavar="N",
        help="also score on a local Dask cluster of N worker processes (corpus in 32 shards)",
    )
    parser.add_argument(
        "--dask-sentences", type=int, help="corpus size for the Dask rows (default: each --sentences size)"
    )
    parser.add_argument(
        "--pathological",
        type=float,
        nargs="*",
        metavar="MB",
        help="instead: time one article of repeated actor names of each size (e.g. 1 2.5 5 10)",
    )
    parser.add_argument(
        "--embeddings",
        choices=["sentence", "window"],
        help="time a model trained with these MiniLM embeddings on (trained first, into a temp folder)",
    )
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    with tempfile.TemporaryDirectory() as folder:
        model = ROOT / MODEL_PATH
        if args.embeddings:
            model = train_with_embeddings(args.embeddings, Path(folder) / "model.skops")
        run(args, model)


def train_with_embeddings(source: str, path: Path) -> Path:
    import os

    from pipeline.params import load_params
    from pipeline.stages.train import train

    os.chdir(ROOT)  # params.yaml names its data files relative to the project
    params = load_params()
    params.train.embeddings = source
    start = time.perf_counter()
    metadata = train(params, model_path=path)
    print(
        f"trained with {source} embeddings on {metadata['training_examples']} examples "
        f"in {time.perf_counter() - start:.1f} s",
        flush=True,
    )
    return path


HEADER = (
    "| sentences | runner | seconds | sentences/s | CPU s | sentences/CPU s | peak MiB "
    "| vs keyword floor (wall) | vs keyword floor (CPU) | vs 1 worker (wall) |"
)


def row(sentences: int, runner: str, result: Run | None, per_cpu: float, floor: tuple | None = None, base=None) -> str:
    """One table row; `floor` is the keyword floor's (wall rate, CPU rate), `base` the 1-worker wall rate."""
    rate = sentences / result.seconds if result else None
    cells = [
        f"{sentences:,}",
        runner,
        f"{result.seconds:.1f}" if result else "",
        f"{rate:,.0f}" if rate else "",
        f"{result.cpu:.1f}" if result else "",
        f"{per_cpu:,.0f}",
        f"{result.peak_mib:,.0f}" if result else "",
        f"{rate / floor[0]:.2f}" if floor and rate else "",
        f"{per_cpu / floor[1]:.2f}" if floor else "",
        f"{rate / base:.2f}" if base and rate else "",
    ]
    return "| " + " | ".join(cells) + " |"


def run(args, model: Path) -> None:
    scorer = Scorer.load(model)
    if args.pathological:
        pathological(scorer, args.pathological)
        return
    print(HEADER)
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|", flush=True)
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        one_article = sorted((ROOT / "seeds").glob("*.txt"))[0]
        one = min(
            (timed(score_command(one_article, folder / "one.jsonl", model)) for _ in range(3)), key=lambda r: r.seconds
        )
        one_sentences = len(split_sentences(one_article.read_text(encoding="utf-8")))
        print(row(one_sentences, "one article (`stance score one.txt`)", one, one_sentences / one.cpu), flush=True)
        for size in args.sentences:
            corpus = folder / f"corpus-{size}.jsonl"
            sentences = build_corpus(corpus, size)
            result = timed(keyword_floor_command(corpus, folder / "floor.parquet"))
            floor = (sentences / result.seconds, sentences / result.cpu)
            print(row(sentences, "keyword floor (same reading, splitting, matching, writing)", result, floor[1], floor))
            for name, per_cpu in predict_rates(corpus, scorer, model, args.floor_pairs).items():
                print(row(sentences, f"`{name}` on prepared pairs (in process)", None, per_cpu, floor), flush=True)
            # What is timed: each worker count, and for N > 1 its ceiling, N one-worker runs at once on
            # the corpus's N shares. Runs alternate between them, so a slow spell falls on all of them.
            timings = {("pool", workers): [] for workers in args.workers}
            shares = {}
            for workers in args.workers:
                if workers > 1:
                    shares[workers] = deal(corpus, workers)
                    timings[("ceiling", workers)] = []
            for _ in range(args.repeat):
                for kind, workers in timings:
                    if kind == "pool":
                        commands = [score_command(corpus, folder / "out.parquet", model, workers)]
                    else:
                        commands = [
                            score_command(share, folder / f"{share.stem}.parquet", model, 1)
                            for share, _ in shares[workers]
                        ]
                    timings[(kind, workers)].append(wall_seconds(commands))
            # The "vs 1 worker" column needs a one-worker row; without one it stays empty.
            base = sentences / statistics.median(timings[("pool", 1)]) if 1 in args.workers else None
            for workers in args.workers:
                sampled = timed(score_command(corpus, folder / "out.parquet", model, workers))  # CPU and memory
                result = Run(statistics.median(timings[("pool", workers)]), sampled.cpu, sampled.peak_mib)
                label = f"`stance score`, {workers} worker{'s' if workers > 1 else ''}"
                print(row(sentences, label, result, sentences / result.cpu, floor, base), flush=True)
            for workers in shares:
                seconds = statistics.median(timings[("ceiling", workers)])
                ceiling = sentences / seconds
                sizes = " / ".join(f"{count:,}" for _, count in shares[workers])
                cells = [
                    f"{sentences:,}",
                    f"ceiling: {workers} one-worker runs at once, on shares of {sizes} sentences",
                ]
                cells += [f"{seconds:.1f}", f"{ceiling:,.0f}", "", "", "", f"{ceiling / floor[0]:.2f}", ""]
                cells += [f"{ceiling / base:.2f}" if base else ""]
                print("| " + " | ".join(cells) + " |", flush=True)
            if args.dask:
                dask_size = args.dask_sentences or size
                dask_corpus = corpus
                dask_sentences = sentences
                if dask_size != size:
                    dask_corpus = folder / f"corpus-{dask_size}.jsonl"
                    dask_sentences = build_corpus(dask_corpus, dask_size)
                shards = shard(dask_corpus, folder / f"shards-{dask_size}", 32)
                for workers in args.dask:
                    output = folder / f"dask-{dask_size}-{workers}"
                    result = timed(score_command(shards, output, model, dask=f"local:{workers}"))
                    label = f"Dask, local cluster of {workers}"
                    print(row(dask_sentences, label, result, dask_sentences / result.cpu), flush=True)


if __name__ == "__main__":
    main()
