"""The lock store and tracker store named in bot/endpoints.yml follow the settings."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from rasa.core.lock_store import InMemoryLockStore, RedisLockStore
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import select

from bot.stores import ConfiguredLockStore, ConfiguredTrackerStore, lock_store_from_url
from knowledge.config import ConfigError, Settings
from tests.databases import fresh_database

ROOT = Path(__file__).resolve().parent.parent


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


def _conversation(sender: str) -> DialogueStateTracker:
    """Two sessions of a conversation with the kinds of events the bot writes."""
    domain = Domain.load(str(ROOT / "bot" / "domain.yml"))
    tracker = DialogueStateTracker(sender, domain.slots)
    for turn, text in enumerate(["does it help kidneys", "and side effects?"]):
        if turn:
            tracker.update(SessionStarted(timestamp=100.0 * turn))
        tracker.update(ActionExecuted(ACTION_LISTEN_NAME, timestamp=100.0 * turn + 1))
        tracker.update(
            UserUttered(
                text,
                intent={"name": "ask_question", "confidence": 0.9},
                parse_data={"text": text, "intent": {"name": "ask_question"}, "entities": []},
                timestamp=100.0 * turn + 2,
            )
        )
        tracker.update(ActionExecuted("action_answer_question", timestamp=100.0 * turn + 3))
        tracker.update(
            BotUttered("Quoted passage", {"custom": {"kind": "answer"}}, timestamp=100.0 * turn + 4)
        )
        tracker.update(SlotSet("condition", "nephropathy", timestamp=100.0 * turn + 5))
    return tracker


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_tracker_store_reads_and_writes_what_rasas_own_store_does(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ours saves the rows Rasa's SQLTrackerStore saves and rebuilds the same trackers."""
    with fresh_database(kind, tmp_path) as url:
        monkeypatch.setenv("FAQBOT_TRACKER_URL", url)
        domain = Domain.load(str(ROOT / "bot" / "domain.yml"))
        ours = ConfiguredTrackerStore(domain=domain)
        rasas = SQLTrackerStore(domain=domain, host=url)
        for store, sender in ((ours, "ours"), (rasas, "rasas")):
            whole = _conversation(sender)
            half = DialogueStateTracker.from_events(sender, list(whole.events)[:4], domain.slots)
            asyncio.run(store.save(half))  # two saves: the second adds only the new events
            asyncio.run(store.save(whole))

        def rows(sender: str) -> list:
            table = SQLTrackerStore.SQLEvent.__table__
            columns = [table.c.type_name, table.c.timestamp, table.c.intent_name]
            query = select(columns + [table.c.action_name, table.c.data])
            with rasas.engine.connect() as connection:
                found = connection.execute(
                    query.where(table.c.sender_id == sender).order_by(table.c.id)
                ).all()
            return [tuple(row) for row in found]

        assert rows("ours") == rows("rasas") and len(rows("ours")) == 11
        for sender in ("ours", "rasas"):
            for reader in (ours, rasas):
                latest = asyncio.run(reader.retrieve(sender))
                expected = asyncio.run(rasas.retrieve(sender))
                assert latest is not None and expected is not None
                assert latest.events == expected.events
                assert latest.current_state() == expected.current_state()
                assert latest.latest_message.text == "and side effects?"
                assert latest.get_slot("condition") == "nephropathy"
                full = asyncio.run(reader.retrieve_full_tracker(sender))
                assert full is not None and len(full.events) == 11
                assert len(latest.events) < len(full.events)  # only the latest session
        assert asyncio.run(ours.retrieve("nobody")) is None


def test_the_sqlite_conversation_store_uses_wal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAQBOT_TRACKER_URL", f"sqlite:///{tmp_path / 'c.db'}")
    store = ConfiguredTrackerStore()
    with store.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
