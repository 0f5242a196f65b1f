"""The ``custom`` payload every bot message carries, defined once: its tag, its kinds, build, read.

Light to import (the channels and the evaluation use it without the retrieval core). Domain
responses write the same payload in YAML (``custom: {schema: faqbot/1, kind: emergency}``); a
test checks that they use these kinds.
"""

from __future__ import annotations

from enum import Enum
from typing import Any, Dict, Mapping, Optional

PAYLOAD_SCHEMA = "faqbot/1"


class Kind(str, Enum):
    """What a bot message is, for clients, channels and the evaluation."""

    ANSWER = "answer"  # a quoted, cited passage
    CLARIFY = "clarify"  # close passages offered as buttons
    NO_ANSWER = "no_answer"  # "I don't know"
    MEDICAL_ADVICE = "medical_advice"  # the refusal, with general information when it fits
    EMERGENCY = "emergency"  # the emergency reply (a domain response)
    HANDOFF = "handoff"  # handed to staff, with the reference
    CONTACT_REQUEST = "contact_request"  # the bot asks for a phone number or e-mail
    CONTACT_INVALID = "contact_invalid"  # that answer was no phone number or e-mail
    CHITCHAT = "chitchat"  # greetings, thanks (domain responses)
    UNAVAILABLE = "unavailable"  # the channel's reply when the bot cannot answer
    RATE_LIMITED = "rate_limited"  # the channel's reply to too many messages
    BUSY = "busy"  # the channel's reply while the previous message is still being answered


def payload(kind: Kind, **extra: Any) -> Dict[str, Any]:
    """A ``custom`` payload of ``kind`` with ``extra`` fields."""
    return {"schema": PAYLOAD_SCHEMA, "kind": Kind(kind).value, **extra}


def custom_of(message: Mapping[str, Any]) -> Optional[Dict[str, Any]]:
    """The ``custom`` payload of a bot message (as the REST channel returns it), if it has one."""
    custom = message.get("custom")
    return custom if isinstance(custom, dict) and custom.get("schema") == PAYLOAD_SCHEMA else None


def kind_of(message: Mapping[str, Any]) -> Optional[str]:
    """The kind of a bot message's payload, or ``None`` when it carries none."""
    custom = custom_of(message)
    return None if custom is None else str(custom.get("kind"))
