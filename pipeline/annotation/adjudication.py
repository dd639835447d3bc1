"""Agreement between the stored passes, adjudication of their disagreements, and the merge into the gold file.

- `agree`: Cohen's kappa for each pair of annotators over the pairs both labelled, and
  <target>/annotation/disagreements.csv: one row per pair that two passes label differently,
  a column per annotator and a blank `final` column. Finals already filled in are kept
  when the file is written again.
- `merge`: appends to the gold file (<target>/labels.csv, its format) every pair that at
  least two passes label and that is settled: all passes agree, or the `final` column
  says. A pair with a single pass waits for a second one. Refused while a disagreement
  has no final label, or if a pair is already gold with another label. Running it again
  appends nothing.
- `agreement` (`stance agreement`): the kappas of the gold's original passes, and the check
  that the gold file is what those passes and the loop's stored passes settle on.
"""

from __future__ import annotations

import csv
import io
import itertools
import math
import warnings
from pathlib import Path

from sklearn.metrics import cohen_kappa_score

from pipeline.annotation.store import store_lock, stored_passes
from pipeline.data.actors import ActorRegistry
from pipeline.data.labels import (
    LABEL_COLUMNS,
    LABELS,
    MAX_LABEL_FILE_BYTES,
    GoldKey,
    check_label,
    csv_table,
    read_gold,
)
from pipeline.errors import DataError
from pipeline.evaluation.agreement import Gold, check_gold, gold_outside_passes, kappas, read_passes
from pipeline.files import atomic_output, read_text_file, write_csv
from pipeline.params import Params

DISAGREEMENT_KEY = ("article_id", "sentence", "actor")  # then label_<annotator> columns, then final


def kappa(first: dict[GoldKey, str], second: dict[GoldKey, str]) -> tuple[float, int]:
    """(Cohen's kappa, number of pairs) over the pairs both passes label; nan when undefined."""
    shared = [key for key in first if key in second]
    if not shared:
        return math.nan, 0
    with warnings.catch_warnings():  # one label throughout makes kappa 0/0: reported as n/a
        warnings.simplefilter("ignore", RuntimeWarning)
        value = cohen_kappa_score([first[k] for k in shared], [second[k] for k in shared], labels=list(LABELS))
    return float(value), len(shared)


def pair_labels(passes: dict[str, dict[GoldKey, str]]) -> dict[GoldKey, dict[str, str]]:
    """{key: {annotator: label}}, keys in the order the passes (by annotator name) first list them."""
    labels: dict[GoldKey, dict[str, str]] = {}
    for annotator, rows in passes.items():
        for key, label in rows.items():
            labels.setdefault(key, {})[annotator] = label
    return labels


def read_disagreements(
    path: Path, keeping_added: bool = True
) -> tuple[dict[GoldKey, tuple[str, int]], list[str], dict[GoldKey, dict[str, str]]]:
    """({key: (final, line)}, the columns a person added such as a `reason`, in their order, {key: their
    cells}) from the disagreements file, read once. A filled final must be a label. Rewriting the file
    keeps the added columns; the annotators' `label_*` columns are the passes'."""
    if not path.exists():
        return {}, [], {}
    text = read_text_file(path, MAX_LABEL_FILE_BYTES)
    header = next(csv.reader(io.StringIO(text, newline="")), [])
    ours = {*DISAGREEMENT_KEY, "final"}
    added = [c for c in header if c not in ours and not c.startswith("label_")]
    finals, cells = {}, {}
    for line, row in csv_table(path, DISAGREEMENT_KEY + ("final",), text=text):
        key = tuple(row[c] for c in DISAGREEMENT_KEY)
        final = row["final"].strip().lower()
        if final:
            check_label(path, line, "final", row["final"], final)
        # Unnamed columns share one key: rewriting the file (agree) would lose all but one of their cells.
        if keeping_added and "" in added and row[""]:
            raise DataError(path, line, "a column without a name in the header holds text here; name the column")
        finals[key] = (final, line)
        cells[key] = {c: row[c] for c in added}
    return finals, added, cells


def read_finals(path: Path) -> dict[GoldKey, tuple[str, int]]:
    """{key: (final, line)} from the disagreements file (merge and agreement, which never rewrite it)."""
    return read_disagreements(path, keeping_added=False)[0]


