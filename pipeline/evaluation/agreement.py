"""Inter-annotator agreement of the labelling passes, and the check that the gold file is their result.

<target>/annotation/pass_{a,b,c}.csv are independent passes over the same candidate
pairs; <target>/annotation/adjudication.csv settles every row on which they differ.
`stance agreement` prints Cohen's kappa for each pair of passes and
fails if <target>/labels.csv is not exactly: the unanimous label, or the adjudicated one.
The pairs added later by the annotation loop are checked against its stored passes
(<target>/annotation/passes, settled as `stance label merge` settles them).
"""

from __future__ import annotations

import itertools
from pathlib import Path

from sklearn.metrics import cohen_kappa_score

from pipeline.annotation.adjudication import read_finals, settle
from pipeline.annotation.store import stored_passes
from pipeline.data.labels import LABEL_COLUMNS, csv_table
from pipeline.errors import DataError
from pipeline.params import Params

PASS_COLUMNS = ("article_id", "sentence_index", "actor", "sentence", "label")
ADJUDICATION_COLUMNS = ("article_id", "sentence_index", "actor", "final")


def _read(path: Path, columns) -> list[dict]:
    return [row for _, row in csv_table(path, columns)]


def read_passes(folder: Path) -> dict[str, list[dict]]:
    passes = {path.stem.removeprefix("pass_"): _read(path, PASS_COLUMNS) for path in sorted(folder.glob("pass_*.csv"))}
    keys = {name: [(r["article_id"], r["sentence_index"], r["actor"]) for r in rows] for name, rows in passes.items()}
    first = next(iter(keys.values()))
    for name, rows in keys.items():
        if rows != first:
            raise DataError(
                folder / f"pass_{name}.csv",
                None,
                "rows differ from the other passes; every pass labels the same pairs in the same order",
            )
    return passes


def kappas(passes: dict[str, list[dict]]) -> dict[str, float]:
    return {
        f"{a}-{b}": round(cohen_kappa_score([r["label"] for r in passes[a]], [r["label"] for r in passes[b]]), 4)
        for a, b in itertools.combinations(sorted(passes), 2)
    }


def check_gold(passes: dict[str, list[dict]], folder: Path, gold_path: Path) -> int:
    """Raise unless every gold label is the passes' unanimous label or the adjudicated one; return #adjudicated."""
    adjudicated = {
        (r["article_id"], r["sentence_index"], r["actor"]): r["final"]
        for r in _read(folder / "adjudication.csv", ADJUDICATION_COLUMNS)
    }
    gold = {(r["article_id"], r["sentence"], r["actor"]): r["label"] for r in _read(gold_path, LABEL_COLUMNS)}
    names = sorted(passes)
    for i, row in enumerate(passes[names[0]]):
        key = (row["article_id"], row["sentence_index"], row["actor"])
        labels = {passes[name][i]["label"] for name in names}
        expected = adjudicated.get(key) or (labels.pop() if len(labels) == 1 else None)
        if expected is None:
            raise DataError(
                folder / "adjudication.csv", None, f"passes disagree on {key} and no adjudication row settles it"
            )
        actual = gold.get((row["article_id"], row["sentence"], row["actor"]))
        if actual != expected:
            raise DataError(gold_path, None, f"{key}: gold says {actual!r}, the passes/adjudication say {expected!r}")
    return len(adjudicated)


def check_loop_gold(passes_folder: Path, disagreements: Path, gold_path: Path) -> tuple[set, int]:
    """Raise unless every pair the annotation loop's stored passes settle has that label in the gold file
    (what `stance label merge` appended); return (the settled keys, how many were adjudicated)."""
    settled, *_ = settle(stored_passes(passes_folder), read_finals(disagreements))
    gold = {(r["article_id"], r["sentence"], r["actor"]): r["label"] for r in _read(gold_path, LABEL_COLUMNS)}
    for key, label, _ in settled:
        if gold.get(key) != label:
            raise DataError(
                gold_path, None, f"{key}: gold says {gold.get(key)!r}, the loop's passes settle on {label!r}"
            )
    return {key for key, _, _ in settled}, sum(disagreed for *_, disagreed in settled)


def gold_outside_passes(
    passes: dict[str, list[dict]], gold_path: Path, vouched: set = frozenset()
) -> list[tuple[str, str, str]]:
    """Gold pairs that no pass labels, so nothing vouches for them (added by hand, say). `vouched`:
    keys that other passes settle (the annotation loop's, from `check_loop_gold`)."""
    labelled = {(r["article_id"], r["sentence"], r["actor"]) for r in next(iter(passes.values()))} | set(vouched)
    rows = _read(gold_path, LABEL_COLUMNS)
    return [key for r in rows if (key := (r["article_id"], r["sentence"], r["actor"])) not in labelled]


def main(params: Params) -> None:
    """The agreement of the target's original passes (<target>/annotation/pass_*.csv) and its gold."""
    folder, gold = Path(params.data.annotation), Path(params.data.labels)
    passes = read_passes(folder)
    pairs = len(next(iter(passes.values())))
    for name, kappa in kappas(passes).items():
        print(f"Cohen's kappa {name}: {kappa:.3f}")
    settled = check_gold(passes, folder, gold)
    print(f"{pairs} pairs in {len(passes)} passes; {settled} disagreements adjudicated; {gold} matches")
    loop, loop_settled = check_loop_gold(Path(params.data.passes), Path(params.data.disagreements), gold)
    if loop:
        print(
            f"{len(loop)} more pairs settled by the annotation loop's passes ({params.data.passes}; "
            f"{loop_settled} adjudicated): {gold} matches"
        )
    outside = gold_outside_passes(passes, gold, loop)
    if outside:
        article, sentence, actor = outside[0]
        print(
            f"{gold}: {len(outside)} more gold pairs are in no pass, so nothing checks them "
            f"(the first: {article}, {actor}, {sentence[:60]!r}); record their passes in {folder}"
        )
