"""Hybrid ranking (dense + BM25) and the calibrated answer / clarify / no-answer decision."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Collection, List, Optional, Sequence, Tuple

import numpy as np

from knowledge.config import Settings
from knowledge.index import KnowledgeIndex
from knowledge.lexical import LexicalIndex
from knowledge.sectioning import Passage

ANSWER = "answer"
CLARIFY = "clarify"
NO_ANSWER = "no_answer"
MODES = ("hybrid", "dense", "lexical")
LEXICAL_SATURATION = 6.0  # BM25 score at which the lexical part reaches 0.5
QUOTE_MAX_WORDS = 75


@dataclass(frozen=True)
class Hit:
    """A ranked passage with its scores.

    Attributes:
        passage: The passage.
        position: Its row in the index.
        score: Fused score used for the decision (no topic boost).
        dense: Cosine similarity of the query with the passage and its questions.
        lexical: BM25 score squashed into [0, 1).
        rank_score: ``score`` plus the topic boost; what the ranking sorts by.
    """

    passage: Passage
    position: int
    score: float
    dense: float
    lexical: float
    rank_score: float


@dataclass(frozen=True)
class Decision:
    """What to do with a question: answer with ``hits[0]``, offer ``hits`` to choose, or neither."""

    kind: str
    hits: Tuple[Hit, ...]


class Searcher:
    """Ranks passages for a query vector and text, and decides whether to answer."""

    def __init__(self, index: KnowledgeIndex, settings: Settings):
        """Build the lexical index over the same passages as the dense one."""
        self.index = index
        self.settings = settings
        self.lexical = LexicalIndex([index.lexical_text(i) for i in range(len(index.passages))])
        self._questions = _Groups(index.question_owners)
        self._sentences = _Groups(np.array([s.passage for s in index.sentences], dtype=np.int64))

    def dense_scores(self, vector: np.ndarray) -> np.ndarray:
        """Per passage: its own cosine, blended with its best question and best sentence.

        The question part (doc2query) matches patients' wording; the sentence part matches a
        question about one detail of a long passage.
        """
        n = len(self.index.passages)
        sims, ids = self.index.dense.search(vector.reshape(1, -1).astype(np.float32), n)
        passage = np.zeros(n, dtype=np.float32)
        passage[ids[0]] = sims[0]
        question = self._questions.best(passage, self.index.question_vectors @ vector)
        sentence = self._sentences.best(passage, self.index.sentence_vectors @ vector)
        q_share = self.settings.question_weight
        s_share = self.settings.sentence_weight
        return (1.0 - q_share - s_share) * passage + q_share * question + s_share * sentence

    def rank(
        self,
        query: str,
        vector: np.ndarray,
        prefer_condition: Optional[str] = None,
        mode: str = "hybrid",
        within: Optional[Collection[str]] = None,
    ) -> List[Hit]:
        """All passages ranked for the query, best first.

        Args:
            query: The patient's message.
            vector: Its unit embedding, shape ``(dim,)``.
            prefer_condition: Condition under discussion; its passages get a small boost.
            mode: ``hybrid`` (fused), ``dense`` or ``lexical`` alone (the baselines).
            within: Only passages of these conditions (``None``: all).
        """
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        dense = self.dense_scores(vector)
        raw = self.lexical.scores(query)
        lexical = raw / (raw + LEXICAL_SATURATION)
        weight = self.settings.lexical_weight
        if mode == "dense":
            fused = dense
        elif mode == "lexical":
            fused = lexical
        else:
            fused = (1.0 - weight) * dense + weight * lexical
        hits = []
        for i, passage in enumerate(self.index.passages):
            if within is not None and passage.condition not in within:
                continue
            boost = self.settings.condition_boost if passage.condition == prefer_condition else 0.0
            hits.append(
                Hit(
                    passage,
                    i,
                    float(fused[i]),
                    float(dense[i]),
                    float(lexical[i]),
                    float(fused[i]) + boost,
                )
            )
        hits.sort(key=lambda h: (-h.rank_score, h.position))
        return hits

    def unanswered(self, vector: np.ndarray) -> bool:
        """Whether the message is closest to a question the articles are known not to answer.

        Its nearest neighbour among all the questions (answered and not) is an unanswered one,
        at a cosine of at least ``unanswered_floor``.
        """
        known = self.index.unanswered_vectors
        if known is None or not len(known):
            return False
        nearest = float(np.max(known @ vector))
        answered = float(np.max(self.index.question_vectors @ vector, initial=-1.0))
        return nearest >= self.settings.unanswered_floor and nearest >= answered

    def decide(self, hits: Sequence[Hit], threshold: Optional[float] = None) -> Decision:
        """Answer, offer a choice between close candidates, or no answer.

        The top passage is quoted when it clears the bar and no passage of another section comes
        within ``answer_margin`` of it (or it scores ``sure_score`` or more): when several
        sections score about the same, the scores cannot tell which one answers, and quoting the
        top one is often quoting the wrong one.
        Close candidates that clear the bar are then offered as a choice (at most three
        sections); when none does, the bot says it does not know.
        """
        bar = self.settings.answer_threshold if threshold is None else threshold
        if not hits or hits[0].score < bar:
            return Decision(NO_ANSWER, tuple(hits[: self.settings.top_k]))
        top = hits[0]
        margin = self.settings.answer_margin
        close = [
            h
            for h in hits[1:]
            if _section(h) != _section(top) and top.rank_score - h.rank_score < margin
        ]
        if not close or top.score >= self.settings.sure_score:
            return Decision(ANSWER, tuple(hits[: self.settings.top_k]))
        choices = [top]
        for hit in close:
            if hit.score >= bar and all(_section(hit) != _section(c) for c in choices):
                choices.append(hit)
        if len(choices) > 1:
            return Decision(CLARIFY, tuple(choices[:3]))
        return Decision(NO_ANSWER, tuple(hits[: self.settings.top_k]))

    def quote(self, hit: Hit, vector: np.ndarray) -> str:
        """The passage's best sentences for the query, verbatim (the whole passage if short)."""
        text = hit.passage.text
        if len(text.split()) <= QUOTE_MAX_WORDS:
            return text
        rows = self.index.sentence_rows(hit.position)
        if not rows:
            return text
        sims = self.index.sentence_vectors[rows] @ vector
        best = int(np.argmax(sims))
        lo = hi = best
        words = _words(self.index.sentences[rows[best]].text)
        while True:
            options = []
            if lo > 0:
                options.append((float(sims[lo - 1]), lo - 1))
            if hi < len(rows) - 1:
                options.append((float(sims[hi + 1]), hi + 1))
            # A lead-in ("... depending on:") always brings the list after it.
            lead_in = self.index.sentences[rows[hi]].text.rstrip().endswith(":")
            if not options:
                break
            score, pick = max(options)
            if lead_in and hi < len(rows) - 1:
                score, pick = float("inf"), hi + 1
            extra = _words(self.index.sentences[rows[pick]].text)
            if words + extra > QUOTE_MAX_WORDS or (score < 0.5 * float(sims[best]) and not lead_in):
                break
            words += extra
            lo, hi = min(lo, pick), max(hi, pick)
        return _join([self.index.sentences[r] for r in rows[lo : hi + 1]])


class _Groups:
    """Rows (questions or sentences) grouped by the passage that owns them."""

    def __init__(self, owners: np.ndarray):
        owners = np.asarray(owners, dtype=np.int64)
        self.order = np.argsort(owners, kind="stable")
        ordered = owners[self.order]
        first = np.ones(len(ordered), dtype=bool)
        first[1:] = ordered[1:] != ordered[:-1]
        self.starts = np.flatnonzero(first)
        self.present = ordered[self.starts]

    def best(self, fallback: np.ndarray, sims: np.ndarray) -> np.ndarray:
        """Best of ``sims`` (one per row) for each passage; ``fallback``'s value if it has none."""
        best = fallback.astype(np.float32, copy=True)
        if len(self.present):
            best[self.present] = np.maximum.reduceat(sims[self.order], self.starts)
        return best


def _section(hit: Hit) -> Tuple[str, str]:
    return hit.passage.doc, hit.passage.section


def _words(text: str) -> int:
    return len(text.split())


def _join(sentences: Sequence) -> str:
    out = ""
    for i, sentence in enumerate(sentences):
        if i:
            out += "\n" if sentence.line != sentences[i - 1].line else " "
        out += sentence.text
    return out
