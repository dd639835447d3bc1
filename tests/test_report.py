"""`stance report`: scored seeds -> one HTML page, checked in a real browser with the network off.

The seeds are scored through the real command: once as JSONL carrying their dates from
seeds/SOURCES.jsonl (some give the day, some only the month), once as plain .txt files
(no dates). The browser test loads the page in headless Chromium (Debian's package,
installed by .ci/run) over the DevTools protocol and checks that both charts drew one
bar per non-empty count and that the page asked for nothing but its own file.
"""

from __future__ import annotations

import collections
import csv
import json
import os
import re
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from chromium import Browser, available
from conftest import ROOT, run, target_folder

from pipeline.data.actors import ActorRegistry
from pipeline.features.lexicon import load_cue_lexicon
from pipeline.reporting.highlight import Highlighter, marked_html

SOURCES = {r["id"]: r for r in map(json.loads, (ROOT / "seeds/SOURCES.jsonl").read_text(encoding="utf-8").splitlines())}


def stance(*args: str, cwd: Path = ROOT):
    return run(["stance", *args], cwd, check=False)


@pytest.fixture(scope="module")
def scored(trained_model, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("scored")
    with open(folder / "dated.jsonl", "w", encoding="utf-8") as handle:
        for path in sorted((ROOT / "seeds").glob("*.txt")):
            record = {"id": path.stem, "text": path.read_text(encoding="utf-8")}
            if SOURCES.get(path.stem, {}).get("date"):
                record["date"] = SOURCES[path.stem]["date"]
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    model = ["--model", str(trained_model)]
    dated = stance(
        "score",
        str(folder / "dated.jsonl"),
        *model,
        "--output",
        str(folder / "pairs.parquet"),
        "--summary",
        str(folder / "summary.csv"),
    )
    assert dated.returncode == 0, dated.stderr
    undated = stance("score", str(ROOT / "seeds"), *model, "--output", str(folder / "undated.jsonl"))
    assert undated.returncode == 0, undated.stderr
    return folder


def summary_rows(scored: Path) -> list[dict]:
    with open(scored / "summary.csv", newline="", encoding="utf-8") as handle:
        return [row for row in csv.DictReader(handle) if row["actor"]]


def test_dates_travel_from_jsonl_into_pair_and_summary_rows(scored):
    pairs = pq.read_table(scored / "pairs.parquet").to_pylist()
    for row in [*pairs, *summary_rows(scored)]:
        assert (row["date"] or None) == SOURCES.get(row["article_id"], {}).get("date"), row["article_id"]
    dates = {row["date"] for row in pairs}
    assert any(d and len(d) == 10 for d in dates) and any(d and len(d) == 7 for d in dates)  # days and months
    undated = [json.loads(line) for line in (scored / "undated.jsonl").read_text(encoding="utf-8").splitlines()]
    assert undated and all(row["date"] is None for row in undated)


def test_a_date_that_is_not_iso_is_dropped_with_a_warning(trained_model, tmp_path):
    text = (ROOT / "seeds/t01_macron-tells-stoltenberg.txt").read_text(encoding="utf-8")
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({"id": "a", "text": text, "date": "9 July 2023"}) + "\n", encoding="utf-8")
    result = stance("score", str(source), "--model", str(trained_model), "--output", str(tmp_path / "o.jsonl"))
    assert result.returncode == 0
    assert f"warning: {source}:1: field 'date' is '9 July 2023', not an ISO date" in result.stderr
    assert all(json.loads(line)["date"] is None for line in (tmp_path / "o.jsonl").read_text().splitlines())


def test_a_parquet_date_of_bytes_or_a_megabyte_is_dropped_with_a_short_warning(trained_model, tmp_path):
    """A date cell of bytes that are not UTF-8 stopped the whole run with a traceback, and a megabyte
    pasted into a date came back whole in its warning; both are now that row's short warning."""
    text = (ROOT / "seeds/t01_macron-tells-stoltenberg.txt").read_text(encoding="utf-8")
    dates = pa.array([b"2024-01-01\xff", ("9" * 1_000_000).encode()], pa.binary()).view(pa.string())
    pq.write_table(pa.table({"id": ["a", "b"], "text": [text, text], "date": dates}), tmp_path / "feed.parquet")
    output = tmp_path / "o.jsonl"
    result = stance("score", str(tmp_path / "feed.parquet"), "--model", str(trained_model), "--output", str(output))
    assert result.returncode == 0, result.stderr
    warnings = result.stderr.splitlines()
    assert warnings[0] == (
        f"warning: {tmp_path / 'feed.parquet'}:1: column 'date' is '<bytes that are not UTF-8>', not an ISO date "
        "(YYYY-MM-DD or YYYY-MM); scored without a date"
    )
    assert warnings[1].endswith(
        "… (1000000 characters), not an ISO date (YYYY-MM-DD or YYYY-MM); scored without a date"
    )
    assert len(warnings) == 2 and len(result.stderr) < 500
    rows = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    assert {row["article_id"] for row in rows} == {"a", "b"} and all(row["date"] is None for row in rows)


