"""`stance label export`: the pairs most worth labelling next, as a CSV or as Label Studio tasks.

Selection rule:

1. Score every candidate pair of the inputs with the trained model; drop every pair that
   already has a label (<target>/labels.csv, a stored pass, an old pass_*.csv).
2. Uncertainty is the margin between the two highest class probabilities: the smaller,
   the more the model hesitates, the more a label teaches it.
3. Spread: articles take turns (round-robin, the article holding the most uncertain pair
   first), each giving its most uncertain pair left, and no (article, actor) gives more
   than `per_actor` pairs, so one long article cannot fill the batch.
4. The chosen pairs are written most uncertain first.

Each exported article that is not in seeds/ is stored in the annotation articles folder,
so its labels can join training (`stance prepare` reads that folder as partly labelled).
"""

from __future__ import annotations

import collections
import contextlib
import csv
import functools
import io
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from xml.sax.saxutils import quoteattr

from pipeline.annotation.store import (
    known_articles,
    labelled_keys,
    new_articles,
    remove_articles,
    store_articles,
    store_lock,
)
from pipeline.data.candidates import article_candidates
from pipeline.data.labels import LABELS, best_labels
from pipeline.data.target import Target
from pipeline.errors import EXIT_OK, EXIT_SKIPPED, DataError
from pipeline.files import MAX_ARTICLE_CHARS, NotText, atomic_outputs, decode_text, output_errors
from pipeline.params import Params
from pipeline.scoring.inputs import Problem, read_inputs
from pipeline.scoring.outputs import check_outputs, file_identity, holds_data
from pipeline.scoring.scorer import MAX_PAIRS_PER_PREDICT, NothingScored, Scorer

CSV_FIELDS = ["article_id", "sentence", "actor", "label", "model_guess", "model_confidence", "margin"]
STANCE_CONTROL = "stance"  # the Choices name in the labelling config; `label import` reads it
MENTION_CONTROL = "mention"
TEXT_OBJECT = "text"


def config_path(output: Path) -> Path:
    """Where the Label Studio labelling config goes: beside the tasks, e.g. batch.label_config.xml."""
    return output.with_suffix(".label_config.xml")


def scored_pairs(inputs: list[str], scorer: Scorer, skip: set, id_field: str, text_field: str, max_chars: int):
    """(unlabelled scored pairs, {article id: (text, origin)}, inputs skipped); input problems go to stderr."""
    pairs, texts, skipped = [], {}, 0
    for event in read_inputs(inputs, id_field, text_field, max_chars, distinct=False):  # ids name stored files
        if isinstance(event, Problem):
            print(event, file=sys.stderr)
            skipped += event.skipped
            continue
        if event.id in texts:
            if texts[event.id][0] != event.text:
                raise DataError(
                    event.origin,
                    None,
                    f"article id {event.id!r} is also {texts[event.id][1]}, with another text; give one another id",
                )
            continue
        texts[event.id] = (event.text, event.origin)
        seen, candidates = set(), []
        for candidate in article_candidates(event.id, event.text, scorer.registry):
            key = (candidate["article_id"], candidate["sentence"], candidate["actor"])
            if key not in skip and key not in seen:  # a repeated sentence has one label
                seen.add(key)
                candidates.append(candidate)
        for start in range(0, len(candidates), MAX_PAIRS_PER_PREDICT):
            chunk = candidates[start : start + MAX_PAIRS_PER_PREDICT]
            scores = scorer.class_scores(chunk)
            for pair, probabilities, guess in zip(chunk, scores, best_labels(scores)):
                top, second = sorted(probabilities)[-1:-3:-1]
                pairs.append(
                    {
                        **pair,
                        "model_guess": guess,
                        "model_confidence": round(float(top), 4),
                        "margin": round(float(top - second), 4),
                    }
                )
    return pairs, texts, skipped


def select(pairs: list[dict], n: int, per_actor: int) -> list[dict]:
    """The n pairs to label: round-robin over articles, most uncertain first, at most per_actor per (article, actor)."""

    def uncertainty(pair):
        return (pair["margin"], pair["article_id"], pair["sentence_index"], pair["actor"])

    queues: dict[str, collections.deque] = {}
    for pair in sorted(pairs, key=uncertainty):
        queues.setdefault(pair["article_id"], collections.deque()).append(pair)
    taken: collections.Counter = collections.Counter()
    chosen: list[dict] = []
    while len(chosen) < n and queues:
        for article_id in list(queues):  # articles in the order of their most uncertain pair
            queue = queues[article_id]
            while queue and taken[(article_id, queue[0]["actor"])] >= per_actor:
                queue.popleft()
            if queue:
                pair = queue.popleft()
                taken[(article_id, pair["actor"])] += 1
                chosen.append(pair)
                if len(chosen) == n:
                    break
            if not queue:
                del queues[article_id]
    return sorted(chosen, key=uncertainty)


