"""Actor-aware features, the model as one estimator, and the behavioural suite's expansion."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import run, target_folder
from sklearn.base import clone
from sklearn.metrics import f1_score
from sklearn.model_selection import GroupKFold, cross_val_predict

from pipeline.data.actors import ActorRegistry
from pipeline.data.candidates import article_candidates
from pipeline.data.splits import load_split
from pipeline.data.target import Target
from pipeline.errors import DataError
from pipeline.evaluation.behaviour import load_suite
from pipeline.features.lexicon import load_cue_lexicon
from pipeline.features.pair_view import PairView
from pipeline.modeling.build import build_model
from pipeline.modeling.predict import pairs_frame
from pipeline.params import load_params
from pipeline.paths import TRAIN_SPLIT

ROOT = Path(__file__).resolve().parents[1]
TARGET = Target.load(ROOT / "data/targets/nato-tokyo-office/target.yaml")


@pytest.fixture(scope="module")
def registry():
    return ActorRegistry.load(ROOT / "data/targets/nato-tokyo-office/actors.yaml")


@pytest.fixture(scope="module")
def lexicon():
    return load_cue_lexicon(ROOT / "data/targets/nato-tokyo-office/cues.yaml")


def views(sentence, registry, lexicon, **options) -> dict[str, dict]:
    candidates = list(article_candidates("a", sentence, registry))
    frame = PairView(lexicon=lexicon, **options).transform(pd.DataFrame(candidates))
    return {c["actor"]: row for c, (_, row) in zip(candidates, frame.iterrows())}


def test_target_and_other_actors_are_marked(registry, lexicon):
    view = views("France told Japan that NATO was wrong.", registry, lexicon)["japan"]
    assert view["text"].split()[:4] == ["actoro", "told", "actorx", "that"]


def test_the_subject_holds_the_cue_not_the_object(registry, lexicon):
    found = views("China objected to NATO's creeping expansion.", registry, lexicon)
    assert "self:oppose" in found["china"]["cues"]
    assert "self:oppose" not in found["nato"]["cues"] and "other:oppose" in found["nato"]["cues"]


def test_two_actors_with_opposite_stances_get_their_own(registry, lexicon):
    found = views("While NATO pushed for the office, France blocked it.", registry, lexicon)
    assert "self:support" in found["nato"]["cues"] and "self:oppose" not in found["nato"]["cues"]
    assert "self:oppose" in found["france"]["cues"] and "self:support" not in found["france"]["cues"]


@pytest.mark.parametrize(
    "sentence, stance",
    [
        ("Germany is not against the liaison office.", "support"),
        ("Germany no longer objects to the office.", "support"),
        ("Germany does not support the office.", "oppose"),
        ("If Germany lifted its veto, the office could open.", "oppose"),
    ],
)
def test_negation_and_conditions_change_the_stance_a_cue_gives(registry, lexicon, sentence, stance):
    cues = views(sentence, registry, lexicon)["germany"]["cues"]
    assert f"self:{stance}" in cues and f"self_last:{stance}" in cues


def test_negation_scope_prefixes_tokens_to_the_clause_end(registry, lexicon):
    text = views("Germany does not support the office, officials said.", registry, lexicon)["germany"]["text"]
    assert "not_support not_the not_office , officials" in text


def test_power_scope_prefixes_a_power_phrase_and_its_content_not_an_act(registry, lexicon):
    # guide: "France could use its veto" is neutral, "France used its veto" is oppose
    could = views("France could use its veto against the office, officials said.", registry, lexicon, power_scope=True)
    assert could["france"]["text"].split()[:9] == [
        "actorx",
        *("power_" + w for w in ("could", "use", "its", "veto", "against", "the")),
        "office",
        ",",
    ]
    assert "power_veto" in could["france"]["window"].split()
    used = views("France used its veto against the office.", registry, lexicon, power_scope=True)
    assert not any(t.startswith("power_") for t in used["france"]["text"].split())
    # the content stops at the clause's end, and nothing is prefixed with the switch off
    short = views("Germany can block it, and Japan welcomed the office.", registry, lexicon, power_scope=True)
    assert "power_block power_it , and actoro welcomed" in short["germany"]["text"]
    off = views("France could use its veto against the office.", registry, lexicon)
    assert "power_" not in off["france"]["text"]


def test_another_target_only_gets_no_stance_of_its_own(registry, lexicon):
    cues = views("Germany supports NATO membership for Ukraine.", registry, lexicon)["germany"]["cues"]
    assert "off:self:support" in cues and "self:support" not in cues


def test_a_place_mention_is_flagged(registry, lexicon):
    assert "mention:place" in views("NATO plans an office in Tokyo.", registry, lexicon)["japan"]["cues"]


@pytest.mark.parametrize(
    "sentence, actor, holds, not_holds",
    [
        # guide: the power to decide, without a stated choice, is neutral
        ("France could use its veto to scupper the plan.", "france", "self:power", "self:oppose"),
        ("The office needs the unanimous approval of Germany.", "germany", "self:power", "self:support"),
        # the passive's agent holds the cue
        ("The push for the office was spearheaded by Stoltenberg.", "nato", "self:support", None),
        # an actor told what it should do is the addressee, the speaker holds the cue
        ("He said Japan should make the right call.", "japan", None, "self:oppose"),
        # "a Japan office" names the target; NATO holds the plan
        ("NATO's Tokyo office plan remains on hold.", "nato", "self:support", None),
        ("NATO's Tokyo office plan remains on hold.", "japan", None, "self:support"),
        # listed actors share the cue, "like" lists too
        ("China, like France, opposes the idea.", "france", "self:oppose", None),
        (
            "Australia and Seoul are among the countries that would be happy to see such an office.",
            "south_korea",
            "self:support",
            None,
        ),
        # a quoted phrase inside the clause does not cut it
        ('Japan was "working in that direction," he said.', "japan", "self:support", None),
    ],
)
def test_holder_rules(registry, lexicon, sentence, actor, holds, not_holds):
    cues = views(sentence, registry, lexicon)[actor]["cues"]
    assert holds is None or holds in cues, cues
    assert not_holds is None or not_holds not in cues, cues


@pytest.mark.parametrize(
    "sentence, actor, cues_held",
    [
        # what is opposed is no second stance: only the oppose cue is France's
        ("France has rejected plans to establish a NATO liaison office in Japan.", "france", {"oppose"}),
        ("China condemned plans to open a NATO office in Tokyo.", "china", {"oppose"}),
        ("France opposed a proposal to set up a NATO liaison office.", "france", {"oppose"}),
        # "refused" is also a negator; with the plan as its object the refusal is all there is
        ("France has refused plans to establish a NATO liaison office in Japan.", "france", {"oppose"}),
        # a negated objection to the plan is support
        ("Germany did not object to plans to open the office.", "germany", {"support"}),
        # a coordinator between them: two acts, both kept
        ("France objected and endorsed the office.", "france", {"oppose", "support"}),
        # a reversal is what is opposed too; after a comma it is a second act
        ("France rejected calls to lift its veto on the office.", "france", {"oppose"}),
        ("France objected, then lifted its veto on the office.", "france", {"oppose", "support"}),
        ("France objected then lifted its veto on the office.", "france", {"oppose", "support"}),
        ("France objected at first then lifted its veto on the office.", "france", {"oppose", "support"}),
        ("France objected strongly then endorsed the office.", "france", {"oppose", "support"}),
        # ...but "then" inside what is opposed is part of it
        ("France rejected plans to then establish a NATO liaison office.", "france", {"oppose"}),
        ("France rejected calls to then lift its veto on the office.", "france", {"oppose"}),
    ],
)
def test_a_support_cue_right_after_an_oppose_cue_is_what_is_opposed(registry, lexicon, sentence, actor, cues_held):
    cues = views(sentence, registry, lexicon)[actor]["cues"]
    held = {name.split(":")[1] for name in cues if name.startswith("self:") and name.count(":") == 1}
    assert held & {"support", "oppose"} == cues_held, cues


def test_a_support_cue_in_the_next_clause_is_not_what_is_opposed(registry, lexicon):
    """ "but" starts a clause: its cue stays a cue (held by nobody here), though 2 tokens after the objection."""
    cues = views("France objected but endorsed the office.", registry, lexicon)["france"]["cues"]
    assert "self:oppose" in cues and "nobody:support" in cues, cues


def test_an_actor_between_keeps_the_plan_its_owners(registry, lexicon):
    """ "China criticised NATO's plans to open an office": NATO's plans stay NATO's support."""
    found = views("China criticised NATO's plans to open an office in Tokyo.", registry, lexicon)
    assert "self:oppose" in found["china"]["cues"] and "self:support" in found["nato"]["cues"]


def test_a_lexicon_phrase_that_can_never_match_is_refused(tmp_path, lexicon):
    import yaml

    data = {name: list(phrases) for name, phrases in lexicon.items()}
    data["oppose"].append("ill-advised")
    path = tmp_path / "cues.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(
        DataError, match=rf"{path}:\d+: oppose: phrase 'ill-advised' can never match; write it as 'ill - advised'"
    ):
        load_cue_lexicon(path)


CUES_TEXT = (ROOT / "data/targets/nato-tokyo-office/cues.yaml").read_text(encoding="utf-8")


def edited_cues(tmp_path, old: str, new: str) -> tuple[Path, int]:
    """data/targets/nato-tokyo-office/cues.yaml with `old` (found once) replaced by `new`, and the first line that differs."""
    assert CUES_TEXT.count(old) == 1, old
    text = CUES_TEXT.replace(old, new)
    path = tmp_path / "cues.yaml"
    path.write_text(text, encoding="utf-8")
    pairs = zip(CUES_TEXT.splitlines(), text.splitlines())
    return path, next((n for n, (a, b) in enumerate(pairs, start=1) if a != b), None)


def line_of_key(key: str) -> int:
    """The line of a top-level key of data/targets/nato-tokyo-office/cues.yaml."""
    return CUES_TEXT.splitlines().index(key) + 1


BACKING = CUES_TEXT.splitlines().index("  - backing") + 1  # a support cue's line


@pytest.mark.parametrize(
    "old, new, message",
    [
        # twice in one class, also when only the spaces between its tokens differ
        (
            "  - backing\n",
            "  - backing\n  - backing\n",
            f"support: phrase 'backing' is listed twice (first on line {BACKING})",
        ),
        (
            "  - in support of\n",
            "  - in support of\n  - in  support of\n",
            "support: phrase 'in  support of' is listed",
        ),
        # one phrase as two stances, or under two of target, related and off_target
        (
            "  - nix*\n",
            "  - nix*\n  - backing\n",
            f"oppose: phrase 'backing' is also under support (line {BACKING}); a match gives one stance",
        ),
        ("  - summit\n", "  - summit\n  - office\n", "off_target: phrase 'office' is also under target (line"),
    ],
)
def test_a_phrase_listed_twice_or_as_two_stances_is_refused_at_its_second_line(tmp_path, old, new, message):
    path, line = edited_cues(tmp_path, old, new)
    with pytest.raises(DataError) as refused:
        load_cue_lexicon(path)
    assert str(refused.value).startswith(f"{path}:{line}: {message}"), str(refused.value)
    assert "\n" not in str(refused.value)


def test_a_phrase_in_two_stance_classes_is_refused_at_the_later_line_whatever_order_the_file_gives(tmp_path):
    """Support is read first, but the file lists oppose first: the later line is support's, quoted as written there."""
    oppose = CUES_TEXT[CUES_TEXT.index("oppose:\n") : CUES_TEXT.index("reversal:\n")]
    text = CUES_TEXT.replace(oppose, "").replace(
        "support:\n", oppose.replace("  - nix*\n", "  - nix*\n  - in  support of\n") + "support:\n"
    )
    path = tmp_path / "cues.yaml"
    path.write_text(text, encoding="utf-8")
    lines = text.splitlines()
    first, second = lines.index("  - in  support of") + 1, lines.index("  - in support of") + 1
    assert first < second
    with pytest.raises(DataError) as refused:
        load_cue_lexicon(path)
    assert str(refused.value).startswith(
        f"{path}:{second}: support: phrase 'in support of' is also under oppose (line {first})"
    )


