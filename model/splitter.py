"""Korean sentence splitting with character offsets, on top of kiwipiepy.

Kiwi is a real Korean morphological analyser and splits news prose well, with two
failure modes on translated wire copy that we patch here:
  * it sometimes runs a sentence across a paragraph break, so we split paragraphs
    (lines) first and never merge across them; a headline or a source line such as
    ``RIA, TASS, NEWS, 2022. 1. 10.`` is therefore one unit;
  * after a closing quote it can cut inside a word (``“Maidan”|에 내재된``). A piece that
    starts exactly where the previous one ended (no whitespace) is such a cut: we glue it
    back and move the boundary to the last real sentence end (``다. ``) before the cut.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

_LINE = re.compile(r"[^\n]+")
_SENTENCE_END = re.compile(r"[다요까죠][.!?][”\"’']?\s+")


@dataclass(frozen=True)
class Sentence:
    text: str
    start: int  # character offset in the original text
    end: int


@lru_cache(maxsize=1)
def _kiwi():
    from kiwipiepy import Kiwi

    return Kiwi()


def _spans(line: str, pieces) -> list[tuple[int, int]]:
    """Sentence spans in ``line`` from kiwi's ``pieces`` of it, with cuts after a closing quote glued back."""
    spans: list[tuple[int, int]] = []
    for s in pieces:
        start, end = s.start, s.end
        if spans and start == spans[-1][1]:
            prev_start, _ = spans.pop()
            # Move the boundary back to the last sentence end inside the previous piece.
            ends = list(_SENTENCE_END.finditer(line, prev_start, start))
            if ends:
                spans.append((prev_start, ends[-1].end()))
                start = ends[-1].end()
            else:
                start = prev_start
        spans.append((start, end))
    return spans


def split_sentences(text: str) -> list[Sentence]:
    """Split ``text`` into sentences; ``text[s.start:s.end] == s.text`` for each."""
    lines = [m for m in _LINE.finditer(text) if m.group().strip()]
    # Given an iterable, kiwi analyses the lines in its own worker threads with the GIL released;
    # given one str it holds the GIL for the whole call and stalls every other Python thread.
    pieces = _kiwi().split_into_sents(m.group() for m in lines)
    out = []
    for line, line_pieces in zip(lines, pieces):
        for a, b in _spans(line.group(), line_pieces):
            piece = line.group()[a:b]
            lead = len(piece) - len(piece.lstrip())
            piece = piece.strip()
            if piece:
                start = line.start() + a + lead
                out.append(Sentence(piece, start, start + len(piece)))
    return out
