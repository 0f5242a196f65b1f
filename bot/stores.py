"""Where the Rasa server keeps conversations and conversation locks, from the project settings.

``bot/endpoints.yml`` names these classes, so the stock ``rasa run``/``rasa shell`` use them:

* :class:`ConfiguredTrackerStore`: Rasa's SQL tracker store at ``FAQBOT_TRACKER_URL`` (a SQLite
  file under ``var/`` by default, PostgreSQL in production), so a restart loses nothing. It keeps
  Rasa's tables and rows but reads and writes them with less work per message (WAL SQLite, plain
  SQL statements, event classes looked up in a table).
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
from typing import Any, Dict, Optional, Type

import ujson
from rasa.core.brokers.broker import EventBroker
from rasa.core.lock_store import InMemoryLockStore, LockStore, RedisLockStore
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Event, SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY
from rasa.shared.utils.common import all_subclasses
from sqlalchemy import bindparam, create_engine, event, func, or_, select
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.orm import sessionmaker
from sqlalchemy.pool import QueuePool
from sqlalchemy.sql import Select

from handoffs.store import sqlite_pragmas
from knowledge.config import ConfigError, Settings

logger = logging.getLogger(__name__)
LOCK_KEY_PREFIX = "faqbot"


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
        """
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

    async def _retrieve(
        self, sender_id: str, fetch_events_from_all_sessions: bool
    ) -> Optional[DialogueStateTracker]:
        """Rasa's retrieval, with a plain SQL query and event classes looked up in a table.

        Rasa builds an ORM query of whole rows where only ``data`` is used, and finds each event's
        class by walking every subclass of ``Event``: a third of its time per message here.
        """
        queries = self._queries
        query = queries.all_sessions if fetch_events_from_all_sessions else queries.latest_session
        with self.session_scope() as session:
            rows = session.execute(query, {"sender_id": sender_id}).all()
        if not self.domain or not rows:
            return None
        events = [event_from_dict(ujson.loads(data)) for (data,) in rows]
        return DialogueStateTracker.from_events(
            sender_id, [e for e in events if e is not None], self.domain.slots
        )

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Store the events of ``tracker`` that are not stored yet, as Rasa's ``save`` does.

        The same rows as Rasa's, written with one plain-SQL count and one multi-row insert.
        """
        await self.stream_events(tracker)
        with self.session_scope() as session:
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
