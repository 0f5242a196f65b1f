"""Which condition a message is about, from the catalog's aliases."""

from __future__ import annotations

import re
from typing import Dict, Iterable, Optional, Pattern, Tuple

from knowledge.sources import KnowledgeBase


class TopicDetector:
    """Finds the condition a message names (foot ulcers, neuropathy, ...), if any."""

    def __init__(self, aliases: Dict[str, Iterable[str]], labels: Optional[Dict[str, str]] = None):
        """Compile one whole-word pattern per condition from its aliases.

        Args:
            aliases: Words patients use, per condition.
            labels: How each condition is named when a follow-up is expanded (its article title).
        """
        self._labels = dict(labels or {})
        self._patterns: Tuple[Tuple[str, Pattern[str]], ...] = tuple(
            (condition, re.compile(r"\b(?:" + "|".join(map(re.escape, words)) + r")\b", re.I))
            for condition, words in aliases.items()
            if words
        )

    @classmethod
    def from_knowledge_base(cls, kb: KnowledgeBase) -> "TopicDetector":
        """A detector over the aliases of every article in the catalog."""
        aliases: Dict[str, list] = {}
        labels: Dict[str, str] = {}
        for article in kb.articles:
            aliases.setdefault(article.condition, []).extend(article.aliases)
            labels.setdefault(article.condition, article.title)
        return cls({c: sorted(set(a), key=len, reverse=True) for c, a in aliases.items()}, labels)

    def label(self, condition: str) -> str:
        """Words naming the condition (its article title), for expanding a follow-up question."""
        return self._labels.get(condition, condition.replace("_", " "))

    def detect(self, text: str) -> Optional[str]:
        """The condition named earliest in the text, or ``None``."""
        best: Optional[Tuple[int, str]] = None
        for condition, pattern in self._patterns:
            match = pattern.search(text)
            if match and (best is None or match.start() < best[0]):
                best = (match.start(), condition)
        return best[1] if best else None
