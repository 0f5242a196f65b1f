"""Asking a website patient for a phone number or e-mail address after a handoff.

``handoff_contact_form`` asks once; an invalid answer is explained and asked again; after
``MAX_INVALID`` invalid answers, or when the patient says no, the bot stops asking. The slot holds
``phone:<E.164>``, ``email:<address>``, ``declined`` or ``skipped``. Contact details go to the
handoff store only, never to the logs.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import staff
from actions.answer import ActionAnswerQuestion
from actions.escalation import CONTACT_WANTED_SLOT, REFERENCE_SLOT, handoff_payload
from handoffs.contact import parse_contact
from handoffs.records import Contact, Handoff
from knowledge.config import Settings
from knowledge.schema import Kind, payload

CONTACT_SLOT = "handoff_contact"
ATTEMPTS_SLOT = "contact_attempts"
DECLINED = "declined"
SKIPPED = "skipped"
MAX_INVALID = 2
ASK_TEXT = (
    "If you would like our staff to call or e-mail you, please type your phone number or e-mail "
    "address. If you would rather not, just say no."
)
INVALID_TEXT = (
    "Sorry, that doesn't look like a phone number or e-mail address I can use "
    "(for example 98765 43210, +44 7911 123456 or name@example.com)."
)


def encode(contact: Contact) -> str:
    """Slot value of a contact: ``<kind>:<value>``."""
    return f"{contact.kind}:{contact.value}"


def decode(value: Optional[str]) -> Optional[Contact]:
    """The contact a slot value holds, or ``None`` for declined, skipped or empty."""
    if not value or ":" not in value:
        return None
    kind, _, rest = value.partition(":")
    return Contact(kind, rest) if kind in ("phone", "email") and rest else None


class ActionAskHandoffContact(Action):
    """The form's question: a phone number or e-mail address, or no."""

    def name(self) -> str:
        """Action name used in the domain (the form asks with ``action_ask_<slot>``)."""
        return "action_ask_handoff_contact"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        """Ask for contact details."""
        dispatcher.utter_message(text=ASK_TEXT, json_message=payload(Kind.CONTACT_REQUEST))
        return []


class ValidateHandoffContactForm(FormValidationAction):
    """Checks the phone number or e-mail address the patient typed."""

    def name(self) -> str:
        """Action name used in the domain."""
        return "validate_handoff_contact_form"

    async def validate_handoff_contact(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> Dict[str, Any]:
        """Accept a valid contact or a "no"; explain and re-ask otherwise (at most twice)."""
        if slot_value == DECLINED:
            return {CONTACT_SLOT: DECLINED, ATTEMPTS_SLOT: 0}
        region = Settings.from_env().phone_region
        contact = parse_contact(str(slot_value or ""), region)
        if contact is not None:
            return {CONTACT_SLOT: encode(contact), ATTEMPTS_SLOT: 0}
        attempts = int(tracker.get_slot(ATTEMPTS_SLOT) or 0) + 1
        if attempts >= MAX_INVALID:
            return {CONTACT_SLOT: SKIPPED, ATTEMPTS_SLOT: 0}
        dispatcher.utter_message(text=INVALID_TEXT, json_message=payload(Kind.CONTACT_INVALID))
        return {CONTACT_SLOT: None, ATTEMPTS_SLOT: attempts}


class ActionSaveContact(Action):
    """Saves the contact details on the conversation's handoff (or makes one) and confirms."""

    def name(self) -> str:
        """Action name used in the domain."""
        return "action_save_contact"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        """Confirm what happens next, with the reference number."""
        settings = Settings.from_env()
        value = tracker.get_slot(CONTACT_SLOT)
        if value is None:  # contact details typed outside the form
            typed = parse_contact(tracker.latest_message.get("text") or "", settings.phone_region)
            if typed is None:
                # The bot did not ask for contact details: the message is answered as what it
                # most likely is, a question (often one with a number in it).
                return await ActionAnswerQuestion().run(dispatcher, tracker, domain)
            value = encode(typed)
        contact = decode(value)
        reference = tracker.get_slot(REFERENCE_SLOT)
        handoff: staff.Escalation = None
        if value == DECLINED and reference:  # staff then know not to wait for details
            await staff.set_contact(tracker, reference, Contact("declined"))
        if contact is not None:
            if reference:
                handoff = await staff.set_contact(tracker, reference, contact)
            else:
                handoff = await staff.escalate(tracker, "user_request", contact)
            if isinstance(handoff, Handoff):
                reference = handoff.reference
        reset: List[EventType] = [
            SlotSet(CONTACT_SLOT, None),
            SlotSet(ATTEMPTS_SLOT, 0),
            SlotSet(CONTACT_WANTED_SLOT, False),
        ]
        if reference:
            reset.append(SlotSet(REFERENCE_SLOT, reference))
        dispatcher.utter_message(
            text=self._text(contact, value, reference, handoff is not None, settings),
            json_message=payload(Kind.HANDOFF, handoff=handoff_payload(handoff)),
        )
        return reset

    @staticmethod
    def _text(
        contact: Optional[Contact],
        value: str,
        reference: Optional[str],
        saved: bool,
        settings: Settings,
    ) -> str:
        ref = f" Your reference number is {reference}." if reference else ""
        if contact is not None and saved:
            return f"Thank you. Our staff will contact you at {contact.value}.{ref}"
        if contact is not None:
            return (
                "Sorry, I couldn't save your details just now. Please contact "
                f"{settings.clinic_contact} directly.{ref}"
            )
        if value == DECLINED:
            return f"No problem. If you need us, please contact {settings.clinic_contact}.{ref}"
        return (
            "No problem, let's leave it there. You can reach our staff at "
            f"{settings.clinic_contact}.{ref} I'm still here for any other questions."
        )
