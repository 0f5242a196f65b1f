"""The handoff store on a real SQLite file and on the machine's PostgreSQL (one schema per test)."""

from __future__ import annotations

import re
import sqlite3
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, Iterator, List

import pytest

from handoffs.records import REFERENCE_ALPHABET, Contact, Turn, normalise_reference
from handoffs.store import (
    HandoffStore,
    InvalidTransition,
    StoreUnavailable,
    UnknownReference,
    _merge_turns,
    check_url,
)

T0 = datetime(2024, 5, 1, 9, 0, tzinfo=timezone.utc)
REFERENCE = re.compile(rf"^[{REFERENCE_ALPHABET}]{{4}}-[{REFERENCE_ALPHABET}]{{4}}$")


@pytest.fixture
def make_store(store_url: str) -> Iterator[Callable[..., HandoffStore]]:
    """Open stores on the test database (several may share it, like separate processes)."""
    opened: List[HandoffStore] = []

    def make(turns_kept: int = 10) -> HandoffStore:
        store = HandoffStore(store_url, turns_kept=turns_kept).warm_up()
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


@pytest.fixture
def store(make_store: Callable[..., HandoffStore]) -> HandoffStore:
    return make_store()


def turns(*texts: str) -> List[Turn]:
    """Alternate patient and bot turns, one minute apart from T0."""
    speakers = ("patient", "bot")
    return [Turn(speakers[i % 2], text, T0 + timedelta(minutes=i)) for i, text in enumerate(texts)]


# -- persistence and one record per sender -----------------------------------------------------


def test_escalation_is_persisted_and_read_back_by_another_store(
    make_store: Callable[..., HandoffStore],
) -> None:
    first = make_store()
    contact = Contact("phone", "+919876543210")
    made = first.escalate(
        "rest", "patient-1", "no_answer", turns("what is HbA1c?", "I don't know"), contact, now=T0
    )
    assert REFERENCE.match(made.reference)
    assert (made.status, made.priority, made.reason) == ("open", "normal", "no_answer")

    again = make_store().get(made.reference)
    assert again is not None
    assert again == made
    assert again.created_at == T0 and again.created_at.tzinfo is not None
    assert [t.text for t in again.turns] == ["what is HbA1c?", "I don't know"]
    assert again.turns[1].at == T0 + timedelta(minutes=1)
    assert again.contact == contact
    assert again.channel == "rest" and again.sender_id == "patient-1"


def test_second_escalation_updates_the_open_record_and_raises_priority(
    store: HandoffStore,
) -> None:
    history = turns("hello", "hi, how can I help?", "how long do sessions take?", "I don't know")
    first = store.escalate("rest", "p1", "no_answer", history[:4], now=T0)
    more = turns(*(t.text for t in history), "my chest hurts badly", "Call 112 now")
    second = store.escalate("rest", "p1", "emergency", more[2:], now=T0 + timedelta(minutes=5))

    assert second.reference == first.reference
    assert second.id == first.id
    assert (second.reason, second.priority) == ("emergency", "urgent")
    assert [t.text for t in second.turns] == [t.text for t in more]  # no duplicated turns
    assert second.updated_at == T0 + timedelta(minutes=5)
    assert second.created_at == T0
    assert len(store.list()) == 1

    # A less urgent reason later never lowers the priority.
    third = store.escalate("rest", "p1", "user_request", [], now=T0 + timedelta(minutes=6))
    assert (third.reason, third.priority) == ("emergency", "urgent")


def test_other_channel_or_resolved_record_gives_a_new_handoff(store: HandoffStore) -> None:
    first = store.escalate("rest", "p1", "user_request", turns("a person please"))
    other = store.escalate("whatsapp", "p1", "user_request", turns("a person please"))
    assert other.reference != first.reference
    store.resolve(first.reference, "asha")
    after = store.escalate("rest", "p1", "medical_advice", turns("can I stop insulin?"))
    assert after.reference not in (first.reference, other.reference)
    assert after.status == "open" and after.priority == "high"
    assert len(store.list()) == 3


def test_turns_are_trimmed_to_the_latest(make_store: Callable[..., HandoffStore]) -> None:
    store = make_store(turns_kept=3)
    history = turns("one", "two", "three", "four", "five")
    made = store.escalate("rest", "p1", "no_answer", history)
    assert [t.text for t in made.turns] == ["three", "four", "five"]
    later = store.escalate(
        "rest", "p1", "no_answer", turns("one", "two", "three", "four", "five", "six")
    )
    assert [t.text for t in later.turns] == ["four", "five", "six"]