def agree(passes_folder: Path, disagreements: Path) -> list[dict]:
    """`stance label agree`: print kappas, write the disagreements file; return its rows."""
    with store_lock(passes_folder.parent):  # finals are read from the file this rewrites
        return _agree(passes_folder, disagreements)


def _agree(passes_folder: Path, disagreements: Path) -> list[dict]:
    passes = stored_passes(passes_folder)
    if not passes:
        raise DataError(passes_folder, None, "no passes yet; store one with `stance label import`")
    names = sorted(passes)
    if len(names) == 1:
        print(f"one pass ({names[0]}, {len(passes[names[0]])} pairs); a second annotator's pass gives the agreement")
        return []
    for a, b in itertools.combinations(names, 2):
        value, shared = kappa(passes[a], passes[b])
        shown = "n/a" if math.isnan(value) else f"{value:.3f}"
        print(f"Cohen's kappa {a}-{b}: {shown} over {shared} pairs both labelled")
    previous, added, cells = read_disagreements(disagreements)
    rows = []
    for key, by_annotator in pair_labels(passes).items():
        if len(set(by_annotator.values())) > 1:
            row = dict(zip(DISAGREEMENT_KEY, key))
            row.update({f"label_{name}": by_annotator.get(name, "") for name in names})
            row["final"] = previous.get(key, ("", 0))[0]
            row.update(cells.get(key) or dict.fromkeys(added, ""))
            rows.append(row)
    fields = [*DISAGREEMENT_KEY, *(f"label_{name}" for name in names), "final", *added]
    write_csv(disagreements, fields, rows)
    settled = sum(bool(row["final"]) for row in rows)
    print(
        f"{len(rows)} disagreements in {disagreements} ({settled} adjudicated); "
        + ("fill the blank `final` cells, then `stance label merge`" if settled < len(rows) else "ready to merge")
    )
    return rows


def merge(params: Params, passes_folder: Path | None = None, disagreements: Path | None = None) -> list[tuple]:
    """`stance label merge`: append the settled pairs to the gold file; return the rows appended."""
    passes_folder = passes_folder or Path(params.data.passes)
    disagreements = disagreements or Path(params.data.disagreements)
    with store_lock(passes_folder.parent):  # from reading the gold file to writing it back
        return _merge(params, passes_folder, disagreements)


def settle(
    passes: dict[str, dict[GoldKey, str]], finals: dict[GoldKey, tuple[str, int]]
) -> tuple[list[tuple[GoldKey, str, bool]], int, int, int | None]:
    """(settled, waiting, unsettled, first unsettled line). `settled` holds (key, label, disagreed) for
    every pair at least two passes label and all agree on, or whose `final` says; `waiting` counts the
    pairs with one pass, `unsettled` those the passes disagree on with no final yet."""
    settled: list[tuple[GoldKey, str, bool]] = []
    waiting = unsettled = 0
    first_unsettled = None
    for key, by_annotator in pair_labels(passes).items():
        if len(by_annotator) < 2:
            waiting += 1
            continue
        labels = set(by_annotator.values())
        final = next(iter(labels)) if len(labels) == 1 else finals.get(key, ("", 0))[0]
        if not final:
            unsettled += 1
            first_unsettled = first_unsettled or finals.get(key, ("", None))[1]
            continue
        settled.append((key, final, len(labels) > 1))
    return settled, waiting, unsettled, first_unsettled


def _merge(params: Params, passes_folder: Path, disagreements: Path) -> list[tuple]:
    passes = stored_passes(passes_folder)
    registry = ActorRegistry.load(params.data.actors)
    gold = read_gold(params.data.labels, set(registry.actors))
    settled, waiting, unsettled, first_unsettled = settle(passes, read_finals(disagreements))
    if unsettled:
        raise DataError(
            disagreements,
            first_unsettled,
            f"{unsettled} disagreements have no final label; run `stance label agree`, "
            "fill the `final` column, then merge again (nothing was merged)",
        )
    new, adjudicated = [], 0
    for key, label, disagreed in settled:
        if key in gold:
            if gold[key][0] != label:
                raise DataError(
                    params.data.labels,
                    gold[key][1],
                    f"gold says {gold[key][0]!r} but the passes settle on {label!r} for actor {key[2]!r} "
                    f"in article {key[0]!r}; fix one of them (nothing was merged)",
                )
            continue
        new.append((*key, label))
        adjudicated += disagreed
    if new:
        append_gold(Path(params.data.labels), new)
    print(
        f"merged {len(new)} labels into {params.data.labels} "
        f"({len(new) - adjudicated} agreed, {adjudicated} adjudicated; "
        f"{len(settled) - len(new)} were already gold); "
        f"{waiting} pairs with one pass wait for a second"
    )
    if new:
        print("run `dvc repro` to retrain with them")
    return new


