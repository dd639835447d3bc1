"""Gold labels (the target's labels.csv) and the articles they label, validated on load.

A gold row is keyed by article id, sentence text and actor, never by offsets, so a
new sentence splitter or alias list shows at once which rows no longer fit. One row
labels every occurrence of its sentence in the article.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Iterator
from pathlib import Path

from pipeline.data.actors import ActorRegistry
from pipeline.data.candidates import candidates_of
from pipeline.errors import DataError
from pipeline.files import MAX_ARTICLE_CHARS, read_text_file

LABELS = ("support", "oppose", "neutral")

# Where a labelled pair's article comes from. Only real reports are ever scored; the others only train.
REAL = "real"  # a report
SYNTHETIC = "synthetic"  # written to vary the wording of stances (docs/SYNTHETIC.md)
REWRITE = "rewrite"  # a real report retold in other words; on its source's side of every split and fold
SOURCE_COLUMNS = ("article_id", "source_id")  # a rewrite and the real article it retells (rewrites/sources.csv)
PROBABILITY_FIELDS = [f"p_{label}" for label in LABELS]  # one column per label, in every output
LABEL_COLUMNS = ("article_id", "sentence", "actor", "label")
MAX_LABEL_FILE_BYTES = 50_000_000


def article_stance(pair_labels) -> str:
    """How an article presents an actor, from its pairs' labels: the more frequent of support and
    oppose, `mixed` on a tie, `neutral` when there are neither."""
    support = sum(label == "support" for label in pair_labels)
    oppose = sum(label == "oppose" for label in pair_labels)
    return "support" if support > oppose else "oppose" if oppose > support else "mixed" if support else "neutral"


UNCERTAIN = "uncertain"  # the stance of a scored pair below `stance score --min-confidence`


def scored_article_stance(pair_labels) -> str:
    """The article-level stance of scored pairs: `uncertain` when no pair was sure enough to say
    (every one below --min-confidence), else the summary rule above, over the pairs that were."""
    pair_labels = list(pair_labels)
    return UNCERTAIN if all(label == UNCERTAIN for label in pair_labels) else article_stance(pair_labels)


def best_labels(scores) -> list[str]:
    """The label with the highest score in each row of a (pairs x LABELS) score array."""
    return [LABELS[i] for i in scores.argmax(axis=1)]


GoldKey = tuple[str, str, str]  # (article_id, sentence, actor)


def load_articles(folder: str | Path, required: bool = True) -> dict[str, str]:
    """Every `*.txt` in `folder` as {article id: text}, sorted by id so disk order never matters.

    `required=False` (the annotation loop's folder of partly labelled articles) lets the
    folder be missing or hold no article.
    """
    folder = Path(folder)
    if not folder.is_dir():
        if not required:
            return {}
        raise DataError(folder, None, "articles folder not found")
    articles = {}
    for path in sorted(p for p in folder.iterdir() if p.suffix.lower() == ".txt" and p.is_file()):
        if path.suffix != ".txt":  # a glob of "*.txt" passed over it without a word; other files name `id.txt`
            raise DataError(path, None, f"an article's name ends in .txt in lower case; rename it {path.stem}.txt")
        text = read_text_file(path, MAX_ARTICLE_CHARS)
        if not text.strip():
            raise DataError(path, None, "the article is empty; write its text or remove the file")
        articles[path.stem] = text
    if not articles and required:
        raise DataError(folder, None, "no .txt articles in the folder")
    return articles


def load_all_articles(folder: str | Path, partial_folder: str | Path) -> tuple[dict[str, str], set[str]]:
    """The fully labelled articles (`folder`) and the partly labelled ones (`partial_folder`), as one mapping.

    Returns ({article id: text}, ids of the partly labelled articles). An id may live in
    only one of the two folders.
    """
    articles = load_articles(folder)
    partial = load_articles(partial_folder, required=False)
    for article_id in partial:
        if article_id in articles:
            raise DataError(
                Path(partial_folder) / f"{article_id}.txt",
                None,
                f"article id {article_id!r} is also in {folder}; an article lives in one folder only, remove one",
            )
    return {**articles, **partial}, set(partial)


def check_label(path, line: int, field: str, written: str, label: str | None = None) -> None:
    """Stop at this line unless `label` (by default the text as `written`) is one of LABELS."""
    if (written if label is None else label) not in LABELS:
        raise DataError(path, line, f"{field} {written!r} is not one of {', '.join(LABELS)}")


def gold_key(row: dict, sentence_field: str = "sentence") -> GoldKey:
    """A labelled row's key, as every label file is read: ids stripped, the sentence exactly as written."""
    return (row["article_id"].strip(), row[sentence_field], row["actor"].strip())


def read_gold(path: str | Path, actors: set[str]) -> dict[GoldKey, tuple[str, int]]:
    """{(article_id, sentence, actor): (label, line)} from the gold CSV, each row checked."""
    gold: dict[GoldKey, tuple[str, int]] = {}
    for line, row in csv_table(path, LABEL_COLUMNS):
        key = gold_key(row)
        check_label(path, line, "label", row["label"], row["label"].strip())
        if key[2] not in actors:
            raise DataError(
                path, line, f"unknown actor {key[2]!r}; use an id from the registry ({', '.join(sorted(actors))})"
            )
        if key in gold:
            raise DataError(
                path,
                line,
                f"duplicate row for actor {key[2]!r} in this sentence (first on line {gold[key][1]}); keep one",
            )
        gold[key] = (row["label"].strip(), line)
    return gold


WRONG_FIELD_COUNT = "wrong number of fields; quote any field that contains a comma"


def csv_table(
    path, columns, exact: bool = False, max_bytes: int = MAX_LABEL_FILE_BYTES, text: str | None = None
) -> Iterator[tuple[int, dict]]:
    """(line, row) for each row of the CSV file at `path`, whose header must hold `columns` (be
    exactly them, if `exact`). A missing column, a row without one field per column, or text that
    is not valid CSV stops the read with its line: a hand-edited file never half-reads. `text` is
    the file's, if already read."""
    for line, row in csv_records(path, columns, exact, max_bytes, text=text):
        if row is None:
            raise DataError(path, line, WRONG_FIELD_COUNT)
        yield line, row


def csv_records(
    path,
    columns,
    exact: bool = False,
    max_bytes: int = MAX_LABEL_FILE_BYTES,
    advice: str | None = None,
    text: str | None = None,
) -> Iterator[tuple[int, dict | None]]:
    """`csv_table`'s reading, with a record that has not one field per column given as (line, None), so
    that a caller may name every such line; a bad header or text that is not CSV raises at its line.
    `advice` ends the header's messages (by default: what the header must hold); `text` is the file's, if read."""
    lines = NumberedLines(read_text_file(path, max_bytes) if text is None else text)
    # strict: a quote never closed is an error, not a field that swallows the rest of the file
    reader = csv.DictReader(lines, strict=True)
    try:
        header = list(reader.fieldnames or [])
        if repeated := repeated_column(header):
            raise DataError(path, 1, f"column {repeated!r} appears twice in the header; {advice or 'keep one'}")
        if exact and header != list(columns):
            raise DataError(path, 1, f"the header must be {','.join(columns)}")
        missing = [c for c in columns if c not in header]
        if missing:
            advice = advice or f"it must have {','.join(columns)}"
            raise DataError(path, 1, f"header lacks column(s) {', '.join(missing)}; {advice}")
        while True:
            lines.record_start = None
            row = next(reader, None)
            if row is None:
                return
            whole = None not in row and all(row[c] is not None for c in columns)  # more fields, or fewer
            yield lines.start(), row if whole else None
    except csv.Error as err:
        raise DataError(path, lines.start(), f"not valid CSV: {csv_reason(err)}") from None


def csv_reason(err: csv.Error) -> str:
    """What a strict csv reader's error means, in the words of the person who edited the file."""
    if "unexpected end of data" in str(err):
        return "a quote opened here is never closed"
    if "expected after" in str(err):  # `"a"b`, or a quote left open until the next row's first quote
        return (
            "a quote opened in this record closes before its field ends (left open, it closed at a later "
            "quote); quote whole fields and double any quote inside one"
        )
    return str(err)


def repeated_column(header: list[str]) -> str | None:
    """The first column name the header holds twice: a DictReader would silently keep the last one's cells."""
    return next((name for i, name in enumerate(header) if name and name in header[:i]), None)  # blanks: spare cells


class NumberedLines:
    """The lines of a text, for csv, remembering where the record being read starts: a record may span
    lines, and the blank lines before it are skipped."""

    def __init__(self, text: str):
        self._lines = io.StringIO(text, newline="")
        self.number = 0
        self.record_start: int | None = None

    def __iter__(self):
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self.number += 1
        if self.record_start is None and line.strip("\r\n"):
            self.record_start = self.number
        return line

    def start(self) -> int:
        return self.record_start or max(self.number, 1)


def read_sources(path: str | Path, real_ids, articles_dir: str | Path) -> dict[str, str]:
    """{rewrite id: the real article it retells} from a rewrites folder's sources.csv
    (article_id,source_id), each row checked: the rewrite has an article file, the source is
    one of `real_ids`, no id twice."""
    path = Path(path)
    if not path.is_file():
        raise DataError(path, None, "missing: each rewrite needs the real article it retells (article_id,source_id)")
    sources: dict[str, str] = {}
    for line, row in csv_table(path, SOURCE_COLUMNS, exact=True):
        rewrite, source = (row[c].strip() for c in SOURCE_COLUMNS)
        if not (Path(articles_dir) / f"{rewrite}.txt").is_file():
            raise DataError(path, line, f"no article {rewrite}.txt in {articles_dir}")
        if source not in real_ids:
            raise DataError(path, line, f"{source!r} is not a real article of this target")
        if rewrite in real_ids or rewrite in sources:
            raise DataError(path, line, f"{rewrite!r} is already a real article or another rewrite")
        sources[rewrite] = source
    return sources


def attach_gold(
    candidates: list[dict],
    gold: dict[GoldKey, tuple[str, int]],
    labels_path,
    articles: dict[str, str],
    articles_dir,
    partly_labelled: set[str] = frozenset(),
    partial_dir=None,
) -> list[dict]:
    """Give every candidate its gold label; every gold row must match a candidate, and vice versa.

    The one exception: a candidate of a partly labelled article (`partly_labelled`, the
    annotation loop's articles) without a gold row is left out instead of refused.
    """
    keys = [(c["article_id"], c["sentence"], c["actor"]) for c in candidates]
    # A row that matches no pair first: a near-miss (a stray space, a curly quote, a swapped column) is
    # named at its own line, not as the pair it was meant for, which would then lack a row.
    used = set(keys)
    for key, (_, line) in sorted(gold.items(), key=lambda item: item[1][1]):
        if key in used:
            continue
        article_id, sentence, actor = key
        if article_id not in articles:
            twin = next((name for name in articles if _nfc(name) == _nfc(article_id)), None)
            raise DataError(
                labels_path,
                line,
                f"article {article_id!r} is not in {articles_dir}"
                + (f" or {partial_dir}" if partial_dir else "")
                + (f"; its accents are encoded otherwise than in {twin}.txt's name ({ENCODED_ALIKE})" if twin else "")
                + "; fix the id or remove the row",
            )
        if sentence not in articles[article_id]:
            encoded_otherwise = _nfc(sentence) in _nfc(articles[article_id])
            raise DataError(
                labels_path,
                line,
                f"sentence not found in article {article_id!r}: {_short(sentence)}; "
                + (
                    f"its accents are encoded otherwise than in the article ({ENCODED_ALIKE})"
                    if encoded_otherwise
                    else "copy it exactly from the article"
                ),
            )
        raise DataError(
            labels_path,
            line,
            f"no candidate pair: the sentence is not split this way or does not mention {actor!r} "
            f"({_short(sentence)}); fix the row or the registry",
        )
    labelled = []
    for candidate, key in zip(candidates, keys):
        if key not in gold and candidate["article_id"] in partly_labelled:
            continue
        if key not in gold:
            text = articles[candidate["article_id"]]
            line = text[: text.find(candidate["sentence"])].count("\n") + 1
            raise DataError(
                Path(articles_dir) / f"{candidate['article_id']}.txt",
                line,
                f"no gold label for actor {candidate['actor']!r} in sentence {_short(candidate['sentence'])}; "
                f"add a row to {labels_path}",
            )
        labelled.append({**candidate, "label": gold[key][0]})
    return labelled


# An "é" may be one code point or "e" and a combining accent (Unicode NFC and NFD: macOS file names, some
# editors): alike on screen, different to a string match.
ENCODED_ALIKE = "Unicode NFC and NFD: save both in one form, NFC"


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _short(sentence: str, limit: int = 70) -> str:
    return repr(sentence if len(sentence) <= limit else sentence[: limit - 1] + "…")


def load_labelled_set(folder: str | Path, registry: ActorRegistry) -> list[dict]:
    """Every candidate pair of a fully labelled article set (`articles/*.txt` and `labels.csv`
    in `folder`, as the synthetic text and the locked test are kept), with its gold label."""
    folder = Path(folder)
    articles = load_articles(folder / "articles")
    gold = read_gold(folder / "labels.csv", set(registry.actors))
    candidates = candidates_of(articles, registry)
    labelled = attach_gold(candidates, gold, folder / "labels.csv", articles, folder / "articles")
    if not labelled:  # scored, it would be a metric of nothing
        raise DataError(folder / "labels.csv", None, "no labelled pair: no article here names an actor of actors.yaml")
    return labelled
