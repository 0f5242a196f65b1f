"""The custom actions, run the rasa-sdk way: a Tracker, a CollectingDispatcher, the real index."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import runtime, staff
from actions.answer import ActionAnswerQuestion
from actions.contact import ActionSaveContact, ValidateHandoffContactForm
from actions.escalation import ActionMedicalAdvice, ActionRequestHuman
from handoffs.notify import Notifier
from handoffs.records import Contact
from handoffs.spool import Spool
from handoffs.store import HandoffStore
from knowledge.config import Settings
from knowledge.service import FaqService


@pytest.fixture(autouse=True)
def _shared_service(service: FaqService, monkeypatch: pytest.MonkeyPatch) -> None:
    """Actions use the session's warmed-up service instead of loading their own."""
    from concurrent.futures import ThreadPoolExecutor

    monkeypatch.setattr(runtime, "_service", service)
    monkeypatch.setattr(runtime, "_pool", ThreadPoolExecutor(2))


@pytest.fixture(autouse=True)
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> HandoffStore:
    """Actions write handoffs to a fresh SQLite file; no notification sinks."""
    from concurrent.futures import ThreadPoolExecutor

    handoffs = HandoffStore(f"sqlite:///{tmp_path / 'handoffs.db'}").warm_up()
    monkeypatch.setattr(staff, "_store", handoffs)
    monkeypatch.setattr(staff, "_notifier", Notifier(handoffs, {}))
    monkeypatch.setattr(staff, "_pool", ThreadPoolExecutor(1))
    return handoffs


def tracker(
    text: str,
    intent: str = "ask_question",
    confidence: float = 0.9,
    slots: Optional[Dict[str, Any]] = None,
    entities: Optional[List[Dict[str, Any]]] = None,
    events: Optional[List[Dict[str, Any]]] = None,
    sender: str = "rest:patient-1",
) -> Tracker:
    message = {
        "text": text,
        "intent": {"name": intent, "confidence": confidence},
        "entities": entities or [],
    }
    return Tracker(sender, slots or {}, message, events or [], False, None, {}, "action_listen")


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
    assert message["text"].endswith(Settings().disclaimer), "first answer carries the disclaimer"
    assert events == [SlotSet("disclaimer_shown", True), SlotSet("condition", "foot_ulcers")]


def test_disclaimer_is_said_once() -> None:
    t = tracker("how much does it cost", slots={"disclaimer_shown": True})
    messages, events = run(ActionAnswerQuestion(), t)
    assert Settings().disclaimer not in messages[0]["text"]
    assert SlotSet("disclaimer_shown", True) not in events


def test_follow_up_keeps_the_condition_from_the_slot() -> None:
    t = tracker(
        "and does it have side effects?",
        slots={"condition": "nephropathy", "disclaimer_shown": True},
    )
    messages, events = run(ActionAnswerQuestion(), t)
    ranked = [item["id"] for item in messages[0]["custom"]["ranking"]]
    assert all(
        i.startswith(("exosomes-diabetic-nephropathy", "exosome-therapy-faq")) for i in ranked
    )
    assert events == []  # unchanged


def test_unanswerable_question_says_so_and_offers_a_person() -> None:
    messages, _ = run(ActionAnswerQuestion(), tracker("what is the capital of peru"))
    message = messages[0]
    assert message["custom"]["kind"] == "no_answer"
    assert message["custom"]["citations"] == []
    assert "don't know" in message["text"]
    assert message["buttons"][0]["payload"] == "/request_human"


def test_the_action_hands_the_nlu_intent_to_the_one_decision_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: List[Any] = []
    real_call = runtime.call

    async def spy(fn: Any, *args: Any, **kwargs: Any) -> Any:
        if getattr(fn, "__name__", "") == "ask":
            seen.append(kwargs["intent"])
        return await real_call(fn, *args, **kwargs)

    monkeypatch.setattr(runtime, "call", spy)
    run(ActionAnswerQuestion(), tracker("does exosome therapy help", "out_of_scope", 0.95))
    assert seen == [("out_of_scope", 0.95)]


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
    from knowledge.decision import CLARIFY
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


def test_medical_advice_refuses_personal_advice_and_escalates(store: HandoffStore) -> None:
    t = tracker("should I stop my insulin after the exosome injection?", "medical_advice")
    messages, events = run(ActionMedicalAdvice(), t)
    message = messages[0]
    custom = message["custom"]
    assert custom["kind"] == "medical_advice"
    assert "can't give advice" in message["text"]
    reference = custom["handoff"]["reference"]
    assert f"Your reference number is {reference}" in message["text"]
    assert SlotSet("handoff_reference", reference) in events
    assert SlotSet("contact_wanted", True) in events
    saved = store.get(reference)
    assert saved is not None and (saved.reason, saved.priority) == ("medical_advice", "high")


def test_medical_advice_about_a_condition_keeps_it_for_the_follow_ups() -> None:
    t = tracker("can my father with kidney disease stop his tablets?", "medical_advice")
    _, events = run(ActionMedicalAdvice(), t)
    assert SlotSet("condition", "nephropathy") in events


