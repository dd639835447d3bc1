"""Reading params.yaml: the one place every knob of the pipeline lives."""

from __future__ import annotations

from pathlib import Path

import yaml

from pipeline.datafiles import DataError, read_text_file

DEFAULT_PARAMS = Path("params.yaml")


def load_params(path: str | Path = DEFAULT_PARAMS) -> dict:
    try:
        params = yaml.safe_load(read_text_file(path))
    except yaml.YAMLError as err:
        raise DataError(path, None, f"invalid YAML: {err}") from None
    if not isinstance(params, dict):
        raise DataError(path, None, "params file must be a mapping of sections (data, prepare, train, evaluate)")
    return params
