"""Where the Rasa server keeps conversations and conversation locks, from the project settings.

``bot/endpoints.yml`` names these classes, so the stock ``rasa run``/``rasa shell`` use them:

* :class:`ConfiguredTrackerStore`: Rasa's SQL tracker store at ``FAQBOT_TRACKER_URL`` (a SQLite
  file under ``var/`` by default, PostgreSQL in production), so a restart loses nothing.
* :class:`ConfiguredLockStore`: Rasa's Redis lock store when ``FAQBOT_LOCK_STORE_URL`` is set
  (needed when several Rasa servers share the conversations), otherwise the in-process one.

Rasa silently falls back to an in-memory tracker store when the class named in endpoints.yml cannot
be imported; ``tests/integration/test_durability.py`` restarts the server to prove it does not.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Optional

from rasa.core.brokers.broker import EventBroker
from rasa.core.lock_store import InMemoryLockStore, LockStore, RedisLockStore
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from sqlalchemy.engine import make_url

from knowledge.config import ConfigError, Settings

logger = logging.getLogger(__name__)
LOCK_KEY_PREFIX = "faqbot"


class ConfiguredTrackerStore(SQLTrackerStore):
    """Rasa's SQL tracker store at ``Settings.tracker_url``."""

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
