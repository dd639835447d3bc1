"""Sentence splitting: raw article text -> sentences with their character spans.

Each line of an article is its own block (headlines, bylines, reader comments and
commenter names stand on lines of their own), and syntok splits each block into
sentences. syntok knows abbreviations ("U.S.", "Mr."), keeps closing quotes with
their sentence and reports exact offsets, so every sentence is a slice of the
original text: nothing is invented, nothing reordered.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from syntok import segmenter

LINE_BREAK = re.compile(r"\r\n|\r|\n")
# syntok holds a line's tokens in memory; a scraped page can be one 50 MB line.
# Longer lines are cut at white space into blocks of about this size first.
MAX_BLOCK_CHARS = 20_000


@dataclass(frozen=True)
class Sentence:
    index: int
    start: int
    end: int
    text: str


def split_sentences(text: str) -> list[Sentence]:
    return list(iter_sentences(text))


def iter_sentences(text: str) -> Iterator[Sentence]:
    index = 0
    for block_start, block_end in _blocks(text):
        block = text[block_start:block_end]
        for paragraph in segmenter.analyze(block):
            for tokens in paragraph:
                start = block_start + tokens[0].offset
                end = block_start + tokens[-1].offset + len(tokens[-1].value)
                sentence = text[start:end]
                if sentence.strip():
                    yield Sentence(index, start, end, sentence)
                    index += 1


def _blocks(text: str) -> Iterator[tuple[int, int]]:
    """Spans of non-empty lines, long lines cut at white space."""
    position = 0
    for match in [*LINE_BREAK.finditer(text), None]:
        end = match.start() if match else len(text)
        yield from _cut_long(text, position, end)
        position = match.end() if match else end


def _cut_long(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    while end - start > MAX_BLOCK_CHARS:
        cut = text.rfind(" ", start + MAX_BLOCK_CHARS // 2, start + MAX_BLOCK_CHARS)
        cut = cut if cut > start else start + MAX_BLOCK_CHARS
        if text[start:cut].strip():
            yield start, cut
        start = cut
    if text[start:end].strip():
        yield start, end