def utf16_offset(text: str, index: int) -> int:
    """Label Studio counts offsets in the browser's UTF-16 code units, not in code points."""
    return len(text[:index].encode("utf-16-le")) // 2


def label_studio_task(pair: dict) -> dict:
    sentence = pair["sentence"]
    spans = [
        {
            "id": f"mention-{i}",
            "from_name": MENTION_CONTROL,
            "to_name": TEXT_OBJECT,
            "type": "labels",
            "value": {
                "start": utf16_offset(sentence, start),
                "end": utf16_offset(sentence, end),
                "text": sentence[start:end],
                "labels": [pair["actor"]],
            },
        }
        for i, (start, end) in enumerate(pair["mentions"])
    ]
    return {
        "data": {
            TEXT_OBJECT: sentence,
            "article_id": pair["article_id"],
            "sentence_index": pair["sentence_index"],
            "actor": pair["actor"],
            "previous_sentence": pair["previous_sentence"],
            "next_sentence": pair["next_sentence"],
            "model_guess": pair["model_guess"],
            "model_confidence": pair["model_confidence"],
            "margin": pair["margin"],
        },
        "predictions": [{"model_version": "stance", "score": pair["model_confidence"], "result": spans}],
    }


def label_config(actors: list[str], target_name: str) -> str:
    """The labelling interface: the sentence with the actor's mentions highlighted, and one stance choice."""
    labels = "\n".join(f"    <Label value={quoteattr(actor)}/>" for actor in actors)
    choices = "\n".join(f"    <Choice value={quoteattr(label)}/>" for label in LABELS)
    return f"""<View>
  <Header value={quoteattr(f"Stance of $actor toward {target_name} (article $article_id)")}/>
  <Text name="previous" value="$previous_sentence"/>
  <Labels name="{MENTION_CONTROL}" toName="{TEXT_OBJECT}">
{labels}
  </Labels>
  <Text name="{TEXT_OBJECT}" value="${TEXT_OBJECT}"/>
  <Text name="next" value="$next_sentence"/>
  <Choices name="{STANCE_CONTROL}" toName="{TEXT_OBJECT}" choice="single" showInline="true" required="true">
{choices}
  </Choices>
</View>
"""


@contextlib.contextmanager
def written_batch(
    output: Path, chosen: list[dict], actors: list[str], target_name: str, before_renames=None
) -> Iterator[None]:
    """Write the batch into temporary files beside its outputs; rename them into place only if the block succeeds.

    The export stores its articles inside the block: a batch that cannot be written stores nothing.
    Label Studio tasks and their config are renamed together: a rename that fails, or an
    interrupt before the last rename, leaves both as they were, never new tasks beside an earlier config.
    """
    if output.suffix.lower() == ".csv":
        with atomic_outputs([output], before_renames=before_renames) as (temporary,):
            with open(temporary, "w", newline="", encoding="utf-8") as handle:
                writer = csv.DictWriter(handle, fieldnames=CSV_FIELDS, extrasaction="ignore", lineterminator="\n")
                writer.writeheader()
                writer.writerows({**pair, "label": ""} for pair in chosen)
            yield
    else:
        tasks = [label_studio_task(pair) for pair in chosen]
        texts = {  # the tasks first: a folder that cannot be written is named by the --output given
            output: json.dumps(tasks, indent=2, ensure_ascii=False) + "\n",
            config_path(output): label_config(actors, target_name),
        }
        with atomic_outputs(texts, before_renames=before_renames) as temporaries:
            for (path, text), temporary in zip(texts.items(), temporaries):
                with output_errors(path, temporary):  # a full disk is named by the file it filled
                    temporary.write_text(text, encoding="utf-8")
            yield


MAX_BATCH_BYTES = 50_000_000  # a batch is a few hundred rows; a far larger file at --output is not one


def check_replaceable_batch(output: Path) -> tuple | None:
    """Refuse, before anything is read (and again just before the rename), to replace a file that holds work or is another program's.

    Annotators fill in the batch where it was written, and exporting to that path again replaced
    their labels without a word. Replaced are only: no file, an empty file, a link (the link itself),
    and an earlier batch with nothing filled in (a CSV whose label column is empty, Label Studio tasks
    without annotations). The labelling config beside Label Studio tasks is the export's own output,
    written again from the registry (which may have changed since), and is replaced with them."""
    if holds_data(output):
        filled = _labels_in_batch(output)
        if filled is None:
            raise DataError(
                output,
                None,
                "--output exists and is not a batch as `stance label export` writes it (another program's file?); "
                "if it holds labels, store them with `stance label import` first; else move it or give another "
                "path (nothing was written)",
            )
        if filled:
            raise DataError(
                output,
                None,
                f"--output is a batch with {filled} label{'s' if filled > 1 else ''} filled in; store "
                f"{'them' if filled > 1 else 'it'} with `stance label import {output} --annotator NAME` first, "
                "or give another path (nothing was written)",
            )
    return file_identity(output)


