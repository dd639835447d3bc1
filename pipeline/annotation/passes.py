"""`stance label import`: a filled batch (CSV, or Label Studio's JSON export) becomes one annotator's pass.

Every row is checked before anything is stored; each problem is one line naming the file
and its line (CSV) or task id (Label Studio), and any problem stores nothing:
an empty label, a label other than support/oppose/neutral, an unknown actor, an article
that is neither in seeds/ nor in the annotation articles folder, a sentence not in its
article, a sentence that gives no candidate pair for the actor, the same pair twice, and
a pair that is already gold; in a Label Studio export also a task whose annotations,
results or choices are not in the shape its Export > JSON writes.

The pass is stored as <target>/annotation/passes/<annotator>.csv. A second import by the same
annotator adds its pairs to the pass; one that relabels pairs of the pass is refused
unless `replace` is set, which replaces the whole pass.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from pipeline.annotation.export import STANCE_CONTROL
from pipeline.annotation.store import check_name, known_articles, read_pass, store_lock, write_pass
from pipeline.data.actors import ActorRegistry
from pipeline.data.candidates import article_candidates
from pipeline.data.labels import (
    LABEL_COLUMNS,
    LABELS,
    MAX_LABEL_FILE_BYTES,
    WRONG_FIELD_COUNT,
    GoldKey,
    csv_records,
    gold_key,
    read_gold,
)
from pipeline.errors import DataError
from pipeline.files import LONG_NUMBER, read_text_file
from pipeline.params import Params

MAX_PROBLEMS_SHOWN = 20  # a file of wrong rows (the wrong file, a shifted column) is one mistake, not a page each


class RowProblems(DataError):
    """Several one-line problems of one input file; the CLI prints each on its own line."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        Exception.__init__(self, "\n".join(problems))


def _ref(where: str) -> str:
    """`task 7` for `file: task 7`, `line 3` for `file:3`."""
    return where.rsplit(": ", 1)[1] if ": task " in where else f"line {where.rsplit(':', 1)[1]}"


def _short(sentence: str, limit: int = 60) -> str:
    return repr(sentence if len(sentence) <= limit else sentence[: limit - 1] + "…")


def read_csv_batch(path: Path) -> tuple[list[tuple[str, GoldKey, str]], list[str]]:
    """([(where, key, label)], problems) from a filled CSV; `where` is `file:line`."""
    text = read_text_file(path, MAX_LABEL_FILE_BYTES)  # a file that is no text stops here, in its own one line
    rows, problems = [], []
    try:
        for line, row in csv_records(path, LABEL_COLUMNS, advice="keep the header the export wrote", text=text):
            if row is None:
                problems.append(f"{path}:{line}: {WRONG_FIELD_COUNT}")
            else:
                rows.append((f"{path}:{line}", gold_key(row), row["label"]))
    except DataError as err:  # the header, or text that is not CSV: the rows before it are still checked
        problems.append(str(err))
    return rows, problems


# A string (skipped whole; its closing quote optional, so an unterminated one costs one pass) or a bracket.
JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"?|[\[\]{}]')


def _deepest_line(text: str) -> int:
    """The line where the JSON text's arrays and objects first reach their deepest nesting."""
    depth = deepest = at = 0
    for match in JSON_TOKEN.finditer(text):
        if match.group() in ("[", "{"):
            depth += 1
            if depth > deepest:
                deepest, at = depth, match.start()
        elif match.group() in ("]", "}"):
            depth -= 1
    return text.count("\n", 0, at) + 1


NOT_AN_EXPORT = "export the project again with Label Studio's Export > JSON"


def _objects(value) -> list[dict] | None:
    """A JSON list of objects (null or absent: an empty one), or None for any other shape."""
    if value is None:
        return []
    return value if isinstance(value, list) and all(isinstance(item, dict) for item in value) else None


def _strings(value) -> bool:
    """A list of one-line strings (or null or absent)."""
    return value is None or (isinstance(value, list) and all(_printable(item) for item in value))


