"""The lock store and tracker store named in bot/endpoints.yml follow the settings."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from rasa.core.lock_store import InMemoryLockStore, RedisLockStore
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    AllSlotsReset,
    BotUttered,
    FollowupAction,
    Restarted,
    SessionStarted,
    SlotSet,
    UserUtteranceReverted,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity
from sqlalchemy import select

from bot.stores import (
    WINDOW_USER_TURNS,
    ConfiguredLockStore,
    ConfiguredTrackerStore,
    lock_store_from_url,
)
from knowledge.config import ConfigError, Settings
from tests.databases import fresh_database
from tests.trackers import long_conversation

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


def _stores(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> "tuple[Domain, ConfiguredTrackerStore, SQLTrackerStore]":
    monkeypatch.setenv("FAQBOT_TRACKER_URL", url)
    domain = Domain.load(str(ROOT / "bot" / "domain.yml"))
    return domain, ConfiguredTrackerStore(domain=domain), SQLTrackerStore(domain=domain, host=url)


def _messages(tracker: DialogueStateTracker) -> list:
    return [
        (e.type_name, e.text) for e in tracker.events if isinstance(e, (UserUttered, BotUttered))
    ]


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_long_session_is_read_as_its_recent_turns_with_every_slot(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """300 turns: the tracker holds the last turns only, with the slots of the whole session."""
    with fresh_database(kind, tmp_path) as url:
        domain, ours, rasas = _stores(url, monkeypatch)
        asyncio.run(ours.save(long_conversation("long", 300, domain)))
        whole = asyncio.run(rasas.retrieve("long"))  # Rasa's own store reads what ours wrote
        window = asyncio.run(ours.retrieve("long"))
        assert whole is not None and window is not None
        assert len(whole.events) == 1 + 300 * 6 + 2 + 1  # from the session start
        assert len(window.events) < 100
        assert window.current_slot_values() == whole.current_slot_values()
        assert window.get_slot("condition") == "nephropathy"
        assert window.latest_message.text == "message 300"
        assert window.latest_action_name == ACTION_LISTEN_NAME
        kept = _messages(window)
        assert len(kept) >= 2 * max(WINDOW_USER_TURNS, Settings().handoff_turns)
        assert kept == _messages(whole)[-len(kept) :]
        assert len(window.current_state(EventVerbosity.ALL)["events"]) == len(window.events)
        # A shorter conversation is read whole.
        asyncio.run(ours.save(long_conversation("short", WINDOW_USER_TURNS - 1, domain)))
        short = asyncio.run(ours.retrieve("short"))
        expected = asyncio.run(rasas.retrieve("short"))
        assert short is not None and expected is not None and short.events == expected.events


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_window_saves_only_its_new_events_and_a_new_session_keeps_the_condition(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Turns added to a window are stored once, as Rasa stores them; sessions still roll over."""
    with fresh_database(kind, tmp_path) as url:
        domain, ours, rasas = _stores(url, monkeypatch)
        asyncio.run(ours.save(long_conversation("long", 50, domain)))
        window = asyncio.run(ours.retrieve("long"))
        assert window is not None
        window.update(UserUttered("one more", timestamp=10_000.0))
        window.update(BotUttered("answer", timestamp=10_001.0))
        asyncio.run(ours.save(window))
        asyncio.run(ours.save(window))  # saving again adds nothing
        whole = asyncio.run(rasas.retrieve("long"))
        assert whole is not None and len(whole.events) == 1 + 50 * 6 + 2 + 1 + 2
        assert list(whole.events)[-2:] == list(window.events)[-2:]
        # The next day: Rasa's session start carries the slots over (carry_over_slots_...).
        again = asyncio.run(ours.retrieve("long"))
        assert again is not None
        carried = [
            SlotSet(name, value, timestamp=20_000.2)
            for name, value in again.current_slot_values().items()
            if value is not None and name != "session_started_metadata"
        ]
        again.update(ActionExecuted("action_session_start", timestamp=20_000.0))
        again.update(SessionStarted(timestamp=20_000.1))
        for event in carried:
            again.update(event)
        again.update(ActionExecuted(ACTION_LISTEN_NAME, timestamp=20_000.3))
        asyncio.run(ours.save(again))
        fresh = asyncio.run(ours.retrieve("long"))
        assert fresh is not None and fresh.get_slot("condition") == "nephropathy"
        assert fresh.events == asyncio.run(rasas.retrieve("long")).events  # type: ignore[union-attr]
        full = asyncio.run(rasas.retrieve_full_tracker("long"))
        assert full is not None and len(full.events) == len(whole.events) + len(fresh.events) + 2


@pytest.mark.parametrize(
    "before",
    [
        [Restarted()],
        [AllSlotsReset()],
        [ActiveLoop("handoff_contact_form")],
        [UserUtteranceReverted()],
        [FollowupAction("action_listen")],
    ],
    ids=["restart", "reset", "active form", "rewind", "followup"],
)
def test_a_session_with_what_slots_cannot_carry_before_the_window_is_read_whole(
    before: list, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    domain, ours, rasas = _stores(f"sqlite:///{tmp_path / 'c.db'}", monkeypatch)
    tracker = long_conversation("odd", 40, domain)
    events = list(tracker.events)
    at = 20  # within the first turns, long before the window
    for event in before:
        event.timestamp = events[at].timestamp
    odd = DialogueStateTracker.from_events("odd", events[:at] + before + events[at:], domain.slots)
    asyncio.run(ours.save(odd))
    read = asyncio.run(ours.retrieve("odd"))
    expected = asyncio.run(rasas.retrieve("odd"))
    assert read is not None and expected is not None
    assert read.events == expected.events
