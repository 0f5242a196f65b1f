"""Which condition a message is about, from the catalog's aliases."""

from __future__ import annotations

import re
from typing import Dict, Iterable, Optional, Pattern, Tuple

from knowledge.sources import KnowledgeBase


class TopicDetector:
    """Finds the condition a message names (foot ulcers, neuropathy, ...), if any."""

    def __init__(self, aliases: Dict[str, Iterable[str]]):
        """Compile one whole-word pattern per condition from its aliases (words patients use)."""
        self._patterns: Tuple[Tuple[str, Pattern[str]], ...] = tuple(
            (condition, re.compile(r"\b(?:" + "|".join(map(re.escape, words)) + r")\b", re.I))
            for condition, words in aliases.items()
            if words
        )

    @classmethod
    def from_knowledge_base(cls, kb: KnowledgeBase) -> "TopicDetector":
        """A detector over the aliases of every article in the catalog."""
        aliases: Dict[str, list] = {}
        for article in kb.articles:
            aliases.setdefault(article.condition, []).extend(article.aliases)
        return cls({c: sorted(set(a), key=len, reverse=True) for c, a in aliases.items()})

    def detect(self, text: str) -> Optional[str]:
        """The condition named earliest in the text, or ``None``."""
        best: Optional[Tuple[int, str]] = None
        for condition, pattern in self._patterns:
            match = pattern.search(text)
            if match and (best is None or match.start() < best[0]):
                best = (match.start(), condition)
        return best[1] if best else None
