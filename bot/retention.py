"""Retention: delete conversations and resolved handoffs older than the configured age.

``python -m bot.retention [--older-than-days N]`` (``make retention``; run it daily, e.g. from
cron). Conversations live in Rasa's tracker store table ``events`` at ``FAQBOT_TRACKER_URL``; a
conversation is deleted when its latest event is older than N days (default
``FAQBOT_RETENTION_DAYS``, 30). Resolved handoffs go through :meth:`HandoffStore.purge`; open and
claimed handoffs are kept however old.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import List, Optional

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.exc import NoSuchTableError, SQLAlchemyError

from handoffs.store import HandoffStore, StoreUnavailable
from knowledge.config import ConfigError, Settings


def purge_conversations(url: str, older_than: timedelta, now: Optional[float] = None) -> int:
    """Delete every conversation whose latest event is older than ``older_than``.

    Args:
        url: SQLAlchemy URL of Rasa's SQL tracker store.
        older_than: Age of the latest event beyond which a conversation is deleted.
        now: The current time as a Unix timestamp (for tests).

    Returns:
        How many conversations were deleted (0 when the store does not exist yet).

    Raises:
        ValueError: ``older_than`` is negative.
        SQLAlchemyError: The database cannot be used.
    """
    if older_than < timedelta(0):
        raise ValueError("older_than must not be negative")
    cutoff = (time.time() if now is None else now) - older_than.total_seconds()
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and not Path(parsed.database or "").is_file():
        return 0  # the bot has not stored a conversation here yet
    engine = sa.create_engine(url)
    try:
        try:
            events = sa.Table("events", sa.MetaData(), autoload_with=engine)
        except NoSuchTableError:
            return 0
        stale = (
            sa.select(events.c.sender_id)
            .group_by(events.c.sender_id)
            .having(sa.func.max(events.c.timestamp) < cutoff)
        )
        with engine.begin() as conn:
            senders = [row[0] for row in conn.execute(stale)]
            for start in range(0, len(senders), 500):
                batch = senders[start : start + 500]
                conn.execute(sa.delete(events).where(events.c.sender_id.in_(batch)))
        return len(senders)
    finally:
        engine.dispose()


def main(argv: Optional[List[str]] = None) -> int:
    """Run the retention command; returns the exit code (2 on configuration/database errors)."""
    parser = argparse.ArgumentParser(
        prog="python -m bot.retention",
        description="Delete conversations and resolved handoffs older than N days.",
    )
    parser.add_argument("--older-than-days", type=int, metavar="N", default=None)
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
        days = settings.retention_days if args.older_than_days is None else args.older_than_days
        if days < 0:
            raise ConfigError("--older-than-days must not be negative")
        age = timedelta(days=days)
        conversations = purge_conversations(settings.tracker_url, age)
        store = HandoffStore(settings.database_url).warm_up()
        try:
            handoffs = store.purge(age)
        finally:
            store.close()
    except (ConfigError, StoreUnavailable, SQLAlchemyError) as exc:
        print(f"error: {type(exc).__name__}: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 2
    print(
        f"deleted {conversations} conversation(s) and {handoffs} resolved handoff(s) "
        f"older than {days} day(s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
