"""The `stance` command: the pipeline's stages and the scorer, thin over plain functions."""

from __future__ import annotations

import sys
from typing import Callable

import typer

from pipeline.datafiles import DataError

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Actor stance toward the proposed NATO liaison office in Tokyo.")


def run_stage(main: Callable, *args, **kwargs):
    """Run a stage; an expected error is one line on stderr and exit 1, never a traceback."""
    try:
        return main(*args, **kwargs)
    except DataError as err:
        print(f"error: {err}", file=sys.stderr)
        raise SystemExit(1) from None
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        raise SystemExit(130) from None


@app.command()
def prepare(params: str = typer.Option("params.yaml", help="Params file.")):
    """Stage 1: articles + registry + gold labels -> data/prepared/{train,test}.parquet."""
    from pipeline import prepare as stage

    run_stage(stage.main, params)


@app.command()
def train(params: str = typer.Option("params.yaml", help="Params file.")):
    """Stage 2: fit the classifier, save models/model.skops."""
    from pipeline import train as stage

    run_stage(stage.main, params)


@app.command()
def evaluate(params: str = typer.Option("params.yaml", help="Params file.")):
    """Stage 3: metrics, baselines, grouped CV, behavioural suite, confusion matrix."""
    from pipeline import evaluate as stage

    run_stage(stage.main, params)