# Per chart: the <svg> Plotly drew, and its bars that have an area (a zero count draws an empty path).
RENDERED = """new Promise(resolve => {
  const started = Date.now();
  const look = () => Object.fromEntries(["chart-actors", "chart-time"].map(id => {
    const chart = document.getElementById(id);
    if (!chart) return [id, null];
    const bars = [...chart.querySelectorAll(".trace.bars .point path")].filter(path => {
      const box = path.getBBox();
      return box.width > 0 && box.height > 0;
    });
    const ticks = [...chart.querySelectorAll(".ytick text")].map(t => t.textContent);
    return [id, {svg: chart.querySelectorAll("svg.main-svg").length, bars: bars.length, ticks: ticks}];
  }));
  (function poll() {
    const found = look();
    const drawn = Object.values(found).every(chart => chart && chart.bars > 0);
    if (drawn || Date.now() - started > 15000) resolve(found); else setTimeout(poll, 100);
  })();
})"""
EVIDENCE = """(() => {
  const items = [...document.querySelectorAll("ol.evidence li")];
  return {
    items: items.length,
    with_actor: items.filter(li => li.querySelector("mark.actor")).length,
    with_cue: items.filter(li => li.querySelector("mark.cue")).length,
    links_resolve: items.every(li => document.getElementById(li.querySelector("a.source").hash.slice(1))),
  };
})()"""


@pytest.fixture
def browser(tmp_path):
    if not available():
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed; .ci/run installs Debian's chromium package")
        pytest.skip("chromium is not installed (apt-get install chromium); CI installs it")
    profile = tmp_path / "profile"  # a new, empty profile: no cache, no history
    profile.mkdir()
    with Browser(profile) as opened:
        yield opened


def test_the_report_renders_offline_in_chromium_and_requests_nothing(scored, tmp_path, browser):
    report = tmp_path / "report.html"
    result = stance("report", str(scored / "pairs.parquet"), str(scored / "summary.csv"), "--output", str(report))
    assert result.returncode == 0, result.stderr
    with open(scored / "summary.csv", newline="", encoding="utf-8") as handle:
        articles = {row["article_id"] for row in csv.DictReader(handle)}  # those naming no actor too
    assert f"report of {len(articles)} articles and" in result.stderr

    tab = browser.open(report.as_uri())
    charts = browser.evaluate(tab, RENDERED)
    summary = summary_rows(scored)
    per_actor = collections.Counter((row["actor"], row["stance"]) for row in summary)
    over_time = collections.Counter((row["actor"], row["date"][:7], row["stance"]) for row in summary if row["date"])
    assert charts["chart-actors"]["svg"] >= 1 and charts["chart-time"]["svg"] >= 1
    assert charts["chart-actors"]["bars"] == len(per_actor)  # one bar per non-zero (actor, stance) count
    assert charts["chart-time"]["bars"] == len(over_time)  # per (actor, month, stance); some dates are months
    assert set(charts["chart-actors"]["ticks"]) == {actor for actor, _ in per_actor}
    evidence = browser.evaluate(tab, EVIDENCE)
    assert evidence["items"] > 0 and evidence["links_resolve"]
    assert evidence["with_actor"] == evidence["items"]  # every evidence sentence marks its actor
    assert evidence["with_cue"] > evidence["items"] / 2  # most name a stance cue of the lexicon
    assert browser.requested_urls(tab) == [report.as_uri()]

    # The check sees a page that does reach out (nothing leaves: the network is off).
    control = tmp_path / "control.html"
    control.write_text('<img src="http://report-check.invalid/pixel.png">', encoding="utf-8")
    tab = browser.open(control.as_uri())
    assert "http://report-check.invalid/pixel.png" in browser.requested_urls(tab)


