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

import json
import threading
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, List, Optional, Sequence, Tuple

from sqlalchemy import (
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    case,
    create_engine,
    delete,
    event,
    insert,
    select,
    update,
)
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.types import TypeDecorator

from handoffs.records import (
    PRIORITY_BY_REASON,
    REASONS,
    STATUSES,
    Contact,
    Handoff,
    Notification,
    PendingNotification,
    Turn,
    more_urgent,
    new_reference,
    normalise_reference,
    priority_rank,
    utc,
    utc_now,
)

MAX_CHANNEL = 64
MAX_SENDER = 255
MAX_STAFF = 100
MAX_ERROR = 200
MAX_SINK = 32
MAX_NOTE = 4000
_WRITE_ATTEMPTS = 5


class StoreError(Exception):
    """A handoff operation cannot be done; the message says why in one line."""


class StoreUnavailable(StoreError):
    """The database URL cannot be used or the database cannot be reached."""


class UnknownReference(StoreError):
    """No handoff has this reference."""


class InvalidTransition(StoreError):
    """The handoff's status does not allow the change (e.g. claiming a resolved handoff)."""


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive, in UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Optional[datetime], dialect: Any) -> Optional[datetime]:
        """Convert to UTC; SQLite gets the naive UTC time."""
        if value is None:
            return None
        value = utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Optional[datetime], dialect: Any) -> Optional[datetime]:
        """Return an aware UTC datetime."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


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
_H = handoffs_table.c
Index(
    "ux_handoffs_one_unresolved_per_sender",
    _H.channel,
    _H.sender_id,
    unique=True,
    sqlite_where=_H.status != "resolved",
    postgresql_where=_H.status != "resolved",
)
Index("ix_handoffs_status_resolved_at", _H.status, _H.resolved_at)

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
_N = notifications_table.c
Index("ix_handoff_notifications_due", _N.status, _N.next_attempt_at)


def _describe(exc: BaseException) -> str:
    """One line about a database error, without SQL or parameters (they may hold patient text)."""
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip().splitlines()
    detail = text[0] if text and not isinstance(exc, IntegrityError) else ""
    name = type(orig).__name__
    return f"{name}: {detail}"[:MAX_ERROR] if detail else name


def check_url(raw: str) -> URL:
    """Parse and check a database URL.

    Accepts ``sqlite:///path/to/file.db`` and ``postgresql://user:pass@host:port/db`` (also
    ``postgres://`` and ``postgresql+psycopg2://``).

    Raises:
        StoreUnavailable: The URL is garbage, names an unsupported database or driver, or an
            in-memory SQLite database (which would lose every handoff on restart).
    """
    example = "e.g. sqlite:///var/faqbot.db or postgresql://user@host:5432/faqbot"
    if not raw or not raw.strip():
        raise StoreUnavailable(f"DATABASE_URL is empty ({example})")
    try:
        url = make_url(raw.strip())
    except (ArgumentError, ValueError):
        raise StoreUnavailable(f"DATABASE_URL is not a database URL ({example})") from None
    backend, _, driver = url.drivername.partition("+")
    if backend == "postgres":
        backend = "postgresql"
    if backend == "sqlite" and driver in ("", "pysqlite"):
        if url.database in (None, "", ":memory:"):
            raise StoreUnavailable(
                "DATABASE_URL names an in-memory SQLite database, which loses every handoff "
                f"on restart; give a file ({example})"
            )
        return url.set(drivername="sqlite")
    if backend == "postgresql" and driver in ("", "psycopg2"):
        return url.set(drivername="postgresql+psycopg2")
    raise StoreUnavailable(
        f"DATABASE_URL uses {url.drivername!r}, which the handoff store does not support "
        f"({example})"
    )


def sqlite_pragmas(*pragmas: str) -> Callable[[Any, Any], None]:
    """A SQLAlchemy ``connect`` listener that runs ``PRAGMA <p>`` for each of ``pragmas``."""

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            for pragma in pragmas:
                cursor.execute(f"PRAGMA {pragma}")
        finally:
            cursor.close()

    return on_connect


_handoff_pragmas = sqlite_pragmas("journal_mode=WAL", "foreign_keys=ON", "busy_timeout=30000")


def _sqlite_on_connect(dbapi_connection: Any, record: Any) -> None:
    # Let SQLAlchemy's "begin" event issue BEGIN IMMEDIATE instead of pysqlite's lazy BEGIN.
    dbapi_connection.isolation_level = None
    _handoff_pragmas(dbapi_connection, record)


def _sqlite_on_begin(connection: Connection) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def open_engine(url: URL, tables: MetaData, what: str) -> Engine:
    """An engine for a checked URL with ``tables`` created if missing.

    SQLite gets its folder created, WAL, a 30 s busy timeout and ``BEGIN IMMEDIATE``;
    PostgreSQL gets pre-ping and a 10 s connect timeout unless the URL sets one. Used by the
    handoff store and by the channels' seen-message table.

    Raises:
        StoreUnavailable: The folder or the tables cannot be created (``what`` names the
            database in the message).
    """
    shown = url.render_as_string(hide_password=True)
    if url.get_backend_name() == "sqlite":
        database = str(url.database)
        if not database.startswith("file:"):
            try:
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreUnavailable(
                    f"cannot create the folder of {what} {shown}: "
                    f"{exc.strerror or type(exc).__name__}"
                ) from None
        engine = create_engine(
            url, future=True, connect_args={"check_same_thread": False, "timeout": 30}
        )
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
    else:
        connect_args = {} if "connect_timeout" in url.query else {"connect_timeout": 10}
        engine = create_engine(url, future=True, pool_pre_ping=True, connect_args=connect_args)
    for attempt in range(2):
        try:
            tables.create_all(engine)
            break
        except SQLAlchemyError as exc:
            # Two processes creating the tables at once: the second attempt sees them.
            if attempt == 0 and not isinstance(exc, OperationalError):
                continue
            engine.dispose()
            raise StoreUnavailable(f"cannot open {what} {shown}: {_describe(exc)}") from None
    return engine


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


def _load_turns(raw: str) -> List[Turn]:
    return [Turn.from_dict(item) for item in json.loads(raw)]


def _dump_turns(turns: Iterable[Turn]) -> str:
    return json.dumps([turn.to_dict() for turn in turns], ensure_ascii=False)


def _handoff(row: Any) -> Handoff:
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
        turns=_load_turns(m["turns"]),
        contact=contact,
        claimed_by=m["claimed_by"],
        resolved_at=m["resolved_at"],
        resolved_by=m["resolved_by"],
        note=m["note"],
    )


def _notification(row: Any) -> Notification:
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


class HandoffStore:
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
            raise StoreUnavailable(f"handoff database error: {_describe(exc)}") from None

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
                        f"could not save the handoff: {_describe(exc)}"
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
            .where(_H.channel == channel, _H.sender_id == sender_id, _H.status != "resolved")
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
                    turns=_dump_turns(kept),
                    **_contact_values(contact),
                )
            )
            handoff_id = int(result.inserted_primary_key[0])
            self._queue(conn, handoff_id, sinks, now)
            return handoff_id
        current = row._mapping
        merged = _merge_turns(_load_turns(current["turns"]), turns)[-self.turns_kept :]
        values: dict = {"turns": _dump_turns(merged), "updated_at": now, **_contact_values(contact)}
        raised = False
        if more_urgent(reason, current["reason"]):
            values["reason"] = reason
            values["priority"] = PRIORITY_BY_REASON[reason]
            raised = priority_rank(values["priority"]) < priority_rank(current["priority"])
        conn.execute(update(handoffs_table).where(_H.id == current["id"]).values(**values))
        if raised:
            self._queue(conn, current["id"], sinks, now)
        return int(current["id"])

    def _queue(
        self, conn: Connection, handoff_id: int, sinks: Sequence[str], now: datetime
    ) -> None:
        for sink in dict.fromkeys(sinks):
            pending = conn.execute(
                select(_N.id).where(
                    _N.handoff_id == handoff_id, _N.sink == sink, _N.status == "pending"
                )
            ).first()
            if pending is not None:
                conn.execute(
                    update(notifications_table)
                    .where(_N.id == pending.id)
                    .values(next_attempt_at=now)
                )
                continue
            conn.execute(
                insert(notifications_table).values(
                    handoff_id=handoff_id,
                    sink=sink,
                    status="pending",
                    attempts=0,
                    created_at=now,
                    next_attempt_at=now,
                )
            )

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
                .where(_H.id == row.id)
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
            row = conn.execute(select(handoffs_table).where(_H.reference == canonical)).first()
            return _handoff(row) if row else None

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
        resolved = _H.status == "resolved"
        urgent = (_H.priority == "urgent") & ~resolved
        by_status = case((_H.status == "open", 0), (_H.status == "claimed", 1), else_=2)
        urgent_query = (
            select(handoffs_table)
            .where(urgent)
            .order_by(by_status, _H.created_at.desc(), _H.id.desc())
        )
        others = (
            select(handoffs_table)
            .where(~urgent)
            .order_by(
                by_status,
                case((resolved, 0), (_H.priority == "high", 1), else_=2),
                case((resolved, None), else_=_H.created_at).asc(),
                _H.resolved_at.desc(),
                _H.id.desc(),
            )
            .limit(limit)
        )
        if status is not None:
            urgent_query = urgent_query.where(_H.status == status)
            others = others.where(_H.status == status)
        with self._transaction() as conn:
            first = [_handoff(row) for row in conn.execute(urgent_query)]
            rest = [_handoff(row) for row in conn.execute(others)]
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
                .where(_H.id == row.id)
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
                .where(_H.id == row.id)
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
        old = select(_H.id).where(_H.status == "resolved", _H.resolved_at < cutoff)
        with self._transaction() as conn:
            conn.execute(delete(notifications_table).where(_N.handoff_id.in_(old)))
            result = conn.execute(
                delete(handoffs_table).where(_H.status == "resolved", _H.resolved_at < cutoff)
            )
            return int(result.rowcount)

    def _row(self, conn: Connection, reference: str, lock: bool = False) -> Any:
        canonical = normalise_reference(reference or "")
        row = None
        if canonical is not None:
            query = select(handoffs_table).where(_H.reference == canonical)
            row = conn.execute(query.with_for_update() if lock else query).first()
        if row is None:
            raise UnknownReference(f"no handoff with reference {reference.strip()!r}")
        return row

    def _get_by_id(self, conn: Connection, handoff_id: int) -> Handoff:
        row = conn.execute(select(handoffs_table).where(_H.id == handoff_id)).one()
        return _handoff(row)

    # -- notifications ------------------------------------------------------------------------

    def due(
        self,
        now: Optional[datetime] = None,
        limit: int = 50,
        sinks: Optional[Sequence[str]] = None,
        lease: Optional[timedelta] = None,
    ) -> List[PendingNotification]:
        """Return the pending notifications whose next attempt is due, the oldest due first.

        Args:
            now: The current time (for tests); defaults to the clock.
            limit: At most this many.
            sinks: Only these sinks (notifications for a sink that is not configured any more
                stay pending, untouched, until it is configured again); ``None`` for all.
            lease: If given, the returned notifications are not due again for this long, so
                that two deliverers running at once (action server and cron) do not both send
                them; :meth:`mark_delivered` or :meth:`mark_failed` then settles them.

        Raises:
            StoreUnavailable: The database cannot be used.
        """
        moment = utc(now) if now else utc_now()
        if sinks is not None and not sinks:
            return []
        query = (
            select(
                _N.id.label("n_id"),
                _N.sink.label("n_sink"),
                _N.attempts.label("n_attempts"),
                _N.next_attempt_at.label("n_next"),
                *handoffs_table.c,
            )
            .join_from(notifications_table, handoffs_table, _N.handoff_id == _H.id)
            .where(_N.status == "pending", _N.next_attempt_at <= moment)
            .order_by(_N.next_attempt_at, _N.id)
            .limit(limit)
        )
        if sinks is not None:
            query = query.where(_N.sink.in_(list(sinks)))
        if lease is not None:
            query = query.with_for_update(of=notifications_table, skip_locked=True)
        with self._transaction() as conn:
            rows = conn.execute(query).all()
            if lease is not None and rows:
                conn.execute(
                    update(notifications_table)
                    .where(_N.id.in_([row.n_id for row in rows]))
                    .values(next_attempt_at=moment + lease)
                )
            return [
                PendingNotification(
                    id=row.n_id,
                    sink=row.n_sink,
                    attempts=row.n_attempts,
                    next_attempt_at=row.n_next,
                    handoff=_handoff(row),
                )
                for row in rows
            ]

    def mark_delivered(self, notification_id: int, now: Optional[datetime] = None) -> None:
        """Record that a notification was accepted by its sink (a purged one is ignored)."""
        moment = utc(now) if now else utc_now()
        with self._transaction() as conn:
            conn.execute(
                update(notifications_table)
                .where(_N.id == notification_id, _N.status == "pending")
                .values(
                    status="delivered",
                    attempts=_N.attempts + 1,
                    delivered_at=moment,
                    last_error=None,
                )
            )

    def postpone(self, notification_ids: Sequence[int], until: datetime) -> None:
        """Make pending notifications due again at ``until`` (not an attempt: nothing failed)."""
        if not notification_ids:
            return
        with self._transaction() as conn:
            conn.execute(
                update(notifications_table)
                .where(_N.id.in_(list(notification_ids)), _N.status == "pending")
                .values(next_attempt_at=utc(until))
            )

    def mark_failed(self, notification_id: int, error: str, retry_at: datetime) -> None:
        """Record a failed attempt; the notification stays pending and is due at ``retry_at``.

        Args:
            notification_id: The notification.
            error: Short reason, without patient data (cut to 200 characters).
            retry_at: When to try again.
        """
        with self._transaction() as conn:
            conn.execute(
                update(notifications_table)
                .where(_N.id == notification_id, _N.status == "pending")
                .values(
                    attempts=_N.attempts + 1,
                    last_error=(error or "error")[:MAX_ERROR],
                    next_attempt_at=utc(retry_at),
                )
            )

    def notifications(self, reference: str) -> List[Notification]:
        """Return the notifications of one handoff, oldest first.

        Raises:
            UnknownReference: No handoff has this reference.
            StoreUnavailable: The database cannot be used.
        """
        with self._transaction() as conn:
            row = self._row(conn, reference)
            query = self._notification_query().where(_N.handoff_id == row.id).order_by(_N.id)
            return [_notification(r) for r in conn.execute(query)]

    def failing(self, limit: int = 50) -> List[Notification]:
        """Return pending notifications that failed at least once, the longest failing first.

        Raises:
            StoreUnavailable: The database cannot be used.
        """
        query = (
            self._notification_query()
            .where(_N.status == "pending", _N.attempts > 0)
            .order_by(_N.created_at, _N.id)
            .limit(limit)
        )
        with self._transaction() as conn:
            return [_notification(r) for r in conn.execute(query)]

    @staticmethod
    def _notification_query() -> Any:
        return select(
            _N.id,
            _H.reference,
            _N.sink,
            _N.status,
            _N.attempts,
            _N.next_attempt_at,
            _N.last_error,
            _N.delivered_at,
        ).join_from(notifications_table, handoffs_table, _N.handoff_id == _H.id)


__all__: Tuple[str, ...] = (
    "HandoffStore",
    "InvalidTransition",
    "StoreError",
    "StoreUnavailable",
    "UnknownReference",
    "check_url",
)
