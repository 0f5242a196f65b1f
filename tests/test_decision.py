"""The answer / choice / "I don't know" decision on hand-made hits (no index, no model)."""

from __future__ import annotations

from typing import Tuple

from knowledge.decision import ANSWER, CLARIFY, NO_ANSWER, DecisionRule, Hit, decide
from knowledge.sectioning import Passage

RULE = DecisionRule(threshold=0.4, margin=0.05, sure_score=0.8, top_k=5)


def _hit(section: str, score: float, doc: str = "faq") -> Hit:
    passage = Passage(f"{doc}:{section}", doc, "T", "general", (section,), "x", "section")
    return Hit(passage, 0, score, score, 0.0, score)


def _kinds(*hits: Hit) -> Tuple[str, Tuple[str, ...]]:
    decision = decide(hits, RULE)
    return decision.kind, tuple(h.passage.section for h in decision.hits)


def test_a_clear_winner_is_answered() -> None:
    assert _kinds(_hit("Cost", 0.6), _hit("Safety", 0.45)) == (ANSWER, ("Cost", "Safety"))


def test_below_the_bar_nothing_is_answered() -> None:
    assert _kinds(_hit("Cost", 0.39))[0] == NO_ANSWER
    assert decide((), RULE).kind == NO_ANSWER


def test_close_sections_above_the_bar_are_offered_at_most_three() -> None:
    hits = [_hit(s, 0.6 - i * 0.01) for i, s in enumerate("ABCDE")]
    assert _kinds(*hits) == (CLARIFY, ("A", "B", "C"))


def test_a_close_rival_below_the_bar_means_no_answer_not_a_guess() -> None:
    assert _kinds(_hit("A", 0.42), _hit("B", 0.39))[0] == NO_ANSWER


def test_a_sure_score_is_answered_even_with_a_close_rival() -> None:
    assert _kinds(_hit("A", 0.85), _hit("B", 0.84))[0] == ANSWER


def test_the_same_section_twice_is_no_rival() -> None:
    assert _kinds(_hit("A", 0.6), _hit("A", 0.59))[0] == ANSWER