def test_a_report_without_dates_says_so_and_still_shows_the_rest(scored, tmp_path):
    report = tmp_path / "report.html"
    result = stance("report", str(scored / "undated.jsonl"), "--output", str(report))
    assert result.returncode == 0, result.stderr
    page = report.read_text(encoding="utf-8")
    assert 'id="no-dates"' in page and 'id="chart-time"' not in page
    actors = {json.loads(line)["actor"] for line in (scored / "undated.jsonl").read_text(encoding="utf-8").splitlines()}
    assert 'id="chart-actors"' in page
    assert page.count('class="evidence"') + page.count("No sentence presents") == len(actors)  # a section each
    assert "<script src=" not in page and "<link " not in page  # nothing loaded from elsewhere
    # titled by the target of params.yaml, read from its description
    name = yaml.safe_load((ROOT / "data/targets/nato-tokyo-office/target.yaml").read_text(encoding="utf-8"))["name"]
    assert f"<h1>Stance toward {name}</h1>" in page


def body(page: str) -> str:
    """The page without its header, which names the input files."""
    return re.sub(r"<header>.*?</header>", "", page, flags=re.S)


def test_every_format_gives_the_same_page_and_the_same_bytes_twice(scored, tmp_path):
    pairs = pq.read_table(scored / "pairs.parquet").to_pylist()
    with open(tmp_path / "pairs.jsonl", "w", encoding="utf-8") as handle:
        handle.writelines(json.dumps(row) + "\n" for row in pairs)
    with open(tmp_path / "pairs.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(pairs[0]))
        writer.writeheader()
        writer.writerows(pairs)
    pages = []
    for _ in range(2):
        result = stance(
            "report", str(scored / "pairs.parquet"), str(scored / "summary.csv"), "--output", str(tmp_path / "r.html")
        )
        assert result.returncode == 0, result.stderr
        pages.append((tmp_path / "r.html").read_bytes())
    assert pages[0] == pages[1]
    for name in ("pairs.jsonl", "pairs.csv"):  # pair rows alone: the article stances come from the pairs
        result = stance("report", str(tmp_path / name), "--output", str(tmp_path / f"{name}.html"))
        assert result.returncode == 0, result.stderr
    assert body((tmp_path / "pairs.jsonl.html").read_text()) == body((tmp_path / "pairs.csv.html").read_text())
    assert body((tmp_path / "pairs.jsonl.html").read_text()) == body(pages[0].decode())


def test_rows_scored_with_min_confidence_report_their_uncertain_stance(trained_model, scored, tmp_path):
    result = stance(
        "score",
        str(scored / "dated.jsonl"),
        "--model",
        str(trained_model),
        "--min-confidence",
        "0.9",
        "--output",
        str(tmp_path / "pairs.jsonl"),
        "--summary",
        str(tmp_path / "summary.csv"),
    )
    assert result.returncode == 0, result.stderr
    summaries = list(csv.DictReader(open(tmp_path / "summary.csv", newline="", encoding="utf-8")))
    uncertain = [(r["article_id"], r["actor"]) for r in summaries if r["stance"] == "uncertain"]
    assert uncertain, "no (article, actor) had every pair below 0.9; raise --min-confidence"
    pages = {}
    for name, inputs in {"pairs": ["pairs.jsonl"], "both": ["pairs.jsonl", "summary.csv"]}.items():
        report = tmp_path / f"{name}.html"
        result = stance("report", *[str(tmp_path / i) for i in inputs], "--output", str(report))
        assert result.returncode == 0, result.stderr
        pages[name] = report.read_text(encoding="utf-8")
    # The pairs alone give the summary's article stances, uncertain ones too: one rule in both places.
    assert body(pages["pairs"]) == body(pages["both"])
    assert '"name":"uncertain"' in pages["pairs"] and "below <code>--min-confidence</code>" in pages["pairs"]
    plain = stance("report", str(scored / "undated.jsonl"), "--output", str(tmp_path / "plain.html"))
    assert plain.returncode == 0
    assert '"name":"uncertain"' not in (tmp_path / "plain.html").read_text(encoding="utf-8")  # no empty legend entry


def test_a_file_named_twice_counts_once(scored, tmp_path):
    rows = tmp_path / "rows"
    rows.mkdir()
    for name in ("undated.jsonl", "summary.csv"):
        shutil.copy(scored / name, rows / name)
    pages = []
    for inputs in ([rows / "undated.jsonl"], [rows / "undated.jsonl", rows / "undated.jsonl"], [rows]):
        result = stance("report", *map(str, inputs), "--output", str(tmp_path / "r.html"))
        assert result.returncode == 0, result.stderr
        pages.append((tmp_path / "r.html").read_text(encoding="utf-8"))
    assert pages[1] == pages[0]
    os.link(rows / "undated.jsonl", tmp_path / "hard.jsonl")  # the same file under another name
    linked = stance(
        "report", str(rows / "undated.jsonl"), str(tmp_path / "hard.jsonl"), "--output", str(tmp_path / "r.html")
    )
    assert linked.returncode == 0 and body((tmp_path / "r.html").read_text(encoding="utf-8")) == body(pages[0])
    lines = (rows / "undated.jsonl").read_text(encoding="utf-8").count("\n")
    assert f"{lines} scored (sentence, actor) pairs" in pages[0].replace("\n", " ")
    # The folder and a file inside it: that file's rows count once beside the other file's.
    again = stance("report", str(rows), str(rows / "undated.jsonl"), "--output", str(tmp_path / "r.html"))
    assert again.returncode == 0 and (tmp_path / "r.html").read_text(encoding="utf-8") == pages[2]
    assert f"{lines} scored (sentence, actor) pairs" in pages[2].replace("\n", " ")


def test_rows_saved_as_utf16_by_powershell_give_the_same_page(scored, tmp_path):
    for name in ("undated.jsonl", "summary.csv"):  # PowerShell's `>` writes UTF-16 with a mark and CRLF
        text = (scored / name).read_text(encoding="utf-8").replace("\n", "\r\n") if name.endswith("jsonl") else None
        text = text or (scored / name).read_text(encoding="utf-8")
        (tmp_path / name).write_bytes(text.encode("utf-16"))
    pages = {}
    for folder in (scored, tmp_path):
        result = stance(
            "report", str(folder / "undated.jsonl"), str(folder / "summary.csv"), "--output", str(tmp_path / "r.html")
        )
        assert result.returncode == 0, result.stderr
        pages[folder] = body((tmp_path / "r.html").read_text(encoding="utf-8"))
    assert pages[tmp_path] == pages[scored]


def test_rows_of_actors_the_target_does_not_know_stop_the_report(scored, tmp_path):
    # Rows scored for another story: one row's actor is no actor of this target's registry.
    rows = (scored / "undated.jsonl").read_text(encoding="utf-8").splitlines()
    other = [json.loads(row) for row in rows]
    other[4]["actor"] = "taiwan"
    (tmp_path / "other.jsonl").write_text("".join(json.dumps(row) + "\n" for row in other), encoding="utf-8")
    report = tmp_path / "report.html"
    result = stance("report", str(tmp_path / "other.jsonl"), "--output", str(report))
    assert result.returncode == 1 and not report.exists()
    assert result.stderr == (
        f"error: {tmp_path / 'other.jsonl'}:5: actor 'taiwan' is not in data/targets/nato-tokyo-office/actors.yaml; "
        "give the --target the rows were scored for, or score them again\n"
    )


@pytest.mark.e2e  # a Dask cluster
def test_a_dask_output_folder_gives_the_same_page(scored, trained_model, tmp_path):
    result = stance(
        "score",
        str(scored / "dated.jsonl"),
        "--model",
        str(trained_model),
        "--dask",
        "local:1",
        "--output",
        str(tmp_path / "out"),
    )
    assert result.returncode == 0, result.stderr
    assert stance("report", str(tmp_path / "out"), "--output", str(tmp_path / "dask.html")).returncode == 0
    assert (
        stance(
            "report", str(scored / "pairs.parquet"), str(scored / "summary.csv"), "--output", str(tmp_path / "one.html")
        ).returncode
        == 0
    )
    assert body((tmp_path / "dask.html").read_text()) == body((tmp_path / "one.html").read_text())
    refused = stance("report", str(tmp_path / "out"), "--output", str(tmp_path / "out/report.html"))
    assert refused.returncode == 1 and "--output is inside the input" in refused.stderr


def test_bad_inputs_are_one_line_errors_and_leave_an_earlier_report_intact(scored, tmp_path):
    report = tmp_path / "report.html"
    assert stance("report", str(scored / "undated.jsonl"), "--output", str(report)).returncode == 0
    before = report.read_bytes()
    lines = (scored / "undated.jsonl").read_text(encoding="utf-8").splitlines()
    (tmp_path / "broken.jsonl").write_text("\n".join([*lines[:2], lines[2][:40], *lines[3:]]) + "\n")
    (tmp_path / "bad_stance.jsonl").write_text(lines[0] + "\n" + lines[1].replace('"stance": "', '"stance": "x') + "\n")
    (tmp_path / "notes.txt").write_text("hello\n")
    sentence = json.loads(lines[1])["sentence"]
    (tmp_path / "surrogate.jsonl").write_text(
        lines[0] + "\n" + lines[1].replace(json.dumps(sentence), '"\\ud800"') + "\n"
    )
    (tmp_path / "nested.jsonl").write_text(lines[0] + "\n" + "[" * 100_000 + "]" * 100_000 + "\n")
    (tmp_path / "infinite.jsonl").write_text(
        lines[0] + "\n" + re.sub(r'"sentence_index": \d+', '"sentence_index": Infinity', lines[1]) + "\n"
    )
    rows = pq.read_table(scored / "pairs.parquet")
    bytes_cell = pa.array([b"x\xffy", *[s.encode() for s in rows.column("sentence").to_pylist()[1:]]]).view(pa.string())
    pq.write_table(
        rows.set_column(rows.column_names.index("sentence"), "sentence", bytes_cell), tmp_path / "bytes.parquet"
    )
    (tmp_path / "long.jsonl").write_text(
        lines[0] + "\n" + lines[1].replace("{", '{"n": ' + "9" * 4301 + ", ", 1) + "\n"
    )
    (tmp_path / "legacy.jsonl").write_bytes(
        (lines[0] + "\n" + lines[1].replace("{", "{\x92", 1) + "\n").encode("latin-1", "replace")
    )
    row0, row1 = json.loads(lines[0]), json.loads(lines[1])
    odd_rows = {
        "fraction.jsonl": [row0, {**row1, "sentence_index": 2.7}],  # int() would make it sentence 2
        "not_a_date.jsonl": [{**row0, "date": "2024-01-15 this is not a date"}],  # was cut to its first 10 characters
        "two_dates.jsonl": [
            {**row0, "date": "2024-01-15"},
            {**row1, "article_id": row0["article_id"], "sentence_index": 10_000, "date": "1999-05-05"},
        ],
    }
    for name, records in odd_rows.items():
        (tmp_path / name).write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    summary = (scored / "summary.csv").read_text(encoding="utf-8").splitlines()
    (tmp_path / "cut.csv").write_text("\n".join([*summary[:3], summary[3].rsplit(",", 2)[0]]) + "\n")
    (tmp_path / "extra.csv").write_text("\n".join([*summary[:2], summary[2] + ",1", *summary[3:]]) + "\n")
    fields = summary[0].split(",")
    negative = summary[1].split(",")
    negative[fields.index("pairs")] = "-5"
    (tmp_path / "negative.csv").write_text("\n".join([summary[0], ",".join(negative)]) + "\n")
    # A quote typed into a summary larger than the csv module's 128 KB field limit: it runs to the end.
    many = summary[1:] * (150_000 // len("".join(summary[1:])) + 1)
    (tmp_path / "stray_quote.csv").write_text("\n".join([summary[0], '"' + many[0], *many[1:]]) + "\n")
    extra_date = rows.append_column("crawled", pa.array([2_932_897] * rows.num_rows, pa.date32()))  # the year 10000
    pq.write_table(extra_date, tmp_path / "far_date.parquet")
    cases = {
        str(tmp_path / "missing.jsonl"): f"{tmp_path / 'missing.jsonl'}: no such file or folder",
        str(tmp_path / "broken.jsonl"): f"{tmp_path / 'broken.jsonl'}:3: not valid JSON",
        str(tmp_path / "bad_stance.jsonl"): f"{tmp_path / 'bad_stance.jsonl'}:2: stance 'x",
        str(
            ROOT / "data/targets/nato-tokyo-office/labels.csv"
        ): f"{ROOT / 'data/targets/nato-tokyo-office/labels.csv'}: no column 'sentence_index' for pair rows",
        str(tmp_path / "notes.txt"): f"{tmp_path / 'notes.txt'}: unknown format '.txt'",
        str(report): f"{report}: --output is the input",
        str(tmp_path / "surrogate.jsonl"): f"{tmp_path / 'surrogate.jsonl'}:2: an unpaired surrogate escape",
        str(tmp_path / "nested.jsonl"): f"{tmp_path / 'nested.jsonl'}:2: not valid JSON here (nested too deeply)",
        str(
            tmp_path / "infinite.jsonl"
        ): f"{tmp_path / 'infinite.jsonl'}:2: 'sentence_index' is inf; a number is expected",
        str(
            tmp_path / "bytes.parquet"
        ): f"{tmp_path / 'bytes.parquet'}:1: 'sentence' holds bytes that are not UTF-8, not text",
        str(tmp_path / "long.jsonl"): f"{tmp_path / 'long.jsonl'}:2: not read here: a number of more than 4,300 digits",
        str(tmp_path / "legacy.jsonl"): f"{tmp_path / 'legacy.jsonl'}:2: not UTF-8 (byte 0x92 at column 2)",
        str(
            tmp_path / "cut.csv"
        ): f"{tmp_path / 'cut.csv'}:4: {len(fields) - 2} fields where the header has {len(fields)}",
        str(
            tmp_path / "extra.csv"
        ): f"{tmp_path / 'extra.csv'}:3: {len(fields) + 1} fields where the header has {len(fields)}",
        str(tmp_path / "negative.csv"): f"{tmp_path / 'negative.csv'}:2: pairs -5 is negative",
        str(tmp_path / "stray_quote.csv"): f"{tmp_path / 'stray_quote.csv'}:{len(many) + 1}: 1 fields where the header "
        f"has {len(fields)}",
        str(
            tmp_path / "far_date.parquet"
        ): f"{tmp_path / 'far_date.parquet'}:1: 'crawled' holds a date or time Python cannot hold",
        str(tmp_path / "fraction.jsonl"): f"{tmp_path / 'fraction.jsonl'}:2: 'sentence_index' is 2.7; a whole number",
        str(tmp_path / "not_a_date.jsonl"): f"{tmp_path / 'not_a_date.jsonl'}:1: date '2024-01-15 this is not a date' "
        "is not an ISO date",
        str(tmp_path / "two_dates.jsonl"): f"{tmp_path / 'two_dates.jsonl'}:2: article {row0['article_id']!r} is dated "
        f"1999-05-05 here and 2024-01-15 at {tmp_path / 'two_dates.jsonl'}:1",
    }
    for source, message in cases.items():
        result = stance("report", source, "--output", str(report))
        assert result.returncode == 1, source
        assert result.stderr.startswith(f"error: {message}") and result.stderr.count("\n") == 1, result.stderr
        assert "Traceback" not in result.stderr
    wrong = stance("report", str(scored / "undated.jsonl"), "--output", str(tmp_path / "report.pdf"))
    assert wrong.returncode == 1 and "give --output a .html path" in wrong.stderr
    elsewhere = stance("report", str(scored / "undated.jsonl"), "--output", str(report), cwd=tmp_path)
    assert elsewhere.returncode == 1
    assert elsewhere.stderr == "error: params.yaml: file not found; run in the project folder or give --target\n"
    (tmp_path / "target").mkdir()
    missing = stance(
        "report", str(scored / "undated.jsonl"), "--output", str(report), "--target", str(tmp_path / "target")
    )
    assert missing.returncode == 1
    assert missing.stderr == (
        f"error: {tmp_path / 'target/target.yaml'}: file not found; "
        "run in the project folder or give the target's folder with --target\n"
    )
    assert report.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no temporary file left


def test_a_cell_longer_than_the_csv_modules_limit_is_read(trained_model, tmp_path):
    """An article id of 140,000 characters (a scraper's URL list, say) goes through `stance score` into CSV
    rows; the report read them with the csv module's 128 KB field limit and stopped with a traceback."""
    feed = tmp_path / "feed.jsonl"
    feed.write_text(json.dumps({"id": "x" * 140_000, "text": "France opposes the NATO office in Tokyo."}) + "\n")
    pairs, summary = tmp_path / "pairs.csv", tmp_path / "summary.csv"
    scored = stance(
        "score", str(feed), "--model", str(trained_model), "--output", str(pairs), "--summary", str(summary)
    )
    assert scored.returncode == 0, scored.stderr
    result = stance("report", str(pairs), str(summary), "--output", str(tmp_path / "report.html"))
    assert result.returncode == 0, result.stderr
    assert "x" * 1000 in (tmp_path / "report.html").read_text(encoding="utf-8")


def test_rows_read_twice_or_a_column_twice_are_one_line_errors_not_counted_again(scored, tmp_path):
    """A copy of a file, or two runs whose articles share ids, were counted twice or merged into one
    article without a word; a spreadsheet's own `stance` column silently replaced the scorer's."""
    report = tmp_path / "report.html"
    pairs = scored / "undated.jsonl"
    shutil.copy(pairs, tmp_path / "copy.jsonl")
    lines = pairs.read_text(encoding="utf-8").splitlines()
    first = json.loads(lines[0])
    other_run = tmp_path / "other_run.jsonl"  # another feed's article "1" is not the same article
    other_run.write_text(json.dumps({**first, "sentence": "Another text.", "stance": "support"}) + "\n")
    summary = (scored / "summary.csv").read_text(encoding="utf-8").splitlines()
    (tmp_path / "own_column.csv").write_text("\n".join([summary[0] + ",stance", *(r + ",oppose" for r in summary[1:])]))
    where = f"article {first['article_id']!r}, sentence {first['sentence_index']}, actor {first['actor']!r}"
    shutil.copy(scored / "summary.csv", tmp_path / "summary_copy.csv")
    with open(scored / "summary.csv", newline="", encoding="utf-8") as handle:
        first_summary = next(csv.DictReader(handle))
    twice_in_one = tmp_path / "twice_in_one.jsonl"  # a hand-made file: one row written twice
    twice_in_one.write_text(lines[0] + "\n" + lines[0] + "\n", encoding="utf-8")
    other_sentence = tmp_path / "other_sentence.jsonl"  # the other feed's article "1" names France elsewhere
    other_sentence.write_text(json.dumps({**first, "sentence_index": 10_000, "stance": "support"}) + "\n")
    # A row edited by hand with a second "stance" (json keeps the last without a word), or one spelt with an escape
    key_twice = tmp_path / "key_twice.jsonl"
    key_twice.write_text(lines[0][:-1] + ', "stance": "support"}\n', encoding="utf-8")
    escaped_twice = tmp_path / "escaped_twice.jsonl"
    escaped_twice.write_text(lines[0][:-1] + ', "st\\u0061nce": "support"}\n', encoding="utf-8")
    cases = {
        (str(pairs), str(tmp_path / "copy.jsonl")): f"{tmp_path / 'copy.jsonl'}:1: article {first['article_id']!r} "
        f"has pairs rows at {pairs}:1 too",
        (str(pairs), str(other_run)): f"{other_run}:1: article {first['article_id']!r} has pairs rows at {pairs}:1 too",
        (str(pairs), str(other_sentence)): f"{other_sentence}:1: article {first['article_id']!r} has pairs rows at "
        f"{pairs}:1 too",
        (str(twice_in_one),): f"{twice_in_one}:2: the row of {where} again (first at line 1)",
        (str(scored / "summary.csv"), str(tmp_path / "summary_copy.csv")): f"{tmp_path / 'summary_copy.csv'}:2: "
        f"article {first_summary['article_id']!r} has summary rows at {scored / 'summary.csv'}:2 too",
        (str(tmp_path / "own_column.csv"),): f"{tmp_path / 'own_column.csv'}:1: the column 'stance' appears twice",
        (str(key_twice),): f"{key_twice}:1: the field 'stance' appears twice",
        (str(escaped_twice),): f"{escaped_twice}:1: the field 'stance' appears twice",
    }
    for sources, message in cases.items():
        result = stance("report", *sources, "--output", str(report))
        assert result.returncode == 1 and result.stderr.count("\n") == 1, result.stderr
        assert result.stderr.startswith(f"error: {message}") and "Traceback" not in result.stderr
        assert not report.exists()
    assert stance("report", str(pairs), str(scored / "summary.csv"), "--output", str(report)).returncode == 0
    # A spreadsheet's blank columns past the data (a header ending in ",,") are no column given twice
    (tmp_path / "blank_columns.csv").write_text("\n".join(r + ",," for r in summary) + "\n", encoding="utf-8")
    assert stance("report", str(tmp_path / "blank_columns.csv"), "--output", str(report)).returncode == 0


def test_pair_rows_and_summary_rows_of_two_runs_that_disagree_are_refused(scored, trained_model, tmp_path):
    """The page takes an article's stance from its summary row and its evidence from its pair rows:
    rows of two runs (another --min-confidence, a summary edited since) would tell two stories."""
    report, pairs = tmp_path / "report.html", scored / "undated.jsonl"
    with open(scored / "summary.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    line, first = next((n, r) for n, r in enumerate(rows, start=2) if r["actor"] and r["stance"] != "mixed")
    where = f"the summary row of article {first['article_id']!r}, actor {first['actor']!r}"

    def summary_with(name: str, edited: list[dict]) -> Path:
        path = tmp_path / name
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(edited)
        return path

    flipped = "support" if first["stance"] != "support" else "oppose"
    edited_stance = summary_with("stance.csv", [r if r is not first else {**r, "stance": flipped} for r in rows])
    edited_count = summary_with("count.csv", [r if r is not first else {**r, "pairs": "99"} for r in rows])
    without_actor = summary_with("without.csv", [r for r in rows if r is not first])
    real = f"{first['pairs']} pairs, {first['stance']}"
    cases = {
        edited_stance: f"{edited_stance}:{line}: {where} says {first['pairs']} pairs, {flipped}, but the pair rows "
        f"give {real}",
        edited_count: f"{edited_count}:{line}: {where} says 99 pairs, {first['stance']}, but the pair rows give {real}",
        without_actor: f"actor {first['actor']!r} of article {first['article_id']!r} has no summary row",
    }
    for summary, message in cases.items():
        result = stance("report", str(pairs), str(summary), "--output", str(report))
        assert result.returncode == 1 and result.stderr.count("\n") == 1, result.stderr
        assert message in result.stderr and "give the --output and --summary of one run" in result.stderr
        assert not report.exists()
    assert stance("report", str(pairs), str(without_actor), "--output", str(report)).stderr.startswith(
        f"error: {pairs}:"
    )
    # Another run of the same articles, most pairs below --min-confidence: its pair rows say uncertain
    sure_only = tmp_path / "sure_only.jsonl"
    args = ["score", str(ROOT / "seeds"), "--model", str(trained_model), "--min-confidence", "0.99"]
    assert stance(*args, "--output", str(sure_only)).returncode == 0
    other_run = stance("report", str(sure_only), str(scored / "summary.csv"), "--output", str(report))
    assert other_run.returncode == 1 and "but the pair rows give" in other_run.stderr, other_run.stderr
    assert not report.exists()
    # The pairs and summary of one run agree, and so do two runs with the same model and options
    assert stance("report", str(pairs), str(scored / "summary.csv"), "--output", str(report)).returncode == 0


def test_a_frame_role_naming_no_actor_of_the_registry_stops_the_report(scored, tmp_path):
    body = (ROOT / "data/targets/nato-tokyo-office/cues.yaml").read_text(encoding="utf-8")
    body = body[: body.index("frame_roles:\n")]
    (tmp_path / "cues.yaml").write_text(body + "frame_roles:\n  host: [tokyo]\n", encoding="utf-8")
    folder = target_folder(tmp_path / "target", cues=tmp_path / "cues.yaml")
    report = tmp_path / "report.html"
    result = stance("report", str(scored / "undated.jsonl"), "--output", str(report), "--target", folder)
    assert result.returncode == 1 and "Traceback" not in result.stderr and not report.exists()
    line = body.count("\n") + 2
    assert result.stderr.startswith(f"error: {folder}/cues.yaml:{line}: frame_roles: host: 'tokyo' is not an actor")
    assert result.stderr.count("\n") == 1, result.stderr


def test_the_deciding_words_come_from_the_explanation_when_the_rows_carry_one():
    highlighter = Highlighter(
        ActorRegistry.load(ROOT / "data/targets/nato-tokyo-office/actors.yaml"),
        load_cue_lexicon(ROOT / "data/targets/nato-tokyo-office/cues.yaml"),
    )
    sentence = "France objected to the plan, but Japan welcomed the office."
    lexicon = marked_html(sentence, highlighter.spans(sentence, "france"))
    assert '<mark class="actor" title="mention of france">France</mark>' in lexicon
    assert re.search(r'<mark class="cue" title="oppose cue[^"]*">objected</mark>', lexicon)
    assert "Japan</mark>" not in lexicon  # Japan is not this pair's actor
    explanation = [
        {"feature": "words__objected to", "contribution": 0.8},
        {"feature": "words__plan", "contribution": -0.3},  # against the prediction: not marked
        {"feature": "cues__oppose_holder", "contribution": 1.2},  # not words of the sentence
    ]
    explained = marked_html(sentence, highlighter.spans(sentence, "france", explanation))
    assert re.search(r'<mark class="cue" title="words__objected to: \+0.8[^"]*">objected to</mark>', explained)
    assert explained.count('class="cue"') == 1
    assert marked_html("<b> & France", highlighter.spans("<b> & France", "france")).startswith("&lt;b&gt; &amp; ")
