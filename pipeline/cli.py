"""The `stance` command: the pipeline's stages, the scorer and its report, thin over plain functions."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path

import typer
from typer.core import TyperCommand

from pipeline.errors import EXIT_CODES, EXIT_ERROR, EXIT_INTERRUPTED, DataError, shown
from pipeline.files import MAX_ARTICLE_CHARS, describe_os_error
from pipeline.paths import PARAMS

PARAMS_OPTION = typer.Option(PARAMS, "--params", help="Params file.")
# Blank lines keep each code on its own line in the help's epilog.
EXIT_TABLE = "Exit codes:\n\n" + "\n\n".join(f"{code}: {meaning}" for code, meaning in EXIT_CODES.items())


class OnceEachCommand(TyperCommand):
    """A command whose options may each be given once: click keeps the last of a repeated option
    without a word (`--output a.csv --output b.csv` would write only b.csv), so a repeat is refused."""

    def parse_args(self, ctx, args):
        if args and not ctx.resilient_parsing:
            _, _, order = self.make_parser(ctx).parse_args(args=list(args))
            given = [p for p in order if p.param_type_name == "option" and not (p.multiple or p.count or p.is_eager)]
            repeated = next((p for i, p in enumerate(given) if p in given[:i]), None)
            if repeated is not None:
                names = "/".join(repeated.opts + repeated.secondary_opts)  # a flag's on and off spellings
                ctx.fail(f"{names} is given more than once; give it once")
        return super().parse_args(ctx, args)


app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Actor stance toward a target (params.yaml: data.target), per (sentence, actor) of news articles.",
    epilog=EXIT_TABLE,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _show_version(value: bool):
    if value:
        from pipeline.scoring.provenance import package_version

        print(f"stance {package_version()}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(
        False, "--version", callback=_show_version, is_eager=True, help="Show the version and exit."
    ),
):
    """Actor stance toward a target (params.yaml: data.target), per (sentence, actor) of news articles."""


def load_params(path: Path, target_must_exist: bool = True):
    """params.yaml, validated, its target folder there; imported here, so `stance score` does not import pydantic."""
    from pipeline.params import load_params as load

    return load(path, target_must_exist=target_must_exist)


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _stdout_closed() -> None:
    """Standard output's reader has quit: nothing more is flushed into it at exit (that would print a traceback)."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def run_stage(main: Callable, *args, **kwargs):
    """Run a stage; an expected error is one line on stderr and exit 1, never a traceback.

    SIGINT and SIGTERM both end the run through KeyboardInterrupt, so temporary outputs
    are removed on either (even where a shell started us with SIGINT ignored).
    """
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _interrupt)
    try:
        return main(*args, **kwargs)
    except DataError as err:
        for line in getattr(err, "problems", None) or [str(err)]:  # several problems of one file: a line each
            print(f"error: {shown(line)}", file=sys.stderr)
        raise SystemExit(EXIT_ERROR) from None
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        raise SystemExit(EXIT_INTERRUPTED) from None
    except BrokenPipeError:  # `stance score ... | head`: the reader has what it wanted
        _stdout_closed()
        raise SystemExit(EXIT_ERROR) from None
    except OSError as err:  # the environment (a vanished folder, a full disk): one line, not a traceback
        print(f"error: {describe_os_error(err)}", file=sys.stderr)
        raise SystemExit(EXIT_ERROR) from None


@app.command(cls=OnceEachCommand)
def distill(params: Path = PARAMS_OPTION):
    """Stage 0: static word vectors from the bundled MiniLM (model2vec) -> models/static_vectors/ (needs the distill extra)."""
    from pipeline.stages.distill import distill as stage

    run_stage(lambda: stage(load_params(params, target_must_exist=False)))  # reads no target file


@app.command(cls=OnceEachCommand)
def prepare(params: Path = PARAMS_OPTION):
    """Stage 1: articles + registry + gold labels -> data/prepared/{train,test}.parquet."""
    from pipeline.stages.prepare import prepare as stage

    run_stage(lambda: stage(load_params(params)))


@app.command(cls=OnceEachCommand)
def train(params: Path = PARAMS_OPTION):
    """Stage 2: fit the classifier, save models/model.skops."""
    from pipeline.stages.train import train as stage

    run_stage(lambda: stage(load_params(params)))


@app.command(cls=OnceEachCommand)
def finetune(params: Path = PARAMS_OPTION):
    """Stage 2b, opt-in (finetune.enabled): MiniLM fine-tuned on the pairs -> models/finetuned/ (needs the embeddings extra)."""
    from pipeline.stages.finetune import finetune as stage

    run_stage(lambda: stage(load_params(params)))


@app.command(cls=OnceEachCommand)
def evaluate(params: Path = PARAMS_OPTION):
    """Stage 3: metrics, baselines, grouped CV, behavioural suite, confusion matrices, model card."""
    from pipeline.stages.evaluate import evaluate as stage

    run_stage(lambda: stage(load_params(params)))


