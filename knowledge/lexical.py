"""Lexical (BM25) retrieval over passages, with bm25s and an English Snowball stemmer.

bm25s is a maintained, sparse-matrix BM25 implementation; PyStemmer gives it the Snowball stemmer,
so "ulcers"/"ulcer" and "sessions"/"session" match. Medical terms such as "nephropathy" or "HbA1c"
are kept as whole tokens, which the dense model may blur.
"""

from __future__ import annotations

import re
from typing import List, Sequence

import bm25s
import numpy as np
import Stemmer
from bm25s.stopwords import STOPWORDS_EN

# bm25s.tokenize's defaults: scikit-learn's token pattern on lower-cased text.
TOKEN_PATTERN = re.compile(r"(?u)\b\w\w+\b")


class LexicalIndex:
    """BM25 scores of a query against a fixed list of texts."""

    def __init__(self, texts: Sequence[str]):
        """Index the texts (cheap: milliseconds for this knowledge base).

        Raises:
            ValueError: ``texts`` is empty.
        """
        if not texts:
            raise ValueError("LexicalIndex needs at least one text")
        self._stemmer = Stemmer.Stemmer("english")
        self._stopwords = frozenset(STOPWORDS_EN)
        self._bm25 = bm25s.BM25()
        self._bm25.index(self.tokenize_many(texts), show_progress=False)
        self.size = len(texts)

    def tokenize_many(self, texts: Sequence[str]) -> List[List[str]]:
        """Lower-cased, stop-word-free, stemmed tokens of each text."""
        tokens = bm25s.tokenize(
            list(texts),
            stopwords="en",
            stemmer=self._stemmer,
            return_ids=False,
            show_progress=False,
        )
        return [list(t) for t in tokens]

    def tokenize(self, text: str) -> List[str]:
        """Tokens of one text, as :meth:`tokenize_many` gives them (without its batch machinery).

        ``bm25s.tokenize`` builds vocabularies and progress bars for a batch: a tenth of the
        search time for one question.
        """
        words = [w for w in TOKEN_PATTERN.findall(text.lower()) if w not in self._stopwords]
        return list(self._stemmer.stemWords(words)) if words else []

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every indexed text for the query (zeros when nothing matches)."""
        tokens = self.tokenize(query)
        if not tokens:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self._bm25.get_scores(tokens), dtype=np.float32)