def cues_listing(tmp_path, phrase: str, *classes: str) -> Path:
    """data/targets/nato-tokyo-office/cues.yaml with `phrase` added first under each of `classes`."""
    text = CUES_TEXT
    for name in classes:
        assert text.count(f"\n{name}:\n") == 1, name
        text = text.replace(f"\n{name}:\n", f"\n{name}:\n  - {phrase}\n")
    path = tmp_path / "cues.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_bare_on_or_no_in_a_word_list_is_the_word(tmp_path):
    """YAML 1.1 read `on` and `no` as booleans, so quoting them was the only way to list the words."""
    assert 'into, against, for, "on",' in CUES_TEXT
    path = tmp_path / "cues.yaml"
    path.write_text(CUES_TEXT.replace('into, against, for, "on",', "into, against, for, on,"), encoding="utf-8")
    assert load_cue_lexicon(path) == load_cue_lexicon(ROOT / "data/targets/nato-tokyo-office/cues.yaml")


def test_a_phrase_may_be_a_stance_cue_and_a_negator_but_not_two_stance_cues(tmp_path):
    # "stonewalled the plan": an oppose cue that may also flip the cue after it, as "refus*" does
    lexicon = load_cue_lexicon(cues_listing(tmp_path, "stonewall*", "oppose", "negators"))
    assert "stonewall*" in lexicon["oppose"] and "stonewall*" in lexicon["negators"]
    with pytest.raises(DataError, match="phrase 'stonewall\\*' is also under support"):
        load_cue_lexicon(cues_listing(tmp_path, "stonewall*", "oppose", "support"))


