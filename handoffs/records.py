"""The values a handoff is made of: reasons, priorities, statuses, turns, contacts, references.

Everything here is a plain frozen dataclass or a constant, so the store can hand records to
other threads and the actions can build turns and contacts without touching the database.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Dict, List, Mapping, Optional

#: Why a conversation was handed to a person, most urgent first.
REASONS = ("emergency", "medical_advice", "user_request", "no_answer")

#: Priorities, most urgent first; a record's priority is only ever raised.
PRIORITIES = ("urgent", "high", "normal")

#: The priority a reason gives a handoff.
PRIORITY_BY_REASON: Dict[str, str] = {
    "emergency": "urgent",
    "medical_advice": "high",
    "user_request": "normal",
    "no_answer": "normal",
}

#: Life cycle of a handoff: ``open`` -> ``claimed`` -> ``resolved`` (or ``open`` -> ``resolved``).
STATUSES = ("open", "claimed", "resolved")

#: Who said a turn.
SPEAKERS = ("patient", "bot")

#: How the patient can be reached: a phone number, an e-mail address, or they said no.
CONTACT_KINDS = ("phone", "email", "declined")

#: Reference alphabet: digits and capitals without the look-alikes 0/O, 1/I/L.
REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
REFERENCE_LENGTH = 8
_REFERENCE_SEPARATORS = re.compile(r"[\s_\-]+")


def reason_rank(reason: str) -> int:
    """Return the urgency rank of a reason (0 is the most urgent).

    Raises:
        ValueError: The reason is not one of :data:`REASONS`.
    """
    if reason not in REASONS:
        raise ValueError(
            f"unknown handoff reason {reason!r} (expected one of {', '.join(REASONS)})"
        )
    return REASONS.index(reason)


def priority_rank(priority: str) -> int:
    """Return the urgency rank of a priority (0 is the most urgent).

    Raises:
        ValueError: The priority is not one of :data:`PRIORITIES`.
    """
    if priority not in PRIORITIES:
        raise ValueError(f"unknown priority {priority!r} (expected one of {', '.join(PRIORITIES)})")
    return PRIORITIES.index(priority)


def more_urgent(reason: str, than: str) -> bool:
    """Tell whether ``reason`` should replace ``than`` on an existing handoff.

    A reason replaces another when it gives a higher priority, or the same priority but comes
    earlier in :data:`REASONS` (``user_request`` is more telling than ``no_answer``).
    """
    new = (priority_rank(PRIORITY_BY_REASON[reason]), reason_rank(reason))
    old = (priority_rank(PRIORITY_BY_REASON[than]), reason_rank(than))
    return new < old


def new_reference() -> str:
    """Draw a random human-friendly reference such as ``HX7K-3M9Q`` (about 40 bits)."""
    chars = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH))
    half = REFERENCE_LENGTH // 2
    return f"{chars[:half]}-{chars[half:]}"


def normalise_reference(text: str) -> Optional[str]:
    """Read a reference as staff or patients type it.

    Case, spaces and a missing or misplaced dash do not matter: ``hx7k3m9q``, ``HX7K 3M9Q`` and
    ``hx7k-3m9q`` all give ``HX7K-3M9Q``.

    Returns:
        The canonical reference, or ``None`` when the text cannot be a reference.
    """
    chars = _REFERENCE_SEPARATORS.sub("", text.strip()).upper()
    if len(chars) != REFERENCE_LENGTH or any(c not in REFERENCE_ALPHABET for c in chars):
        return None
    half = REFERENCE_LENGTH // 2
    return f"{chars[:half]}-{chars[half:]}"


def utc(moment: datetime) -> datetime:
    """Return an aware datetime in UTC.

    Raises:
        ValueError: The datetime is naive (its time zone is unknown).
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("datetimes must be timezone-aware")
    return moment.astimezone(timezone.utc)


