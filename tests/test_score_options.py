"""What an analyst relies on: `uncertain` below --min-confidence, provenance on every output,
exit codes scripts can trust, `--version` and `-h`."""

from __future__ import annotations

import csv
import hashlib
import json
import math
import os
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from conftest import ROOT, run, unboxed
from test_score import read_jsonl, stance
from threadpoolctl import threadpool_info

import pipeline.files as files
from pipeline.data.labels import LABELS
from pipeline.errors import EXIT_CODES, DataError
from pipeline.scoring.outputs import SUMMARY_SCHEMA, row_writer, row_writers

ARTICLES = ROOT / "seeds"


def test_min_confidence_labels_only_the_pairs_below_it_uncertain(trained_model, tmp_path):
    plain, summary = tmp_path / "plain.jsonl", tmp_path / "s.jsonl"
    assert stance(trained_model, str(ARTICLES), "--output", str(plain)).returncode == 0
    rows = read_jsonl(plain)
    threshold = sorted(r["confidence"] for r in rows)[len(rows) // 4]  # a real quarter of the pairs falls below
    result = stance(
        trained_model, str(ARTICLES), "--min-confidence", str(threshold), "--output", str(tmp_path / "u.jsonl"),
        "--summary", str(summary),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    marked = read_jsonl(tmp_path / "u.jsonl")
    assert len(marked) == len(rows)
    uncertain = 0
    for before, after in zip(rows, marked):
        if before["confidence"] < threshold:
            uncertain += 1
            assert after["stance"] == "uncertain"
        else:
            assert after["stance"] == before["stance"] in LABELS
        assert {k: v for k, v in after.items() if k != "stance"} == {k: v for k, v in before.items() if k != "stance"}
    assert uncertain > 0
    entries = read_jsonl(summary)
    assert sum(e["n_uncertain"] for e in entries) == uncertain
    for entry in entries:  # counted apart: the stance counts and n_uncertain add up to the pairs
        assert entry["pairs"] == sum(entry[f"n_{label}"] for label in LABELS) + entry["n_uncertain"]


def test_every_output_carries_the_models_sha256_version_labels_and_feature_version(trained_model, tmp_path):
    digest = hashlib.sha256(trained_model.read_bytes()).hexdigest()
    article = str(ARTICLES / "000_5ea5e603efdd03d0.txt")
    for suffix in ("jsonl", "csv", "parquet"):
        result = stance(
            trained_model, article, "--min-confidence", "0.5", "--output", str(tmp_path / f"o.{suffix}"),
            "--summary", str(tmp_path / f"s.{suffix}"),
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
    records = [
        json.loads((tmp_path / f"{name}.{suffix}.meta.json").read_text())
        for name in "os"
        for suffix in ("jsonl", "csv")
    ]
    records += [
        json.loads(pq.read_schema(tmp_path / f"{name}.parquet").metadata[b"stance"]) for name in "os"
    ]  # fmt: skip
    assert not (tmp_path / "o.parquet.meta.json").exists()  # Parquet carries it inside
    metadata = json.loads(trained_model.with_suffix(".json").read_text())
    for record in records:
        assert record == records[0]
        assert record["model_sha256"] == digest
        assert record["labels"] == list(LABELS)
        assert record["feature_version"] == metadata["feature_version"]
        assert record["package_version"] == run(["stance", "--version"], ROOT).stdout.split()[-1]
        assert record["model_params"]["calibration"] == metadata["params"]["calibration"]
        assert record["options"] == {"explain_top": 0, "min_confidence": 0.5}
    with open(tmp_path / "o.csv", newline="", encoding="utf-8") as handle:  # the CSV itself stays plain rows
        assert next(csv.reader(handle))[0] == "article_id"


def test_exit_codes_tell_skipped_input_from_usage_errors_and_are_documented(trained_model, tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("", encoding="utf-8")
    article = str(ARTICLES / "000_5ea5e603efdd03d0.txt")
    skipped = stance(trained_model, article, str(empty), "--output", str(tmp_path / "o.jsonl"))
    assert skipped.returncode == 3 and "skipped" in skipped.stderr
    assert read_jsonl(tmp_path / "o.jsonl")  # the good article was still scored
    usage = stance(trained_model, article, "--min-confidence", "1.5")
    assert usage.returncode == 2 and "Traceback" not in usage.stderr
    helped = run(["stance", "-h"], ROOT)
    assert "Exit codes" in helped.stdout
    for code in EXIT_CODES:
        assert f"{code}: " in helped.stdout
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert all(f"| {code} |" in readme for code in EXIT_CODES)


def test_an_option_given_twice_is_a_usage_error_before_anything_is_written(trained_model, tmp_path):
    """click keeps the last of a repeated option without a word: `--output a --output b` wrote b alone."""
    article = str(ARTICLES / "000_5ea5e603efdd03d0.txt")
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    refused = stance(trained_model, article, "--output", str(first), f"--output={second}")
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "--output is given more than once; give it once" in unboxed(refused.stderr)
    assert not first.exists() and not second.exists()
    flags = stance(trained_model, article, "--no-fail-fast", "--fail-fast", "--output", str(first))
    assert flags.returncode == 2 and "--fail-fast/--no-fail-fast is given more than once" in unboxed(flags.stderr)
    workers = stance(trained_model, article, "--workers", "2", "--workers", "2", "--output", str(first))
    assert workers.returncode == 2 and "--workers is given more than once" in unboxed(workers.stderr)
    assert not first.exists()
    export = ["stance", "label", "export", article, "--model", str(trained_model), "--n", "3", "--n", "4"]
    refused = run([*export, "--output", str(tmp_path / "x.csv")], ROOT, check=False)
    assert refused.returncode == 2 and "--n is given more than once" in unboxed(refused.stderr)
    assert not (tmp_path / "x.csv").exists()
    # Each option once, and an input after `--` that is spelt like one, run.
    named_like_an_option = tmp_path / "--output"
    named_like_an_option.write_text(Path(article).read_text(encoding="utf-8"), encoding="utf-8")
    once = stance(trained_model, "--output", str(first), "--", "--output", cwd=tmp_path)
    assert once.returncode == 0, once.stderr
    assert {row["article_id"] for row in read_jsonl(first)} == {"--output"}


def test_version_and_short_help_work_everywhere():
    version = run(["stance", "--version"], ROOT)
    assert version.stdout.startswith("stance ") and version.stdout.split()[1][0].isdigit()
    assert "--explain" in run(["stance", "score", "-h"], ROOT).stdout


def test_a_jsonl_output_whose_rename_fails_keeps_its_earlier_rows_and_sidecar(tmp_path, monkeypatch):
    """The sidecar is renamed with its output: never a new run's provenance beside an earlier run's rows."""
    output = tmp_path / "s.jsonl"
    output.write_text('{"earlier": "rows"}\n', encoding="utf-8")
    sidecar = tmp_path / "s.jsonl.meta.json"
    sidecar.write_text('{"earlier": "provenance"}\n', encoding="utf-8")
    real_replace = os.replace

    def replace(source, destination):  # the output is renamed first, then its sidecar: refuse the sidecar's
        if str(destination) == str(sidecar) and Path(source).name.startswith(".s.jsonl.meta.json."):
            raise PermissionError(13, "Permission denied", str(source))
        real_replace(source, destination)

    monkeypatch.setattr(files.os, "replace", replace)
    with pytest.raises(DataError) as raised:
        with row_writer(str(output), SUMMARY_SCHEMA, {"model_sha256": "new"}) as write:
            write([{"article_id": "a", "actor": "japan"}])
    assert str(raised.value) == f"{sidecar}: could not be written (permission denied); the previous files are unchanged"
    assert output.read_text(encoding="utf-8") == '{"earlier": "rows"}\n'
    assert sidecar.read_text(encoding="utf-8") == '{"earlier": "provenance"}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.jsonl", "s.jsonl.meta.json"]


def test_pairs_and_summary_are_renamed_together_so_a_failed_summary_keeps_the_earlier_pairs(tmp_path, monkeypatch):
    """`stance score --output --summary`: never new pairs beside an earlier summary, or the reverse."""
    pairs, summary = tmp_path / "pairs.jsonl", tmp_path / "summary.csv"
    earlier = {pairs: '{"earlier": "pairs"}\n', summary: "earlier,summary\n"}
    for path, text in earlier.items():
        path.write_text(text, encoding="utf-8")
    real_replace, refused = os.replace, []

    def replace(source, destination):  # the summary's rename is refused once; putting its earlier file back is not
        if str(destination) == str(summary) and not refused:
            refused.append(source)
            raise PermissionError(13, "Permission denied", str(source))
        real_replace(source, destination)

    monkeypatch.setattr(files.os, "replace", replace)
    with pytest.raises(DataError) as raised:
        with row_writers([(str(pairs), SUMMARY_SCHEMA), (str(summary), SUMMARY_SCHEMA)], {"model": "new"}) as writes:
            for write in writes:
                write([{"article_id": "a", "actor": "japan"}])
    assert str(raised.value) == f"{summary}: could not be written (permission denied); the previous files are unchanged"
    assert {path: path.read_text(encoding="utf-8") for path in earlier} == earlier
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pairs.jsonl", "summary.csv"]  # no sidecar, no temporary


def readme_block(readme: str, after: str, kind: str) -> str:
    """The first ```KIND block that follows the line `after` in the README."""
    start = readme.index(f"```{kind}\n", readme.index(after)) + len(f"```{kind}\n")
    return readme[start : readme.index("```", start)]


def same_to_1e9(written, shown) -> bool:
    """Equal JSON values, numbers within a relative 1e-9."""
    if isinstance(written, dict) and isinstance(shown, dict):
        return written.keys() == shown.keys() and all(same_to_1e9(written[k], shown[k]) for k in written)
    if isinstance(written, list) and isinstance(shown, list):
        return len(written) == len(shown) and all(same_to_1e9(a, b) for a, b in zip(written, shown))
    if isinstance(written, float) and isinstance(shown, float):
        return math.isclose(written, shown, rel_tol=1e-9)
    return written == shown


def test_the_readme_example_of_explain_and_provenance_is_what_the_command_writes(trained_model, tmp_path):
    """The README's first pair row, summary and sidecar, from its own command and the shipped data's model.

    Numbers to 1e-9; the model's hash where OpenBLAS runs the kernels the package pins (README:
    Reproducible to the byte), which the README's was built with."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    command = readme_block(readme, "### Why, how sure, and from which model", "bash").replace("\\\n", " ").split()
    assert command[:2] == ["stance", "score"]
    command = [str(ROOT / word) if word.startswith("seeds/") else word for word in command[2:]]
    result = stance(trained_model, *command, cwd=tmp_path)  # its outputs, relative, land in tmp_path
    assert result.returncode == 0, result.stderr
    output, summary = (
        tmp_path / command[command.index("--output") + 1],
        tmp_path / command[command.index("--summary") + 1],
    )
    assert same_to_1e9(
        read_jsonl(output)[0], json.loads(readme_block(readme, "The first row of the command above:", "json"))
    )

    def numbers(rows: list[dict]) -> list[dict]:
        return [{k: float(v) if k.startswith("mean_p_") else v for k, v in row.items()} for row in rows]

    shown = list(csv.DictReader(readme_block(readme, "The summary counts them apart:", "").splitlines()))
    with open(summary, newline="", encoding="utf-8") as handle:
        assert same_to_1e9(numbers(list(csv.DictReader(handle))), numbers(shown))
    sidecar = json.loads(Path(f"{output}.meta.json").read_text(encoding="utf-8"))
    documented = json.loads(readme_block(readme, "The sidecar of the run above", "json"))
    assert sidecar.keys() == documented.keys()
    kernels = {info.get("architecture") for info in threadpool_info() if info.get("internal_api") == "openblas"}
    if kernels == {"Nehalem"}:
        assert sidecar["model_sha256"] == documented["model_sha256"]
    assert {k: v for k, v in sidecar.items() if k != "model_sha256"} == {
        k: v for k, v in documented.items() if k != "model_sha256"
    }