@pytest.mark.parametrize(
    "old, new, message",
    [
        # a word list removed, or one the code does not know
        ('  quotes: [\'"\', "“", "”"]\n', "  quote_marks: ['\"']\n", "syntax: unknown word list 'quote_marks'"),
        ('  coordinators: [",", and, or, like]\n', "", "syntax: missing word list 'coordinators'"),
        # a boolean, which no token ever equals (a bare `on` is the word: YAML 1.2, as DVC reads params.yaml)
        (
            'into, against, for, "on",',
            "into, against, for, true,",
            "syntax: object_markers: every entry must be a string",
        ),
        (
            "  subject_pronouns: [he, she,",
            "  subject_pronouns: [He, she,",
            "syntax: subject_pronouns: write 'He' in lower case",
        ),
        (
            "  agent_markers: [by]",
            "  agent_markers: [by, on behalf of]",
            "syntax: agent_markers: 'on behalf of' is not one token",
        ),
        ("  place_words: [in, to", "  place_words: in to", "syntax: place_words must be a list of strings"),
        # distances are positive whole numbers of tokens, at most 100 (past any clause)
        ("  negation_reach: 5\n", "  negation_reach: 0\n", "distances: negation_reach must be a positive whole number"),
        (
            "  opposed_content_reach: 4\n",
            "  opposed_content_reach: -4\n",
            "distances: opposed_content_reach must be a positive whole number of at most 100, got a number -4",
        ),
        (
            "  power_content_reach: 2\n",
            "  power_content_reach: 100000000000000000000\n",
            "distances: power_content_reach must be a positive whole number of at most 100, got a number 10000000000",
        ),
        (
            "  gerund_min_length: 6\n",
            "  gerund_min_length: 101\n",
            "gerund_min_length must be a positive whole number of",
        ),
        (
            "  possessor_reach: 3\n",
            "  possessor_reach: three\n",
            "distances: possessor_reach must be a positive whole number",
        ),
        (
            "  power_content_reach: 2\n",
            "  power_content_reach: 2.5\n",
            "distances: power_content_reach must be a positive",
        ),
        ("  gerund_min_length: 6\n", "  gerund_min_length: true\n", "distances: gerund_min_length must be a positive"),
        (
            "  negation_reach: 5\n",
            "  negation_reach: 5\n  quote_reach: 4\n",
            "distances: unknown distance 'quote_reach'",
        ),
        ("  possessor_reach: 3\n", "", "distances: missing distance 'possessor_reach'"),
    ],
)
def test_a_bad_word_list_or_distance_is_refused_with_file_and_line(tmp_path, old, new, message):
    path, line = edited_cues(tmp_path, old, new)
    with pytest.raises(DataError) as refused:
        load_cue_lexicon(path)
    where, _, what = str(refused.value).partition(": ")
    assert message in what, what
    # the problem is pointed at the edited line, or at the section that lacks the key
    section = "syntax:" if message.startswith("syntax") else "distances:"
    expected = line_of_key(section) if "missing" in message else line
    assert where == f"{path}:{expected}"


