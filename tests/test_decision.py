"""The decision (answer, choice, "I don't know") and the judge's say, on hand-made hits."""

from __future__ import annotations

import dataclasses
from typing import Tuple

from knowledge.decision import (
    ANSWER,
    CLARIFY,
    NO_ANSWER,
    Decision,
    DecisionRule,
    Hit,
    JudgeRule,
    decide,
    judge,
)
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


JUDGE = JudgeRule(answer_floor=0.4, choice_floor=0.1, settle_floor=0.8, settle_lead=0.4)


def _placed(section: str, score: float, position: int) -> Hit:
    return dataclasses.replace(_hit(section, score), position=position)


def _judged(kind: str, chances: Tuple[float, ...], rule: JudgeRule = JUDGE) -> Tuple[str, str]:
    hits = tuple(_placed(s, 0.6, i) for i, s in enumerate("ABC"[: len(chances)]))
    decision = judge(Decision(kind, hits), dict(enumerate(chances)), rule)
    return decision.kind, "".join(h.passage.section for h in decision.hits)


def test_an_answer_the_judge_doubts_becomes_no_answer() -> None:
    assert _judged(ANSWER, (0.39, 0.2)) == (NO_ANSWER, "AB")
    assert _judged(ANSWER, (0.4, 0.9)) == (ANSWER, "AB")


def test_a_choice_the_judge_is_sure_of_is_quoted_with_the_others_behind_it() -> None:
    assert _judged(CLARIFY, (0.3, 0.85, 0.2)) == (ANSWER, "BAC")


def test_a_choice_without_a_clear_lead_stays_a_choice_without_the_doubted_ones() -> None:
    assert _judged(CLARIFY, (0.5, 0.85, 0.05)) == (CLARIFY, "AB")
    assert _judged(CLARIFY, (0.05, 0.3, 0.05)) == (NO_ANSWER, "ABC")


def test_floors_at_zero_and_a_settle_floor_of_one_leave_the_decision_alone() -> None:
    off = JudgeRule(answer_floor=0.0, choice_floor=0.0, settle_floor=1.0, settle_lead=0.0)
    assert _judged(ANSWER, (0.0, 0.0), off) == (ANSWER, "AB")
    assert _judged(CLARIFY, (1.0, 0.0, 0.0), off) == (CLARIFY, "ABC")


def test_the_judge_never_turns_no_answer_into_an_answer() -> None:
    assert _judged(NO_ANSWER, (0.99, 0.0)) == (NO_ANSWER, "AB")
