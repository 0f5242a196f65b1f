"""The handoff tables, and the records read from their rows.

``handoffs`` holds one row per handed-over conversation; a partial unique index keeps at most one
unresolved handoff per (channel, sender). ``handoff_notifications`` holds one row per (handoff,
sink) to notify, written in the same transaction as the handoff.
"""

from __future__ import annotations

import json
from typing import Any, Iterable, List

from sqlalchemy import Column, ForeignKey, Index, Integer, MetaData, String, Table, Text

from handoffs.db import ERROR_CHARS, UTCDateTime
from handoffs.records import Contact, Handoff, Notification, Turn

MAX_CHANNEL = 64
MAX_SENDER = 255
MAX_STAFF = 100
MAX_ERROR = ERROR_CHARS
MAX_SINK = 32
MAX_NOTE = 4000


metadata = MetaData()

handoffs_table = Table(
    "handoffs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("reference", String(9), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("channel", String(MAX_CHANNEL), nullable=False),
    Column("sender_id", String(MAX_SENDER), nullable=False),
    Column("reason", String(32), nullable=False),
    Column("priority", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("turns", Text, nullable=False),
    Column("contact_kind", String(16)),
    Column("contact_value", String(320)),
    Column("claimed_by", String(MAX_STAFF)),
    Column("resolved_at", UTCDateTime),
    Column("resolved_by", String(MAX_STAFF)),
    Column("note", Text),
)
H = handoffs_table.c
Index(
    "ux_handoffs_one_unresolved_per_sender",
    H.channel,
    H.sender_id,
    unique=True,
    sqlite_where=H.status != "resolved",
    postgresql_where=H.status != "resolved",
)
Index("ix_handoffs_status_resolved_at", H.status, H.resolved_at)

notifications_table = Table(
    "handoff_notifications",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "handoff_id",
        Integer,
        ForeignKey("handoffs.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("sink", String(MAX_SINK), nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("last_error", String(MAX_ERROR)),
    Column("delivered_at", UTCDateTime),
)
N = notifications_table.c
Index("ix_handoff_notifications_due", N.status, N.next_attempt_at)


def load_turns(raw: str) -> List[Turn]:
    """The turns stored as JSON in a handoff row."""
    return [Turn.from_dict(item) for item in json.loads(raw)]


def dump_turns(turns: Iterable[Turn]) -> str:
    """Turns as the JSON a handoff row stores."""
    return json.dumps([turn.to_dict() for turn in turns], ensure_ascii=False)


def handoff_from_row(row: Any) -> Handoff:
    """The handoff record of a ``handoffs`` row."""
    m = row._mapping
    contact = Contact(m["contact_kind"], m["contact_value"]) if m["contact_kind"] else None
    return Handoff(
        id=m["id"],
        reference=m["reference"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        channel=m["channel"],
        sender_id=m["sender_id"],
        reason=m["reason"],
        priority=m["priority"],
        status=m["status"],
        turns=load_turns(m["turns"]),
        contact=contact,
        claimed_by=m["claimed_by"],
        resolved_at=m["resolved_at"],
        resolved_by=m["resolved_by"],
        note=m["note"],
    )


def notification_from_row(row: Any) -> Notification:
    """The notification record of a row of :meth:`HandoffStore.notifications`' query."""
    m = row._mapping
    return Notification(
        id=m["id"],
        reference=m["reference"],
        sink=m["sink"],
        status=m["status"],
        attempts=m["attempts"],
        next_attempt_at=m["next_attempt_at"],
        last_error=m["last_error"],
        delivered_at=m["delivered_at"],
    )