def test_a_missing_section_is_refused(tmp_path):
    text = CUES_TEXT[: CUES_TEXT.index("\n# Reaches, in tokens")] + "\n"
    path = tmp_path / "cues.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataError, match=rf"{path}:{line_of_key('support:')}: missing section 'distances'"):
        load_cue_lexicon(path)


def test_the_lexicon_with_its_word_lists_and_distances_is_plain_data(lexicon):
    # skops saves it inside the model, byte for byte the same on every run: no sets, no classes
    assert [type(w) for words in lexicon["syntax"].values() for w in words] == [str] * sum(
        len(words) for words in lexicon["syntax"].values()
    )
    assert all(type(words) is list for words in lexicon["syntax"].values())
    assert all(type(n) is int for n in lexicon["distances"].values())
    assert lexicon["distances"]["negation_reach"] == 5


def test_a_lexicon_without_word_lists_is_refused_by_pair_view(registry, lexicon):
    old = {name: phrases for name, phrases in lexicon.items() if name not in ("syntax", "distances")}
    with pytest.raises(ValueError, match="no syntax or distances section"):
        views("Germany welcomed the office.", registry, old)


@pytest.mark.parametrize("reach, stance", [(100, "oppose"), (5, "oppose"), (3, "oppose"), (2, "support")])
def test_the_negation_reach_in_cues_yaml_decides_whether_a_far_negator_flips_the_cue(tmp_path, registry, reach, stance):
    # "not" is three tokens before "welcome": inside a reach of 3 or more, outside one of 2
    path, _ = edited_cues(tmp_path, "  negation_reach: 5\n", f"  negation_reach: {reach}\n")
    cues = views("Germany did not at all welcome the office.", registry, load_cue_lexicon(path))["germany"]["cues"]
    assert f"self:{stance}" in cues and f"self_last:{stance}" in cues, cues
    assert ("self:oppose:negated" in cues) == (stance == "oppose"), cues


