"""The sentence splitter's fast path gives syntok's sentences, text and offsets, on every article we have.

Only article text is read here (the locked test's too, never its labels): the
splitter must agree with syntok on whatever it will meet, and these are the
articles we have.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.data import text

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = [
    "seeds",
    "data/targets/nato-tokyo-office/annotation/articles",
    "data/targets/nato-tokyo-office/synthetic/articles",
    "data/targets/nato-tokyo-office/locked/articles",
]
ARTICLES = sorted(path for folder in FOLDERS for path in (ROOT / folder).glob("*.txt"))


def syntok_sentences(article: str) -> list[tuple[int, int, str]]:
    """What the splitter gave before the fast path: syntok on every block."""
    found = []
    for block_start, block_end in text._blocks(article):
        for start, end in text.syntok_spans(article[block_start:block_end]):
            sentence = article[block_start + start : block_start + end]
            if sentence.strip():
                found.append((block_start + start, block_start + end, sentence))
    return found


def test_every_article_in_the_repository_splits_as_syntok_splits_it():
    assert len(ARTICLES) > 400
    fast_blocks = 0
    for path in ARTICLES:
        article = path.read_text(encoding="utf-8")
        got = [(s.start, s.end, s.text) for s in text.split_sentences(article)]
        assert got == syntok_sentences(article), path.name
        assert [s.index for s in text.split_sentences(article)] == list(range(len(got)))
        fast_blocks += sum(text._fast_spans(article[a:b]) is not None for a, b in text._blocks(article))
    # The fast path is the common path: most blocks never reach syntok.
    assert fast_blocks > 0.8 * sum(len(list(text._blocks(p.read_text(encoding="utf-8")))) for p in ARTICLES)


def _shuffled_blocks(seed: int, count: int) -> list[str]:
    """Blocks made of the articles' own words and the cases that decide a full stop, shuffled."""
    words = [w for path in ARTICLES[::7] for w in path.read_text(encoding="utf-8").split()]
    hard = ["U.S.", "Mr.", "Inc.", "No.", "no.", "No. 5", "5.", "2018.", "1.5", "e.g.", "etc.", "A.", "II.", "Jan."]
    hard += ['office."', "Japan.”", '".', "”.", "U.S.,", "Antiwar.com.", "x.Y", "a.", "’s.", "The", "However", "\u200b"]
    rng = random.Random(seed)
    blocks = []
    for _ in range(count):
        tokens = [rng.choice(words) if rng.random() < 0.7 else rng.choice(hard) for _ in range(rng.randint(1, 30))]
        separators = [" ", " ", " ", "  ", "\u00a0", ""]
        if rng.random() < 0.5:  # white space other than " " ("\t"), or to str.split only ("\x1c")
            separators += ["\t", "\x1c"]
        blocks.append("".join(t + rng.choice(separators) for t in tokens))
    return blocks


@pytest.mark.parametrize("seed", range(4))
def test_shuffled_blocks_split_as_syntok_splits_them(seed):
    checked = 0
    for block in _shuffled_blocks(seed, 5000):
        spans = text._fast_spans(block)
        if spans is not None:
            assert spans == text.syntok_spans(block), repr(block)
            checked += 1
    assert checked > 1000


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.sampled_from(list("aB. \"”',;:1\u200b\u00a0\t\x1c") + ["Mr", "US", "The", "no", "2018"]), max_size=40)
)
def test_arbitrary_short_blocks_split_as_syntok_splits_them(pieces):
    block = "".join(pieces)
    spans = text._fast_spans(block)
    if spans is not None:
        assert spans == text.syntok_spans(block)
