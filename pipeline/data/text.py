"""Sentence splitting: raw article text -> sentences with their character spans.

Each line of an article is its own block (headlines, bylines, reader comments and
commenter names stand on lines of their own), and syntok splits each block into
sentences. syntok knows abbreviations ("U.S.", "Mr."), keeps closing quotes with
their sentence and reports exact offsets, so every sentence is a slice of the
original text: nothing is invented, nothing reordered.

syntok is pure Python and was a third of the scorer's time, so most blocks take a
fast path that gives syntok's answer without running it: a block with no brackets
and no terminal but "." is split only at full stops, and each full stop is decided
by syntok's own rules (`_split_here`, the subset of its `_segmentation_states` that
such a stop can reach), on syntok's own tokens of the words around it. A block with
anything else (brackets, "?", "!", ";", "...", a stop inside a word, a number or a
single letter next to a stop) goes to syntok itself. tests/test_text.py checks that
both give identical sentences and offsets on every article in the repository.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import regex
from syntok import segmenter
from syntok._segmentation_states import State
from syntok.tokenizer import Tokenizer

LINE_BREAK = re.compile(r"\r\n|\r|\n")
# syntok holds a line's tokens in memory; a scraped page can be one 50 MB line.
# Longer lines are cut at white space into blocks of about this size first.
MAX_BLOCK_CHARS = 20_000

# syntok's token boundaries: runs of anything but white space and the zero-width space.
_CHUNK = regex.compile(r"[^\s\u200b]+")
# Characters whose handling in syntok goes beyond a plain full stop: every terminal but ".",
# and every bracket (syntok may split at an opening bracket and skips bracketed text). A set of
# plain characters means the same to re as to regex, and re scans it several times faster.
_SLOW = re.compile(
    "["
    + re.escape("".join(sorted((State.terminals - {".", "..."}) | State.opening_brackets | State.closing_brackets)))
    + "]"
)
_CHUNK_WITH_STOP = regex.compile(r"(?<![^\s\u200b])[^\s\u200b]*\.[^\s\u200b]*")
_TOKENIZER = Tokenizer(replace_not_contraction=False)  # as segmenter.analyze tokenizes
# Chunks whose syntok tokens are plain to see, so the tokenizer is not run on them: a lower-case
# word, a full stop and at most one closing quote ("office." -> office . ), and a capitalised word
# with at most a comma or colon after it ("However," -> However , ).
_LOWER_WORD_STOP = re.compile(r"([a-z]{2,})\.[\"”’']?")
_CAPITALISED_WORD = re.compile(r"([A-Z][a-z]+)[,:]?")
_INNER_PUNCTUATION = State.inner_sentence_punctuation


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
        spans = _fast_spans(block)
        if spans is None:
            spans = syntok_spans(block)
        for start, end in spans:
            sentence = text[block_start + start : block_start + end]
            if sentence.strip():
                yield Sentence(index, block_start + start, block_start + end, sentence)
                index += 1


def syntok_spans(block: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of one block, as syntok segments it."""
    return [
        (tokens[0].offset, tokens[-1].offset + len(tokens[-1].value))
        for paragraph in segmenter.analyze(block)
        for tokens in paragraph
    ]


def _fast_spans(block: str) -> list[tuple[int, int]] | None:
    """syntok's sentence spans for a block whose only terminals are plain full stops; None otherwise."""
    if _SLOW.search(block) is not None:
        return None
    spans, start, closed = [], None, False
    for chunk_start, chunk_end in _chunks_with_stop(block):
        decision = _stop_in_chunk(block, chunk_start, chunk_end)
        if decision is None:
            return None
        if decision is False:
            continue
        before, before_is_first, end, next_start = decision
        split = _split_here(block, before, before_is_first, next_start)
        if split is None:
            return None
        if split:
            first = start if start is not None else _CHUNK.search(block).start()
            spans.append((first, end))
            start, closed = next_start, next_start is None
    if closed:
        return spans
    first_chunk = _CHUNK.search(block) if start is None else None
    if start is None and first_chunk is None:
        return spans
    first = start if start is not None else first_chunk.start()
    # An unterminated last sentence takes in the block's trailing white space (syntok's empty last token).
    last_end = _last_chunk_end(block)
    last_end = len(block) if last_end < len(block) else last_end
    spans.append((first, last_end))
    return spans


