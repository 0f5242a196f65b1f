"""Escalation actions: personal medical advice and requests for a person."""

from __future__ import annotations

from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions import runtime
from actions.answer import CONDITION_SLOT, has_words
from actions.messages import medical_advice_messages, payload
from knowledge.config import Settings


class ActionMedicalAdvice(Action):
    """Says plainly that it cannot advise on an individual case; adds general information."""

    def name(self) -> str:
        """Action name used in the domain."""
        return "action_medical_advice"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        """Reply to a personal medical-advice request."""
        text = tracker.latest_message.get("text") or ""
        general = None
        if has_words(text):
            service = await runtime.service()
            general = await runtime.call(
                service.ask, text, tracker.get_slot(CONDITION_SLOT), None, None
            )
        for message in medical_advice_messages(general):
            dispatcher.utter_message(**message)
        return []


class ActionRequestHuman(Action):
    """Tells the patient how to reach the clinic's staff."""

    def name(self) -> str:
        """Action name used in the domain."""
        return "action_request_human"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        """Reply to a request for a person."""
        contact = Settings.from_env().clinic_contact
        dispatcher.utter_message(
            text=f"Of course. Our staff are happy to help: please contact {contact}.",
            json_message=payload("handoff"),
        )
        return []