def _t(*texts: str) -> List[Turn]:
    return [Turn("patient", text) for text in texts]


@pytest.mark.parametrize(
    ("stored", "new", "merged"),
    [
        ([], ["a", "b"], ["a", "b"]),
        (["a", "b"], ["a", "b"], ["a", "b"]),  # the same window again
        (["a", "b"], ["a", "b", "c"], ["a", "b", "c"]),
        (["b", "c"], ["a", "b", "c", "d"], ["b", "c", "d"]),  # stored is trimmed
        (["a", "b", "c"], ["b", "c", "d"], ["a", "b", "c", "d"]),  # the window slid
        (["x"], ["x", "y", "x"], ["x", "y", "x"]),  # a repeated message is kept
        (["a", "x"], ["x", "b", "x", "c"], ["a", "x", "b", "x", "c"]),
        (["a", "b"], ["c", "d"], ["a", "b", "c", "d"]),  # no overlap
    ],
)
def test_merge_turns(stored: List[str], new: List[str], merged: List[str]) -> None:
    assert _merge_turns(_t(*stored), _t(*new)) == _t(*merged)


def test_concurrent_escalations_of_one_sender_make_one_record(
    make_store: Callable[..., HandoffStore],
) -> None:
    stores = [make_store(), make_store()]
    refs: List[str] = []
    errors: List[BaseException] = []

    def escalate(i: int) -> None:
        try:
            made = stores[i % 2].escalate(
                "rest", "same", "no_answer", turns(f"q{i}"), sinks=["email"]
            )
            refs.append(made.reference)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=escalate, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(set(refs)) == 1
    [only] = stores[0].list()
    assert len(only.turns) == 8
    assert [n.sink for n in stores[0].notifications(only.reference)] == ["email"]


# -- references ---------------------------------------------------------------------------------


def test_references_are_unique_and_lookup_is_tolerant(store: HandoffStore) -> None:
    refs = {store.escalate("rest", f"p{i}", "no_answer", []).reference for i in range(60)}
    assert len(refs) == 60
    assert all(REFERENCE.match(ref) for ref in refs)
    ref = sorted(refs)[0]
    for typed in (ref, ref.lower(), ref.replace("-", ""), f"  {ref[:4]} {ref[5:].lower()} "):
        found = store.get(typed)
        assert found is not None and found.reference == ref
    assert store.get("") is None
    assert store.get("not a reference") is None
    unused = next(r for r in ("2222-2222", "3333-3333", "4444-4444") if r not in refs)
    assert store.get(unused) is None
    assert normalise_reference("HX7K-3M9O") is None  # O is not in the alphabet


def test_reference_collision_is_retried(
    store: HandoffStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    drawn = iter(["AAAA-BBBB", "AAAA-BBBB", "CCCC-DDDD"])
    monkeypatch.setattr("handoffs.store.new_reference", lambda: next(drawn))
    first = store.escalate("rest", "p1", "no_answer", [])
    second = store.escalate("rest", "p2", "no_answer", [])
    assert (first.reference, second.reference) == ("AAAA-BBBB", "CCCC-DDDD")


# -- staff transitions --------------------------------------------------------------------------


def test_claim_and_resolve(store: HandoffStore) -> None:
    made = store.escalate("rest", "p1", "medical_advice", turns("can I double my dose?"), now=T0)
    claimed = store.claim(made.reference.lower(), "Asha", now=T0 + timedelta(minutes=1))
    assert (claimed.status, claimed.claimed_by) == ("claimed", "Asha")
    with pytest.raises(InvalidTransition, match="already claimed by Asha"):
        store.claim(made.reference, "Ben")

    done = store.resolve(made.reference, "Asha", note="called back", now=T0 + timedelta(hours=1))
    assert (done.status, done.resolved_by, done.note) == ("resolved", "Asha", "called back")
    assert done.resolved_at == T0 + timedelta(hours=1)
    with pytest.raises(InvalidTransition, match="already resolved"):
        store.resolve(made.reference, "Ben")
    with pytest.raises(InvalidTransition, match="only an open handoff can be claimed"):
        store.claim(made.reference, "Ben")
    assert store.get(made.reference) == done


def test_open_handoff_can_be_resolved_directly(store: HandoffStore) -> None:
    made = store.escalate("rest", "p1", "user_request", [])
    done = store.resolve(made.reference, "Ben")
    assert done.status == "resolved" and done.claimed_by is None and done.note is None


def test_unknown_reference_and_bad_input(store: HandoffStore) -> None:
    with pytest.raises(UnknownReference, match="no handoff with reference 'ZZZZ-ZZZZ'"):
        store.claim("ZZZZ-ZZZZ", "Asha")
    with pytest.raises(UnknownReference):
        store.resolve("nonsense", "Asha")
    with pytest.raises(UnknownReference):
        store.set_contact("ZZZZ-ZZZZ", Contact("declined"))
    made = store.escalate("rest", "p1", "user_request", [])
    with pytest.raises(ValueError, match="staff name"):
        store.claim(made.reference, "  ")
    with pytest.raises(ValueError, match="reason"):
        store.escalate("rest", "p1", "bored", [])
    with pytest.raises(ValueError, match="contact must be a Contact"):
        store.escalate("rest", "p1", "no_answer", [], contact="+919876543210")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="sink name"):
        store.escalate("rest", "p1", "no_answer", [], sinks=["x" * 40])
    with pytest.raises(ValueError, match="timezone-aware"):
        store.escalate("rest", "p1", "no_answer", [], now=datetime(2024, 1, 1))  # noqa: DTZ001
    assert store.get(made.reference) == made


