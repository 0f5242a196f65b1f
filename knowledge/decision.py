"""Whether to answer: quote the top passage, offer close candidates as a choice, or neither.

Pure: ranked hits and the rule's numbers in, a :class:`Decision` out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence, Tuple

from knowledge.config import Settings
from knowledge.sectioning import Passage

ANSWER = "answer"
CLARIFY = "clarify"
NO_ANSWER = "no_answer"


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


@dataclass(frozen=True)
class DecisionRule:
    """The numbers the decision uses (see :func:`decide`)."""

    threshold: float
    margin: float
    sure_score: float
    top_k: int

    @classmethod
    def from_settings(cls, settings: Settings, threshold: float) -> "DecisionRule":
        """The configured margin, sure score and ``top_k``, with this answer bar."""
        return cls(threshold, settings.answer_margin, settings.sure_score, settings.top_k)


def decide(hits: Sequence[Hit], rule: DecisionRule) -> Decision:
    """Answer, offer a choice between close candidates, or no answer.

    The top passage is quoted when it clears the bar and no passage of another section comes
    within ``rule.margin`` of it (or it scores ``rule.sure_score`` or more): when several
    sections score about the same, the scores cannot tell which one answers, and quoting the
    top one is often quoting the wrong one.
    Close candidates that clear the bar are then offered as a choice (at most three
    sections); when none does, the bot says it does not know.
    """
    bar = rule.threshold
    if not hits or hits[0].score < bar:
        return Decision(NO_ANSWER, tuple(hits[: rule.top_k]))
    top = hits[0]
    margin = rule.margin
    close = [
        h
        for h in hits[1:]
        if _section(h) != _section(top) and top.rank_score - h.rank_score < margin
    ]
    if not close or top.score >= rule.sure_score:
        return Decision(ANSWER, tuple(hits[: rule.top_k]))
    choices = [top]
    for hit in close:
        if hit.score >= bar and all(_section(hit) != _section(c) for c in choices):
            choices.append(hit)
    if len(choices) > 1:
        return Decision(CLARIFY, tuple(choices[:3]))
    return Decision(NO_ANSWER, tuple(hits[: rule.top_k]))


def _section(hit: Hit) -> Tuple[str, str]:
    return hit.passage.doc, hit.passage.section