def test_request_human_is_a_handoff(store: HandoffStore) -> None:
    messages, events = run(ActionRequestHuman(), tracker("can I talk to a person", "request_human"))
    assert messages[0]["custom"]["kind"] == "handoff"
    reference = messages[0]["custom"]["handoff"]["reference"]
    saved = store.get(reference)
    assert saved is not None and saved.reason == "user_request"


def test_request_human_after_i_dont_know_is_a_no_answer_handoff(store: HandoffStore) -> None:
    events = [
        {"event": "user", "text": "what is the capital of peru", "timestamp": 1.0},
        {
            "event": "bot",
            "text": "I don't know",
            "data": {"custom": {"schema": "faqbot/1", "kind": "no_answer"}},
        },
    ]
    messages, _ = run(
        ActionRequestHuman(), tracker("talk to a person", "request_human", events=events)
    )
    saved = store.get(messages[0]["custom"]["handoff"]["reference"])
    assert saved is not None and saved.reason == "no_answer"
    assert [t.text for t in saved.turns] == ["what is the capital of peru", "I don't know"]


def test_on_whatsapp_the_number_is_known_and_not_asked_for(store: HandoffStore) -> None:
    events = [{"event": "user", "text": "human please", "input_channel": "whatsapp"}]
    t = tracker("human please", "request_human", events=events, sender="whatsapp:919876543210")
    messages, slots = run(ActionRequestHuman(), t)
    assert SlotSet("contact_wanted", False) in slots
    saved = store.get(messages[0]["custom"]["handoff"]["reference"])
    assert saved is not None and saved.contact == Contact("phone", "+919876543210")


def test_store_down_keeps_the_request_in_the_spool_until_the_store_is_back(
    store: HandoffStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spool = Spool(tmp_path / "spool" / "handoffs.jsonl")
    monkeypatch.setattr(staff, "_spool", spool)
    monkeypatch.setattr(staff, "_store", HandoffStore("postgresql://nobody@127.0.0.1:1/none"))
    messages, events = run(ActionRequestHuman(), tracker("talk to a person", "request_human"))
    assert "kept your request" in messages[0]["text"]
    assert messages[0]["custom"]["handoff"] == {
        "reference": None,
        "reason": "user_request",
        "queued": True,
    }
    assert events == [SlotSet("contact_wanted", False)]
    [pending] = spool.pending()
    assert (pending.sender_id, pending.reason) == ("rest:patient-1", "user_request")

    assert spool.drain(store, ()) == 1
    [saved] = store.list()
    assert (saved.sender_id, saved.reason) == ("rest:patient-1", "user_request")
    assert spool.pending() == []


def test_store_and_spool_both_down_tell_the_patient_to_contact_the_clinic(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")
    monkeypatch.setattr(staff, "_spool", Spool(blocked / "handoffs.jsonl"))
    monkeypatch.setattr(staff, "_store", HandoffStore("postgresql://nobody@127.0.0.1:1/none"))
    messages, events = run(ActionRequestHuman(), tracker("talk to a person", "request_human"))
    assert "couldn't pass this on" in messages[0]["text"]
    assert events == [SlotSet("contact_wanted", False)]


def validate(value: Any, attempts: int = 0) -> Tuple[List[Dict[str, Any]], Dict[str, Any]]:
    dispatcher = CollectingDispatcher()
    t = tracker(str(value), "give_contact", slots={"contact_attempts": attempts})
    result = asyncio.run(
        ValidateHandoffContactForm().validate_handoff_contact(value, dispatcher, t, {})
    )
    return dispatcher.messages, result


def test_contact_form_accepts_a_phone_number_or_email_and_a_no() -> None:
    assert validate("my number is 98765 43210")[1]["handoff_contact"] == "phone:+919876543210"
    assert validate("it's Priya.S@Example.COM")[1]["handoff_contact"] == "email:Priya.S@example.com"
    assert validate("declined")[1]["handoff_contact"] == "declined"


def test_contact_form_explains_and_re_asks_then_stops_asking() -> None:
    messages, result = validate("call me on 123")
    assert result == {"handoff_contact": None, "contact_attempts": 1}
    assert messages[0]["custom"]["kind"] == "contact_invalid"
    messages, result = validate("still 123", attempts=1)
    assert result["handoff_contact"] == "skipped" and messages == []


def test_save_contact_stores_it_on_the_handoff(store: HandoffStore) -> None:
    handoff = store.escalate("rest", "rest:patient-1", "user_request", [])
    t = tracker(
        "98765 43210",
        "give_contact",
        slots={"handoff_contact": "phone:+919876543210", "handoff_reference": handoff.reference},
    )
    messages, events = run(ActionSaveContact(), t)
    assert "+919876543210" in messages[0]["text"] and handoff.reference in messages[0]["text"]
    saved = store.get(handoff.reference)
    assert saved is not None and saved.contact == Contact("phone", "+919876543210")
    assert SlotSet("contact_wanted", False) in events


def test_numbers_in_a_question_outside_the_contact_form_get_an_answer_not_a_contact_error() -> None:
    t = tracker("after 2 or 3 sessions will I need fewer insulin injections?", "give_contact")
    messages, _ = run(ActionSaveContact(), t)
    kinds = [m["custom"]["kind"] for m in messages]
    assert "contact_invalid" not in kinds and kinds[0] in ("answer", "no_answer", "clarify")