def test_set_contact(store: HandoffStore) -> None:
    made = store.escalate("rest", "p1", "user_request", [])
    updated = store.set_contact(made.reference, Contact("email", "asha@example.org"))
    assert updated.contact == Contact("email", "asha@example.org") and updated.has_contact
    declined = store.set_contact(made.reference, Contact("declined"))
    assert declined.contact == Contact("declined") and not declined.has_contact
    assert store.get(made.reference) == declined


def test_contact_is_changed_only_from_the_handoffs_own_conversation(store: HandoffStore) -> None:
    made = store.escalate("whatsapp", "whatsapp:15551230004", "medical_advice", [])
    with pytest.raises(UnknownReference):
        store.set_contact(
            made.reference, Contact("email", "attacker@evil.example"), owner=("rest", "rest:x")
        )
    assert store.get(made.reference) == made
    mine = store.set_contact(
        made.reference,
        Contact("email", "asha@example.org"),
        owner=("whatsapp", "whatsapp:15551230004"),
    )
    assert mine.contact == Contact("email", "asha@example.org")


def test_list_puts_what_staff_must_act_on_first(store: HandoffStore) -> None:
    def at(minutes: int) -> datetime:
        return T0 + timedelta(minutes=minutes)

    old_normal = store.escalate("rest", "a", "no_answer", [], now=at(0))
    new_urgent = store.escalate("rest", "b", "emergency", [], now=at(5))
    old_urgent = store.escalate("rest", "c", "emergency", [], now=at(1))
    high = store.escalate("rest", "d", "medical_advice", [], now=at(2))
    claimed = store.escalate("rest", "e", "emergency", [], now=at(3))
    store.claim(claimed.reference, "Asha")
    done_first = store.escalate("rest", "f", "emergency", [], now=at(4))
    store.resolve(done_first.reference, "Asha", now=at(10))
    done_last = store.escalate("rest", "g", "no_answer", [], now=at(4))
    store.resolve(done_last.reference, "Asha", now=at(20))

    order = [h.reference for h in store.list()]
    assert order == [
        new_urgent.reference,
        old_urgent.reference,
        high.reference,
        old_normal.reference,
        claimed.reference,
        done_last.reference,
        done_first.reference,
    ]
    assert [h.reference for h in store.list("claimed")] == [claimed.reference]
    # The limit never hides an unresolved urgent handoff.
    assert [h.reference for h in store.list(limit=1)] == [
        new_urgent.reference,
        old_urgent.reference,
        high.reference,
        claimed.reference,
    ]
    assert [h.reference for h in store.list("resolved", limit=1)] == [done_last.reference]
    with pytest.raises(ValueError, match="unknown status"):
        store.list("closed")


# -- notifications queued with the record -------------------------------------------------------


