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

# What bm25s.tokenize(stopwords="en") does: scikit-learn's token pattern on lower-cased text,
# bm25s's English stop words dropped (tests/test_search.py checks the two agree).
TOKEN_PATTERN = re.compile(r"(?u)\b\w\w+\b")
STOPWORDS = frozenset(STOPWORDS_EN)


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
        self._bm25 = bm25s.BM25()
        self._bm25.index([self.tokenize(text) for text in texts], show_progress=False)
        self.size = len(texts)

    def tokenize(self, text: str) -> List[str]:
        """Lower-cased, stop-word-free, stemmed tokens of a text, for indexing and for queries.

        The tokens ``bm25s.tokenize`` gives, without its batch machinery (vocabularies and
        progress bars, a tenth of the search time for one question).
        """
        words = [w for w in TOKEN_PATTERN.findall(text.lower()) if w not in STOPWORDS]
        return list(self._stemmer.stemWords(words)) if words else []

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every indexed text for the query (zeros when nothing matches)."""
        tokens = self.tokenize(query)
        if not tokens:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self._bm25.get_scores(tokens), dtype=np.float32)
