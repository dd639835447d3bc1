"""The real pipeline, end to end, in a temporary clone."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml
from conftest import ROOT, run
from datasets import Dataset

from pipeline.data.labels import LABELS


def test_repro_builds_every_output_and_is_then_up_to_date(built):
    for output in (
        "data/prepared/train.parquet",
        "data/prepared/test.parquet",
        "models/model.skops",
        "models/model.json",
        "metrics.json",
        "plots/confusion_test.csv",
        "plots/confusion_cv.csv",
        "plots/reliability_cv.csv",
        "plots/reliability_test.csv",
        "reports/misclassified.csv",
        "reports/test_predictions.csv",
    ):
        assert (built / output).stat().st_size > 0, output
    assert "up to date" in run(["dvc", "status"], built).stdout
    again = run(["dvc", "repro"], built).stdout
    assert "Running stage" not in again


def outputs_in_lock(lock: Path) -> dict[str, str]:
    """Every stage output recorded in a dvc.lock, with its md5 (a directory's is over its listing)."""
    stages = yaml.safe_load(lock.read_text(encoding="utf-8"))["stages"]
    return {out["path"]: out["md5"] for stage in stages.values() for out in stage.get("outs", [])}


def test_a_run_from_scratch_reproduces_the_committed_outputs_byte_for_byte(built):
    """`built` and the committed outputs come from two runs from scratch (on other machines, at
    other times): every output, the model and the prepared data included, has the same bytes."""
    for committed in (
        "metrics.json",
        "plots/confusion_test.csv",
        "plots/confusion_cv.csv",
        "plots/reliability_cv.csv",
        "plots/reliability_test.csv",
        "models/MODEL_CARD.md",
    ):
        assert (built / committed).read_bytes() == (ROOT / committed).read_bytes(), committed
    for report in ("misclassified", "test_predictions", "behaviour_failures"):
        assert (built / f"reports/{report}.csv").read_bytes() == (ROOT / f"reports/{report}.csv").read_bytes()
    rebuilt, committed = outputs_in_lock(built / "dvc.lock"), outputs_in_lock(ROOT / "dvc.lock")
    assert {"models/model.skops", "data/prepared", "metrics.json"} <= set(rebuilt)
    assert rebuilt == committed


@pytest.mark.skipif(platform.machine().lower() not in ("x86_64", "amd64"), reason="x86-64's kernels and code paths")
def test_numpy_and_scipy_run_the_same_kernels_and_code_paths_on_every_x86_64_cpu():
    """The model's bytes depend on OpenBLAS's kernels and numpy's code paths (README: Reproducible to
    the byte), which they pick by CPU: the package pins them before numpy loads, in a new interpreter
    and in this one (conftest imports the package first), unless the user chose."""
    probe = (
        "import os, pipeline, numpy, scipy.linalg, threadpoolctl; "
        "print(sorted(i['architecture'] for i in threadpoolctl.threadpool_info() if i['internal_api'] == 'openblas'), "
        "os.environ['NPY_DISABLE_CPU_FEATURES'])"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "NPY_DISABLE_CPU_FEATURES")}

    def probed(**chosen) -> str:
        result = subprocess.run([sys.executable, "-c", probe], env={**env, **chosen}, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    assert probed() == "['Nehalem', 'Nehalem'] X86_V4 AVX512_ICL AVX512_SPR"
    assert probed(OPENBLAS_CORETYPE="Sandybridge", NPY_DISABLE_CPU_FEATURES="") == "['Sandybridge', 'Sandybridge']"
    import scipy.linalg  # noqa: F401  (loads scipy's OpenBLAS here too)
    import threadpoolctl

    here = [i["architecture"] for i in threadpoolctl.threadpool_info() if i["internal_api"] == "openblas"]
    assert here and set(here) == {"Nehalem"}


# Records each top-level module in the order first imported, then runs a script's module level as
# `python SCRIPT` would (its folder first on the path), but not its main: run_name is not "__main__".
IMPORT_ORDER_PROBE = """
import os, runpy, sys
sys.path.insert(0, os.path.dirname(sys.argv[1]))
order = []
class Recorder:
    def find_spec(self, name, path=None, target=None):
        if "." not in name and name not in order:
            order.append(name)
sys.meta_path.insert(0, Recorder())
runpy.run_path(sys.argv[1], run_name="imported")
print(" ".join(order))
"""


@pytest.mark.parametrize("script", sorted(p.name for p in (ROOT / "benchmarks").glob("*.py")))
def test_every_benchmark_script_imports_the_package_before_numpy(script):
    """A numpy loaded before the package keeps the CPU's kernels, so a benchmark's own fits would
    give other bytes on another CPU (README: Reproducible to the byte)."""
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_ORDER_PROBE, str(ROOT / "benchmarks" / script)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    order = result.stdout.split()
    assert "pipeline" in order
    assert "numpy" not in order or order.index("pipeline") < order.index("numpy"), order


def test_the_model_card_dates_the_real_articles_of_both_folders(built):
    """Seeds are dated by seeds/SOURCES.jsonl, the annotation loop's articles by the SOURCES.jsonl beside them."""
    dates = {}
    for sources in ("seeds/SOURCES.jsonl", "data/targets/nato-tokyo-office/annotation/articles/SOURCES.jsonl"):
        for line in (built / sources).read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            dates[record["id"]] = record.get("date")
    rows = [
        r for split in ("train", "test") for r in pq.read_table(built / f"data/prepared/{split}.parquet").to_pylist()
    ]
    real = {r["article_id"] for r in rows if r["origin"] == "real"}
    stored = real - {p.stem for p in (built / "seeds").glob("*.txt")}
    assert stored and all(dates.get(article) for article in stored)  # the loop's articles are in, and dated
    known = sorted(dates[article] for article in real if dates.get(article))
    card = (built / "models/MODEL_CARD.md").read_text(encoding="utf-8")
    assert (
        f"Dates of the training articles: {known[0]} to {known[-1]} ({len(real) - len(known)} articles undated)" in card
    )


def test_metrics_are_read_by_dvc_and_beat_both_baselines(built):
    shown = json.loads(run(["dvc", "metrics", "show", "--json"], built).stdout)
    metrics = shown[""]["data"]["metrics.json"]["data"]
    cv = metrics["cv"]
    assert cv["model"]["macro_f1"] > cv["keyword_rule"]["macro_f1"] > cv["majority"]["macro_f1"]
    assert set(cv["model"]["per_class"]) == set(LABELS)
    assert sum(metrics["examples"]["per_class"].values()) == metrics["examples"]["train"] + metrics["examples"]["test"]
    committed = json.loads((ROOT / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["behaviour"]["all"] >= 0.95  # the behavioural suite ran and the model passes it
    assert metrics["behaviour"] == committed["behaviour"]
    assert {"negation", "two_actors_opposite", "place_mentions", "invariance"} <= set(metrics["behaviour"])


def test_prepared_data_is_a_datasets_table_with_a_classlabel(built):
    dataset = Dataset.from_parquet(str(built / "data/prepared/train.parquet"))
    assert dataset.features["label"].names == list(LABELS)
    for field in (
        "article_id",
        "sentence_index",
        "sentence",
        "actor",
        "mentions",
        "previous_sentence",
        "next_sentence",
    ):
        assert field in dataset.features
    row = dataset[0]
    for start, end in row["mentions"]:
        assert 0 <= start < end <= len(row["sentence"])


def test_no_article_or_near_duplicate_quote_crosses_the_split(built):
    train = pq.read_table(built / "data/prepared/train.parquet").to_pylist()
    test = pq.read_table(built / "data/prepared/test.parquet").to_pylist()
    assert not {r["article_id"] for r in train} & {r["article_id"] for r in test}
    assert not {r["cluster"] for r in train} & {r["cluster"] for r in test}
    # The Elysee quote reported by two outlets (seeds 003 and 004) links their articles into one cluster.
    clusters = {r["article_id"]: r["cluster"] for r in train + test}
    assert clusters["003_9b367d222f8a0a7e"] == clusters["004_fa446f48e3006721"]


def test_plots_are_rendered_by_dvc(built):
    result = run(["dvc", "plots", "show", "--json"], built)
    plots = json.loads(result.stdout)["data"]
    confusion = next(value for name, value in plots.items() if name.endswith("plots/confusion_cv.csv"))
    assert confusion[0]["type"] == "vega"
    values = confusion[0]["content"]["data"]["values"]
    assert {v["actual"] for v in values} == {"support", "oppose", "neutral"}


def test_a_missing_label_stops_prepare_with_one_line_naming_article_and_line(built, tmp_path):
    labels = (built / "data/targets/nato-tokyo-office/labels.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    removed = labels.pop(5)  # a pair of seed 000, whose sentences sit one per line
    (built / "data/targets/nato-tokyo-office/labels.csv").write_text("".join(labels), encoding="utf-8")
    try:
        result = run(["stance", "prepare"], built, check=False)
    finally:
        (built / "data/targets/nato-tokyo-office/labels.csv").write_text(
            "".join(labels[:5] + [removed] + labels[5:]), encoding="utf-8"
        )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    message = result.stderr.strip()
    assert message.count("\n") == 0
    assert message.startswith("error: seeds/000_5ea5e603efdd03d0.txt:")
    assert "no gold label" in message and "data/targets/nato-tokyo-office/labels.csv" in message


def test_calibration_figures_are_in_metrics_and_the_reliability_diagram_is_a_dvc_plot(built):
    metrics = json.loads((built / "metrics.json").read_text(encoding="utf-8"))
    calibration = metrics["calibration"]
    assert calibration["method"] == yaml.safe_load((built / "params.yaml").read_text())["train"]["calibration"]
    for split in ("cv", "test", "locked"):
        figures = calibration[split]
        assert 0 <= figures["brier"] <= 2 and 0 <= figures["ece"] <= 1 and figures["log_loss"] > 0
        assert figures["accuracy"] == metrics[split]["model"]["accuracy"]
        pairs = sum(c["examples"] for c in metrics[split]["model"]["per_class"].values())
        assert sum(c["predicted"] for c in figures["per_predicted_class"].values()) == pairs
    plots = json.loads(run(["dvc", "plots", "show", "--json"], built).stdout)["data"]
    reliability = next(value for name, value in plots.items() if name.endswith("plots/reliability_cv.csv"))
    bins = reliability[0]["content"]["data"]["values"]
    assert sum(int(b["pairs"]) for b in bins) == metrics["examples"]["train"] + metrics["examples"]["test"]
    assert all(0 <= float(b["accuracy"]) <= 1 and 0 < float(b["confidence"]) <= 1 for b in bins)
