"""How many conversation turns the Rasa server works on at once: arrival order, emergencies first.

The Rasa server runs every turn on one event loop and one core. Without a limit, each of N waiting
turns gets 1/N of the loop, step by step (understanding, rules, the action call, saving), so under
load a turn with more steps finishes last whatever its arrival, and the slowest replies take
twice the median. With at most ``FAQBOT_MAX_CONCURRENT_TURNS`` turns in progress (a few, so the
loop has work while a turn waits for the action server) and the others waiting in arrival order,
the same throughput gives replies in the order the questions came. Measured with 32 users
(bench/README.md): p95 541 → 372 ms, p99 675 → 445 ms, same throughput.

A message the red-flag screen marks as an emergency never waits: it starts at once.
"""

from __future__ import annotations

import asyncio
import functools
import weakref
from typing import Any, Awaitable, Callable, Dict, Optional

from rasa.core.channels.channel import UserMessage

from knowledge.triage import EMERGENCY, RedFlagScreen

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


class TurnGate:
    """Lets at most ``limit`` turns run at once; the others wait in arrival order."""

    def __init__(self, limit: int, urgent: Callable[[str], bool]) -> None:
        """Keep the limit (``0`` for none) and the test for turns that never wait.

        Raises:
            ValueError: ``limit`` is negative.
        """
        if limit < 0:
            raise ValueError("the limit of concurrent turns cannot be negative")
        self.limit = limit
        self.urgent = urgent
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
        """Run ``turn()`` (for a message ``text``) when a slot is free, or at once if urgent."""
        if not self.limit or self.urgent(text):
            return await turn()
        async with self._semaphore():
            return await turn()

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


_GATES: Dict[int, TurnGate] = {}


def turn_gate(limit: int) -> TurnGate:
    """The process's gate for ``limit`` (every channel of a server shares it)."""
    gate: Optional[TurnGate] = _GATES.get(limit)
    if gate is None:
        gate = _GATES[limit] = TurnGate(limit, is_emergency)
    return gate
