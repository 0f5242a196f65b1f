"""Where the Rasa server keeps conversations and conversation locks, from the project settings.

``bot/endpoints.yml`` names these classes, so the stock ``rasa run``/``rasa shell`` use them:

* :class:`ConfiguredTrackerStore`: Rasa's SQL tracker store at ``FAQBOT_TRACKER_URL`` (a SQLite
  file under ``var/`` by default, PostgreSQL in production), so a restart loses nothing. It keeps
  Rasa's tables and rows but reads and writes them with less work per message (WAL SQLite, plain
  SQL statements, event classes looked up in a table), and hands the server only the recent
  turns of a long session, with the slots as they stand (:meth:`~ConfiguredTrackerStore._window`).
* :class:`ConfiguredLockStore`: Rasa's Redis lock store when ``FAQBOT_LOCK_STORE_URL`` is set
  (needed when several Rasa servers share the conversations), otherwise the in-process one.

Rasa silently falls back to an in-memory tracker store when the class named in endpoints.yml cannot
be imported; ``tests/integration/test_durability.py`` restarts the server to prove it does not.
"""

from __future__ import annotations

import functools
import itertools
import json
import logging
from pathlib import Path
from typing import Any, Dict, List, Optional, Type

import ujson
from rasa.core.brokers.broker import EventBroker
from rasa.core.lock_store import InMemoryLockStore, LockStore, RedisLockStore
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Event, SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY
from rasa.shared.utils.common import all_subclasses
from sqlalchemy import and_, bindparam, create_engine, event, func, or_, select
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import sessionmaker
from sqlalchemy.pool import QueuePool
from sqlalchemy.sql import Select

from bot.rasa_patches import check_all
from handoffs.db import sqlite_pragmas
from knowledge.config import ConfigError, Settings

logger = logging.getLogger(__name__)
LOCK_KEY_PREFIX = "faqbot"
# A tracker holds at least this many of the session's latest patient messages (and every event
# since the first of them), never fewer than the handoff transcript keeps (FAQBOT_HANDOFF_TURNS).
WINDOW_USER_TURNS = 12
# Event types before the window whose effect the window's slot events reproduce exactly: they set
# nothing (user, bot and action events: what the policies read of them lies in the window), set a
# slot (the latest value per slot is carried), or are a form's (a form still active at the window
# start, see ``_window``, makes the store read the whole session instead).
WINDOW_SAFE_TYPES = (
    "user",
    "bot",
    "action",
    "slot",
    "session_started",
    "active_loop",
    "action_execution_rejected",
    "loop_interrupted",
    "user_featurization",
    "entities",
)
# The conversation store's one addition to Rasa's table: an index for reading windows. Rasa's
# store reads and writes the table as before (it only finds one more index on it).
WINDOW_INDEX = "ix_events_faqbot_window"
# Set on a tracker the store built from a window: how many of its events are stored already.
STORED_EVENTS_ATTR = "_faqbot_stored_events"
# The private Rasa methods this store overrides or calls (see bot.rasa_patches).
STORE_CHANGES = ("store-retrieve", "store-event-classes")