def append_gold(path: Path, rows: list[tuple]) -> None:
    """Add rows to the gold CSV in its own format (minimal quoting, Unix line ends), atomically."""
    text = read_text_file(path, MAX_LABEL_FILE_BYTES)
    if text and not text.endswith("\n"):
        text += "\n"
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    if not text:
        text = ",".join(LABEL_COLUMNS) + "\n"
    with atomic_output(path) as temporary:
        temporary.write_bytes((text + buffer.getvalue()).encode("utf-8"))


def check_loop_gold(
    passes_folder: Path, disagreements: Path, gold_path: Path, gold: Gold
) -> tuple[set[GoldKey], int, int]:
    """Raise unless every pair the annotation loop's stored passes settle has that label in the gold file
    (what `stance label merge` appended; `gold` is the file at `gold_path` as `read_gold` gives it).
    Returns (the settled keys, how many of them were adjudicated, how many pairs are not settled yet:
    one pass only, or a disagreement with no final)."""
    settled, waiting, unsettled, _ = settle(stored_passes(passes_folder), read_finals(disagreements))
    for key, label, _ in settled:
        found, line = gold.get(key, (None, None))
        if found is None:  # settled but never merged (or its gold row removed since)
            raise DataError(
                gold_path,
                None,
                f"no label for actor {key[2]!r} in article {key[0]!r}, which the loop's passes ({passes_folder}) "
                f"settle on {label!r}; run `stance label merge`",
            )
        if found != label:
            raise DataError(
                gold_path,
                line,
                f"gold says {found!r} for actor {key[2]!r} in article {key[0]!r}, the loop's passes "
                f"({passes_folder}) settle on {label!r}; fix one of them",
            )
    return {key for key, _, _ in settled}, sum(disagreed for *_, disagreed in settled), waiting + unsettled


def agreement(params: Params) -> None:
    """`stance agreement`: the kappas of the target's original passes (<target>/annotation/pass_*.csv), and
    the check that its gold is what they and the loop's stored passes settle on, every pair of it."""
    folder, gold_path = Path(params.data.annotation), Path(params.data.labels)
    gold = read_gold(gold_path, set(ActorRegistry.load(params.data.actors).actors))
    passes = read_passes(folder)
    if passes:  # a target labelled only through the loop has none
        pairs = len(next(iter(passes.values())))
        for name, kappa in kappas(passes).items():
            print(f"Cohen's kappa {name}: {kappa:.3f}")
        settled = check_gold(passes, folder, gold_path, gold)
        print(f"{pairs} pairs in {len(passes)} passes; {settled} disagreements adjudicated; {gold_path} matches")
    loop, loop_adjudicated, loop_open = check_loop_gold(
        Path(params.data.passes), Path(params.data.disagreements), gold_path, gold
    )
    if loop or loop_open:
        print(
            f"{len(loop)} pairs settled by the annotation loop's passes ({params.data.passes}; "
            f"{loop_adjudicated} adjudicated): {gold_path} matches; {loop_open} more are not settled yet "
            "(one pass, or a disagreement with no final)"
        )
    outside = gold_outside_passes(passes, gold, loop)
    if outside:  # a check that passed while some of the gold went unchecked would vouch for what nobody did
        article, _, actor = outside[0]
        raise DataError(
            gold_path,
            gold[outside[0]][1],
            f"{len(outside)} gold pair(s) in no settled pass, so nothing checks them (the first: actor "
            f"{actor!r} in article {article!r}); remove them, store two passes with `stance label import`, "
            "then `stance label merge`",
        )
