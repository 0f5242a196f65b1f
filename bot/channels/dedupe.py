"""Seen message ids, so that a webhook delivered twice is answered once, also after a restart.

Meta and Twilio deliver webhooks at least once. Each channel records the platform's message id in
the table ``channel_seen_messages`` of the handoff database (``DATABASE_URL``: SQLite or
PostgreSQL); an id seen within the last ``ttl`` is a duplicate, older rows are purged now and
then. When the database cannot be used, a bounded in-memory set still catches duplicates within
this process (and a warning is logged): a patient may get a reply twice, never none.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Optional

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    MetaData,
    String,
    Table,
    delete,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from handoffs.db import StoreUnavailable, check_url, open_engine

logger = logging.getLogger(__name__)
TABLE = "channel_seen_messages"
DEFAULT_TTL = 7 * 24 * 3600.0  # Meta retries a failed webhook for up to 7 days
PURGE_EVERY = 3600.0
MAX_ID = 255
MAX_CHANNEL = 32
MEMORY_SIZE = 50_000

metadata = MetaData()
seen_table = Table(
    TABLE,
    metadata,
    Column("channel", String(MAX_CHANNEL), primary_key=True),
    Column("message_id", String(MAX_ID), primary_key=True),
    Column("seen_at", BigInteger, nullable=False),
)
Index(f"ix_{TABLE}_seen_at", seen_table.c.seen_at)


def storable_id(message_id: str) -> str:
    """The id as stored: itself if it fits the column (and is valid UTF-8), else its SHA-256."""
    if len(message_id) <= MAX_ID and message_id.encode("utf-8", "replace").decode() == message_id:
        return message_id
    return "sha256:" + hashlib.sha256(message_id.encode("utf-8", "replace")).hexdigest()


class SeenMessages:
    """The persistent table of seen ``(channel, message id)`` pairs (blocking calls).

    Args:
        url: SQLAlchemy URL of the database (see :func:`handoffs.db.check_url`).
        ttl: Seconds an id counts as seen.
        clock: Seconds since the epoch (for tests).

    Raises:
        StoreUnavailable: The URL cannot be used.
    """

    def __init__(
        self, url: str, ttl: float = DEFAULT_TTL, clock: Callable[[], float] = time.time
    ) -> None:
        self._url = check_url(url)
        self.ttl = ttl
        self._clock = clock
        self._engine: Optional[Engine] = None
        self._lock = threading.Lock()
        self._last_purge = float("-inf")

    def _ready(self) -> Engine:
        with self._lock:
            if self._engine is not None:
                return self._engine
            self._engine = open_engine(self._url, metadata, "the seen-message database")
            return self._engine

    def first_time(self, channel: str, message_id: str) -> bool:
        """Record the id; ``True`` if it was not seen within the last ``ttl`` seconds.

        Raises:
            StoreUnavailable: The database cannot be used.
        """
        now = int(self._clock())
        cutoff = now - int(self.ttl)
        table = seen_table
        engine = self._ready()
        dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
        values = {"channel": channel[:MAX_CHANNEL], "message_id": storable_id(message_id)}
        statement = (
            dialect.insert(table)
            .values(**values, seen_at=now)
            .on_conflict_do_update(
                index_elements=[table.c.channel, table.c.message_id],
                set_={"seen_at": now},
                where=table.c.seen_at < cutoff,  # an expired row counts as not seen
            )
        )
        try:
            with engine.begin() as conn:
                if now - self._last_purge >= PURGE_EVERY:
                    conn.execute(delete(table).where(table.c.seen_at < cutoff))
                    self._last_purge = now
                return bool(conn.execute(statement).rowcount == 1)
        except SQLAlchemyError as exc:
            raise StoreUnavailable(f"seen-message table error: {type(exc).__name__}") from None

    def close(self) -> None:
        """Close pooled connections; the next call connects again."""
        with self._lock:
            if self._engine is not None:
                self._engine.dispose()
                self._engine = None


class Deduplicator:
    """Asynchronous duplicate check: the persistent table, backed by a bounded in-memory set.

    Args:
        url: Database URL; ``None`` or an unusable URL keeps ids in memory only (logged once).
        ttl: Seconds an id counts as seen in the database.
    """

    def __init__(self, url: Optional[str], ttl: float = DEFAULT_TTL) -> None:
        self.store: Optional[SeenMessages] = None
        if url:
            try:
                self.store = SeenMessages(url, ttl)
            except StoreUnavailable as exc:
                logger.warning("duplicate check in memory only: %s", exc)
        self._memory: "OrderedDict[tuple[str, str], None]" = OrderedDict()
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="dedupe")
        self._failing = False

    def _remember(self, key: "tuple[str, str]") -> bool:
        if key in self._memory:
            self._memory.move_to_end(key)
            return False
        self._memory[key] = None
        while len(self._memory) > MEMORY_SIZE:
            self._memory.popitem(last=False)
        return True

    async def first_time(self, channel: str, message_id: str) -> bool:
        """``True`` the first time ``(channel, message_id)`` is seen, ``False`` for a repeat."""
        if not self._remember((channel, message_id)):
            return False
        if self.store is None:
            return True
        store = self.store
        try:
            loop = asyncio.get_running_loop()
            first = await loop.run_in_executor(self._pool, store.first_time, channel, message_id)
        except StoreUnavailable as exc:
            if not self._failing:
                logger.warning("duplicate check falls back to memory: %s", exc)
                self._failing = True
            return True
        if self._failing:
            logger.info("duplicate check uses the database again")
            self._failing = False
        return first

    def close(self) -> None:
        """Release the database connections and the worker thread."""
        if self.store is not None:
            self.store.close()
        self._pool.shutdown(wait=False)
