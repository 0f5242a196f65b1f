"""Hybrid ranking: dense (passage, doc2query questions, sentences) fused with BM25.

The decision is :mod:`knowledge.decision`'s, the quote :mod:`knowledge.quoting`'s.
"""

from __future__ import annotations

from typing import Collection, List, Optional, Tuple

import numpy as np

from knowledge.config import Settings
from knowledge.decision import Hit
from knowledge.index import KnowledgeIndex
from knowledge.lexical import LexicalIndex

MODES = ("hybrid", "dense", "lexical")
LEXICAL_SATURATION = 6.0  # BM25 score at which the lexical part reaches 0.5


class Searcher:
    """Ranks passages for a query vector and text."""

    def __init__(self, index: KnowledgeIndex, settings: Settings):
        """Build the lexical index over the same passages as the dense one."""
        self.index = index
        self.settings = settings
        self.lexical = LexicalIndex([index.lexical_text(i) for i in range(len(index.passages))])
        tokenize = self.lexical.tokenize
        # Each passage's content words, and its headings' (what the answerability judge reads).
        self.text_words = [frozenset(tokenize(p.text)) for p in index.passages]
        self.heading_words = [
            frozenset(tokenize(" ".join(p.heading_path) + " " + p.section)) for p in index.passages
        ]
        self._questions = _Groups(index.question_owners)
        self._sentences = _Groups(np.array([s.passage for s in index.sentences], dtype=np.int64))

    def dense_parts(self, vector: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per passage: its own cosine, its best question's and its best sentence's.

        The question part (doc2query) matches patients' wording; the sentence part matches a
        question about one detail of a long passage.
        """
        n = len(self.index.passages)
        sims, ids = self.index.dense.search(vector.reshape(1, -1).astype(np.float32), n)
        passage = np.zeros(n, dtype=np.float32)
        passage[ids[0]] = sims[0]
        question = self._questions.best(passage, self.index.question_vectors @ vector)
        sentence = self._sentences.best(passage, self.index.sentence_vectors @ vector)
        return passage, question, sentence

    def dense_scores(self, vector: np.ndarray) -> np.ndarray:
        """Per passage: its own cosine, blended with its best question and best sentence."""
        passage, question, sentence = self.dense_parts(vector)
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
