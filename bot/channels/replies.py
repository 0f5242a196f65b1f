"""Replies the input channels give themselves, without the bot: shared by every channel."""

from __future__ import annotations

from typing import Any, Dict

from knowledge.config import Settings
from knowledge.schema import Kind, payload

TRUNCATED_NOTE = (
    "Your message was very long, so I only read its first {n} characters. "
    "Shorter questions get better answers."
)
FAILURE_TEXT = (
    "Sorry, I can't answer right now. Please try again in a moment, or contact {contact}."
)
RATE_LIMITED_TEXT = (
    "You are sending messages faster than I can answer them. Please wait a minute and try "
    "again. If this is an emergency, call {emergency_numbers} now."
)


def truncated_note(max_chars: int) -> str:
    """What the patient is told when their message was cut to ``max_chars`` characters."""
    return TRUNCATED_NOTE.format(n=f"{max_chars:,}")


def failure_message(settings: Settings, recipient: str) -> Dict[str, Any]:
    """The "can't answer right now" reply, sent when the bot produced nothing for a message."""
    return {
        "recipient_id": recipient,
        "text": FAILURE_TEXT.format(contact=settings.clinic_contact),
        "custom": payload(Kind.UNAVAILABLE),
    }


def rate_limited_message(settings: Settings, recipient: str) -> Dict[str, Any]:
    """The polite reply to a sender over the rate limit (names the emergency numbers)."""
    return {
        "recipient_id": recipient,
        "text": RATE_LIMITED_TEXT.format(emergency_numbers=settings.emergency_numbers),
        "custom": payload(Kind.RATE_LIMITED),
    }


BUSY_TEXT = (
    "Sorry, I am very busy right now. Please try again in a minute. If this is an emergency, "
    "call {emergency_numbers} now."
)
BUSY_RETRY_SECONDS = 10


def busy_message(settings: Settings, recipient: str) -> Dict[str, Any]:
    """The "busy, try again" reply: too many messages waiting, or this client is over its limits."""
    return {
        "recipient_id": recipient,
        "text": BUSY_TEXT.format(emergency_numbers=settings.emergency_numbers),
        "custom": payload(Kind.BUSY),
    }
