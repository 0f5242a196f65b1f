"""Per-sender rate limit for the input channels: a sliding window held in memory.

Each Rasa server process keeps its own counts, so with several instances behind a load balancer a
sender may get up to ``limit`` messages per window on each. The number of senders tracked is
bounded: the least recently seen are forgotten first.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from typing import Callable, Deque

MAX_SENDERS = 100_000


class RateLimiter:
    """Allow at most ``limit`` messages per sender in any ``window`` seconds."""

    def __init__(
        self,
        limit: int,
        window: float,
        max_senders: int = MAX_SENDERS,
        clock: Callable[[], float] = time.monotonic,
    ):
        """Validate the limits.

        Raises:
            ValueError: A limit is not positive.
        """
        if limit < 1 or window <= 0 or max_senders < 1:
            raise ValueError("limit, window and max_senders must be positive")
        self.limit = limit
        self.window = window
        self.max_senders = max_senders
        self._clock = clock
        self._seen: "OrderedDict[str, Deque[float]]" = OrderedDict()

    def allow(self, sender: str) -> bool:
        """Count one message from ``sender``; ``False`` when it is over the limit."""
        now = self._clock()
        stamps = self._seen.pop(sender, None)
        if stamps is None:
            stamps = deque()
        while stamps and stamps[0] <= now - self.window:
            stamps.popleft()
        self._seen[sender] = stamps
        while len(self._seen) > self.max_senders:
            self._seen.popitem(last=False)
        if len(stamps) >= self.limit:
            return False
        stamps.append(now)
        return True
