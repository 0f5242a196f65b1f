"""The handoff store: handoff records and their staff notifications in SQLite or PostgreSQL.

Two tables. ``handoffs`` holds one row per handed-over conversation; a partial unique index keeps
at most one unresolved handoff per (channel, sender). ``handoff_notifications`` holds one row per
(handoff, sink) to notify, written in the same transaction as the handoff so that a crash between
saving and notifying loses nothing; a notification stays ``pending`` until a sink accepts it.

Every method is synchronous and safe to call from several threads (each call is one short
transaction on its own connection). SQLite transactions start with ``BEGIN IMMEDIATE``, so
processes sharing the file (action server, staff CLI, cron) are serialised; on PostgreSQL rows
are locked with ``SELECT ... FOR UPDATE``.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, Iterator, List, Optional, Sequence, Tuple

from sqlalchemy import case, delete, insert, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from handoffs.db import StoreError, StoreUnavailable, check_url, describe_error, open_engine
from handoffs.outbox import NotificationOutbox, queue_notifications
from handoffs.records import (
    PRIORITY_BY_REASON,
    REASONS,
    STATUSES,
    Contact,
    Handoff,
    Turn,
    more_urgent,
    new_reference,
    normalise_reference,
    priority_rank,
    utc,
    utc_now,
)
from handoffs.schema import (
    MAX_CHANNEL,
    MAX_NOTE,
    MAX_SENDER,
    MAX_SINK,
    MAX_STAFF,
    H,
    N,
    dump_turns,
    handoff_from_row,
    handoffs_table,
    load_turns,
    metadata,
    notifications_table,
)

_WRITE_ATTEMPTS = 5


class UnknownReference(StoreError):
    """No handoff has this reference."""


class InvalidTransition(StoreError):
    """The handoff's status does not allow the change (e.g. claiming a resolved handoff)."""


def _merge_turns(stored: List[Turn], new: Sequence[Turn]) -> List[Turn]:
    """Append the turns of ``new`` that ``stored`` does not end with already.

    Callers usually pass the latest turns of the conversation, which overlap what an earlier
    escalation stored. The longest overlap where the end of ``stored`` is a run of ``new``
    (reaching the start of either list) is found, the earliest if several are as long; only
    the turns after it are appended. Turns are equal when speaker, text and time are.
    """
    new = list(new)
    best_len, best_end = 0, 0
    for end in range(1, len(new) + 1):
        k = 0
        while k < min(len(stored), end) and stored[len(stored) - 1 - k] == new[end - 1 - k]:
            k += 1
        if k and k in (len(stored), end) and k > best_len:
            best_len, best_end = k, end
    return stored + new[best_end:]


def _text(value: str, what: str, limit: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what} must not be empty")
    value = value.strip()
    if len(value) > limit:
        raise ValueError(f"{what} is longer than {limit} characters")
    return value


def _contact_values(contact: Optional[Contact]) -> dict:
    if contact is None:
        return {}
    return {"contact_kind": contact.kind, "contact_value": contact.value}