@app.command(cls=OnceEachCommand)
def agreement(params: Path = PARAMS_OPTION):
    """Cohen's kappa of the target's labelling passes; fails unless its labels.csv is their consensus or adjudication."""
    from pipeline.annotation.adjudication import agreement as check

    run_stage(lambda: check(load_params(params)))


@app.command(cls=OnceEachCommand)
def score(
    inputs: list[str] = typer.Argument(
        ...,
        help=".txt, .jsonl (or .ndjson) or .parquet files, or folders: a folder's .txt files, or if it has none its .jsonl, .ndjson and .parquet files (linked folders inside are named, not followed); - reads JSONL from stdin.",
    ),
    model: str = typer.Option("models/model.skops", help="Model file written by `dvc repro`."),
    output: str | None = typer.Option(None, help="Pair rows: .jsonl, .csv or .parquet (default: JSONL on stdout)."),
    summary: str | None = typer.Option(None, help="One row per (article, actor): .jsonl, .csv or .parquet."),
    workers: int = typer.Option(1, min=1, help="Score in N processes; the output order is the same."),
    id_field: str = typer.Option("id", help="JSONL field or Parquet column holding the article id."),
    text_field: str = typer.Option("text", help="JSONL field or Parquet column holding the article text."),
    fail_fast: bool = typer.Option(False, help="Stop with exit 1 at the first bad input."),
    max_article_chars: int = typer.Option(
        MAX_ARTICLE_CHARS,
        min=1,
        max=10**12,  # read in bytes, 4 per character, where Python's sizes end near 2**63
        help="Skip longer articles (scraping accidents).",
    ),
    dask: str | None = typer.Option(
        None,
        help="Score on Dask: a scheduler address, or local[:N] for a local "
        "cluster; --output is then a folder of Parquet parts.",
    ),
    explain: int = typer.Option(
        0,
        "--explain",
        metavar="K",
        min=0,
        help="Add to each pair row the K features that pushed most toward its stance, with their "
        "contributions to the linear score (an `explanation` column); a K past the features that "
        "pushed toward it goes on to those that pushed against it (negative), every feature at most.",
    ),
    min_confidence: float = typer.Option(
        0.0,
        "--min-confidence",
        metavar="P",
        min=0.0,
        max=1.0,
        help="Label pairs whose confidence (a calibrated probability) is below P `uncertain`; "
        "the summary counts them in n_uncertain.",
    ),
):
    """Score new articles. Exit 0: all scored; 3: some input skipped (named on stderr); 1: run stopped."""
    from pipeline.scoring.pool import MAX_WORKERS_PER_CPU, available_cpus, pool_context, worker_limit

    if dask is not None and workers != 1:
        # The cluster's workers do the scoring; a pool beside them would only sit idle.
        raise typer.BadParameter(
            "not used with --dask: give local:N, or the cluster's own workers", param_hint="'--workers'"
        )
    if workers > (limit := worker_limit()) and dask is None:
        # Each worker holds the model (about 0.2 GB at its peak): thousands of them fill the memory.
        raise typer.BadParameter(
            f"{workers} processes would share {available_cpus()} CPUs; give at most "
            f"{limit} ({MAX_WORKERS_PER_CPU} per CPU)",
            param_hint="'--workers'",
        )
    if workers > 1 and dask is None:
        import contextlib

        # The workers' server imports while this process does. Best effort: if it cannot start
        # (an OSError), the run tries again inside run_stage, which reports it in one line.
        with contextlib.suppress(OSError):
            pool_context(None if explain else model)
    from pipeline.scoring import scorer as scoring
    from pipeline.scoring.outputs import output_problem

    for option, path in (("--output", output), ("--summary", summary)):
        if path is not None and dask is None and (problem := output_problem(path)):
            raise typer.BadParameter(problem, param_hint=f"'{option}'")
    try:
        if dask is not None and (explain or min_confidence):
            raise typer.BadParameter("--explain and --min-confidence are not available with --dask yet")
        if dask is not None and summary:
            raise typer.BadParameter(
                "not used with --dask: the summary rows are --output's summary/ parts", param_hint="'--summary'"
            )
        if dask is not None:
            from pipeline.scoring.dask_runner import address_problem, run_dask

            if problem := address_problem(dask):
                raise typer.BadParameter(problem, param_hint="'--dask'")

            code = run_stage(run_dask, inputs, dask, output, model, id_field, text_field, fail_fast, max_article_chars)
        else:
            code = run_stage(
                scoring.run_score,
                inputs,
                model,
                output,
                summary,
                workers,
                id_field,
                text_field,
                fail_fast,
                max_article_chars,
                explain_top=explain,
                min_confidence=min_confidence,
            )
    except scoring.NoOutputWritten as stop:
        print(shown(f"error: {stop.reason}; {stop.outcome}"), file=sys.stderr)
        if isinstance(stop, scoring.ReaderQuit):
            _stdout_closed()
        raise SystemExit(scoring.EXIT_ERROR) from None
    raise SystemExit(code)


