"""The model card: what the model is, what it was trained on, how good it is, in a page."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

from pipeline.data.labels import LABELS, REAL, REWRITE, SYNTHETIC
from pipeline.data.target import Target
from pipeline.errors import DataError
from pipeline.files import NotText, atomic_output, decode_text, iso_date
from pipeline.params import Params


def read_article_dates(sources: list[Path]) -> dict[str, str | None]:
    """{article id: date or None} from the SOURCES.jsonl files that date the articles (one per articles
    folder, each optional): a line that is no record with a text `id` naming an article of that folder
    stops the stage, naming it."""
    dates = {}
    for source in sources:
        if not source.exists():
            continue
        try:
            text = decode_text(source.read_bytes())
        except NotText as err:
            raise DataError(source, err.line, str(err)) from None
        first_line: dict[str, int] = {}
        # Split at newlines only: JSON strings may hold U+2028 and the other breaks str.splitlines() cuts at.
        for number, line in enumerate(text.split("\n"), start=1):
            line = line.removesuffix("\r")
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except (ValueError, RecursionError):
                raise DataError(source, number, "not a JSON record; write one object a line") from None
            if not isinstance(record, dict) or not isinstance(record.get("id"), str):
                raise DataError(source, number, "a JSON object with a text 'id' (the article's file name) is expected")
            date = record.get("date")
            if date is not None and not (isinstance(date, str) and _is_iso_date(date)):
                raise DataError(source, number, f"'date' is {date!r}; write it as text, YYYY-MM-DD (or YYYY-MM)")
            if record["id"] in first_line:
                raise DataError(
                    source, number, f"id {record['id']!r} is also on line {first_line[record['id']]}; keep one"
                )
            if re.search(r"[/\\]", record["id"]) or not (source.parent / f"{record['id']}.txt").is_file():
                # a misspelt id, or a path, left its article undated
                raise DataError(
                    source,
                    number,
                    f"id {record['id']!r} names no article {record['id']}.txt in {source.parent}"
                    "; write the article's file name without .txt",
                )
            first_line[record["id"]] = number
            dates[record["id"]] = date
    return dates


def _is_iso_date(text: str) -> bool:
    """Written as YYYY-MM-DD or YYYY-MM already (not merely a date ISO 8601 could spell otherwise)."""
    try:
        return iso_date(text) == text
    except ValueError:
        return False


def write_model_card(
    path: Path,
    params: Params,
    target: Target,
    model_metadata: dict,
    metrics: dict,
    training_rows: list[dict],
    dates: dict[str, str | None],
    feature_blocks: list[str],
) -> None:
    """A short, human-readable card beside the model: what it is, what it was trained on, how good it is.

    `dates` are the articles' dates, from `read_article_dates`; `feature_blocks` the names of the
    model's feature blocks, in order.
    """
    articles = sorted({r["article_id"] for r in training_rows if r["origin"] == REAL})
    synthetic = [r for r in training_rows if r["origin"] == SYNTHETIC]
    rewrites = [r for r in training_rows if r["origin"] == REWRITE]
    rewritten = f"{len(rewrites)} from {len({r['article_id'] for r in rewrites})} rewrites of them (docs/REWRITES.md), "
    rewritten = rewritten if rewrites else ""
    known = sorted(d for d in (dates.get(a) for a in articles) if d)
    cv, test, locked = metrics["cv"]["model"], metrics["test"]["model"], metrics["locked"]["model"]
    counts = Counter(LABELS[r["label"]] for r in training_rows)
    lines = [
        "# Model card: stance classifier",
        "",
        f"Actor stance (support / oppose / neutral) toward {target.name},",
        "one prediction per (sentence, actor) pair. Written by the evaluate stage; do not edit.",
        "",
        f"- Target (`{params.data.target}`): {target.description} Not the target: {'; '.join(target.not_target)}.",
        f"- Model: `models/model.skops` (skops; scikit-learn {model_metadata['sklearn_version']}), "
        f"feature version {model_metadata['feature_version']}",
        f"- Classifier: {params.train.classifier}, C={params.train.C}, class_weight={params.train.class_weight}",
        _features_line(feature_blocks, params.train),
        _calibration_line(params.train.calibration, metrics["calibration"]),
        "- Fit on every labelled pair (the train and test splits), once the figures below were computed: the "
        "test-split figures come from the same pipeline fit on the train split only",
        f"- Training data: {len(training_rows)} pairs: "
        f"{len(training_rows) - len(synthetic) - len(rewrites)} from {len(articles)} real articles, {rewritten}"
        f"{len(synthetic)} from {len({r['article_id'] for r in synthetic})} synthetic ones (docs/SYNTHETIC.md); "
        f"sha256 {model_metadata['training_data_sha256'][:16]}…",
        "- Training labels: " + ", ".join(f"{label} {counts[label]}" for label in LABELS),
        f"- Dates of the training articles: {known[0]} to {known[-1]} ({len(articles) - len(known)} articles undated)"
        if known
        else "- Dates of the training articles: unknown",
        f"- Locked test ({locked['articles']} unseen articles, {locked['pairs']} pairs, never tuned on): "
        f"macro-F1 {locked['macro_f1']:.3f} (95% article-bootstrap interval {locked['macro_f1_interval'][0]:.3f} "
        f"to {locked['macro_f1_interval'][1]:.3f}); article-level stance right for "
        f"{locked['article_accuracy']:.1%} of (article, actor)",
        f"- Grouped-CV macro-F1 {cv['macro_f1']:.3f} (accuracy {cv['accuracy']:.3f}); "
        f"held-out test macro-F1 {test['macro_f1']:.3f}",
        "- Per class (grouped CV): "
        + "; ".join(
            f"{label} P {cv['per_class'][label]['precision']:.2f} R {cv['per_class'][label]['recall']:.2f}"
            for label in LABELS
        ),
        f"- Behavioural suite pass rate: {metrics['behaviour']['all']:.3f}",
        f"- Blind paraphrase suite ({metrics['paraphrase']['rows']} pairs in {metrics['paraphrase']['groups']} acts): "
        f"accuracy {metrics['paraphrase']['accuracy']:.3f}, every wording of an act alike for "
        f"{metrics['paraphrase']['consistency']:.1%} of (act, actor)",
        *_preset_lines(metrics.get("finetuned_ensemble")),
        "",
        "## Params",
        "",
        "```json",
        json.dumps(params.train.model_dump(), indent=2, sort_keys=True),
        "```",
        "",
        f"Limits: trained on {len(articles)} English articles ({params.data.articles} and "
        f"{params.data.annotation_articles}) about one target"
        + (f" ({known[0][:4]}-{known[-1][:4]})" if known else "")
        + f"; labels follow {target.guide}.",
        "Scores on other targets or languages mean nothing.",
    ]
    with atomic_output(path) as temporary:
        temporary.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _features_line(blocks: list[str], train) -> str:
    """What the model reads: its own feature blocks (the ColumnTransformer's names), described by the
    train params it was fit with (evaluate checks they are params.yaml's)."""
    (word_low, word_high), (char_low, char_high) = train.word_ngrams, train.char_ngrams
    described = {
        "words": f"word {word_low}-{word_high}-grams of the sentence",
        "chars": f"character {char_low}-{char_high}-grams",
        "window": f"word 1-2-grams of the {train.window} words each side of the actor",
        "window_clusters": f"those words as {train.word_clusters} k-means clusters of their static vectors "
        "(models/static_vectors/)",
        "sentiment": "VADER sentiment of those words",
        "context": "the neighbouring sentences",
        "cues": "clause-scoped stance cues (the target's cues.yaml)"
        + (", each again under the actor's role" if train.frame_roles else ""),
        "static_sentence": "static vectors of the sentence",
        "static_window": "static vectors of the actor's window",
        "embeddings": f"MiniLM embeddings of the {train.embeddings}",
    }
    marks = [
        mark
        for mark, on in (
            ("this actor's mentions marked apart from the others'", train.mark_actors),
            ("negation scope", train.negation_scope),
            ("power scope", train.power_scope),
        )
        if on
    ]
    return "- Features: " + "; ".join([described.get(name, name) for name in blocks] + marks)


def _calibration_line(method: str, figures: dict) -> str:
    """How far `confidence` can be read as a probability, on each set the evaluate stage scores."""
    where = "; ".join(
        f"{name} Brier {figures[key]['brier']:.3f}, log loss {figures[key]['log_loss']:.3f}, "
        f"ECE {figures[key]['ece']:.3f}"
        for key, name in (("cv", "grouped CV"), ("test", "held-out test"), ("locked", "locked test"))
    )
    if method == "none":
        return f"- Probabilities: not calibrated (`train.calibration: none`): {where}"
    return (
        f"- Probabilities: {method} calibration of each class's score, fitted on out-of-fold scores of the real "
        f"articles (folds grouped by article cluster; `train.calibration`); the stance is the most probable "
        f"class: {where}"
    )


def _preset_lines(preset: dict | None) -> list[str]:
    """Where the opt-in preset is on (`finetune.enabled`), what `stance score` uses instead of the model alone."""
    if not preset:
        return []
    locked, test = preset["locked"], preset["test"]
    return [
        "- **Preset on** (`finetune.enabled`): `stance score` averages this model's probabilities with MiniLM "
        "fine-tuned on the same pairs (`models/finetuned/`). Locked test: macro-F1 "
        f"{locked['macro_f1']:.3f} (95% {locked['macro_f1_interval'][0]:.3f} to {locked['macro_f1_interval'][1]:.3f}); "
        f"support recall {locked['per_class']['support']['recall']:.2f}, oppose recall "
        f"{locked['per_class']['oppose']['recall']:.2f}; held-out test macro-F1 {test['macro_f1']:.3f}; behavioural "
        f"suite {preset['behaviour']['all']:.3f}; paraphrase accuracy {preset['paraphrase']['accuracy']:.3f}; "
        "no grouped CV (a fine-tune per fold)",
    ]
