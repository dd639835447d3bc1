"""The blind paraphrase suite: one act said in many wordings, written from the guide alone.

the target's `paraphrases.csv` (group, sentence, actor, expected) was written by someone who had
seen neither the lexicon nor the features: each group is one act (France blocks the
office, Seoul declines to comment...) in several wordings with the same expected label.
It measures what the features' authors did not think of, so only aggregate figures are
reported: accuracy against the expected labels, and consistency, the share of (group,
actor) whose variants all get the same prediction.
"""

from __future__ import annotations

from collections import defaultdict

from pipeline.data.actors import ActorRegistry
from pipeline.data.labels import LABELS, check_label, csv_table
from pipeline.errors import DataError
from pipeline.evaluation.behaviour import label_texts

COLUMNS = ("group", "sentence", "actor", "expected")


def load_paraphrases(path, registry: ActorRegistry) -> list[dict]:
    rows, seen = [], set()
    for line, row in csv_table(path, COLUMNS):
        if any(row[c] == "" for c in COLUMNS):
            raise DataError(path, line, f"every row needs {', '.join(COLUMNS)}")
        if row["actor"] not in registry.actors:
            raise DataError(path, line, f"unknown actor {row['actor']!r}; use an id from the target's actors.yaml")
        check_label(path, line, "expected", row["expected"])
        if row["actor"] not in {mention.actor for mention in registry.find(row["sentence"])} and not registry.author:
            raise DataError(
                path,
                line,
                f"actors.yaml finds no mention of {row['actor']!r} in the sentence (another actor's longer name may "
                "hold its alias); it would count as a miss",
            )
        key = (row["sentence"], row["actor"])
        if key in seen:
            raise DataError(path, line, f"the same sentence and actor twice ({row['actor']!r}); keep one")
        seen.add(key)
        rows.append({c: row[c] for c in COLUMNS})
    if not rows:
        raise DataError(path, None, "holds no rows; write the suite's sentences under the header")
    return rows


def run_paraphrases(model, rows: list[dict], registry: ActorRegistry) -> dict:
    """Accuracy, macro-F1 and recall per expected label, and consistency within each act."""
    predicted = label_texts(model, (r["sentence"] for r in rows), registry)
    got = [predicted.get((r["sentence"], r["actor"]), "no pair") for r in rows]
    variants = defaultdict(set)
    for row, label in zip(rows, got):
        variants[(row["group"], row["actor"])].add(label)
    recall = {
        label: round(
            sum(g == label for r, g in zip(rows, got) if r["expected"] == label)
            / max(1, sum(r["expected"] == label for r in rows)),
            4,
        )
        for label in LABELS
    }
    return {
        "accuracy": round(sum(r["expected"] == g for r, g in zip(rows, got)) / len(rows), 4),
        "recall": recall,
        "consistency": round(sum(len(v) == 1 for v in variants.values()) / len(variants), 4),
        "groups": len({r["group"] for r in rows}),
        "rows": len(rows),
        "missed_mentions": sum(g == "no pair" for g in got),
    }
