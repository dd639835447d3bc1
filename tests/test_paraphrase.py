"""The blind paraphrase suite: validated on load, and scored as accuracy and consistency."""

from __future__ import annotations

import pytest
from conftest import ROOT

from pipeline.data.actors import ActorRegistry
from pipeline.data.candidates import article_candidates
from pipeline.data.labels import best_labels
from pipeline.errors import DataError
from pipeline.evaluation.paraphrase import load_paraphrases, run_paraphrases
from pipeline.modeling.persist import load_model
from pipeline.modeling.predict import class_scores, pairs_frame

HEADER = "group,sentence,actor,expected\n"


@pytest.fixture(scope="module")
def registry():
    return ActorRegistry.load(ROOT / "data/targets/nato-tokyo-office/actors.yaml")


@pytest.mark.parametrize(
    "body, line, words",
    [
        ("g,France blocked it.,frnace,oppose\n", 2, "unknown actor 'frnace'"),
        ("g,France blocked it.,france,against\n", 2, "expected 'against' is not one of"),
        ("g,France blocked it.,france,oppose\ng,France blocked it.,france,oppose\n", 3, "the same sentence and actor"),
        ("g,,france,oppose\n", 2, "every row needs"),
        ("g,France blocked it.,france,oppose,extra\n", 2, "wrong number of fields"),
        ('g,"France blocked it.,france,oppose\n', 2, "a quote opened here is never closed"),  # a quote never closed
        # it could only count as a miss, as if the model had failed
        ("g,The ships objected.,france,oppose\n", 2, "no mention of 'france' in the sentence"),
    ],
)
def test_a_bad_row_is_refused_with_file_and_line(tmp_path, registry, body, line, words):
    path = tmp_path / "p.csv"
    path.write_text(HEADER + body, encoding="utf-8")
    with pytest.raises(DataError, match=rf"{path}:{line}: .*{words}"):
        load_paraphrases(path, registry)


def test_accuracy_and_consistency_follow_the_models_own_predictions(tmp_path, registry, trained_model):
    model, _ = load_model(trained_model)
    sentences = [
        "France blocked the NATO office in Tokyo.",
        "Paris vetoed the plan for a NATO office in Japan.",
        "Macron said no to the alliance's Tokyo bureau.",
        "Japan welcomed the liaison office.",
        "Tokyo is keen to host the NATO office.",
    ]
    rows = [("fr_blocks", s, "france", "oppose") for s in sentences[:3]]
    rows += [("jp_welcomes", s, "japan", "support") for s in sentences[3:]]
    path = tmp_path / "p.csv"
    path.write_text(HEADER + "".join(f'{g},"{s}",{a},{e}\n' for g, s, a, e in rows), encoding="utf-8")
    result = run_paraphrases(model, load_paraphrases(path, registry), registry)
    # The same figures computed by hand from the model's predictions for each pair.
    got = []
    for _, sentence, actor, _ in rows:
        pair = next(c for c in article_candidates("x", sentence, registry) if c["actor"] == actor)
        got.append(best_labels(class_scores(model, pairs_frame([pair])))[0])
    assert result["accuracy"] == round(sum(g == r[3] for g, r in zip(got, rows)) / len(rows), 4)
    consistent = [len(set(got[:3])) == 1, len(set(got[3:])) == 1]
    assert result["consistency"] == round(sum(consistent) / 2, 4)
    assert result["groups"] == 2 and result["rows"] == 5 and result["missed_mentions"] == 0
    assert result["accuracy"] >= 0.6  # plain wordings of clear acts: the shipped model gets most right


def test_a_suite_of_no_rows_is_refused_not_divided_by(tmp_path, registry):
    """A header alone ended the evaluate stage in a ZeroDivisionError after its minutes of fitting."""
    path = tmp_path / "p.csv"
    path.write_text(HEADER, encoding="utf-8")
    with pytest.raises(DataError, match=rf"^{path}: holds no rows"):
        load_paraphrases(path, registry)
