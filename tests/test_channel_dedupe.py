"""The seen-message table on a real SQLite file and on the machine's PostgreSQL."""

from __future__ import annotations

import asyncio
import logging
import threading
from pathlib import Path
from typing import List

import pytest
from sqlalchemy import create_engine, func, select

from bot.channels.dedupe import TABLE, Deduplicator, SeenMessages, seen_table
from handoffs.store import HandoffStore, StoreUnavailable

DAY = 24 * 3600.0


class Clock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def rows(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(seen_table)).scalar_one())
    finally:
        engine.dispose()


def test_an_id_is_new_once_per_channel(store_url: str) -> None:
    seen = SeenMessages(store_url)
    assert seen.first_time("whatsapp", "wamid.1")
    assert not seen.first_time("whatsapp", "wamid.1")
    assert seen.first_time("twilio", "wamid.1")
    assert seen.first_time("whatsapp", "wamid.2")
    seen.close()


def test_ids_survive_a_restart_and_share_the_handoff_database(store_url: str) -> None:
    handoffs = HandoffStore(store_url).warm_up()
    before = SeenMessages(store_url)
    assert before.first_time("whatsapp", "wamid.restart")
    before.close()
    after = SeenMessages(store_url)  # a new process after a restart
    assert not after.first_time("whatsapp", "wamid.restart")
    after.close()
    assert handoffs.get("HX7K-3M9Q") is None, "the handoff tables are untouched"
    handoffs.close()
    assert rows(store_url) == 1


def test_ids_expire_after_the_ttl_and_old_rows_are_purged(store_url: str) -> None:
    clock = Clock()
    seen = SeenMessages(store_url, ttl=7 * DAY, clock=clock)
    assert seen.first_time("whatsapp", "old")
    clock.now += 6 * DAY
    assert not seen.first_time("whatsapp", "old"), "still within the TTL"
    assert seen.first_time("whatsapp", "newer")
    clock.now += 1.5 * DAY  # "old" is now 7.5 days old, "newer" 1.5
    assert seen.first_time("whatsapp", "old"), "expired: counts as new again"
    clock.now += 6.5 * DAY  # "newer" is 8 days old; the hourly purge deletes it
    assert seen.first_time("whatsapp", "third")
    assert rows(store_url) == 2
    seen.close()


def test_very_long_ids_are_stored_as_a_hash(store_url: str) -> None:
    seen = SeenMessages(store_url)
    long_id = "x" * 1000
    assert seen.first_time("twilio", long_id)
    assert not seen.first_time("twilio", long_id)
    assert seen.first_time("twilio", long_id[:-1] + "y")
    seen.close()


def test_only_one_of_many_concurrent_deliveries_is_new(store_url: str) -> None:
    stores = [SeenMessages(store_url) for _ in range(2)]  # two server processes
    stores[0].first_time("whatsapp", "warm-up")
    results: List[bool] = []
    barrier = threading.Barrier(8)

    def deliver(i: int) -> None:
        barrier.wait()
        results.append(stores[i % 2].first_time("whatsapp", "wamid.same"))

    threads = [threading.Thread(target=deliver, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False] * 7 + [True]
    for store in stores:
        store.close()


def test_unusable_urls_are_refused() -> None:
    with pytest.raises(StoreUnavailable):
        SeenMessages("sqlite:///:memory:")
    with pytest.raises(StoreUnavailable):
        SeenMessages("mysql://db/x")


def test_the_async_check_falls_back_to_memory_when_the_database_is_down(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    dedupe = Deduplicator("postgresql://nobody@127.0.0.1:1/none?connect_timeout=1")

    async def run() -> List[bool]:
        return [
            await dedupe.first_time("whatsapp", "a"),
            await dedupe.first_time("whatsapp", "a"),
            await dedupe.first_time("whatsapp", "b"),
        ]

    assert asyncio.run(run()) == [True, False, True]
    warnings = [r for r in caplog.records if "falls back to memory" in r.getMessage()]
    assert len(warnings) == 1, "warned once, not per message"
    dedupe.close()


def test_the_async_check_uses_the_table(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/seen.db"
    first, second = Deduplicator(url), Deduplicator(url)

    async def run() -> List[bool]:
        return [
            await first.first_time("whatsapp", "m1"),
            await second.first_time("whatsapp", "m1"),  # another process: only the table knows
        ]

    assert asyncio.run(run()) == [True, False]
    first.close()
    second.close()
    assert TABLE == "channel_seen_messages"
