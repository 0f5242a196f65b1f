"""Whether to answer: quote the top passage, offer close candidates as a choice, or neither.

Pure: ranked hits and the rule's numbers in, a :class:`Decision` out; :func:`judge` then
holds that decision against the learned answerability judge's probabilities.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence, Tuple

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


@dataclass(frozen=True)
class JudgeRule:
    """How far the answerability judge's probabilities move a decision (see :func:`judge`).

    Attributes:
        answer_floor: Probability a quoted passage needs (0: every answer stands).
        choice_floor: Probability each offered passage needs (0: every choice stands).
        settle_floor: Probability with which one of the choices is quoted instead of asking
            (1: never).
        settle_lead: How far that choice must lead the next one.
    """

    answer_floor: float
    choice_floor: float
    settle_floor: float
    settle_lead: float

    @classmethod
    def from_settings(cls, settings: Settings) -> "JudgeRule":
        """The configured floors."""
        return cls(
            settings.answerable_floor,
            settings.choice_floor,
            settings.settle_floor,
            settings.settle_lead,
        )


def judge(decision: Decision, probability: Mapping[int, float], rule: JudgeRule) -> Decision:
    """The decision, held against the answerability judge's probabilities.

    An answer whose passage has a probability under ``rule.answer_floor`` of answering the
    question becomes "I don't know". A choice between close sections is settled when the judge
    is sure of one (``rule.settle_floor``) and much less of the next (``rule.settle_lead``): the
    scores could not tell them apart, the judge can. Otherwise choices under
    ``rule.choice_floor`` are dropped, and fewer than two left means "I don't know".

    Args:
        decision: What :func:`decide` made of the scores.
        probability: By index position, the probability that the passage answers the question
            (a passage without one counts as 0).
        rule: The floors.
    """

    def chance(hit: Hit) -> float:
        return probability.get(hit.position, 0.0)

    if decision.kind == ANSWER:
        if chance(decision.hits[0]) < rule.answer_floor:
            return Decision(NO_ANSWER, decision.hits)
        return decision
    if decision.kind != CLARIFY:
        return decision
    ordered = sorted(decision.hits, key=chance, reverse=True)
    best, runner_up = chance(ordered[0]), chance(ordered[1]) if len(ordered) > 1 else 0.0
    if (
        rule.settle_floor < 1.0
        and best >= rule.settle_floor
        and best - runner_up >= rule.settle_lead
    ):
        return Decision(ANSWER, tuple(ordered))
    kept = tuple(h for h in decision.hits if chance(h) >= rule.choice_floor)
    if len(kept) > 1:
        return Decision(CLARIFY, kept)
    return Decision(NO_ANSWER, decision.hits)


def _section(hit: Hit) -> Tuple[str, str]:
    return hit.passage.doc, hit.passage.section