def _printable(value) -> bool:
    return isinstance(value, str) and value.isprintable() and value != ""


def _long_number_line(text: str) -> int:
    """The line of the first number past Python's digit limit: strings are passed over whole, so a
    run of digits inside one (a sentence, an id) is not taken for the number json refused."""
    token = re.compile(rf'"(?:[^"\\]|\\.)*"|(?P<number>[0-9]{{{sys.get_int_max_str_digits() + 1}}})')
    number = next((m for m in token.finditer(text) if m.group("number")), None)
    return text.count("\n", 0, number.start() if number else 0) + 1


def read_label_studio(path: Path) -> tuple[list[tuple[str, GoldKey, str]], list[str]]:
    """([(where, key, label)], problems) from Label Studio's JSON export; `where` is `file: task <id>`.

    The stance is the `choices` result of the submitted annotation (cancelled, i.e.
    skipped, annotations do not count); the mention spans in the result are ignored.
    """
    text = read_text_file(path, MAX_LABEL_FILE_BYTES)
    try:
        tasks = json.loads(text)
    except json.JSONDecodeError as err:
        return [], [f"{path}:{err.lineno}: not valid JSON: {err.msg}"]
    except RecursionError:  # json recurses once per level of nesting; an export nests a few levels
        return [], [f"{path}:{_deepest_line(text)}: not valid JSON here (nested too deeply)"]
    except ValueError:
        return [], [f"{path}:{_long_number_line(text)}: {LONG_NUMBER}"]
    if not isinstance(tasks, list):
        return [], [f"{path}: not a Label Studio JSON export (Export > JSON gives a list of tasks)"]
    rows, problems = [], []
    for number, task in enumerate(tasks, start=1):
        task_id = task.get("id") if isinstance(task, dict) else None
        if not (isinstance(task_id, int) and not isinstance(task_id, bool)) and not _printable(task_id):
            task_id = f"#{number}"  # no usable id: its place in the list
        where = f"{path}: task {task_id}"
        data = task.get("data") if isinstance(task, dict) else None
        if not isinstance(data, dict) or not all(isinstance(data.get(f), str) for f in ("text", "article_id", "actor")):
            problems.append(f"{where}: no data.text, data.article_id and data.actor; export tasks from `label export`")
            continue
        key = gold_key(data, sentence_field="text")
        annotations = _objects(task.get("annotations"))
        if annotations is None:
            problems.append(f"{where}: `annotations` is not a list of objects; {NOT_AN_EXPORT}")
            continue
        submitted = [a for a in annotations if not a.get("was_cancelled")]
        if len(submitted) > 1:
            problems.append(
                f"{where}: {len(submitted)} annotations; a pass is one annotator's, "
                "so export each annotator's annotations separately"
            )
            continue
        results = [_objects(annotation.get("result")) for annotation in submitted]
        if None in results:
            problems.append(f"{where}: the annotation's `result` is not a list of objects; {NOT_AN_EXPORT}")
            continue
        values = [
            result.get("value") or {}
            for annotation in results
            for result in annotation
            if result.get("type") == "choices" and result.get("from_name") == STANCE_CONTROL
        ]
        if not all(isinstance(value, dict) and _strings(value.get("choices")) for value in values):
            problems.append(f"{where}: the stance's `value.choices` is not a list of strings; {NOT_AN_EXPORT}")
            continue
        choices = [choice for value in values for choice in value.get("choices") or []]
        if len(choices) > 1:
            problems.append(f"{where}: {len(choices)} stances chosen ({', '.join(map(str, choices))}); choose one")
            continue
        rows.append((where, key, str(choices[0]) if choices else ""))
    return rows, problems