def test_the_coordinators_in_cues_yaml_decide_which_listed_actors_share_a_cue(tmp_path, registry):
    sentence = "China, like France, opposes the idea."
    assert (
        "self:oppose"
        in views(sentence, registry, load_cue_lexicon(ROOT / "data/targets/nato-tokyo-office/cues.yaml"))["china"][
            "cues"
        ]
    )
    path, _ = edited_cues(tmp_path, '  coordinators: [",", and, or, like]', '  coordinators: [",", and, or]')
    cues = views(sentence, registry, load_cue_lexicon(path))["china"]["cues"]
    assert "self:oppose" not in cues and "other:oppose" in cues, cues


def test_the_holder_rules_the_lexicon_names_are_the_engines_and_the_docstring_lists_them_in_order(lexicon):
    from pipeline.features import holders

    listed = [
        line.split(".", 1)[1].split(":")[0].strip()
        for line in holders.__doc__.splitlines()
        if line[:2] in {f"{i}." for i in range(1, 10)}
    ]
    assert listed == list(holders.RULES) == lexicon["holder_rules"]


@pytest.mark.parametrize(
    "rules, words",
    [
        ("[passive_agent, nearest_subjects_before]", "line 2: holder_rules: unknown rule 'nearest_subjects_before'"),
        ("[the_speaker, the_speaker]", "line 2: holder_rules: 'the_speaker' is listed twice"),
    ],
)
def test_a_holder_rule_list_with_an_unknown_or_repeated_rule_is_refused_at_its_line(tmp_path, rules, words):
    text = (ROOT / "data/targets/nato-tokyo-office/cues.yaml").read_text(encoding="utf-8")
    body = text[: text.index("holder_rules:")]
    path = tmp_path / "cues.yaml"
    path.write_text(body + f"holder_rules: {rules}\n")
    with pytest.raises(DataError) as caught:
        load_cue_lexicon(path)
    line = body.count("\n") + 1
    assert str(caught.value).startswith(f"{path}:{line}: ") and words.split(": ", 1)[1] in str(caught.value)