@app.command(cls=OnceEachCommand)
def report(
    inputs: list[str] = typer.Argument(
        ..., help="Pair and/or summary rows of `stance score` (.jsonl, .csv, .parquet), or a --dask output folder."
    ),
    output: str = typer.Option(..., help="The page to write: one self-contained .html file."),
    evidence: int = typer.Option(5, min=1, help="Evidence sentences shown per actor."),
    target: str = typer.Option(
        None, help="The target's folder (its name, registry and cue lexicon); default: params.yaml's data.target."
    ),
    params: Path = PARAMS_OPTION,
):
    """An HTML report that opens offline: stances per actor, over time (with dates), strongest evidence."""
    from pipeline.reporting.page import write_report

    if target is None:
        if not params.is_file():
            print(f"error: {params}: file not found; run in the project folder or give --target", file=sys.stderr)
            raise SystemExit(EXIT_ERROR)
        target = run_stage(load_params, params).data.target
    articles, actor_count = run_stage(write_report, inputs, output, target, evidence)
    print(shown(f"report of {articles} articles and {actor_count} actors written to {output}"), file=sys.stderr)


label_app = typer.Typer(
    no_args_is_help=True,
    help="The annotation loop: export the pairs most worth labelling, import passes, agree, merge into the gold.",
)
app.add_typer(label_app, name="label")


@label_app.command("export", cls=OnceEachCommand)
def label_export(
    inputs: list[str] = typer.Argument(
        ..., help="Articles, as for `stance score`: .txt files, folders, .jsonl or .parquet."
    ),
    n: int = typer.Option(..., "--n", min=1, help="How many pairs to export."),
    output: str = typer.Option(..., help=".csv (a spreadsheet) or .json (Label Studio tasks + .label_config.xml)."),
    model: str = typer.Option("models/model.skops", help="Model file written by `dvc repro`."),
    per_actor: int = typer.Option(2, min=1, help="At most this many pairs per (article, actor)."),
    id_field: str = typer.Option("id", help="JSONL field or Parquet column holding the article id."),
    text_field: str = typer.Option("text", help="JSONL field or Parquet column holding the article text."),
    params: Path = PARAMS_OPTION,
):
    """The N unlabelled pairs the model is least sure of, spread across articles; stores their articles."""
    from pipeline.annotation.export import export
    from pipeline.scoring.scorer import NoOutputWritten

    try:
        code = run_stage(lambda: export(load_params(params), inputs, n, output, model, per_actor, id_field, text_field))
    except NoOutputWritten as stop:
        print(shown(f"error: {stop.reason}; {stop.outcome}"), file=sys.stderr)
        raise SystemExit(EXIT_ERROR) from None
    raise SystemExit(code)


def _annotator_name(name: str) -> str:
    """The name becomes the pass's file name; one that cannot is a bad command-line value (exit 2), before any work."""
    from pipeline.annotation.store import name_problem

    problem = name_problem(name)
    if problem:
        raise typer.BadParameter(problem)
    return name


@label_app.command("import", cls=OnceEachCommand)
def label_import(
    file: str = typer.Argument(..., help="A filled export .csv, or Label Studio's JSON export (.json)."),
    annotator: str = typer.Option(
        ...,
        callback=_annotator_name,
        help="Who labelled it; the pass is <target>/annotation/passes/<annotator>.csv.",
    ),
    replace: bool = typer.Option(False, help="Replace this annotator's stored pass instead of adding to it."),
    params: Path = PARAMS_OPTION,
):
    """Validate every row (exit 1 and store nothing on any problem), store the pass, then show the agreement."""
    from pipeline.annotation.adjudication import agree
    from pipeline.annotation.passes import import_pass

    loaded = run_stage(load_params, params)
    run_stage(lambda: import_pass(loaded, file, annotator, replace))
    run_stage(lambda: agree(Path(loaded.data.passes), Path(loaded.data.disagreements)))


@label_app.command("agree", cls=OnceEachCommand)
def label_agree(params: Path = PARAMS_OPTION):
    """Cohen's kappa between the passes; writes <target>/annotation/disagreements.csv with a blank `final` column."""
    from pipeline.annotation.adjudication import agree

    loaded = run_stage(load_params, params)
    run_stage(lambda: agree(Path(loaded.data.passes), Path(loaded.data.disagreements)))


@label_app.command("merge", cls=OnceEachCommand)
def label_merge(params: Path = PARAMS_OPTION):
    """Append agreed and adjudicated labels to the gold file; refused while a disagreement is unsettled."""
    from pipeline.annotation.adjudication import merge

    run_stage(lambda: merge(load_params(params)))


if __name__ == "__main__":
    app()