def validate(
    rows: list[tuple[str, GoldKey, str]], params: Params, registry: ActorRegistry, gold: dict
) -> tuple[dict[GoldKey, str], list[str]]:
    """({key: label} of the good rows, one line per problem)."""
    articles, _ = known_articles(params)
    candidate_keys: dict[str, set[GoldKey]] = {}
    actors = set(registry.actors)
    labels: dict[GoldKey, str] = {}
    first: dict[GoldKey, str] = {}
    problems = []
    for where, key, raw_label in rows:
        article_id, sentence, actor = key
        label = raw_label.strip().lower()
        if not label:
            problem = "empty label; write support, oppose or neutral"
        elif label not in LABELS:
            problem = f"label {raw_label!r} is not one of {', '.join(LABELS)}"
        elif actor not in actors:
            problem = f"unknown actor {actor!r}; use an id from the registry ({', '.join(sorted(actors))})"
        elif article_id not in articles:
            problem = (
                f"article {article_id!r} is neither in {params.data.articles} nor in "
                f"{params.data.annotation_articles}; export it with `stance label export` first"
            )
        elif sentence not in articles[article_id]:
            problem = f"sentence not found in article {article_id!r}: {_short(sentence)}; copy it exactly"
        elif key in first:
            problem = f"duplicate of {first[key]} (actor {actor!r}, same sentence); keep one"
        elif key in gold:
            problem = f"already gold in {params.data.labels}:{gold[key][1]}; remove the row"
        else:
            if article_id not in candidate_keys:
                candidate_keys[article_id] = {
                    (c["article_id"], c["sentence"], c["actor"])
                    for c in article_candidates(article_id, articles[article_id], registry)
                }
            if key not in candidate_keys[article_id]:
                problem = f"no candidate pair: the sentence is not split this way or does not mention {actor!r}"
            else:
                problem = None
        first.setdefault(key, _ref(where))
        if problem:
            problems.append(f"{where}: {problem}")
        else:
            labels[key] = label
    return labels, problems


def import_pass(params: Params, file: str, annotator: str, replace: bool = False, folder: Path | None = None) -> Path:
    """`stance label import`: validate the whole file, then store it as the annotator's pass."""
    path = Path(file)
    check_name(annotator, "--annotator")
    if path.suffix.lower() == ".json":
        rows, problems = read_label_studio(path)
        kind = "Label Studio JSON"
    elif path.suffix.lower() == ".csv":
        rows, problems = read_csv_batch(path)
        kind = "CSV"
    else:
        raise DataError(path, None, "unknown format; import a filled .csv or Label Studio's JSON export (.json)")
    registry = ActorRegistry.load(params.data.actors)
    gold = read_gold(params.data.labels, set(registry.actors))
    labels, more = validate(rows, params, registry, gold)
    problems += more
    if problems:
        shown = f", the first {MAX_PROBLEMS_SHOWN} shown" if len(problems) > MAX_PROBLEMS_SHOWN else ""
        summary = f"{path}: {len(problems)} problem(s){shown}; nothing was stored"
        raise RowProblems(problems[:MAX_PROBLEMS_SHOWN] + [summary])
    if not labels:
        raise DataError(path, None, "no labelled pairs in the file")
    folder = folder or Path(params.data.passes)
    with store_lock(folder.parent):  # from reading the pass to writing it back
        return _store(labels, path, kind, folder / f"{annotator}.csv", annotator, replace)


def _store(labels: dict[GoldKey, str], path: Path, kind: str, target: Path, annotator: str, replace: bool) -> Path:
    stored: dict[GoldKey, str] = {}
    if target.exists() and not replace:
        existing = read_pass(target)
        overlap = [key for key in labels if key in existing]
        if overlap:
            raise DataError(
                target,
                existing[overlap[0]][1],
                f"annotator {annotator!r} already labelled {len(overlap)} of these pairs; "
                "import under another --annotator, or pass --replace to replace this pass",
            )
        stored = {key: label for key, (label, _) in existing.items()}
    added = len(labels)
    stored.update(labels)
    write_pass(target, stored)
    print(f"{path}: {added} labels by {annotator} ({kind}) stored in {target} ({len(stored)} in the pass)")
    return target