def test_frame_roles_repeat_each_held_cue_under_the_actors_role_only_when_switched_on(registry, lexicon):
    sentence = "Japan welcomed the plan, but China opposed it."
    off = views(sentence, registry, lexicon)
    on = views(sentence, registry, lexicon, frame_roles=True)
    assert not any("|" in key for view in off.values() for key in view["cues"])
    # Each actor's own cues again under its role (cues.yaml: japan hosts, china is an outsider); others' cues are not.
    assert on["japan"]["cues"] == {**off["japan"]["cues"], "host|self:support": 1.0}
    assert on["china"]["cues"] == {**off["china"]["cues"], "outsider|self:oppose": 1.0}
    # Only stances are repeated: being the speaker is not one.
    speaker = views("Japan said it would welcome the office.", registry, lexicon, frame_roles=True)["japan"]["cues"]
    assert "self:speaker" in speaker and not any(key.startswith("host|self:speaker") for key in speaker)


@pytest.mark.parametrize(
    "section, words",
    [
        ("  host: [japan]\n  member: [japan]", "'japan' is already a host; give an actor one role"),
        ("  host: [tokyo]", "host: 'tokyo' is not an actor of the registry"),
        ("  host: [japan, japan]", "host: 'japan' is listed twice; list it once"),
        ("  Host: [japan]", "role 'Host' must be lower-case letters, digits and _"),
    ],
)
def test_a_frame_role_naming_an_unknown_actor_or_an_actor_twice_is_refused_at_its_line(
    tmp_path, registry, section, words
):
    text = (ROOT / "data/targets/nato-tokyo-office/cues.yaml").read_text(encoding="utf-8")
    body = text[: text.index("frame_roles:\n")]
    path = tmp_path / "cues.yaml"
    path.write_text(body + "frame_roles:\n" + section + "\n")
    with pytest.raises(DataError) as caught:
        load_cue_lexicon(path, registry.actors)
    line = body.count("\n") + 1 + section.count("\n") + 1
    assert str(caught.value).startswith(f"{path}:{line}: ") and words in str(caught.value)


def unknown_host(tmp_path) -> tuple[str, int]:
    """A target folder whose cues.yaml gives a frame role to 'tokyo', no actor of its registry; and that line."""
    body = CUES_TEXT[: CUES_TEXT.index("frame_roles:\n")]
    cues = tmp_path / "cues.yaml"
    cues.write_text(body + "frame_roles:\n  host: [tokyo]\n", encoding="utf-8")
    return target_folder(tmp_path / "target", cues=cues), body.count("\n") + 2


def test_the_evaluate_stage_checks_the_frame_roles_against_the_registry_as_train_does(tmp_path):
    folder, line = unknown_host(tmp_path)
    params = (ROOT / "params.yaml").read_text(encoding="utf-8")
    params = re.sub(r"(?m)^  target: \S+", f"  target: {folder}", params)
    (tmp_path / "params.yaml").write_text(re.sub(r"(?m)^  articles: \S+", f"  articles: {ROOT / 'seeds'}", params))
    result = run(["stance", "evaluate"], tmp_path, check=False)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith(f"error: {folder}/cues.yaml:{line}: frame_roles: host: 'tokyo' is not an actor")
    assert result.stderr.count("\n") == 1, result.stderr


def test_leaving_a_holder_rule_out_changes_who_holds_a_cue(registry, lexicon):
    sentence = "Japan's proposal was opposed by France."
    with_agent = views(sentence, registry, lexicon)["france"]["cues"]
    without = {**lexicon, "holder_rules": [r for r in lexicon["holder_rules"] if r != "passive_agent"]}
    assert with_agent != views(sentence, registry, without)["france"]["cues"]


