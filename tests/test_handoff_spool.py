"""The spool keeps escalations while the store is down and hands them over in order."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from handoffs.records import Contact, Turn
from handoffs.spool import PendingEscalation, Spool
from handoffs.store import HandoffStore

T0 = datetime(2026, 11, 1, 9, 30, tzinfo=timezone.utc)
DOWN = "postgresql://nobody@127.0.0.1:1/none"


def pending(sender: str, reason: str = "user_request", minutes: int = 0) -> PendingEscalation:
    at = T0 + timedelta(minutes=minutes)
    turns = (Turn("patient", f"{sender} needs help", at), Turn("bot", "I'll pass it on", at))
    return PendingEscalation("rest", sender, reason, turns, Contact("phone", "+919876543210"), at)


def test_entries_round_trip_through_the_file(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool.jsonl")
    spool.add(pending("a"))
    spool.add(pending("b", "emergency", minutes=1))
    assert spool.pending() == [pending("a"), pending("b", "emergency", minutes=1)]


def test_drain_stores_each_with_its_original_time_and_empties_the_file(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool.jsonl")
    spool.add(pending("a"))
    spool.add(pending("b", "emergency", minutes=1))
    store = HandoffStore(f"sqlite:///{tmp_path / 'h.db'}").warm_up()
    assert spool.drain(store, ["webhook"]) == 2
    saved = {h.sender_id: h for h in store.list()}
    assert saved["a"].created_at == T0 and saved["b"].priority == "urgent"
    assert saved["a"].contact == Contact("phone", "+919876543210")
    assert [t.text for t in saved["a"].turns] == ["a needs help", "I'll pass it on"]
    assert len(store.notifications(saved["b"].reference)) == 1
    assert spool.pending() == [] and spool.drain(store, []) == 0


def test_a_store_that_is_down_keeps_everything_in_order(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool.jsonl")
    for sender in "abc":
        spool.add(pending(sender))
    assert spool.drain(HandoffStore(DOWN), []) == 0
    assert [p.sender_id for p in spool.pending()] == ["a", "b", "c"]


def test_an_unreadable_line_is_kept_for_a_person_and_does_not_block_the_rest(
    tmp_path: Path,
) -> None:
    path = tmp_path / "spool.jsonl"
    spool = Spool(path)
    spool.add(pending("a"))
    with path.open("a", encoding="utf-8") as handle:
        handle.write("{not json\n")
    spool.add(pending("b"))
    store = HandoffStore(f"sqlite:///{tmp_path / 'h.db'}").warm_up()
    assert spool.drain(store, []) == 2
    assert path.read_text(encoding="utf-8") == "{not json\n"
