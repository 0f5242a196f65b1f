"""The project's database toolkit: URL checks, engines with their SQLite pragmas, UTC times.

Used by the handoff store (:mod:`handoffs.store`), the channels' seen-message table
(:mod:`bot.channels.dedupe`) and the tracker store (:mod:`bot.stores`). SQLite gets WAL, a 30 s
busy timeout and ``BEGIN IMMEDIATE`` (processes sharing the file are serialised); PostgreSQL gets
pre-ping and a connect timeout.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Optional

from sqlalchemy import DateTime, MetaData, create_engine, event
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.types import TypeDecorator

from handoffs.records import utc

ERROR_CHARS = 200  # a stored or shown database error is cut to this


class StoreError(Exception):
    """A handoff operation cannot be done; the message says why in one line."""


class StoreUnavailable(StoreError):
    """The database URL cannot be used or the database cannot be reached."""


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


def describe_error(exc: BaseException) -> str:
    """One line about a database error, without SQL or parameters (they may hold patient text)."""
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip().splitlines()
    detail = text[0] if text and not isinstance(exc, IntegrityError) else ""
    name = type(orig).__name__
    return f"{name}: {detail}"[:ERROR_CHARS] if detail else name


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
            raise StoreUnavailable(f"cannot open {what} {shown}: {describe_error(exc)}") from None
    return engine
