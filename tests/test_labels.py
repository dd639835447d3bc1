"""Gold-label validation: each bad case stops prepare with a message naming file and line."""

from __future__ import annotations

import contextlib
import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import TARGET, run, target_folder

from pipeline.annotation.adjudication import check_loop_gold
from pipeline.data.actors import ActorRegistry
from pipeline.data.labels import read_gold
from pipeline.errors import DataError
from pipeline.evaluation.agreement import check_gold, gold_outside_passes, kappas, read_passes
from pipeline.params import load_params
from pipeline.stages.prepare import prepare

ROOT = Path(__file__).resolve().parents[1]
ACTORS = set(ActorRegistry.load(TARGET / "actors.yaml").actors)
ARTICLE = "France blocked the office.\nJapan welcomed the plan.\n"
OTHER_ARTICLE = "Berlin stayed silent.\n"
GOOD = [
    "article_id,sentence,actor,label",
    "a1,France blocked the office.,france,oppose",
    "a1,Japan welcomed the plan.,japan,support",
    "b2,Berlin stayed silent.,germany,neutral",
]


def run_prepare(tmp_path: Path, rows: list[str], only_first: bool = False):
    (tmp_path / "articles").mkdir(exist_ok=True)
    (tmp_path / "articles/a1.txt").write_text(ARTICLE, encoding="utf-8")
    (tmp_path / "articles/b2.txt").write_text(OTHER_ARTICLE, encoding="utf-8")
    if only_first:
        (tmp_path / "articles/b2.txt").unlink()
        rows = rows[:3]
    (tmp_path / "labels.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    params = load_params(ROOT / "params.yaml")
    params.data.articles = str(tmp_path / "articles")
    params.data.target = target_folder(tmp_path / "target", labels=tmp_path / "labels.csv")
    params.prepare.test_fraction = 0.5
    params.prepare.synthetic = params.prepare.rewrites = False  # these few articles on their own
    with contextlib.chdir(tmp_path):  # the stage writes data/prepared/ below the working directory
        return prepare(params)


def test_good_labels_prepare(tmp_path):
    summary = run_prepare(tmp_path, GOOD)
    assert summary["examples"]["train"] + summary["examples"]["test"] == 3
    assert summary["examples"]["train"] and summary["examples"]["test"]


def test_one_group_of_articles_cannot_be_split(tmp_path):
    with pytest.raises(DataError, match="needs at least 2"):
        run_prepare(tmp_path, GOOD[:3] + ["b2,Berlin stayed silent.,germany,neutral"], only_first=True)


@pytest.mark.parametrize(
    "rows, where, words",
    [
        (
            GOOD[:1] + ["a1,France blocked the office.,atlantis,oppose"] + GOOD[2:],
            "labels.csv:2",
            "unknown actor 'atlantis'",
        ),
        (
            GOOD[:1] + ["a1,France blocked the office.,france,against"] + GOOD[2:],
            "labels.csv:2",
            "not one of support, oppose, neutral",
        ),
        (
            GOOD[:1] + ["a1,France blocked the office.,france,oppose,extra"] + GOOD[2:],
            "labels.csv:2",
            "wrong number of fields",
        ),
        (GOOD + ["a1,France vetoed the office.,france,oppose"], "labels.csv:5", "sentence not found in article 'a1'"),
        (GOOD + ["a2,France blocked the office.,france,oppose"], "labels.csv:5", "article 'a2' is not in"),
        (GOOD + [GOOD[1]], "labels.csv:5", "duplicate row"),
        (GOOD + ["a1,France blocked the office.,japan,neutral"], "labels.csv:5", "does not mention 'japan'"),
        (GOOD[:2] + GOOD[3:], "a1.txt:2", "no gold label for actor 'japan'"),
        (["article_id,sentence,label"] + GOOD[1:], "labels.csv:1", "lacks column(s) actor"),
        # A near-miss of the pair it was meant for is named at its own line, not as that pair's missing row
        (GOOD[:2] + ["a1,Japan welcomed the plan. ,japan,support"] + GOOD[3:], "labels.csv:3", "sentence not found"),
        (GOOD[:2] + ["a1.txt,Japan welcomed the plan.,japan,support"] + GOOD[3:], "labels.csv:3", "'a1.txt' is not in"),
        (
            ["sentence,article_id,actor,label", "a1,France blocked the office.,france,oppose"],
            "labels.csv:2",
            "is not in",
        ),
    ],
)
def test_each_bad_label_file_is_refused_with_file_and_line(tmp_path, rows, where, words):
    with pytest.raises(DataError) as caught:
        run_prepare(tmp_path, rows)
    message = str(caught.value)
    assert f"{where}: " in message and "\n" not in message
    assert words in message
    assert not (tmp_path / "prepared").exists()  # nothing half-written


NFC, NFD = "\u00e9", "e\u0301"  # one code point, and "e" with a combining accent (as macOS names files)
ENCODED_ALIKE = "(Unicode NFC and NFD: save both in one form, NFC)"


@pytest.mark.parametrize(
    "row, words",
    [
        (
            f"{NFD}3,The {NFC}lys{NFC}e blocked the office.,france,oppose",
            f"its accents are encoded otherwise than in {NFC}3.txt's name {ENCODED_ALIKE}; fix the id or remove the row",
        ),
        (
            f"{NFC}3,The {NFD}lys{NFD}e blocked the office.,france,oppose",
            f"its accents are encoded otherwise than in the article {ENCODED_ALIKE}",
        ),
    ],
)
def test_an_id_or_sentence_whose_accents_are_encoded_otherwise_is_named_so(tmp_path, row, words):
    """An id or sentence alike on screen but encoded otherwise matched nothing: the errors said only that
    the article or the sentence was not there."""
    (tmp_path / "articles").mkdir()
    (tmp_path / "articles" / f"{NFC}3.txt").write_text(f"The {NFC}lys{NFC}e blocked the office.\n", encoding="utf-8")
    with pytest.raises(DataError) as caught:
        run_prepare(tmp_path, GOOD + [row])
    assert "labels.csv:5: " in str(caught.value) and str(caught.value).endswith(words)


@pytest.mark.parametrize(
    "name, text, words",
    [
        ("c3.TXT", "Germany stayed silent.\n", "an article's name ends in .txt in lower case; rename it c3.txt"),
        ("c3.txt", " \n\n", "the article is empty"),
    ],
)
def test_an_article_in_upper_case_or_empty_is_refused_naming_its_file(tmp_path, name, text, words):
    """`*.txt` passed over `.TXT` and counted an empty file without a word; `stance score` names both."""
    (tmp_path / "articles").mkdir()
    (tmp_path / "articles" / name).write_text(text, encoding="utf-8")
    with pytest.raises(DataError) as caught:
        run_prepare(tmp_path, GOOD)
    assert str(caught.value) == f"{tmp_path / 'articles' / name}: {words}" + (
        "; write its text or remove the file" if "empty" in words else ""
    )


def test_gold_file_is_exactly_the_annotators_consensus_or_adjudication():
    passes = read_passes(ROOT / "data/targets/nato-tokyo-office/annotation")
    assert set(passes) == {"a", "b", "c"}
    gold = TARGET / "labels.csv"
    assert check_gold(passes, TARGET / "annotation", gold, read_gold(gold, ACTORS)) > 0
    assert all(0.6 < kappa <= 1 for kappa in kappas(passes).values())


def test_gold_pairs_that_no_pass_labels_are_found_not_vouched_for(tmp_path):
    """A row added to labels.csv by hand is in no pass: agreement must say so, not that it matches."""
    annotation = TARGET / "annotation"
    shipped = read_gold(TARGET / "labels.csv", ACTORS)
    # The original passes vouch for the first pairs, the annotation loop's stored passes for the rest.
    loop, _, _ = check_loop_gold(
        annotation / "passes", annotation / "disagreements.csv", TARGET / "labels.csv", shipped
    )
    assert loop and gold_outside_passes(read_passes(annotation), shipped, loop) == []
    assert gold_outside_passes(read_passes(annotation), shipped) != []  # without them, unvouched
    text = (TARGET / "labels.csv").read_text(encoding="utf-8")
    (tmp_path / "labels.csv").write_text(text + "zz_new,France blocked the office.,france,oppose\n", encoding="utf-8")
    passes, gold = read_passes(annotation), read_gold(tmp_path / "labels.csv", ACTORS)
    assert check_gold(passes, annotation, tmp_path / "labels.csv", gold) > 0  # the passes' own pairs still match
    assert gold_outside_passes(passes, gold, loop) == [("zz_new", "France blocked the office.", "france")]


def test_a_target_labelled_only_through_the_loop_has_no_original_passes(tmp_path):
    assert read_passes(tmp_path) == {} and gold_outside_passes({}, read_gold(TARGET / "labels.csv", ACTORS)) != []


def test_the_loop_gold_is_what_its_stored_passes_settle(tmp_path):
    """Passes that agree, or a filled `final`, settle a pair; one pass or a blank final does not yet."""
    header = "article_id,sentence,actor,label"
    blocked, welcomed, silent = "France blocked the office.", "Japan welcomed the plan.", "Berlin stayed silent."

    def write(name: str, lines: list[str]) -> Path:
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
        return tmp_path / name

    write("passes/ann.csv", [header, f"a1,{blocked},france,oppose", f"a1,{welcomed},japan,support"])
    write(
        "passes/bob.csv",
        [header, f"a1,{blocked},france,oppose", f"a1,{welcomed},japan,neutral", f"b2,{silent},germany,support"],
    )
    write("passes/cy.csv", [header, f"b2,{silent},germany,neutral", "c3,Seoul said nothing.,south_korea,neutral"])
    disagreements = write(
        "disagreements.csv",
        [
            "article_id,sentence,actor,label_ann,label_bob,label_cy,final",
            f"a1,{welcomed},japan,support,neutral,,support",
            f"b2,{silent},germany,,support,neutral,",  # not settled yet
        ],
    )
    gold = write("labels.csv", [header, f"a1,{blocked},france,oppose", f"a1,{welcomed},japan,support"])
    actors = {"france", "japan", "germany", "south_korea"}
    settled, adjudicated, waiting = check_loop_gold(tmp_path / "passes", disagreements, gold, read_gold(gold, actors))
    assert settled == {("a1", blocked, "france"), ("a1", welcomed, "japan")} and adjudicated == 1
    assert waiting == 2  # b2's blank final, c3's single pass
    flipped = write("flipped.csv", [header, f"a1,{blocked},france,oppose", f"a1,{welcomed},japan,neutral"])
    with pytest.raises(DataError, match=r"flipped.csv:3: gold says 'neutral' for actor 'japan' .* settle on 'support'"):
        check_loop_gold(tmp_path / "passes", disagreements, flipped, read_gold(flipped, actors))
    missing = write("missing.csv", [header, f"a1,{blocked},france,oppose"])
    with pytest.raises(
        DataError, match=r"missing.csv: no label for actor 'japan' .* settle on 'support'; run `stance label merge`"
    ):
        check_loop_gold(tmp_path / "passes", disagreements, missing, read_gold(missing, actors))


def agreement_in(tmp_path: Path, gold_rows: list[str]) -> tuple[subprocess.CompletedProcess, str]:
    """`stance agreement` in a project that is the shipped one but for its gold file; also the gold's path."""
    (tmp_path / "labels.csv").write_text("\n".join(gold_rows) + "\n", encoding="utf-8")
    params = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    params["data"]["articles"] = str(ROOT / params["data"]["articles"])
    target = tmp_path / "project" / params["data"]["target"]
    target_folder(target, labels=tmp_path / "labels.csv")
    for store in ("passes", "disagreements.csv"):  # the shipped store, read only
        (target / "annotation" / store).symlink_to(TARGET / "annotation" / store)
    (tmp_path / "project/params.yaml").write_text(yaml.safe_dump(params), encoding="utf-8")
    return run(["stance", "agreement"], tmp_path / "project", check=False), f"{params['data']['target']}/labels.csv"


def test_stance_agreement_checks_both_sets_of_passes_and_fails_on_a_contradiction(tmp_path):
    shipped = run(["stance", "agreement"], ROOT)
    assert "more are not settled yet" in shipped.stdout
    (settled,) = [line for line in shipped.stdout.splitlines() if "annotation loop" in line]
    assert int(settled.split()[0]) > 0
    # The same project with one loop label flipped in the gold file: one line naming the file and line, exit 1.
    rows = (TARGET / "labels.csv").read_text(encoding="utf-8").splitlines()
    line = next(n for n, row in enumerate(rows) if row.startswith("r0") and row.endswith(",neutral"))
    rows[line] = rows[line].removesuffix(",neutral") + ",support"
    failed, gold = agreement_in(tmp_path, rows)
    assert failed.returncode == 1 and "Traceback" not in failed.stderr
    assert failed.stderr.strip().startswith(f"error: {gold}:{line + 1}: gold says 'support'")


def test_stance_agreement_fails_on_gold_pairs_that_no_pass_labels(tmp_path):
    """A row added to the gold by hand passes prepare, but nobody has checked it: agreement must not say the gold matches."""
    rows = (TARGET / "labels.csv").read_text(encoding="utf-8").splitlines()
    rows.insert(3, "zz_new,France blocked the office.,france,oppose")
    failed, gold = agreement_in(tmp_path, rows)
    assert failed.returncode == 1 and "Traceback" not in failed.stderr
    (message,) = failed.stderr.strip().splitlines()
    assert message.startswith(f"error: {gold}:4: 1 gold pair(s) in no settled pass")
    assert message.endswith("remove them, store two passes with `stance label import`, then `stance label merge`")
    assert "'france' in article 'zz_new'" in message
    assert "pairs in 3 passes" in failed.stdout  # the checks before it still ran and printed


def test_a_gold_label_that_contradicts_the_passes_is_caught(tmp_path):
    gold = (ROOT / "data/targets/nato-tokyo-office/labels.csv").read_text(encoding="utf-8").splitlines()
    article, rest = gold[1].split(",", 1)
    flipped = rest.rsplit(",", 1)[0] + ("," + ("neutral" if not rest.endswith("neutral") else "support"))
    (tmp_path / "labels.csv").write_text(
        "\n".join([gold[0], f"{article},{flipped}", *gold[2:]]) + "\n", encoding="utf-8"
    )

    def check(gold_path: Path) -> None:
        check_gold(read_passes(TARGET / "annotation"), TARGET / "annotation", gold_path, read_gold(gold_path, ACTORS))

    with pytest.raises(DataError, match=r"labels.csv:2: .* the passes/adjudication say"):
        check(tmp_path / "labels.csv")
    (tmp_path / "short.csv").write_text("\n".join([gold[0], *gold[2:]]) + "\n", encoding="utf-8")  # row 2 gone
    with pytest.raises(DataError, match=r"short.csv: .*: no gold label, where the passes/adjudication say"):
        check(tmp_path / "short.csv")


def test_a_labels_file_saved_by_a_spreadsheet_with_a_byte_order_mark_is_read(tmp_path):
    rows = list(GOOD)
    rows[0] = "\ufeff" + rows[0]  # Excel's "CSV UTF-8"
    summary = run_prepare(tmp_path, rows)
    assert summary["examples"]["train"] + summary["examples"]["test"] == 3


def test_a_labelled_set_with_no_pair_is_refused_not_scored(tmp_path):
    """A locked test whose articles name no actor ended evaluate in scikit-learn's traceback (`Sample
    sequence X is empty`); a synthetic set of the kind trained on nothing."""
    from pipeline.data.labels import load_labelled_set

    (tmp_path / "articles").mkdir()
    (tmp_path / "articles" / "w1.txt").write_text("Weather report. Rain later.\n", encoding="utf-8")
    (tmp_path / "labels.csv").write_text(GOOD[0] + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=rf"^{tmp_path / 'labels.csv'}: no labelled pair"):
        load_labelled_set(tmp_path, ActorRegistry.load(TARGET / "actors.yaml"))
