"""What the annotation loop keeps on disk, under <target>/annotation/.

- `passes/<annotator>.csv`: one labelling pass per annotator (article_id, sentence, actor,
  label), written by `stance label import`, keyed like the gold file.
- `disagreements.csv`: pairs on which the passes differ, with a `final` column people fill.
- the articles folder <target>/annotation/articles (<target>: params.yaml's `data.target`):
  the text of every exported article that is not in seeds/, so its labels can be trained on.

The gold file (the target's labels.csv) stays the one source of training labels; `stance label
merge` appends to it.
"""

from __future__ import annotations

import contextlib
import csv
import re
import reprlib
import sys
from collections.abc import Iterator
from pathlib import Path

from filelock import FileLock, Timeout

from pipeline.data.labels import LABEL_COLUMNS, GoldKey, check_label, csv_table, load_all_articles, read_gold
from pipeline.errors import DataError
from pipeline.files import atomic_output, atomic_outputs, output_errors
from pipeline.params import Params

SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def name_problem(name: str) -> str | None:
    """Why an annotator name or article id cannot become a file name, or None."""
    if SAFE_NAME.fullmatch(name) and not name.endswith("."):
        return None
    return (
        f"{reprlib.repr(name)} cannot be a file name; use 1 to 100 letters, digits, '.', '_' and '-', "
        "starting with a letter or digit and not ending in '.'"
    )


def check_name(name: str, what: str) -> str:
    """`name` if it can become a file name, else a DataError naming `what` (a file or an option)."""
    problem = name_problem(name)
    if problem:
        raise DataError(what, None, problem)
    return name


def read_pass(path: Path) -> dict[GoldKey, tuple[str, int]]:
    """{(article_id, sentence, actor): (label, line)} of a stored pass (or an old pass_*.csv)."""
    rows: dict[GoldKey, tuple[str, int]] = {}
    for line, row in csv_table(path, LABEL_COLUMNS):
        check_label(path, line, "label", row["label"])
        rows[(row["article_id"], row["sentence"], row["actor"])] = (row["label"], line)
    return rows


def stored_passes(folder: Path) -> dict[str, dict[GoldKey, str]]:
    """{annotator: {key: label}} for every pass under `folder`, annotators sorted by name."""
    return {
        path.stem: {key: label for key, (label, _) in read_pass(path).items()} for path in sorted(folder.glob("*.csv"))
    }


def write_pass(path: Path, rows: dict[GoldKey, str]) -> None:
    with atomic_output(path) as temporary:
        with open(temporary, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(LABEL_COLUMNS)
            writer.writerows([*key, label] for key, label in rows.items())


STORE_LOCK_SECONDS = 120  # an import or merge takes seconds; longer means a stuck process


@contextlib.contextmanager
def store_lock(annotation: Path) -> Iterator[None]:
    """Hold `annotation/.lock` while a pass, the disagreements or the gold file is read and rewritten,
    or an export reads the stored articles and stores new ones.

    Two label commands at once (two imports into one pass, an import during a merge) would
    otherwise each read the file, add their rows and write it back, and the one renamed
    into place last would drop the other's labels; two exports could both store one article,
    and a failed one remove it. The second command waits for the first.
    The lock is the kernel's (flock), so a killed command never leaves it held.
    """
    annotation.mkdir(parents=True, exist_ok=True)
    lock = FileLock(annotation / ".lock", timeout=STORE_LOCK_SECONDS)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        print(f"waiting for another `stance label` command to finish with {annotation}", file=sys.stderr)
        try:
            lock.acquire()
        except Timeout:
            raise DataError(
                annotation / ".lock",
                None,
                f"another `stance label` command has held the store for {STORE_LOCK_SECONDS} s; "
                "let it finish, then run this again (nothing was stored)",
            ) from None
    try:
        yield
    finally:
        lock.release()


def labelled_keys(params: Params, actors: set[str]) -> set[GoldKey]:
    """Every pair that already has a label: in the gold file, in a stored pass, or in an old pass_*.csv."""
    keys = set(read_gold(params.data.labels, actors))
    annotation = Path(params.data.annotation)
    for path in sorted((annotation / "passes").glob("*.csv")) + sorted(annotation.glob("pass_*.csv")):
        keys.update(read_pass(path))
    return keys


def known_articles(params: Params) -> tuple[dict[str, str], set[str]]:
    """({article id: text} of seeds/ and the annotation articles folder, ids of the latter)."""
    return load_all_articles(params.data.articles, params.data.annotation_articles)


def new_articles(params: Params, articles: dict[str, tuple[str, str]], known: dict[str, str]) -> dict[str, str]:
    """{article id: text} of the exported articles (id: (text, origin)) not stored yet; nothing is written.

    An article already in seeds/ or in the annotation folder is left alone, but only if
    its text is the same: two texts under one id would make the labels ambiguous. Every
    article is checked before any is stored, so a refused export stores none.
    """
    new = {}
    for article_id, (text, origin) in articles.items():
        if article_id in known:
            if known[article_id] != text:
                raise DataError(
                    origin,
                    None,
                    f"article id {article_id!r} is already stored with another text (in {params.data.articles} or "
                    f"{params.data.annotation_articles}); give this article another id",
                )
            continue
        check_name(article_id, origin)
        new[article_id] = text
    return new


def store_articles(params: Params, articles: dict[str, str]) -> list[Path]:
    """Keep exported articles' texts ({article id: text}, from `new_articles`) where `prepare` reads them; their paths.

    All or none: every text is written to a temporary file beside its place first, and
    only then are they renamed into place (`atomic_outputs`). A write or a rename that
    fails, or an interrupt, removes the temporary files and every article already renamed.
    """
    folder = Path(params.data.annotation_articles)
    paths = [folder / f"{article_id}.txt" for article_id in articles]
    for path in paths:
        # new_articles left out every id stored (under the store lock the export holds), but on
        # a case-insensitive disk an id differing only in case still names a stored file.
        if path.exists():
            raise DataError(
                path,
                None,
                "already exists (on a disk that ignores case, for an id differing only in case); "
                "give this article another id",
            )
    try:
        with atomic_outputs(paths) as temporaries:
            for path, temporary, text in zip(paths, temporaries, articles.values()):
                with output_errors(path, temporary):  # a full disk is named by the article it filled
                    temporary.write_bytes(text.encode("utf-8"))
    except BaseException:  # an interrupt just after the last rename too: none existed before (see above)
        remove_articles(paths)
        raise
    return paths


def remove_articles(paths: list[Path]) -> None:
    """Undo `store_articles` for an export that failed, so that it stores no article."""
    left = []
    for path in paths:
        try:
            path.unlink(missing_ok=True)
        except OSError as err:
            left.append((path, err.strerror or str(err)))
    if left:
        (path, reason), more = left[0], f" and {len(left) - 1} more beside it" if len(left) > 1 else ""
        raise DataError(
            path, None, f"stored by an export that failed, and cannot be removed ({reason}); remove it{more}"
        )