def _chunks_with_stop(block: str) -> Iterator[tuple[int, int]]:
    """(start, end) of each chunk of the block that holds a full stop, as `_CHUNK_WITH_STOP` finds them.

    In printable ASCII the only white space is " " (regex's \\s takes no other printable character),
    so chunks are found with str.find, without running a regex over every character."""
    if not (block.isascii() and block.isprintable()):
        for match in _CHUNK_WITH_STOP.finditer(block):
            yield match.start(), match.end()
        return
    end = 0
    while (stop := block.find(".", end)) != -1:
        end = block.find(" ", stop)
        end = len(block) if end == -1 else end
        yield block.rfind(" ", 0, stop) + 1, end


def _last_chunk_end(block: str) -> int:
    end = len(block)
    while end > 0 and _CHUNK.match(block, end - 1) is None:
        end -= 1
    return end


def _stop_in_chunk(block: str, chunk_start: int, chunk_end: int) -> tuple[list, int, int | None] | bool | None:
    """A chunk holding a full stop: False if syntok sees no terminal there or surely goes on past it;
    (the token before the stop, whether that token is the chunk's first, the sentence end, the next
    chunk's start or None) if its one terminal is a stop at its end (with at most one closing quote
    after it); None (use syntok) otherwise."""
    chunk = block[chunk_start:chunk_end]
    simple = _LOWER_WORD_STOP.fullmatch(chunk)
    if simple is not None:
        following = _CHUNK.search(block, chunk_end)
        return simple.group(1), True, chunk_end, following.start() if following else None
    tokens = list(_TOKENIZER.tokenize(chunk))
    terminals = [i for i, t in enumerate(tokens) if t.value in State.terminals]
    if not terminals:
        return False
    stop = terminals[0]
    if len(terminals) > 1 or tokens[stop].value != "." or stop == 0 or tokens[stop].spacing:
        return None
    after = tokens[stop + 1 :]
    if after and after[0].value in _INNER_PUNCTUATION:
        return False  # "the U.S., Japan": syntok never splits before a comma or colon
    if after and not (len(after) == 1 and after[0].value in State.closing_quotes and not after[0].spacing):
        return None
    following = _CHUNK.search(block, chunk_end)
    return tokens[stop - 1].value, stop == 1, chunk_end, following.start() if following else None


def _split_here(block: str, before: str, before_is_first: bool, next_start: int | None) -> bool | None:
    """Does syntok end a sentence at this chunk's final stop? None when the case is not one handled here.

    The order of the tests is syntok's (`State._move_and_maybe_extract_terminal`), restricted to a
    stop right after a word or after one symbol that follows a word, with no bracket in the block.
    """
    if not before[:1].isalnum() and (len(before) != 1 or before_is_first):
        return None
    if before[:1].isalnum() and (len(before) == 1 or before in State.roman_numerals):
        return None  # syntok's rules for single letters and numerals depend on its state
    if next_start is None:
        # The end of the block: syntok looks at its empty last token (trailing white space) or at nothing.
        return not (before in State.abbreviations or "." in before)
    chunk = _CHUNK.match(block, next_start).group(0)
    capitalised = _CAPITALISED_WORD.fullmatch(chunk)
    after = capitalised.group(1) if capitalised else next(_TOKENIZER.tokenize(chunk)).value
    initial = after[:1]
    if initial.islower() or after in _INNER_PUNCTUATION:
        return False
    if after in State.terminals or not initial or initial.isnumeric():
        return None
    if initial.isalnum() and not initial.isupper():
        return None
    if after in State.starters:
        return True
    if before in State.abbreviations:
        return False
    if before in ("no", "No", "NO") and any(c.isnumeric() for c in after) and after.isalnum():
        return False
    if before.isnumeric() and after in State.months:
        return False
    return "." not in before


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