def test_notifications_are_queued_with_the_record_and_on_priority_raise(
    store: HandoffStore,
) -> None:
    made = store.escalate("rest", "p1", "no_answer", [], sinks=["webhook", "email"], now=T0)
    due = store.due(now=T0)
    assert sorted(n.sink for n in due) == ["email", "webhook"]
    assert all(n.handoff.reference == made.reference and n.attempts == 0 for n in due)
    for n in due:
        store.mark_delivered(n.id, now=T0)
    assert store.due(now=T0 + timedelta(days=1)) == []

    # Same priority: nothing new to tell staff.
    later = T0 + timedelta(hours=1)
    store.escalate("rest", "p1", "user_request", [], sinks=["webhook", "email"], now=later)
    assert store.due(now=later) == []

    # Raised priority: one new notification per sink, reporting the new priority.
    store.escalate("rest", "p1", "emergency", [], sinks=["webhook", "email"], now=later)
    raised = store.due(now=later)
    assert sorted(n.sink for n in raised) == ["email", "webhook"]
    assert {n.handoff.priority for n in raised} == {"urgent"}
    # A raise while a notification is still pending does not queue a second one.
    store.escalate("rest", "p2", "no_answer", [], sinks=["webhook"], now=later)
    store.escalate("rest", "p2", "medical_advice", [], sinks=["webhook"], now=later)
    p2 = [n for n in store.due(now=later) if n.handoff.sender_id == "p2"]
    assert len(p2) == 1 and p2[0].handoff.priority == "high"


def test_due_filters_sinks_and_leases(store: HandoffStore) -> None:
    store.escalate("rest", "p1", "no_answer", [], sinks=["webhook", "pager"], now=T0)
    assert [n.sink for n in store.due(now=T0, sinks=["webhook"])] == ["webhook"]
    assert store.due(now=T0, sinks=[]) == []
    assert store.due(now=T0 - timedelta(seconds=1)) == []  # not due yet

    leased = store.due(now=T0, sinks=["webhook"], lease=timedelta(minutes=5))
    assert [n.sink for n in leased] == ["webhook"]
    assert store.due(now=T0 + timedelta(minutes=4), sinks=["webhook"]) == []
    assert len(store.due(now=T0 + timedelta(minutes=5), sinks=["webhook"])) == 1


def test_failed_notification_stays_pending(store: HandoffStore) -> None:
    made = store.escalate("rest", "p1", "emergency", [], sinks=["webhook"], now=T0)
    [pending] = store.due(now=T0)
    store.mark_failed(pending.id, "webhook HTTP 500", T0 + timedelta(seconds=2))
    [n] = store.notifications(made.reference)
    assert (n.status, n.attempts, n.last_error) == ("pending", 1, "webhook HTTP 500")
    assert n.next_attempt_at == T0 + timedelta(seconds=2) and n.failing
    assert [f.reference for f in store.failing()] == [made.reference]
    assert store.get(made.reference).status == "open"  # type: ignore[union-attr]


# -- purge --------------------------------------------------------------------------------------


def test_purge_deletes_only_old_resolved_handoffs(store: HandoffStore) -> None:
    old = store.escalate("rest", "a", "no_answer", [], sinks=["webhook"], now=T0)
    store.resolve(old.reference, "Asha", now=T0 + timedelta(days=1))
    recent = store.escalate("rest", "b", "no_answer", [], now=T0)
    store.resolve(recent.reference, "Asha", now=T0 + timedelta(days=40))
    still_open = store.escalate("rest", "c", "no_answer", [], now=T0)

    now = T0 + timedelta(days=45)
    assert store.purge(timedelta(days=30), now=now) == 1
    assert store.get(old.reference) is None
    assert store.get(recent.reference) is not None
    assert store.get(still_open.reference) is not None
    assert store.due(now=now) == []  # its notification went with it
    assert store.purge(timedelta(days=30), now=now) == 0


# -- configuration errors -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "DATABASE_URL is empty"),
        ("garbage", "not a database URL"),
        ("mysql://root@localhost/db", "does not support"),
        ("postgresql+asyncpg://u@h/db", "does not support"),
        ("sqlite://", "in-memory"),
        ("sqlite:///:memory:", "in-memory"),
    ],
)
def test_unusable_urls_are_clear_errors(url: str, message: str) -> None:
    with pytest.raises(StoreUnavailable, match=message):
        HandoffStore(url)


def test_postgres_alias_is_accepted() -> None:
    assert check_url("postgres://u@h/db").drivername == "postgresql+psycopg2"


def test_unreachable_database_is_a_clear_error_without_password() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    store = HandoffStore(f"postgresql://staff:s3cret@127.0.0.1:{port}/x?connect_timeout=2")
    with pytest.raises(StoreUnavailable, match="cannot open the handoff database") as info:
        store.warm_up()
    assert "s3cret" not in str(info.value)
    assert "\n" not in str(info.value)


def test_sqlite_folder_is_created_and_wal_enabled(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "faqbot.db"
    store = HandoffStore(f"sqlite:///{path}").warm_up()
    try:
        store.escalate("rest", "p1", "no_answer", [])
        with sqlite3.connect(path) as db:
            assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        store.close()
