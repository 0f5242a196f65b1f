"""The lock store and tracker store named in bot/endpoints.yml follow the settings."""

from __future__ import annotations

from pathlib import Path

import pytest
from rasa.core.lock_store import InMemoryLockStore, RedisLockStore

from bot.stores import ConfiguredLockStore, ConfiguredTrackerStore, lock_store_from_url
from knowledge.config import ConfigError, Settings


def test_without_a_url_locks_stay_in_process() -> None:
    assert isinstance(lock_store_from_url(None), InMemoryLockStore)


def test_a_redis_url_gives_the_redis_lock_store_with_its_parts() -> None:
    store = lock_store_from_url("redis://:s3cret@10.0.0.7:6380/3")
    assert isinstance(store, RedisLockStore)
    kwargs = store.red.connection_pool.connection_kwargs
    assert (kwargs["host"], kwargs["port"], kwargs["db"], kwargs["password"]) == (
        "10.0.0.7",
        6380,
        3,
        "s3cret",
    )


def test_a_non_redis_lock_url_is_refused() -> None:
    with pytest.raises(ConfigError, match="redis://"):
        lock_store_from_url("postgresql://localhost/db")


def test_the_endpoint_class_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAQBOT_LOCK_STORE_URL", "redis://127.0.0.1:6379/4")
    assert isinstance(ConfiguredLockStore(endpoint_config=None), RedisLockStore)
    monkeypatch.delenv("FAQBOT_LOCK_STORE_URL")
    assert isinstance(ConfiguredLockStore(endpoint_config=None), InMemoryLockStore)


def test_tracker_store_creates_the_sqlite_folder_and_keeps_events(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "deep" / "conversations.db"
    monkeypatch.setenv("FAQBOT_TRACKER_URL", f"sqlite:///{path}")
    store = ConfiguredTrackerStore(host="ignored")
    assert path.is_file()
    assert str(store.engine.url) == f"sqlite:///{path}"


def test_api_cannot_be_enabled_without_a_strong_jwt_secret() -> None:
    with pytest.raises(ConfigError, match="FAQBOT_API_JWT_SECRET"):
        Settings.from_env({"FAQBOT_ENABLE_API": "true"})
    with pytest.raises(ConfigError, match="32"):
        Settings.from_env({"FAQBOT_ENABLE_API": "1", "FAQBOT_API_JWT_SECRET": "short"})
    enabled = Settings.from_env({"FAQBOT_ENABLE_API": "1", "FAQBOT_API_JWT_SECRET": "x" * 32})
    assert enabled.enable_api
