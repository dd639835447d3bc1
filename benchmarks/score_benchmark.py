"""Scoring throughput and peak memory, end to end, against the floor of bare predict_proba.

    python benchmarks/score_benchmark.py --sentences 10000 1000000 --workers 1 2

Builds a JSONL corpus of the requested size from the shipped articles (each copy a
new article id), then for each size:

- floor: the same model's predict_proba on pairs already split and matched
  (the cost of the features and the classifier alone);
- end to end: `stance score corpus.jsonl --output out.parquet --workers N` as a
  subprocess, timed, with peak memory summed over its process tree (sampled
  every 50 ms with psutil).

Prints sentences per second and peak memory. Figures are machine-dependent;
the README records one run.

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
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.data.candidates import article_candidates  # noqa: E402
from pipeline.data.text import split_sentences  # noqa: E402
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


def floor(corpus: Path, scorer: Scorer, limit_pairs: int) -> tuple[float, int]:
    """Sentences per second of bare predict_proba over pre-split, pre-matched pairs (on a sample)."""
    pairs, sentences = [], 0
    with open(corpus, encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            sentences += len(split_sentences(record["text"]))
            pairs.extend(article_candidates(record["id"], record["text"], scorer.registry))
            if len(pairs) >= limit_pairs:
                break
    start = time.perf_counter()
    for offset in range(0, len(pairs), MAX_PAIRS_PER_PREDICT):
        class_scores(scorer.model, pairs_frame(pairs[offset : offset + MAX_PAIRS_PER_PREDICT]))
    elapsed = time.perf_counter() - start
    return sentences / elapsed, len(pairs)


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


def end_to_end(corpus: Path, workers: int, output: Path, model: Path, dask: str | None = None) -> tuple[float, float]:
    """(seconds, peak MiB over the process tree) of one `stance score` run."""
    command = [
        sys.executable,
        "-m",
        "pipeline.cli",
        "score",
        str(corpus),
        "--output",
        str(output),
        "--model",
        str(model),
    ]
    command += ["--dask", dask] if dask else ["--workers", str(workers)]
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.PIPE)
    root, peak = psutil.Process(process.pid), 0
    while process.poll() is None:
        try:
            tree = [root, *root.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.05)
    elapsed = time.perf_counter() - start
    if process.returncode != 0:
        raise SystemExit(f"stance score failed: {process.stderr.read().decode()}")
    return elapsed, peak / 2**20


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
    parser.add_argument("--sentences", type=int, nargs="+", default=[10_000, 1_000_000])
    parser.add_argument("--workers", type=int, nargs="*", default=[1, 2])
    parser.add_argument("--floor-pairs", type=int, default=50_000, help="pairs timed for the floor")
    parser.add_argument(
        "--dask",
        type=int,
        nargs="*",
        default=[],
        metavar="N",
        help="also score on a local Dask cluster of N worker processes (corpus in 32 shards)",
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


def run(args, model: Path) -> None:
    scorer = Scorer.load(model)
    if args.pathological:
        pathological(scorer, args.pathological)
        return
    print(f"{'sentences':>10} {'runner':>12} {'seconds':>8} {'sent/s':>8} {'peak MiB':>9} {'vs floor':>8}")
    with tempfile.TemporaryDirectory() as folder:
        for size in args.sentences:
            corpus = Path(folder) / f"corpus-{size}.jsonl"
            sentences = build_corpus(corpus, size)
            floor_rate, _ = floor(corpus, scorer, args.floor_pairs)
            print(f"{sentences:>10} {'floor':>12} {'':>8} {floor_rate:>8.0f} {'':>9} {'1.00':>8}", flush=True)
            base = None
            for workers in args.workers:
                seconds, peak = end_to_end(corpus, workers, Path(folder) / "out.parquet", model)
                rate = sentences / seconds
                base = base or rate
                print(
                    f"{sentences:>10} {f'{workers} worker(s)':>12} {seconds:>8.1f} {rate:>8.0f} {peak:>9.0f} "
                    f"{rate / floor_rate:>8.2f}   x{rate / base:.2f} vs 1 worker",
                    flush=True,
                )
            for workers in args.dask:
                shards = shard(corpus, Path(folder) / f"shards-{size}", 32)
                seconds, peak = end_to_end(
                    shards, 0, Path(folder) / f"dask-{size}-{workers}", model, dask=f"local:{workers}"
                )
                rate = sentences / seconds
                base = base or rate
                print(
                    f"{sentences:>10} {f'dask {workers}':>12} {seconds:>8.1f} {rate:>8.0f} {peak:>9.0f} "
                    f"{rate / floor_rate:>8.2f}   x{rate / base:.2f} vs 1 worker",
                    flush=True,
                )


if __name__ == "__main__":
    main()
