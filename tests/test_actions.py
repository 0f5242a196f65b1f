"""The custom actions, run the rasa-sdk way: a Tracker, a CollectingDispatcher, the real index."""

from __future__ import annotations

import asyncio
import json
from typing import Any, Dict, List, Optional

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import runtime
from actions.answer import ActionAnswerQuestion
from actions.escalation import ActionMedicalAdvice, ActionRequestHuman
from knowledge.service import FaqService


@pytest.fixture(autouse=True)
def _shared_service(service: FaqService, monkeypatch: pytest.MonkeyPatch) -> None:
    """Actions use the session's warmed-up service instead of loading their own."""
    from concurrent.futures import ThreadPoolExecutor

    monkeypatch.setattr(runtime, "_service", service)
    monkeypatch.setattr(runtime, "_pool", ThreadPoolExecutor(2))


def tracker(
    text: str,
    intent: str = "ask_question",
    confidence: float = 0.9,
    slots: Optional[Dict[str, Any]] = None,
    entities: Optional[List[Dict[str, Any]]] = None,
) -> Tracker:
    message = {
        "text": text,
        "intent": {"name": intent, "confidence": confidence},
        "entities": entities or [],
    }
    return Tracker("patient-1", slots or {}, message, [], False, None, {}, "action_listen")


def run(action: Any, t: Tracker) -> tuple:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, t, {}))
    return dispatcher.messages, events


def test_answer_quotes_and_cites_and_remembers_the_condition() -> None:
    messages, events = run(
        ActionAnswerQuestion(), tracker("how many sessions are needed for an ulcer")
    )
    assert len(messages) == 1
    message = messages[0]
    custom = message["custom"]
    assert custom["kind"] == "answer"
    cited = custom["citations"][0]
    assert cited["section"] == "How Many Sessions Are Typically Required?"
    assert f"Source: {cited['citation']}" in message["text"]
    assert "three to five treatments" in message["text"]
    assert events == [SlotSet("condition", "foot_ulcers")]


def test_follow_up_keeps_the_condition_from_the_slot() -> None:
    t = tracker("and does it have side effects?", slots={"condition": "nephropathy"})
    messages, events = run(ActionAnswerQuestion(), t)
    assert messages[0]["custom"]["citations"][0]["id"].startswith("exosomes-diabetic-nephropathy")
    assert events == []  # unchanged


def test_unanswerable_question_says_so_and_offers_a_person() -> None:
    messages, _ = run(ActionAnswerQuestion(), tracker("what is the capital of peru"))
    message = messages[0]
    assert message["custom"]["kind"] == "no_answer"
    assert message["custom"]["citations"] == []
    assert "don't know" in message["text"]
    assert message["buttons"][0]["payload"] == "/request_human"


def test_out_of_scope_intent_raises_the_bar(
    service: FaqService, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: List[Any] = []
    real_call = runtime.call

    async def spy(fn: Any, *args: Any, **kwargs: Any) -> Any:
        if getattr(fn, "__name__", "") == "ask":
            seen.append(args[3])
        return await real_call(fn, *args, **kwargs)

    monkeypatch.setattr(runtime, "call", spy)
    run(ActionAnswerQuestion(), tracker("does exosome therapy help"))
    run(ActionAnswerQuestion(), tracker("does exosome therapy help", "out_of_scope", 0.95))
    run(ActionAnswerQuestion(), tracker("does exosome therapy help", "out_of_scope", 0.4))
    bar = service.settings.answer_threshold
    assert seen == [None, pytest.approx(bar + 0.08), None]


@pytest.mark.parametrize("text", ["", "   ", "🙂🙂🙂", "?!..."])
def test_message_without_words_asks_for_a_question(text: str) -> None:
    messages, events = run(ActionAnswerQuestion(), tracker(text, "nlu_fallback", 0.3))
    assert messages[0]["custom"]["kind"] == "no_answer"
    assert "type your question" in messages[0]["text"]
    assert events == []


def test_clarify_button_answers_the_chosen_passage(service: FaqService) -> None:
    assert service.index is not None
    passage = next(
        p for p in service.index.passages if p.section == "Does exosome therapy have side effects?"
    )
    entity = {"entity": "passage_id", "value": passage.id}
    messages, _ = run(ActionAnswerQuestion(), tracker("/ask_question", entities=[entity]))
    assert messages[0]["custom"]["citations"][0]["id"] == passage.id
    assert passage.text in messages[0]["text"]


def test_unknown_passage_from_a_button_is_not_answered() -> None:
    entity = {"entity": "passage_id", "value": "nope#0000000000"}
    messages, _ = run(ActionAnswerQuestion(), tracker("/ask_question", entities=[entity]))
    assert messages[0]["custom"]["kind"] == "no_answer"


def test_clarify_offers_buttons_with_payloads(service: FaqService) -> None:
    from actions.messages import answer_message
    from knowledge.search import CLARIFY
    from knowledge.service import Reply

    reply = service.ask("is it safe")
    choice = Reply(CLARIFY, None, reply.hits[:2])
    message = answer_message(choice)
    assert message["json_message"]["kind"] == "clarify"
    payloads = [b["payload"] for b in message["buttons"]]
    assert json.loads(payloads[0][len("/ask_question") :]) == {
        "passage_id": reply.hits[0].passage.id
    }
    assert all(len(b["title"]) <= 60 for b in message["buttons"])


def test_medical_advice_refuses_personal_advice_and_offers_staff() -> None:
    messages, events = run(
        ActionMedicalAdvice(), tracker("should I stop my insulin after the exosome injection?")
    )
    message = messages[0]
    assert message["custom"]["kind"] == "medical_advice"
    assert "can't give advice" in message["text"]
    assert message["buttons"][0]["payload"] == "/request_human"
    assert events == []


def test_request_human_is_a_handoff() -> None:
    messages, _ = run(ActionRequestHuman(), tracker("can I talk to a person", "request_human"))
    assert messages[0]["custom"]["kind"] == "handoff"