class ConfiguredTrackerStore(SQLTrackerStore):
    """Rasa's SQL tracker store at ``Settings.tracker_url``, with the same tables and rows."""

    def __init__(
        self,
        domain: Optional[Domain] = None,
        host: Optional[str] = None,
        event_broker: Optional[EventBroker] = None,
        **kwargs: Any,
    ) -> None:
        """Connect (waiting while the database comes up) and create the tables if needed.

        ``host`` and the other endpoint keys are ignored: the URL comes from the settings.

        Raises:
            PatchMismatch: The Rasa methods this store overrides or calls have changed.
        """
        check_all(STORE_CHANGES)
        url = make_url(Settings.from_env().tracker_url)
        if url.get_backend_name() == "sqlite" and url.database:
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        logger.info("conversations are kept in %s", url.render_as_string(hide_password=True))
        super().__init__(
            domain=domain,
            host=url.render_as_string(hide_password=False),
            event_broker=event_broker,
        )
        if url.get_backend_name() == "sqlite":
            self.engine.dispose()  # type: ignore[has-type]
            self.engine = sqlite_engine(url)
            self.sessionmaker = sessionmaker(bind=self.engine)
        self._queries = EventQueries(self.SQLEvent.__table__)
        self._create_window_index()
        self.window_turns = max(WINDOW_USER_TURNS, Settings.from_env().handoff_turns)

    def _create_window_index(self) -> None:
        """Add :data:`WINDOW_INDEX` to the events table if it is missing (only for speed).

        Plain DDL rather than an ``Index`` on Rasa's table object: that would become part of
        Rasa's own metadata, which creates its tables (and their indexes) for every store.
        """
        ddl = (
            f"CREATE INDEX IF NOT EXISTS {WINDOW_INDEX} "
            f"ON {self.SQLEvent.__tablename__} (sender_id, type_name, id, action_name)"
        )
        try:
            with self.engine.begin() as connection:
                connection.exec_driver_sql(ddl)
        except SQLAlchemyError as exc:
            logger.warning(
                "could not add the index %s (%s): windows read slower", WINDOW_INDEX, exc
            )

    async def _retrieve(
        self, sender_id: str, fetch_events_from_all_sessions: bool
    ) -> Optional[DialogueStateTracker]:
        """Rasa's retrieval, with a plain SQL query and event classes looked up in a table.

        Rasa builds an ORM query of whole rows where only ``data`` is used, and finds each event's
        class by walking every subclass of ``Event``: a third of its time per message here. The
        latest session of a long conversation is read as a window (:meth:`_window`). Overrides a
        private Rasa method: checked as ``store-retrieve`` (:mod:`bot.rasa_patches`).
        """
        queries = self._queries
        params = {"sender_id": sender_id}
        window: Optional[List[str]] = None
        with self.session_scope() as session:
            if fetch_events_from_all_sessions:
                rows = session.execute(queries.all_sessions, params).all()
            else:
                window = self._window(session, sender_id)
                if window is None:
                    rows = session.execute(queries.latest_session, params).all()
        if window is not None:
            rows = [(data,) for data in window]
        if not self.domain or not rows:
            return None
        events = [event_from_dict(ujson.loads(data)) for (data,) in rows]
        tracker = DialogueStateTracker.from_events(
            sender_id, [e for e in events if e is not None], self.domain.slots
        )
        if window is not None:
            setattr(tracker, STORED_EVENTS_ATTR, len(tracker.events))
        return tracker

    def _window(self, session: Any, sender_id: str) -> Optional[List[str]]:
        """The latest session's recent events, after its slot values at the window start.

        Every message, Rasa rebuilds the whole session from the store, then its rule policy
        computes a dialogue state for every action in it, the action server is sent every event,
        and so on, so a reply took longer with every turn (measured: bench/README.md).
        The policies only look at the last few turns, the actions at the slots and the last
        ``FAQBOT_HANDOFF_TURNS`` messages, so the tracker gets the events from the
        ``window_turns``-th latest patient message on, preceded by the latest stored ``slot``
        event of each slot set before it: the same slot values, active form and recent history
        as the whole session has. ``None`` (read the whole session) when the session is shorter,
        or when an event before the window does something a slot event cannot carry (a restart,
        an undo, a pause, a follow-up action) or a form is still active at the window start.
        """
        q = self._queries
        params: Dict[str, Any] = {"sender_id": sender_id, "offset": self.window_turns - 1}
        params["session"] = session.execute(q.session_start_id, params).scalar() or 0
        start = session.execute(q.window_start, params).scalar()
        if start is None:
            return None
        params["start"] = start
        if session.execute(q.unsafe_before, params).first() is not None:
            return None
        loop = session.execute(q.loop_before, params).scalar()
        if loop is not None and ujson.loads(loop).get("name"):
            return None
        slots = session.execute(q.slots_before, params).scalars().all()
        recent = session.execute(q.since, params).scalars().all()
        return [*slots, *recent]

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Store the events of ``tracker`` that are not stored yet, as Rasa's ``save`` does.

        The same rows as Rasa's, written with one plain-SQL count and one multi-row insert. A
        tracker read as a window knows how many of its events are stored; for any other the
        stored events of the latest session are counted, as Rasa does.
        """
        await self.stream_events(tracker)
        with self.session_scope() as session:
            stored = getattr(tracker, STORED_EVENTS_ATTR, None)
            if stored is None or stored > len(tracker.events):
                stored = session.execute(
                    self._queries.count_latest_session, {"sender_id": tracker.sender_id}
                ).scalar_one()
            rows = [
                event_row(tracker.sender_id, event)
                for event in itertools.islice(tracker.events, stored, None)
            ]
            if rows:
                session.execute(self._queries.insert, rows)
            session.commit()
        if getattr(tracker, STORED_EVENTS_ATTR, None) is not None:
            setattr(tracker, STORED_EVENTS_ATTR, len(tracker.events))


class EventQueries:
    """The statements of :class:`ConfiguredTrackerStore`, built once with a ``sender_id`` parameter.

    SQLAlchemy compiles a statement once and caches the result under the statement object's cache
    key; a statement reused with new parameters skips both building and keying it (a tenth of the
    Rasa server's time per message when they were built for every call).

    Attributes:
        latest_session: ``data`` of the sender's events in order, from the latest session start
            (the same selection as Rasa's ``SQLTrackerStore._event_query``).
        all_sessions: ``data`` of all the sender's events in order.
        count_latest_session: How many events ``latest_session`` selects.
        session_start_id: Id of the sender's latest ``session_started`` event (by timestamp).
        window_start: Id of the ``offset + 1``-th latest user event from the id ``session`` on
            (``None`` when there are fewer).
        unsafe_before: An id of an event between ``session`` and ``start`` of one of the
            :func:`unsafe_types`, if there is one.
        loop_before: ``data`` of the last ``active_loop`` event between ``session`` and ``start``.
        slots_before: ``data`` of the last ``slot`` event of each slot between ``session`` and
            ``start``, in order.
        since: ``data`` of the sender's events from the id ``start`` on, in order.
        insert: Insert of event rows.
    """

    def __init__(self, table: Any) -> None:
        """Build the statements for Rasa's ``events`` table."""
        sender = bindparam("sender_id")
        session_start = (
            select(func.max(table.c.timestamp))
            .where(table.c.sender_id == sender, table.c.type_name == SessionStarted.type_name)
            .scalar_subquery()
        )
        in_latest = or_(table.c.timestamp >= session_start, session_start.is_(None))
        self.all_sessions: Select = (
            select(table.c.data).where(table.c.sender_id == sender).order_by(table.c.id)
        )
        self.latest_session: Select = self.all_sessions.where(in_latest)
        latest_ids = select(table.c.id).where(table.c.sender_id == sender, in_latest).subquery()
        self.count_latest_session: Select = select(func.count()).select_from(latest_ids)
        # The window's statements bound the latest session by the id of its session start (the
        # latest by timestamp, as Rasa selects it) and seek the index below, so that none of them
        # reads the rows of the whole session.
        self.session_start_id: Select = (
            select(table.c.id)
            .where(table.c.sender_id == sender, table.c.type_name == SessionStarted.type_name)
            .order_by(table.c.timestamp.desc(), table.c.id.desc())
            .limit(1)
        )
        mine = and_(table.c.sender_id == sender, table.c.id >= bindparam("session"))
        self.window_start: Select = (
            select(table.c.id)
            .where(mine, table.c.type_name == "user")
            .order_by(table.c.id.desc())
            .limit(1)
            .offset(bindparam("offset"))
        )
        before = and_(mine, table.c.id < bindparam("start"))
        self.unsafe_before: Select = (
            select(table.c.id).where(before, table.c.type_name.in_(unsafe_types())).limit(1)
        )
        self.loop_before: Select = select(table.c.data).where(
            table.c.id
            == select(func.max(table.c.id))
            .where(before, table.c.type_name == "active_loop")
            .scalar_subquery()
        )
        last_per_slot = (
            select(func.max(table.c.id))
            .where(before, table.c.type_name == "slot")
            .group_by(table.c.action_name)
        )
        self.slots_before: Select = (
            select(table.c.data).where(table.c.id.in_(last_per_slot)).order_by(table.c.id)
        )
        self.since: Select = (
            select(table.c.data)
            .where(table.c.sender_id == sender, table.c.id >= bindparam("start"))
            .order_by(table.c.id)
        )
        self.insert = table.insert()


def event_row(sender_id: str, event: Event) -> Dict[str, Any]:
    """The row Rasa's SQL tracker store writes for ``event``."""
    data = event.as_dict()
    return {
        "sender_id": sender_id,
        "type_name": event.type_name,
        "timestamp": data.get("timestamp"),
        "intent_name": data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
        "action_name": data.get("name"),
        "data": json.dumps(data),
    }


def unsafe_types() -> List[str]:
    """Rasa's event types outside :data:`WINDOW_SAFE_TYPES` (restarts, undos, pauses, ...)."""
    return sorted(set(_event_classes()) - set(WINDOW_SAFE_TYPES))


@functools.lru_cache(maxsize=None)
def _event_classes() -> Dict[str, Type[Event]]:
    classes: Dict[str, Type[Event]] = {}
    for cls in all_subclasses(Event):
        classes.setdefault(cls.type_name, cls)  # the first match, as Event.resolve_by_type
    return classes


def event_from_dict(data: Dict[str, Any]) -> Optional[Event]:
    """``Event.from_parameters`` with the event classes looked up in a table built once."""
    cls = _event_classes().get(data.get("event", ""))
    if cls is None:
        return Event.from_parameters(data)  # unknown or missing type: Rasa's own handling
    return cls._from_parameters(data)


def sqlite_engine(url: URL) -> Engine:
    """A pooled SQLite engine in WAL mode that does not sync the disk on every commit.

    Rasa opens a new connection for every read and write of a conversation, in SQLite's default
    rollback-journal mode that syncs the disk several times per commit: with two saves per message
    that was a fifth of the Rasa server's time under load, on its event loop. WAL with
    ``synchronous=NORMAL`` keeps every committed message through a crash of the process (a
    restart loses nothing); only a power cut can lose the last commits before a checkpoint.
    """
    engine = create_engine(
        url, poolclass=QueuePool, connect_args={"check_same_thread": False, "timeout": 30}
    )
    pragmas = sqlite_pragmas("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=30000")
    event.listen(engine, "connect", pragmas)
    return engine


def lock_store_from_url(url: Optional[str]) -> LockStore:
    """A Redis lock store for a ``redis://`` or ``rediss://`` URL, the in-process one for ``None``.

    Raises:
        ConfigError: The URL is not a Redis URL.
    """
    if not url:
        return InMemoryLockStore()
    parsed = make_url(url)
    if parsed.drivername not in ("redis", "rediss"):
        raise ConfigError(f"FAQBOT_LOCK_STORE_URL must be a redis:// URL, got {parsed.drivername}")
    return RedisLockStore(
        host=parsed.host or "localhost",
        port=parsed.port or 6379,
        db=int(parsed.database or 1),
        username=parsed.username,
        password=parsed.password,
        use_ssl=parsed.drivername == "rediss",
        key_prefix=LOCK_KEY_PREFIX,
    )


class ConfiguredLockStore(LockStore):
    """Builds the lock store ``FAQBOT_LOCK_STORE_URL`` asks for (Rasa instantiates this name)."""

    def __new__(cls, endpoint_config: Any = None) -> LockStore:
        """Return a :class:`RedisLockStore` or an :class:`InMemoryLockStore`."""
        store = lock_store_from_url(Settings.from_env().lock_store_url)
        logger.info("conversation locks are kept in %s", type(store).__name__)
        return store
