"""Handoffs to staff from the action server: one store and one notifier per process, used lazily.

The store is written off the event loop (SQLAlchemy is blocking). A record and its pending
notifications are saved in one transaction before anyone is notified, so a notifier that is down
loses nothing: a background thread of the action server delivers due notifications, retrying
with backoff. When the database itself is down, the escalation is kept in a local spool
file (:mod:`handoffs.spool`) and stored by the same thread once the database is back. Nothing a
patient wrote is logged here.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, List, Optional, TypeVar, Union

from rasa_sdk import Tracker

from bot.channels.identity import split_conversation_id
from handoffs.notify import Notifier
from handoffs.records import Contact, Handoff, Turn, utc_now
from handoffs.spool import PendingEscalation, Spool
from handoffs.store import HandoffStore, UnknownReference
from knowledge.config import Settings

T = TypeVar("T")
logger = logging.getLogger(__name__)
# Channels where the sender id is the patient's phone number, so staff can already reach them.
PHONE_CHANNELS = {"whatsapp", "twilio"}
POLL_SECONDS = 10.0

_lock = threading.Lock()
_store: Optional[HandoffStore] = None
_notifier: Optional[Notifier] = None
_pool: Optional[ThreadPoolExecutor] = None
_spool: Optional[Spool] = None
_wake = threading.Event()
_thread_lock = threading.Lock()
_thread: Optional[threading.Thread] = None


@dataclass(frozen=True)
class Queued:
    """An escalation kept in the spool because the store is down; stored later."""

    reason: str


def _state() -> "tuple[HandoffStore, Notifier, ThreadPoolExecutor]":
    global _store, _notifier, _pool, _spool
    with _lock:
        if _store is None or _notifier is None or _pool is None:
            settings = Settings.from_env()
            _spool = Spool(settings.handoff_spool)
            store = HandoffStore(settings.database_url, turns_kept=settings.handoff_turns)
            _notifier = Notifier.from_settings(store, settings)
            _pool = ThreadPoolExecutor(1, thread_name_prefix="handoff")
            _store = store
        return _store, _notifier, _pool


async def _call(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    _, _, pool = _state()
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(pool, lambda: fn(*args, **kwargs))


def channel_of(tracker: Tracker) -> str:
    """The conversation's channel: named in its id (``whatsapp:...``), else the input channel."""
    named = split_conversation_id(tracker.sender_id or "")
    if named is not None:
        return named[0]
    return tracker.get_latest_input_channel() or "unknown"


def known_contact(tracker: Tracker) -> Optional[Contact]:
    """The patient's phone number when the channel gives it (WhatsApp), else ``None``.

    Only a conversation id that names a WhatsApp channel counts: it is made by the channel from
    a signed webhook, never chosen by a caller.
    """
    named = split_conversation_id(tracker.sender_id or "")
    if named is None or named[0] not in PHONE_CHANNELS:
        return None
    number = named[1].removeprefix("whatsapp:")
    return Contact("phone", number if number.startswith("+") else f"+{number}")


def recent_turns(tracker: Tracker, limit: int) -> List[Turn]:
    """The last ``limit`` patient and bot messages of the conversation."""
    turns = []
    for event in tracker.events:
        kind = event.get("event")
        text = event.get("text")
        if kind in ("user", "bot") and isinstance(text, str) and text:
            stamp = event.get("timestamp")
            at = datetime.fromtimestamp(stamp, timezone.utc) if stamp else None
            turns.append(Turn("patient" if kind == "user" else "bot", text, at))
    return turns[-limit:]


Escalation = Union[Handoff, Queued, None]


async def escalate(tracker: Tracker, reason: str, contact: Optional[Contact] = None) -> Escalation:
    """Create (or update) the sender's open handoff and schedule staff notifications.

    ``contact`` defaults to what the channel tells (the WhatsApp number).

    Returns:
        The saved handoff; :class:`Queued` when the store cannot be reached and the escalation
        was spooled for later; ``None`` when even that failed (logged, never raised: the patient
        is then told how to reach the clinic directly).
    """
    store, notifier, _ = _state()
    turns = recent_turns(tracker, store.turns_kept)
    contact = contact or known_contact(tracker)
    try:
        await _call(store.warm_up)
        handoff = await _call(
            store.escalate,
            channel_of(tracker),
            tracker.sender_id,
            reason,
            turns,
            contact=contact,
            sinks=tuple(notifier.sinks),
        )
    except Exception as exc:  # the patient must still get a reply
        logger.error(
            "handoff store unavailable (%s): %s kept in the spool", type(exc).__name__, reason
        )
        pending = PendingEscalation(
            channel_of(tracker), tracker.sender_id, reason, tuple(turns), contact, utc_now()
        )
        try:
            await _call(_spool_of().add, pending)
        except Exception as spool_exc:
            logger.error(
                "handoff spool unavailable (%s): %s lost", type(spool_exc).__name__, reason
            )
            return None
        _kick()
        return Queued(reason)
    _kick()
    return handoff


def _spool_of() -> Spool:
    _state()
    assert _spool is not None  # noqa: S101 - set together with the store
    return _spool


async def set_contact(tracker: Tracker, reference: str, contact: Contact) -> Optional[Handoff]:
    """Attach contact details to this conversation's handoff ``reference``.

    Returns ``None`` when the store cannot be reached or the handoff belongs to another
    conversation (a reference is never enough to change someone else's contact details).
    """
    store, _, _ = _state()
    try:
        await _call(store.warm_up)
        return await _call(
            store.set_contact,
            reference,
            contact,
            owner=(channel_of(tracker), tracker.sender_id),
        )
    except UnknownReference:
        logger.warning("contact details for a handoff of another conversation were refused")
        return None
    except Exception as exc:
        logger.error("handoff store unavailable (%s): contact not saved", type(exc).__name__)
        return None


def start_delivery() -> None:
    """Start the background thread that stores spooled escalations and sends notifications.

    Called when the action server starts (so work left by a previous run is picked up) and
    after every escalation; a running thread is left alone.
    """
    global _thread
    with _thread_lock:
        if _thread is None or not _thread.is_alive():
            _thread = threading.Thread(
                target=_deliver_forever, name="handoff-delivery", daemon=True
            )
            _thread.start()


def _kick() -> None:
    """Wake the delivery thread now (starting it if needed)."""
    start_delivery()
    _wake.set()


def _deliver_forever() -> None:
    """Store spooled escalations and send due notifications: when woken, and every poll."""
    store, notifier, _ = _state()
    spool = _spool_of()
    poll = min(POLL_SECONDS, Settings.from_env().notify_retry_base)
    while True:
        try:
            stored = spool.drain(store, tuple(notifier.sinks))
            if stored:
                logger.info("stored %d spooled handoff(s)", stored)
            if notifier.sinks:
                notifier.deliver_due()
        except Exception as exc:  # store down: try again on the next round
            logger.warning("handoff delivery round failed (%s)", type(exc).__name__)
        _wake.wait(poll)
        _wake.clear()
