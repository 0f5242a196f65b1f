"""Retention deletes old conversations (Rasa's own SQL tracker store) and old resolved handoffs."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.retention import purge_conversations
from handoffs.records import Turn
from handoffs.store import HandoffStore

ROOT = Path(__file__).resolve().parent.parent
DAY = 86400.0
pytestmark = pytest.mark.parametrize("store_url", ["sqlite", "postgresql"], indirect=True)


def tracker_store(url: str) -> SQLTrackerStore:
    """Rasa's own SQL tracker store at ``url`` (the SQLite folder created first)."""
    if url.startswith("sqlite:///"):
        Path(url[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
    return SQLTrackerStore(host=url)


def save_conversation(store: SQLTrackerStore, sender: str, last_seen: float) -> None:
    events = [
        UserUttered("hello", timestamp=last_seen - 60),
        ActionExecuted("utter_greet", timestamp=last_seen - 59),
        UserUttered("what are exosomes", timestamp=last_seen),
    ]
    asyncio.run(store.save(DialogueStateTracker.from_events(sender, events)))


def senders(store: SQLTrackerStore) -> set:
    return set(asyncio.run(store.keys()))


def test_only_conversations_idle_longer_than_the_age_are_deleted(store_url: str) -> None:
    store = tracker_store(store_url)
    now = time.time()
    save_conversation(store, "old", now - 40 * DAY)
    save_conversation(store, "edge", now - 29 * DAY)
    save_conversation(store, "recent", now - 60)
    assert purge_conversations(store_url, timedelta(days=30), now=now) == 1
    assert senders(store) == {"edge", "recent"}
    assert purge_conversations(store_url, timedelta(days=30), now=now) == 0


def test_no_tracker_table_yet_means_nothing_to_delete(store_url: str) -> None:
    assert purge_conversations(store_url, timedelta(days=30)) == 0
    with pytest.raises(ValueError, match="negative"):
        purge_conversations(store_url, timedelta(days=-1))


def test_the_command_purges_both_stores_and_keeps_open_handoffs(
    store_url: str, tmp_path: Path
) -> None:
    tracker = tracker_store(store_url)
    save_conversation(tracker, "old", time.time() - 31 * DAY)
    save_conversation(tracker, "recent", time.time())
    handoffs = HandoffStore(store_url).warm_up()
    turn = [Turn("patient", "please call me", datetime.now(timezone.utc))]
    resolved = handoffs.escalate("rest", "p1", "user_request", turn)
    handoffs.resolve(resolved.reference, "asha")
    still_open = handoffs.escalate("rest", "p2", "user_request", turn)

    env = {**os.environ, "FAQBOT_TRACKER_URL": store_url, "DATABASE_URL": store_url}
    env["PYTHONPATH"] = str(ROOT)

    def run(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "bot.retention", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    assert "deleted 1 conversation(s) and 0 resolved handoff(s) older than 30 day(s)" in run()
    assert senders(tracker) == {"recent"}
    assert "1 conversation(s) and 1 resolved handoff(s) older than 0 day(s)" in run(
        "--older-than-days", "0"
    )
    assert senders(tracker) == set()
    assert handoffs.get(resolved.reference) is None
    assert handoffs.get(still_open.reference) is not None
    handoffs.close()