def test_the_model_clones_and_cross_validates_as_one_estimator(trained_model, lexicon):
    params = load_params(ROOT / "params.yaml")
    model = build_model(params.train, lexicon)
    assert list(model.named_steps) == ["pairs", "features", "classifier"]
    copy = clone(model)
    assert copy is not model and set(copy.get_params()) == set(model.get_params())
    assert all(
        repr(value) == repr(model.get_params()[name]) for name, value in copy.get_params().items() if "__" in name
    )
    # The real training split (the same the train stage reads), cross-validated by article cluster.
    dataset, labels = load_split(trained_model.parents[1] / TRAIN_SPLIT)
    pairs, labels, groups = pairs_frame(dataset.to_list()), np.array(labels), dataset["cluster"]
    folds = GroupKFold(3)
    predicted = cross_val_predict(copy, pairs, labels, groups=groups, cv=folds)
    # Each fold refits the whole pipeline (vocabularies included) on its training part only:
    # one fold fitted by hand gives the same predictions.
    fit_part, held_out = next(folds.split(pairs, labels, groups))
    by_hand = clone(model).fit(pairs.iloc[fit_part], labels[fit_part]).predict(pairs.iloc[held_out])
    assert list(predicted[held_out]) == list(by_hand)
    # And it learns: on articles it never saw, far better than always saying "neutral".
    macro_f1 = f1_score(labels, predicted, average="macro")
    majority = f1_score(labels, ["neutral"] * len(labels), average="macro")
    assert macro_f1 > 0.6 and macro_f1 > majority + 0.3, (macro_f1, majority)


def test_the_behaviour_suite_expands_for_every_actor(registry):
    cases = load_suite(ROOT / "data/targets/nato-tokyo-office/behaviour.yaml", registry, TARGET)
    capabilities = {case.capability for case in cases}
    assert {
        "minimum_functionality",
        "negation",
        "hedges_and_conditions",
        "two_actors_opposite",
        "other_targets_neutral",
        "reported_speech",
        "invariance",
        "place_mentions",
    } <= capabilities
    for capability in capabilities:
        assert {c.actor for c in cases if c.capability == capability} == set(registry.actors)
    invariance = next(c for c in cases if c.capability == "invariance")
    assert len(invariance.variants) > 1
    # {target} takes every paraphrase of the target description in turn
    assert any(TARGET.phrases[-1] in sentence for sentence, _ in invariance.variants)


def test_behaviour_templates_are_kept_apart_from_training_data():
    gold = (ROOT / "data/targets/nato-tokyo-office/labels.csv").read_text(encoding="utf-8")
    registry = ActorRegistry.load(ROOT / "data/targets/nato-tokyo-office/actors.yaml")
    for case in load_suite(ROOT / "data/targets/nato-tokyo-office/behaviour.yaml", registry, TARGET):
        for sentence, _ in case.variants:
            assert sentence not in gold


def test_a_bad_template_is_refused_with_file_and_line(tmp_path, registry):
    path = tmp_path / "behaviour.yaml"
    path.write_text(
        "outlets: [Reuters]\ncapabilities:\n  negation:\n"
        '    - {text: "{actor} is not against it", expect: {actor: maybe}}\n',
        encoding="utf-8",
    )
    with pytest.raises(DataError, match=rf"{path}:4: negation: label 'maybe'"):
        load_suite(path, registry, TARGET)