def utc_now() -> datetime:
    """Return the current time, timezone-aware, in UTC."""
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class Turn:
    """One message of the conversation kept with a handoff.

    Attributes:
        speaker: ``"patient"`` or ``"bot"``.
        text: What was said.
        at: When it was said (timezone-aware), if known.
    """

    speaker: str
    text: str
    at: Optional[datetime] = None

    def __post_init__(self) -> None:
        if self.speaker not in SPEAKERS:
            raise ValueError(f"a turn's speaker must be 'patient' or 'bot', got {self.speaker!r}")
        if not isinstance(self.text, str):
            raise ValueError("a turn's text must be a string")
        if self.at is not None:
            object.__setattr__(self, "at", utc(self.at))

    def to_dict(self) -> Dict[str, Any]:
        """Return the turn as JSON-ready data."""
        return {
            "speaker": self.speaker,
            "text": self.text,
            "at": self.at.isoformat() if self.at else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Turn":
        """Build a turn from :meth:`to_dict` data."""
        at = data.get("at")
        return cls(
            speaker=str(data["speaker"]),
            text=str(data["text"]),
            at=datetime.fromisoformat(at) if at else None,
        )


@dataclass(frozen=True)
class Contact:
    """How the patient wants to be reached.

    Attributes:
        kind: ``"phone"`` (E.164 value), ``"email"`` (normalised address) or ``"declined"``.
        value: The number or address; ``None`` when declined.
    """

    kind: str
    value: Optional[str] = None

    def __post_init__(self) -> None:
        if self.kind not in CONTACT_KINDS:
            raise ValueError(
                f"a contact's kind must be one of {', '.join(CONTACT_KINDS)}, got {self.kind!r}"
            )
        if self.kind == "declined" and self.value is not None:
            raise ValueError("a declined contact has no value")
        if self.kind != "declined" and not (self.value and self.value.strip()):
            raise ValueError(f"a {self.kind} contact needs a value")

    @property
    def reachable(self) -> bool:
        """Whether staff can reach the patient with it (it was not declined)."""
        return self.kind != "declined"

    def to_dict(self) -> Dict[str, Any]:
        """Return the contact as JSON-ready data."""
        return {"kind": self.kind, "value": self.value}


@dataclass(frozen=True)
class Handoff:
    """A conversation handed to the clinic's staff, as stored.

    Attributes:
        id: Database id (internal).
        reference: What staff and the patient quote, e.g. ``HX7K-3M9Q``.
        created_at: When the handoff was made (UTC).
        updated_at: When it last changed (UTC).
        channel: Channel the patient wrote on (``rest``, ``whatsapp``...).
        sender_id: The patient's sender id on that channel.
        reason: The most urgent reason given so far (one of :data:`REASONS`).
        priority: The priority of that reason (one of :data:`PRIORITIES`).
        status: ``open``, ``claimed`` or ``resolved``.
        turns: The latest turns of the conversation, oldest first.
        contact: How to reach the patient, if asked yet.
        claimed_by: Staff member who claimed it.
        resolved_at: When it was resolved (UTC).
        resolved_by: Staff member who resolved it.
        note: Staff's closing note.
    """

    id: int
    reference: str
    created_at: datetime
    updated_at: datetime
    channel: str
    sender_id: str
    reason: str
    priority: str
    status: str
    turns: List[Turn]
    contact: Optional[Contact] = None
    claimed_by: Optional[str] = None
    resolved_at: Optional[datetime] = None
    resolved_by: Optional[str] = None
    note: Optional[str] = None

    @property
    def has_contact(self) -> bool:
        """Whether the patient left a phone number or e-mail address."""
        return self.contact is not None and self.contact.reachable

    def to_dict(self) -> Dict[str, Any]:
        """Return the whole record (patient text included) as JSON-ready data, for staff."""
        return {
            "reference": self.reference,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "channel": self.channel,
            "sender_id": self.sender_id,
            "reason": self.reason,
            "priority": self.priority,
            "status": self.status,
            "turns": [turn.to_dict() for turn in self.turns],
            "contact": self.contact.to_dict() if self.contact else None,
            "claimed_by": self.claimed_by,
            "resolved_at": self.resolved_at.isoformat() if self.resolved_at else None,
            "resolved_by": self.resolved_by,
            "note": self.note,
        }


@dataclass(frozen=True)
class Notification:
    """One staff notification of a handoff through one sink.

    Attributes:
        id: Database id.
        reference: The handoff's reference.
        sink: Sink name (``webhook``, ``email``).
        status: ``pending`` (not delivered yet, retried until it is) or ``delivered``.
        attempts: Delivery attempts so far.
        next_attempt_at: When the next attempt is due (UTC).
        last_error: Short reason of the last failure (never patient data).
        delivered_at: When it was delivered (UTC).
    """

    id: int
    reference: str
    sink: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: Optional[str] = None
    delivered_at: Optional[datetime] = None

    @property
    def failing(self) -> bool:
        """Whether it is still pending after at least one failed attempt."""
        return self.status == "pending" and self.attempts > 0

    def to_dict(self) -> Dict[str, Any]:
        """Return the notification as JSON-ready data."""
        return {
            "reference": self.reference,
            "sink": self.sink,
            "status": self.status,
            "attempts": self.attempts,
            "next_attempt_at": self.next_attempt_at.isoformat(),
            "last_error": self.last_error,
            "delivered_at": self.delivered_at.isoformat() if self.delivered_at else None,
        }


@dataclass(frozen=True)
class PendingNotification:
    """A notification that is due, with the handoff as it is now (what the sink reports).

    Attributes:
        id: Notification id (for :meth:`HandoffStore.mark_delivered` and ``mark_failed``).
        sink: Sink name.
        attempts: Attempts made before this one.
        next_attempt_at: When it became due (UTC).
        handoff: The handoff to report.
    """

    id: int
    sink: str
    attempts: int
    next_attempt_at: datetime
    handoff: Handoff
