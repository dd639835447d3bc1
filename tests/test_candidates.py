"""The sentence splitter, the actor matcher and the candidate generator, on real article text."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.data.actors import ActorRegistry
from pipeline.data.candidates import article_candidates
from pipeline.data.text import split_sentences
from pipeline.errors import DataError

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def registry():
    return ActorRegistry.load(ROOT / "data/targets/nato-tokyo-office/actors.yaml")


def texts(sentences):
    return [s.text for s in sentences]


def test_abbreviations_do_not_end_sentences():
    text = "Japan's ambassador to the U.S. spoke on Tuesday. Mr. Tomita said Tokyo was working on it."
    assert texts(split_sentences(text)) == [
        "Japan's ambassador to the U.S. spoke on Tuesday.",
        "Mr. Tomita said Tokyo was working on it.",
    ]


def test_closing_quote_stays_with_its_sentence():
    text = '"We are not in favor as a matter of principle," the Elysee official added. NATO declined to comment.'
    assert texts(split_sentences(text))[0].endswith("official added.")


def test_headlines_and_reader_comments_are_their_own_sentences():
    article = (ROOT / "seeds/002_835b40b1353b7874.txt").read_text(encoding="utf-8")
    sentences = texts(split_sentences(article))
    assert "8 Comments" in sentences and "Habibi" in sentences and "Noir Black" in sentences
    headline = (ROOT / "seeds/001_7b4ef0e149ae6d19.txt").read_text(encoding="utf-8").splitlines()[0]
    assert texts(split_sentences(headline)) == [headline]


def test_sentences_are_exact_slices_in_order_with_any_line_ending():
    text = "First line here.\r\nSecond one. Third!\rFourth\n\nFifth."
    sentences = split_sentences(text)
    assert texts(sentences) == ["First line here.", "Second one.", "Third!", "Fourth", "Fifth."]
    assert [s.index for s in sentences] == list(range(5))
    for sentence in sentences:
        assert text[sentence.start : sentence.end] == sentence.text
    assert all(a.end <= b.start for a, b in zip(sentences, sentences[1:]))


def test_us_the_country_but_not_us_the_pronoun(registry):
    found = registry.find("The US and the U.S. told us that the USA backs it.")
    assert [m.actor for m in found] == ["usa", "usa", "usa"]


def test_possessives_with_straight_and_curly_apostrophes(registry):
    sentence = "France's veto and Japan’s plan"
    found = registry.find(sentence)
    assert [(m.actor, sentence[m.start : m.end]) for m in found] == [("france", "France"), ("japan", "Japan")]


def test_multi_word_aliases_and_the_longest_match_win(registry):
    sentence = "Wang Wenbin spoke to the North Atlantic Council, not to North Korean officials."
    found = [(m.actor, sentence[m.start : m.end]) for m in registry.find(sentence)]
    assert found == [("china", "Wang Wenbin"), ("nato", "North Atlantic Council")]


def test_the_grouped_mention_regex_finds_what_one_alternation_of_every_alias_finds(registry):
    import random
    import re

    from pipeline.data.actors import _alias_regex

    # The regex's ignore-case matches "ı" and "İ" with i, the Kelvin sign with k, "ſ" with s.
    istanbul = ActorRegistry({"a": ["ıstanbul metropolitan municipality", "ıstanbul"], "b": ["Istanbul Group"]}, {}, [])
    assert [(m.actor, m.start, m.end) for m in istanbul.find("The Istanbul Group met.")] == [("b", 4, 18)]
    for shipped in (registry, ActorRegistry.load(ROOT / "data/targets/fukushima-water/actors.yaml"), istanbul):
        definition = shipped.to_dict()
        pieces = [(a, f"(?i:{_alias_regex(a)})") for names in definition["aliases"].values() for a in names]
        pieces += [(a, f"(?-i:{_alias_regex(a)})") for names in definition["exact_case"].values() for a in names]
        pieces += [(a, f"(?i:{_alias_regex(a)})") for a in definition["not_actors"]]
        pieces.sort(key=lambda item: (-len(item[0]), item[0]))
        one_alternation = re.compile(r"(?<!\w)(?:" + "|".join(p for _, p in pieces) + r")(?![\w])")
        aliases, rng = [a for a, _ in pieces], random.Random(0)
        for _ in range(5000):
            alias = rng.choice(aliases)
            variant = "".join(rng.choice([c, c.upper(), c.lower()]) for c in alias)
            variant = rng.choice(["", "İ", "ı", "ſ", "\u212a", "é"]) + variant[1:] if rng.random() < 0.3 else variant
            variant = variant.replace(" ", rng.choice([" ", "  ", "\n", "\u00a0"]))
            text = rng.choice(["", "x", " ", "-"]) + variant + rng.choice(["", "x", ".", " Group", "'s"])
            expected = [m.span() for m in one_alternation.finditer(text)]
            assert [m.span() for m in shipped._regex.finditer(text)] == expected, text


def test_whole_words_only(registry):
    assert registry.find("Parisian Frenchness and Germanic Chinaware") == []


def test_one_candidate_per_actor_with_every_span(registry):
    sentence = "French President Emmanuel Macron told NATO's Stoltenberg that France objects."
    candidates = list(article_candidates("a", sentence, registry))
    assert [c["actor"] for c in candidates] == ["france", "nato"]
    france = candidates[0]
    assert [sentence[s:e] for s, e in france["mentions"]] == ["French", "Macron", "France"]
    assert [sentence[s:e] for s, e in france["other_mentions"]] == ["NATO", "Stoltenberg"]


def test_neighbouring_sentences_are_attached(registry):
    candidates = list(article_candidates("a", "No actor here. France objects. Japan too.", registry))
    assert candidates[0]["previous_sentence"] == "No actor here."
    assert candidates[0]["next_sentence"] == "Japan too."
    assert candidates[1]["next_sentence"] == ""


def write_registry(tmp_path, body: str) -> Path:
    path = tmp_path / "actors.yaml"
    path.write_text(body, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "body, line, words",
    [
        ("actors:\n  france:\n    aliases: [France, '']\n", 3, "empty"),
        ("actors:\n  france:\n    aliases: [France]\n  japan:\n    aliases: [FRANCE]\n", 5, "already an alias"),
        ("actors:\n  france:\n    aliases: [F]\n", 3, "fewer than two letters"),
        # matched by the regex, then lost in the lookup (and the other actor's name with it)
        ("actors:\n  japan:\n    aliases: ['Fumio  Kishida']\n", 3, "other white space than one space between words"),
        (
            "actors:\n  france:\n    aliases: [France]\nnot_actors: [north korea, FRANCE]\n",
            4,
            "not_actors: 'FRANCE' is also an alias of 'france' (line 3)",
        ),
        ("actors:\n  france:\n    aliases: [France]\n  france:\n    aliases: [Paris]\n", 4, "duplicate key"),
        ("actors:\n  France:\n    aliases: [France]\n", 2, "lower-case"),
        ("actors:\n  france:\n    aliases: France\n", 3, "must be a list of strings, got a string"),
        ("actors:\n  france:\n    aliases: [France, 12]\n", 3, "got a number 12"),
        ("actors:\n  france:\n    nicknames: [France]\n", 3, "unknown key"),
        ("a: &x [1, 2]\nb: *x\n", 2, "aliases (*name) are not allowed"),
        ("actors: [unclosed\n", 2, "invalid YAML"),
    ],
)
def test_bad_registries_are_refused_with_file_and_line(tmp_path, body, line, words):
    path = write_registry(tmp_path, body)
    with pytest.raises(DataError) as caught:
        ActorRegistry.load(path)
    assert str(caught.value).startswith(f"{path}:{line}: ")
    assert words in str(caught.value)
