"""How many conversation turns the Rasa server works on at once: arrival order, emergencies first.

The Rasa server runs every turn on one event loop and one core. Without a limit, each of N waiting
turns gets 1/N of the loop, step by step (understanding, rules, the action call, saving), so under
load a turn with more steps finishes last whatever its arrival, and the slowest replies take far
longer than the median. With at most ``FAQBOT_MAX_CONCURRENT_TURNS`` turns in progress (a few, so
the loop has work while a turn waits for the action server) and the others waiting in arrival
order, the same throughput gives replies in the order the questions came (the figures measured
with and without the gate: bench/README.md).

A message the red-flag screen marks as an emergency never waits: it starts at once. No message
waits for a slot longer than ``max_wait`` (the action timeout): if the turns in progress are stuck
(an action server that accepts calls but does not answer), later ones start anyway, as they would
without the gate, instead of queueing behind one timeout after another.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import weakref
from typing import Any, Awaitable, Callable, Dict, Optional, Tuple

from rasa.core.channels.channel import UserMessage

from knowledge.config import Settings
from knowledge.triage import EMERGENCY, RedFlagScreen

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]
logger = logging.getLogger(__name__)


class Busy(Exception):
    """The gate's queue is full: the message is not processed (the channel says "try again")."""


class TurnGate:
    """Lets at most ``limit`` turns run at once; at most ``max_queued`` others wait, in order."""

    def __init__(
        self,
        limit: int,
        urgent: Callable[[str], bool],
        max_wait: float,
        max_queued: int = 0,
    ) -> None:
        """Keep the limits, the test for turns that never wait, and the longest wait.

        ``limit`` turns run at once (``0``: no limit); ``max_queued`` may wait (``0``: no bound;
        beyond it :class:`Busy` is raised).

        Raises:
            ValueError: ``limit`` or ``max_queued`` is negative or ``max_wait`` is not positive.
        """
        if limit < 0 or max_queued < 0:
            raise ValueError("the limits of concurrent and queued turns cannot be negative")
        if max_wait <= 0:
            raise ValueError("the longest wait for a slot must be positive")
        self.limit = limit
        self.urgent = urgent
        self.max_wait = max_wait
        self.max_queued = max_queued
        self.waiting = 0
        self._slots: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore]" = (
            weakref.WeakKeyDictionary()
        )

    def _semaphore(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        slots = self._slots.get(loop)
        if slots is None:
            slots = self._slots[loop] = asyncio.Semaphore(self.limit)
        return slots

    async def run(self, text: str, turn: Callable[[], Awaitable[Any]]) -> Any:
        """Run ``turn()`` (for a message ``text``) when a slot is free, or at once if urgent.

        After ``max_wait`` seconds without a slot the turn runs without one.

        Raises:
            Busy: ``max_queued`` turns are already waiting (never for an urgent turn).
        """
        if not self.limit or self.urgent(text):
            return await turn()
        slots = self._semaphore()
        if not slots.locked():
            await slots.acquire()  # a free slot is taken at once, without waiting
        else:
            if self.max_queued and self.waiting >= self.max_queued:
                raise Busy()
            self.waiting += 1
            try:
                await asyncio.wait_for(slots.acquire(), self.max_wait)
            except asyncio.TimeoutError:
                logger.warning(
                    "turn gate: no slot for %.1f s; the turn starts anyway", self.max_wait
                )
                return await turn()
            finally:
                self.waiting -= 1
        try:
            return await turn()
        finally:
            slots.release()

    def wrap(self, on_new_message: OnNewMessage) -> OnNewMessage:
        """``on_new_message`` that passes through this gate."""

        async def gated(message: UserMessage) -> Any:
            return await self.run(message.text or "", lambda: on_new_message(message))

        return gated


@functools.lru_cache(maxsize=None)
def _red_flags() -> RedFlagScreen:
    return RedFlagScreen.from_file()


def is_emergency(text: str) -> bool:
    """Whether the red-flag screen marks ``text`` as an emergency."""
    flag = _red_flags().screen(text)
    return flag is not None and flag.level == EMERGENCY


_GATES: Dict[Tuple[int, float, int], TurnGate] = {}


def turn_gate(settings: Settings) -> TurnGate:
    """The process's gate (every channel of a server shares it).

    At most ``max_concurrent_turns`` turns; none waits longer than ``action_timeout`` for a slot;
    at most ``max_queued_turns`` wait.
    """
    key = (settings.max_concurrent_turns, settings.action_timeout, settings.max_queued_turns)
    gate: Optional[TurnGate] = _GATES.get(key)
    if gate is None:
        gate = _GATES[key] = TurnGate(key[0], is_emergency, key[1], key[2])
    return gate
