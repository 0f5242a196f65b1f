"""The words of a passage the bot quotes: its best sentences for the question, verbatim."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from knowledge.decision import Hit
from knowledge.index import KnowledgeIndex

QUOTE_MAX_WORDS = 75


def quote(hit: Hit, vector: np.ndarray, index: KnowledgeIndex) -> str:
    """The passage's best sentences for the query, verbatim (the whole passage if short)."""
    text = hit.passage.text
    if len(text.split()) <= QUOTE_MAX_WORDS:
        return text
    rows = index.sentence_rows(hit.position)
    if not rows:
        return text
    sims = index.sentence_vectors[rows] @ vector
    best = int(np.argmax(sims))
    lo = hi = best
    words = _words(index.sentences[rows[best]].text)
    while True:
        options = []
        if lo > 0:
            options.append((float(sims[lo - 1]), lo - 1))
        if hi < len(rows) - 1:
            options.append((float(sims[hi + 1]), hi + 1))
        # A lead-in ("... depending on:") always brings the list after it.
        lead_in = index.sentences[rows[hi]].text.rstrip().endswith(":")
        if not options:
            break
        score, pick = max(options)
        if lead_in and hi < len(rows) - 1:
            score, pick = float("inf"), hi + 1
        extra = _words(index.sentences[rows[pick]].text)
        if words + extra > QUOTE_MAX_WORDS or (score < 0.5 * float(sims[best]) and not lead_in):
            break
        words += extra
        lo, hi = min(lo, pick), max(hi, pick)
    return _join([index.sentences[r] for r in rows[lo : hi + 1]])


def _words(text: str) -> int:
    return len(text.split())


def _join(sentences: Sequence) -> str:
    out = ""
    for i, sentence in enumerate(sentences):
        if i:
            out += "\n" if sentence.line != sentences[i - 1].line else " "
        out += sentence.text
    return out