def check_batch_unchanged(output: Path, found: tuple | None) -> None:
    """Just before the rename: a batch an annotator saved while the export ran is checked again, and kept if filled."""
    if file_identity(output) != found:
        check_replaceable_batch(output)


def _read_text(path: Path) -> str | None:
    """The file's text as `stance label import` reads it (UTF-8 or a marked UTF-16/32); None if it is not text."""
    try:
        if path.stat().st_size > MAX_BATCH_BYTES:
            return None
        return decode_text(path.read_bytes())
    except (OSError, NotText):
        return None


def _labels_in_batch(path: Path) -> int | None:
    """How many labels an earlier batch holds (CSV rows with a label, tasks with annotations); None if not a batch."""
    text = _read_text(path)
    if text is None:
        return None
    if path.suffix.lower() == ".csv":
        csv.field_size_limit(max(csv.field_size_limit(), MAX_BATCH_BYTES))  # a sentence may be long
        try:
            rows = list(csv.reader(io.StringIO(text), strict=True))  # as import reads it: a stray quote is an error
        except csv.Error:
            return None
        # The columns import needs, found by name: an annotator may drop the model's guess or add notes.
        if not rows or not {"article_id", "sentence", "actor", "label"} <= set(rows[0]):
            return None
        column = rows[0].index("label")
        return sum(1 for row in rows[1:] if len(row) > column and row[column].strip())
    try:
        tasks = json.loads(text)
    except (ValueError, RecursionError):
        return None
    if not isinstance(tasks, list) or not all(isinstance(t, dict) and isinstance(t.get("data"), dict) for t in tasks):
        return None
    # Import's count (annotations not cancelled), and an older Label Studio's completions or a draft: work too.
    return sum(
        1
        for task in tasks
        if _work(task.get("annotations"), submitted=True) or _work(task.get("completions")) or _work(task.get("drafts"))
    )


def _work(entries, submitted: bool = False) -> bool:
    """Does a task's list of annotations (or completions, drafts) hold any, cancelled ones aside where `submitted`?"""
    if not isinstance(entries, list):
        return bool(entries)
    return any(not (submitted and isinstance(e, dict) and e.get("was_cancelled")) for e in entries)


def export(
    params: Params,
    inputs: list[str],
    n: int,
    output: str,
    model_path: str | Path,
    per_actor: int = 2,
    id_field: str = "id",
    text_field: str = "text",
    max_chars: int = MAX_ARTICLE_CHARS,
) -> int:
    """`stance label export`: write the batch, store the articles it needs; return the exit code.

    0: every input was read; 3: some input was skipped (each named on stderr); every input
    skipped raises NothingScored before anything is written (exit 1), as in `stance score`.
    """
    output = Path(output)
    if output.suffix.lower() not in (".csv", ".json"):
        raise DataError(output, None, "unknown format; use .csv (a spreadsheet) or .json (Label Studio tasks)")
    # What the export reads besides its inputs: the gold file and the store (passes, articles).
    read = [params.data.labels, params.data.articles, params.data.annotation_articles, params.data.annotation]
    check_outputs(
        [*inputs, *read],
        {"--output": str(output), "its labelling config": str(output.with_suffix(".label_config.xml"))},
    )
    found = check_replaceable_batch(output)
    target = Target.load(params.data.description)
    scorer = Scorer.load(model_path)
    actors = sorted(scorer.registry.actors)
    skip = labelled_keys(params, set(actors))
    pairs, texts, skipped = scored_pairs(inputs, scorer, skip, id_field, text_field, max_chars)
    if skipped and not texts:
        raise NothingScored  # as `stance score`: an empty batch would only replace an earlier one
    chosen = select(pairs, n, per_actor)
    exported = {pair["article_id"]: texts[pair["article_id"]] for pair in chosen}
    # Held from reading the store to the batch's rename, so no other export stores an article in between.
    with store_lock(Path(params.data.annotation)):
        known, _ = known_articles(params)
        new = new_articles(params, exported, known)
        stored = []
        try:
            before_renames = functools.partial(check_batch_unchanged, output, found)
            with written_batch(
                output, chosen, actors, target.name, before_renames
            ):  # whole before any article is stored
                stored = store_articles(params, new)
        except BaseException:
            remove_articles(stored)  # the batch (or its config) could not be renamed into place: it stores no article
            raise
    articles = len({pair["article_id"] for pair in chosen})
    where = f"{output} and {config_path(output)}" if output.suffix.lower() == ".json" else str(output)
    print(
        f"exported {len(chosen)} of {len(pairs)} unlabelled pairs from {articles} articles to {where}; "
        f"stored {len(stored)} new articles in {params.data.annotation_articles}"
    )
    if chosen:
        print(f"margins {chosen[0]['margin']:.3f} (most uncertain) to {chosen[-1]['margin']:.3f}")
    return EXIT_SKIPPED if skipped else EXIT_OK
