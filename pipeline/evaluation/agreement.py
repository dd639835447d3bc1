"""Inter-annotator agreement of the labelling passes, and the check that the gold file is their result.

<target>/annotation/pass_{a,b,c}.csv are independent passes over the same candidate
pairs; <target>/annotation/adjudication.csv settles every row on which they differ.
`stance agreement` (`pipeline.annotation.adjudication.agreement`) prints Cohen's kappa for
each pair of passes and fails if <target>/labels.csv is not exactly: the unanimous label, or
the adjudicated one; the pairs the annotation loop added later are checked there against
its stored passes, and a gold pair that no pass labels fails the check too.
"""

from __future__ import annotations

import itertools
from pathlib import Path

from sklearn.metrics import cohen_kappa_score

from pipeline.data.labels import GoldKey, csv_table, gold_key
from pipeline.errors import DataError

PASS_COLUMNS = ("article_id", "sentence_index", "actor", "sentence", "label")
ADJUDICATION_COLUMNS = ("article_id", "sentence_index", "actor", "final")
Gold = dict[GoldKey, tuple[str, int]]  # what `read_gold` gives: (label, line) per (article_id, sentence, actor)


def _read(path: Path, columns) -> list[dict]:
    return [row for _, row in csv_table(path, columns)]


def read_passes(folder: Path) -> dict[str, list[dict]]:
    """{name: rows} of every pass_<name>.csv in `folder` (none for a target labelled only through the loop)."""
    passes = {path.stem.removeprefix("pass_"): _read(path, PASS_COLUMNS) for path in sorted(folder.glob("pass_*.csv"))}
    keys = {name: [(r["article_id"], r["sentence_index"], r["actor"]) for r in rows] for name, rows in passes.items()}
    first = next(iter(keys.values()), None)
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


def check_gold(passes: dict[str, list[dict]], folder: Path, gold_path: Path, gold: Gold) -> int:
    """Raise unless every gold label is the passes' unanimous label or the adjudicated one; return #adjudicated.
    `gold` is the gold file at `gold_path` as `read_gold` gives it."""
    adjudicated = {
        (r["article_id"], r["sentence_index"], r["actor"]): r["final"]
        for r in _read(folder / "adjudication.csv", ADJUDICATION_COLUMNS)
    }
    names = sorted(passes)
    for i, row in enumerate(passes[names[0]]):
        key = (row["article_id"], row["sentence_index"], row["actor"])
        labels = {passes[name][i]["label"] for name in names}
        expected = adjudicated.get(key) or (labels.pop() if len(labels) == 1 else None)
        if expected is None:
            raise DataError(
                folder / "adjudication.csv", None, f"passes disagree on {key} and no adjudication row settles it"
            )
        actual, line = gold.get(gold_key(row), (None, None))  # keyed as read_gold keys the gold
        if actual is None:
            raise DataError(
                gold_path,
                None,
                f"{key}: no gold label, where the passes/adjudication say {expected!r}; add that row to the gold file",
            )
        if actual != expected:
            raise DataError(gold_path, line, f"{key}: gold says {actual!r}, the passes/adjudication say {expected!r}")
    return len(adjudicated)


def gold_outside_passes(passes: dict[str, list[dict]], gold: Gold, vouched: set = frozenset()) -> list[GoldKey]:
    """Gold pairs that no pass labels, so nothing vouches for them (added by hand, say), in the gold
    file's order. `vouched`: keys that other passes settle (the annotation loop's:
    `pipeline.annotation.adjudication.check_loop_gold`)."""
    first = next(iter(passes.values()), [])
    labelled = {gold_key(r) for r in first} | set(vouched)
    return sorted((key for key in gold if key not in labelled), key=lambda key: gold[key][1])