@pytest.mark.parametrize(
    "text, line, words",
    [
        (
            'outlets: []\ncapabilities:\n  negation:\n    - {text: "{actor} objects", expect: {actor: oppose}}\n',
            1,
            "outlets needs at least one",
        ),
        (
            "outlets: [R]\ncapabilities:\n  negation:\n    - {text: 5, expect: {actor: oppose}}\n",
            4,
            "'text' must be a string",
        ),
        (
            "outlets: [R]\ncapabilities:\n  negation:\n    - {text: [a], expect: {actor: oppose}}\n",
            4,
            "'text' must be a string",
        ),
        ("outlets: [R]\ncolour: red\ncapabilities: {}\n", 2, "unknown key 'colour'"),
        (  # an attribute of a placeholder: an AttributeError traceback at the stage
            'outlets: [R]\ncapabilities:\n  negation:\n    - {text: "{actor} blocked the {outlet.x} office", expect: {actor: oppose}}\n',
            4,
            "negation: bad placeholder in '{actor} blocked the {outlet.x} office' ('{outlet.x}'); use {actor}",
        ),
        (
            'outlets: [R]\ncapabilities:\n  negation:\n    - {text: "{actor} objects to {target[0]}", expect: {actor: oppose}}\n',
            4,
            "('{target[0]}')",
        ),
        (  # a conversion or a format spec changes the sentence (or, unknown, was a traceback)
            'outlets: [R]\ncapabilities:\n  negation:\n    - {text: "{actor} met {other!r}", expect: {actor: neutral}}\n',
            4,
            "('{other!r}')",
        ),
        (
            'outlets: [R]\ncapabilities:\n  negation:\n    - {text: "{actor} on {target:>40}", expect: {actor: neutral}}\n',
            4,
            "('{target:>40}')",
        ),
        (  # another template language's habit: the sentence held the text "{target}", and the suite passed
            'outlets: [R]\ncapabilities:\n  negation:\n    - {text: "{actor} objects to {{target}}", expect: {actor: oppose}}\n',
            4,
            "bad placeholder in '{actor} objects to {{target}}' ('{{target}}')",
        ),
        (  # spaced, as Jinja writes it: the text "{ target }"
            'outlets: [R]\ncapabilities:\n  negation:\n    - {text: "{actor} objects to {{ target }}", expect: {actor: oppose}}\n',
            4,
            "('{{ target }}')",
        ),
        (  # and "{{actor}}" was taken for the actor's placeholder, which it is not
            'outlets: [R]\ncapabilities:\n  negation:\n    - {text: "{{actor}} objects", expect: {actor: oppose}}\n',
            4,
            "('{{actor}}')",
        ),
        (
            'outlets: [R]\ncapabilities:\n  negation:\n    - {text: "{actor} objects {", expect: {actor: oppose}}\n',
            4,
            "bad placeholder in '{actor} objects {' (\"Single '{' encountered in format string\")",
        ),
        (
            'outlets: [R]\ncapabilities:\n  negation:\n    - {text: "{actor} objects", expect: {actor: oppose}, weight: 2}\n',
            4,
            "unknown key 'weight'",
        ),
        (
            "outlets: [R]\ncapabilities: {}\n",
            2,
            "capabilities needs at least one capability",
        ),  # was a ZeroDivisionError
    ],
)
def test_a_malformed_suite_is_refused_with_file_and_line(tmp_path, registry, text, line, words):
    path = tmp_path / "behaviour.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataError) as raised:
        load_suite(path, registry, TARGET)
    assert str(raised.value).startswith(f"{path}:{line}: ") and words in str(raised.value)


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"window": 0, "sentiment": "vader"},
        {"cue_features": False, "frame_roles": True},
        {"mark_actors": False, "word_clusters": 256},
        {"embeddings": "static", "static_text": "both", "char_ngrams": [0, 0]},
    ],
)
def test_the_model_cards_features_line_names_the_models_own_blocks(lexicon, changes):
    """The card's line named a window, VADER or roles from the params alone, where build_model had left them out."""
    from pipeline.evaluation.model_card import _features_line

    train = load_params(ROOT / "params.yaml").train.model_copy(update=changes)
    blocks = [name for name, _, _ in build_model(train, lexicon).named_steps["features"].transformers]
    line = _features_line(blocks, train)
    assert ("words each side" in line) == ("window" in blocks)
    assert ("k-means clusters" in line) == ("window_clusters" in blocks)
    assert ("VADER" in line) == ("sentiment" in blocks)
    assert ("stance cues" in line) == ("cues" in blocks)
    assert ("actor's role" in line) == ("cues" in blocks and train.frame_roles)
    assert ("character" in line) == ("chars" in blocks)
    assert line.count("static vectors of") == sum(name.startswith("static_") for name in blocks)
