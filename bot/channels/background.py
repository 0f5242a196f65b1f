"""Base of the webhook channels that answer the platform at once and reply later (WhatsApp, Twilio).

The webhook handler checks the request, starts a background task per message and returns. Each
task, in order per sender: drops a message id seen before, applies the rate limit, runs the
message through the bot, and sends the replies through the platform's API (``deliver``). If the
bot produced nothing (action server down or too slow) the patient gets the "can't answer right
now" reply. Task references are kept until the task ends; errors are logged by type only, so
that no message text or phone number reaches the logs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Any, AsyncIterator, Awaitable, Callable, Dict, List, Optional, Sequence, Set

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint

from bot.channels.admission import Busy, turn_gate
from bot.channels.dedupe import Deduplicator
from bot.channels.identity import conversation_id
from bot.channels.logs import where
from bot.channels.ratelimit import rate_limiter
from bot.channels.replies import (
    busy_message,
    failure_message,
    rate_limited_message,
    truncated_note,
)
from bot.rasa_patches import apply_all
from knowledge.config import Settings

logger = logging.getLogger(__name__)
DRAIN_SECONDS = 5.0
OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


@dataclass(frozen=True)
class Inbound:
    """One patient message taken from a webhook.

    Attributes:
        sender: The patient's address on the platform (the WhatsApp number); the conversation is
            ``<channel>:<sender>``.
        message_id: The platform's message id, for the duplicate check (``None``: not checked).
        text: The cleaned message text (or a button payload such as ``/request_human``).
        truncated: Whether the text was cut to ``max_message_chars``.
        reply_from: The platform address the patient wrote to (Twilio's ``To``).
    """

    sender: str
    message_id: Optional[str]
    text: str
    truncated: bool = False
    reply_from: Optional[str] = None


class WholeMessages(CollectingOutputChannel):
    """Collects each bot message whole (text, buttons and ``custom`` together, text unsplit)."""

    async def send_response(self, recipient_id: str, message: Dict[str, Any]) -> None:
        """Record the message as Rasa produced it."""
        self.messages.append({"recipient_id": recipient_id, **message})


class _SenderLock:
    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.users = 0


class BackgroundChannel(InputChannel):
    """An input channel that acknowledges webhooks at once and replies through an API.

    Subclasses implement :meth:`deliver`, and may override :meth:`resolve`.

    Args:
        settings: The project's settings.
        required: ``{environment variable: value}`` the channel cannot work without; if one is
            empty, a warning is logged once and :attr:`missing` names them.
    """

    def __init__(self, settings: Settings, required: Dict[str, Optional[str]]) -> None:
        self.settings = settings
        self.limiter = rate_limiter(settings, self.name())
        # One "slow down" reply per window.
        self.notices = rate_limiter(settings, f"{self.name()}-notice", limit=1)
        self.dedupe = Deduplicator(settings.database_url)
        self.tasks: Set["asyncio.Task[None]"] = set()
        self._locks: Dict[str, _SenderLock] = {}
        self.missing: List[str] = [name for name, value in required.items() if not value]
        apply_all(settings.action_timeout, settings.action_secret)
        if self.missing:
            logger.warning(
                "%s channel is not configured (missing %s): its webhook answers with an error",
                self.name(),
                ", ".join(self.missing),
            )

    def not_configured(self) -> Dict[str, str]:
        """The error body answered while configuration is missing."""
        return {
            "error": f"the {self.name()} channel is not configured: set " + ", ".join(self.missing)
        }

    # -- background tasks ---------------------------------------------------------------------

    def spawn(self, on_new_message: OnNewMessage, inbound: Inbound) -> None:
        """Process ``inbound`` in a background task (kept referenced until it ends)."""
        gated = turn_gate(self.settings).wrap(on_new_message)
        task = asyncio.get_running_loop().create_task(self.handle(gated, inbound))
        self.tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: "asyncio.Task[None]") -> None:
        self.tasks.discard(task)
        if task.cancelled():
            logger.warning("%s: processing of a message was cancelled", self.name())
            return
        exc = task.exception()
        if exc is not None:
            logger.error("%s: processing a message failed (%s)", self.name(), type(exc).__name__)
            logger.debug("%s: processing failure", self.name(), exc_info=exc)

    async def drain(self, timeout: float = DRAIN_SECONDS) -> None:
        """Wait up to ``timeout`` seconds for running tasks, then release resources."""
        if self.tasks:
            _, pending = await asyncio.wait(set(self.tasks), timeout=timeout)
            if pending:
                logger.warning("%s: %d messages still in progress", self.name(), len(pending))
        await self.close()
        self.dedupe.close()

    async def close(self) -> None:
        """Release the channel's own resources (HTTP sessions)."""

    def add_drain_listener(self, hook: Blueprint) -> None:
        """Let running messages finish when the server stops."""

        async def finish(*_: Any) -> None:
            await self.drain()

        hook.listener("before_server_stop")(finish)

    @contextlib.asynccontextmanager
    async def _in_order(self, sender: str) -> AsyncIterator[None]:
        """One message per sender at a time, in arrival order (``asyncio.Lock`` is FIFO)."""
        entry = self._locks.setdefault(sender, _SenderLock())
        entry.users += 1
        try:
            async with entry.lock:
                yield
        finally:
            entry.users -= 1
            if entry.users == 0:
                self._locks.pop(sender, None)

    # -- one message --------------------------------------------------------------------------

    def resolve(self, inbound: Inbound) -> Inbound:
        """Adjust a message just before it is processed (in order); the default keeps it."""
        return inbound

    async def handle(self, on_new_message: OnNewMessage, inbound: Inbound) -> None:
        """Check, run and answer one message (in order per sender)."""
        async with self._in_order(inbound.sender):
            if inbound.message_id is not None and not await self.dedupe.first_time(
                self.name(), inbound.message_id
            ):
                logger.info("%s: a repeated delivery of a message was ignored", self.name())
                return
            if not self.limiter.allow(inbound.sender):
                logger.info("%s: a sender is over the rate limit", self.name())
                if self.notices.allow(inbound.sender):
                    notice = rate_limited_message(self.settings, inbound.sender)
                    await self.deliver(inbound, [notice])
                return
            inbound = self.resolve(inbound)
            replies = await self.run_bot(on_new_message, inbound)
            if inbound.truncated:
                note = {"text": truncated_note(self.settings.max_message_chars)}
                replies = [note, *replies]
            await self.deliver(inbound, replies)

    async def run_bot(self, on_new_message: OnNewMessage, inbound: Inbound) -> List[Dict[str, Any]]:
        """The bot's messages for ``inbound``, or the failure reply if it produced none."""
        collector = WholeMessages()
        conversation = conversation_id(self.name(), inbound.sender)
        try:
            await on_new_message(
                UserMessage(inbound.text, collector, conversation, input_channel=self.name())
            )
        except Busy:
            return [busy_message(self.settings, inbound.sender)]
        except Exception as exc:  # noqa: BLE001 - the patient still gets a reply
            logger.error("%s: the bot failed on a message (%s)", self.name(), where(exc))
            collector.messages = []
        shown = [m for m in collector.messages if m.get("text") or m.get("buttons")]
        if not shown:
            # Rasa sends nothing when an action fails or times out.
            return [failure_message(self.settings, inbound.sender)]
        return list(collector.messages)

    async def deliver(self, inbound: Inbound, messages: Sequence[Dict[str, Any]]) -> None:
        """Send the bot's ``messages`` to the patient of ``inbound`` through the platform."""
        raise NotImplementedError


__all__ = ["BackgroundChannel", "Inbound", "WholeMessages"]