class HandoffStore(NotificationOutbox):
    """Handoff records and their pending staff notifications in a SQL database.

    Args:
        url: SQLAlchemy URL (see :func:`check_url`); checked here, connected in :meth:`warm_up`.
        turns_kept: How many of the latest conversation turns a handoff keeps.

    Raises:
        StoreUnavailable: The URL cannot be used.
        ValueError: ``turns_kept`` is below 1.
    """

    def __init__(self, url: str, turns_kept: int = 10) -> None:
        self._url = check_url(url)
        if turns_kept < 1:
            raise ValueError("turns_kept must be at least 1")
        self.turns_kept = turns_kept
        self._engine: Optional[Engine] = None
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        """The database URL with any password hidden (safe to log)."""
        return str(self._url.render_as_string(hide_password=True))

    # -- life cycle ---------------------------------------------------------------------------

    def warm_up(self) -> "HandoffStore":
        """Connect and create the tables if they are missing (idempotent, thread-safe).

        Every other method calls it first, so calling it at start-up only moves the cost (and
        any connection error) to a predictable moment.

        Returns:
            The store itself.

        Raises:
            StoreUnavailable: The database cannot be opened or the tables cannot be created.
        """
        self._ready()
        return self

    def _ready(self) -> Engine:
        with self._lock:
            if self._engine is not None:
                return self._engine
            self._engine = open_engine(self._url, metadata, "the handoff database")
            return self._engine

    def close(self) -> None:
        """Close every pooled connection; the next call connects again."""
        with self._lock:
            if self._engine is not None:
                self._engine.dispose()
                self._engine = None

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        engine = self._ready()
        try:
            with engine.begin() as connection:
                yield connection
        except IntegrityError:
            raise
        except SQLAlchemyError as exc:
            raise StoreUnavailable(f"handoff database error: {describe_error(exc)}") from None

    # -- handoffs -----------------------------------------------------------------------------

    def escalate(
        self,
        channel: str,
        sender_id: str,
        reason: str,
        turns: Sequence[Turn],
        contact: Optional[Contact] = None,
        sinks: Sequence[str] = (),
        now: Optional[datetime] = None,
    ) -> Handoff:
        """Hand a conversation to staff, or update the handoff it already has.

        If this sender on this channel has a handoff that is not resolved, that one is updated:
        turns not stored yet are appended (only the last ``turns_kept`` are kept), a more urgent
        reason replaces the old one (raising the priority), and ``contact`` replaces the stored
        contact when given. Otherwise a new handoff with a fresh reference is created.

        A new handoff, or one whose priority was raised, gets a pending notification for each of
        ``sinks`` in the same transaction (a sink that still has an undelivered notification for
        it is not queued twice; that one is made due now).

        Args:
            channel: Channel name (``rest``, ``whatsapp``...).
            sender_id: The patient's id on the channel.
            reason: One of :data:`handoffs.records.REASONS`.
            turns: The latest turns of the conversation, oldest first.
            contact: How to reach the patient, if known.
            sinks: Names of the configured notification sinks (see ``sinks_from_settings``).
            now: The current time (for tests); defaults to the clock.

        Returns:
            The handoff as stored.

        Raises:
            ValueError: An argument is invalid.
            StoreUnavailable: The database cannot be used.
        """
        channel = _text(channel, "channel", MAX_CHANNEL)
        sender_id = _text(sender_id, "sender_id", MAX_SENDER)
        if reason not in REASONS:
            raise ValueError(f"unknown handoff reason {reason!r} (expected one of {REASONS})")
        turns = list(turns)
        if not all(isinstance(turn, Turn) for turn in turns):
            raise ValueError("turns must be Turn objects")
        if contact is not None and not isinstance(contact, Contact):
            raise ValueError("contact must be a Contact")
        sinks = [_text(sink, "sink name", MAX_SINK) for sink in sinks]
        moment = utc(now) if now else utc_now()
        for attempt in range(_WRITE_ATTEMPTS):
            try:
                with self._transaction() as conn:
                    handoff_id = self._escalate(
                        conn, channel, sender_id, reason, turns, contact, sinks, moment
                    )
                    return self._get_by_id(conn, handoff_id)
            except IntegrityError as exc:
                # A reference collision, or another process created this sender's handoff
                # at the same moment: try again (the next attempt finds and updates it).
                if attempt == _WRITE_ATTEMPTS - 1:
                    raise StoreUnavailable(
                        f"could not save the handoff: {describe_error(exc)}"
                    ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _escalate(
        self,
        conn: Connection,
        channel: str,
        sender_id: str,
        reason: str,
        turns: List[Turn],
        contact: Optional[Contact],
        sinks: Sequence[str],
        now: datetime,
    ) -> int:
        row = conn.execute(
            select(handoffs_table)
            .where(H.channel == channel, H.sender_id == sender_id, H.status != "resolved")
            .with_for_update()
        ).first()
        if row is None:
            kept = _merge_turns([], turns)[-self.turns_kept :]
            result = conn.execute(
                insert(handoffs_table).values(
                    reference=new_reference(),
                    created_at=now,
                    updated_at=now,
                    channel=channel,
                    sender_id=sender_id,
                    reason=reason,
                    priority=PRIORITY_BY_REASON[reason],
                    status="open",
                    turns=dump_turns(kept),
                    **_contact_values(contact),
                )
            )
            handoff_id = int(result.inserted_primary_key[0])
            queue_notifications(conn, handoff_id, sinks, now)
            return handoff_id
        current = row._mapping
        merged = _merge_turns(load_turns(current["turns"]), turns)[-self.turns_kept :]
        values: dict = {"turns": dump_turns(merged), "updated_at": now, **_contact_values(contact)}
        raised = False
        if more_urgent(reason, current["reason"]):
            values["reason"] = reason
            values["priority"] = PRIORITY_BY_REASON[reason]
            raised = priority_rank(values["priority"]) < priority_rank(current["priority"])
        conn.execute(update(handoffs_table).where(H.id == current["id"]).values(**values))
        if raised:
            queue_notifications(conn, current["id"], sinks, now)
        return int(current["id"])

    def set_contact(
        self,
        reference: str,
        contact: Contact,
        now: Optional[datetime] = None,
        owner: Optional[Tuple[str, str]] = None,
    ) -> Handoff:
        """Record how to reach the patient of a handoff (replaces an earlier contact).

        Args:
            reference: The handoff.
            contact: The new contact details.
            now: The current time (for tests).
            owner: ``(channel, sender_id)`` of the conversation asking; the handoff must be
                that conversation's, or it is treated as unknown.

        Raises:
            UnknownReference: No handoff has this reference (or it is not ``owner``'s).
            StoreUnavailable: The database cannot be used.
        """
        if not isinstance(contact, Contact):
            raise ValueError("contact must be a Contact")
        moment = utc(now) if now else utc_now()
        with self._transaction() as conn:
            row = self._row(conn, reference, lock=True)
            if owner is not None and (row.channel, row.sender_id) != tuple(owner):
                raise UnknownReference(f"no handoff {reference} in this conversation")
            conn.execute(
                update(handoffs_table)
                .where(H.id == row.id)
                .values(updated_at=moment, **_contact_values(contact))
            )
            return self._get_by_id(conn, row.id)

    def get(self, reference: str) -> Optional[Handoff]:
        """Find a handoff by reference (any case; the dash may be missing).

        Returns:
            The handoff, or ``None`` when there is none with this reference.

        Raises:
            StoreUnavailable: The database cannot be used.
        """
        canonical = normalise_reference(reference or "")
        if canonical is None:
            return None
        with self._transaction() as conn:
            row = conn.execute(select(handoffs_table).where(H.reference == canonical)).first()
            return handoff_from_row(row) if row else None

    def list(self, status: Optional[str] = None, limit: int = 50) -> List[Handoff]:
        """List handoffs in the order staff work through them.

        Open ones first, then claimed ones; in each, every urgent one (the newest first: the
        patient was just told to call for help, and a burst of old ones must not bury a new
        one), then the others by priority and age (the one waiting longest first); then resolved
        ones, the most recently resolved first. ``limit`` never hides an unresolved urgent
        handoff: they are all listed, whatever their number.

        Args:
            status: Only this status (``open``, ``claimed``, ``resolved``); ``None`` for all.
            limit: At most this many besides the unresolved urgent ones.

        Raises:
            ValueError: Unknown status or a limit below 1.
            StoreUnavailable: The database cannot be used.
        """
        if status is not None and status not in STATUSES:
            raise ValueError(f"unknown status {status!r} (expected one of {', '.join(STATUSES)})")
        if limit < 1:
            raise ValueError("limit must be at least 1")
        resolved = H.status == "resolved"
        urgent = (H.priority == "urgent") & ~resolved
        by_status = case((H.status == "open", 0), (H.status == "claimed", 1), else_=2)
        urgent_query = (
            select(handoffs_table)
            .where(urgent)
            .order_by(by_status, H.created_at.desc(), H.id.desc())
        )
        others = (
            select(handoffs_table)
            .where(~urgent)
            .order_by(
                by_status,
                case((resolved, 0), (H.priority == "high", 1), else_=2),
                case((resolved, None), else_=H.created_at).asc(),
                H.resolved_at.desc(),
                H.id.desc(),
            )
            .limit(limit)
        )
        if status is not None:
            urgent_query = urgent_query.where(H.status == status)
            others = others.where(H.status == status)
        with self._transaction() as conn:
            first = [handoff_from_row(row) for row in conn.execute(urgent_query)]
            rest = [handoff_from_row(row) for row in conn.execute(others)]
        order = {"open": 0, "claimed": 1, "resolved": 2}
        # Open before claimed before resolved; within a status, urgent ones first.
        return sorted(first + rest, key=lambda h: order.get(h.status, 3))

    def claim(self, reference: str, staff: str, now: Optional[datetime] = None) -> Handoff:
        """Mark an open handoff as taken by a staff member.

        Raises:
            UnknownReference: No handoff has this reference.
            InvalidTransition: The handoff is not open (already claimed or resolved).
            ValueError: ``staff`` is empty or too long.
            StoreUnavailable: The database cannot be used.
        """
        staff = _text(staff, "staff name", MAX_STAFF)
        moment = utc(now) if now else utc_now()
        with self._transaction() as conn:
            row = self._row(conn, reference, lock=True)
            if row.status != "open":
                by = row.claimed_by if row.status == "claimed" else row.resolved_by
                raise InvalidTransition(
                    f"handoff {row.reference} is already {row.status}"
                    + (f" by {by}" if by else "")
                    + "; only an open handoff can be claimed"
                )
            conn.execute(
                update(handoffs_table)
                .where(H.id == row.id)
                .values(status="claimed", claimed_by=staff, updated_at=moment)
            )
            return self._get_by_id(conn, row.id)

    def resolve(
        self,
        reference: str,
        staff: str,
        note: Optional[str] = None,
        now: Optional[datetime] = None,
    ) -> Handoff:
        """Close an open or claimed handoff.

        Raises:
            UnknownReference: No handoff has this reference.
            InvalidTransition: The handoff is already resolved.
            ValueError: ``staff`` is empty or too long, or the note is too long.
            StoreUnavailable: The database cannot be used.
        """
        staff = _text(staff, "staff name", MAX_STAFF)
        if note is not None:
            note = note.strip() or None
            if note and len(note) > MAX_NOTE:
                raise ValueError(f"the note is longer than {MAX_NOTE} characters")
        moment = utc(now) if now else utc_now()
        with self._transaction() as conn:
            row = self._row(conn, reference, lock=True)
            if row.status == "resolved":
                raise InvalidTransition(
                    f"handoff {row.reference} is already resolved"
                    + (f" by {row.resolved_by}" if row.resolved_by else "")
                )
            conn.execute(
                update(handoffs_table)
                .where(H.id == row.id)
                .values(
                    status="resolved",
                    resolved_at=moment,
                    resolved_by=staff,
                    note=note,
                    updated_at=moment,
                )
            )
            return self._get_by_id(conn, row.id)

    def purge(self, older_than: timedelta, now: Optional[datetime] = None) -> int:
        """Delete resolved handoffs (and their notifications) resolved longer ago than the age.

        Open and claimed handoffs are never deleted, however old.

        Returns:
            How many handoffs were deleted.

        Raises:
            ValueError: ``older_than`` is negative.
            StoreUnavailable: The database cannot be used.
        """
        if older_than < timedelta(0):
            raise ValueError("older_than must not be negative")
        cutoff = (utc(now) if now else utc_now()) - older_than
        old = select(H.id).where(H.status == "resolved", H.resolved_at < cutoff)
        with self._transaction() as conn:
            conn.execute(delete(notifications_table).where(N.handoff_id.in_(old)))
            result = conn.execute(
                delete(handoffs_table).where(H.status == "resolved", H.resolved_at < cutoff)
            )
            return int(result.rowcount)

    def _row(self, conn: Connection, reference: str, lock: bool = False) -> Any:
        canonical = normalise_reference(reference or "")
        row = None
        if canonical is not None:
            query = select(handoffs_table).where(H.reference == canonical)
            row = conn.execute(query.with_for_update() if lock else query).first()
        if row is None:
            raise UnknownReference(f"no handoff with reference {reference.strip()!r}")
        return row

    def _get_by_id(self, conn: Connection, handoff_id: int) -> Handoff:
        row = conn.execute(select(handoffs_table).where(H.id == handoff_id)).one()
        return handoff_from_row(row)


__all__: Tuple[str, ...] = (
    "HandoffStore",
    "InvalidTransition",
    "StoreError",
    "StoreUnavailable",
    "UnknownReference",
    "check_url",
)
