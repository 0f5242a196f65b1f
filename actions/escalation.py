"""Escalation actions: emergencies, personal medical advice and requests for a person.

Each one saves a handoff for staff (``actions.staff``), tells the patient the reference number and
what happens next, and sets ``contact_wanted`` when staff have no way yet to reach the patient, so
that the rules ask for a phone number or e-mail address.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import runtime, staff
from actions.answer import CONDITION_SLOT, disclaimer_once, has_words
from actions.messages import handoff_text, medical_advice_messages
from actions.texts import LANGUAGE_SLOT, translated
from handoffs.records import Handoff
from knowledge.config import Settings
from knowledge.schema import Kind, kind_of, payload

REFERENCE_SLOT = "handoff_reference"
CONTACT_WANTED_SLOT = "contact_wanted"
EMERGENCY_TYPE_SLOT = "emergency_type"


def handoff_events(handoff: staff.Escalation) -> List[EventType]:
    """Remember the reference; ask for contact details only when staff cannot reach the patient."""
    if not isinstance(handoff, Handoff):
        return [SlotSet(CONTACT_WANTED_SLOT, False)]
    return [
        SlotSet(REFERENCE_SLOT, handoff.reference),
        SlotSet(CONTACT_WANTED_SLOT, handoff.contact is None),
    ]


def handoff_payload(handoff: staff.Escalation) -> Optional[Dict[str, Any]]:
    """The handoff part of a message payload (no patient data)."""
    if isinstance(handoff, staff.Queued):
        return {"reference": None, "reason": handoff.reason, "queued": True}
    if handoff is None:
        return None
    return {"reference": handoff.reference, "reason": handoff.reason}


def told(handoff: staff.Escalation, settings: Settings, language: Optional[str] = None) -> str:
    """The sentence about the handoff, in the patient's language."""
    return handoff_text(
        handoff.reference if isinstance(handoff, Handoff) else None,
        settings.handoff_next_steps,
        settings.clinic_contact,
        queued=isinstance(handoff, staff.Queued),
        language=language,
    )


def last_bot_kind(tracker: Tracker) -> Optional[str]:
    """The decision kind of the bot's latest message (from its ``custom`` payload)."""
    for event in reversed(tracker.events):
        if event.get("event") == "bot":
            return kind_of(event.get("data") or {})
    return None


class ActionMedicalAdvice(Action):
    """Says it cannot advise on an individual case, adds general information, escalates."""

    def name(self) -> str:
        """Action name used in the domain."""
        return "action_medical_advice"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        """Reply to a personal medical-advice request and hand it to staff."""
        settings = Settings.from_env()
        text = tracker.latest_message.get("text") or ""
        general = None
        if has_words(text):
            service = await runtime.service()
            general = await runtime.call(
                service.ask, text, condition=tracker.get_slot(CONDITION_SLOT)
            )
        handoff = await staff.escalate(tracker, "medical_advice")
        language = tracker.get_slot(LANGUAGE_SLOT)
        messages = medical_advice_messages(
            general, handoff_payload(handoff), told(handoff, settings, language), language
        )
        messages[0], events = disclaimer_once(messages[0], tracker)
        events += handoff_events(handoff)
        if general is not None and general.condition != tracker.get_slot(CONDITION_SLOT):
            # The question names a condition: the next questions are about it.
            events.append(SlotSet(CONDITION_SLOT, general.condition))
        for message in messages:
            dispatcher.utter_message(**message)
        return events


class ActionRequestHuman(Action):
    """Hands the conversation to staff (reason ``no_answer`` right after an "I don't know")."""

    def name(self) -> str:
        """Action name used in the domain."""
        return "action_request_human"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        """Reply to a request for a person."""
        settings = Settings.from_env()
        reason = "no_answer" if last_bot_kind(tracker) == "no_answer" else "user_request"
        handoff = await staff.escalate(tracker, reason)
        language = tracker.get_slot(LANGUAGE_SLOT)
        of_course = translated("of_course", language) or "Of course."
        dispatcher.utter_message(
            text=f"{of_course} {told(handoff, settings, language)}",
            json_message=payload(Kind.HANDOFF, handoff=handoff_payload(handoff)),
        )
        return handoff_events(handoff)


class ActionEscalateEmergency(Action):
    """After the emergency reply (a domain response), records an urgent handoff for staff."""

    def name(self) -> str:
        """Action name used in the domain."""
        return "action_escalate_emergency"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        """Save the urgent handoff and say so in one short line."""
        handoff = await staff.escalate(tracker, "emergency")
        language = tracker.get_slot(LANGUAGE_SLOT)
        if isinstance(handoff, Handoff):
            alerted = translated("alerted", language, reference=handoff.reference) or (
                f"I have also alerted our clinic's staff (reference {handoff.reference})."
                " Please call for help first."
            )
        elif isinstance(handoff, staff.Queued):
            alerted = (
                "Our clinic's staff will also be alerted as soon as their system is back."
                " Please call for help first."
            )
        else:
            alerted = ""
        if alerted:
            dispatcher.utter_message(
                text=alerted,
                json_message=payload(Kind.HANDOFF, handoff=handoff_payload(handoff)),
            )
        # The self-harm flag belongs to this message only; a later emergency is judged afresh.
        events: List[EventType] = [SlotSet(EMERGENCY_TYPE_SLOT, None)]
        if isinstance(handoff, Handoff):
            events.insert(0, SlotSet(REFERENCE_SLOT, handoff.reference))
        return events
