"""Per-sender rate limit for the input channels: a sliding window per sender.

:func:`rate_limiter` gives the in-process :class:`RateLimiter`, or, when several Rasa servers share
a Redis lock store (``FAQBOT_LOCK_STORE_URL``), a :class:`SharedRateLimiter` whose counts live in
that Redis, so a sender gets ``limit`` messages per window in all, whichever server answers. Both
bound their memory: the least recently seen senders are forgotten first, Redis keys expire.
"""

from __future__ import annotations

import functools
import logging
import time
import uuid
from collections import OrderedDict, deque
from typing import Callable, Deque, Optional, Protocol

import redis

from knowledge.config import Settings

logger = logging.getLogger(__name__)
MAX_SENDERS = 100_000
KEY_PREFIX = "faqbot:rate"
REDIS_TIMEOUT_SECONDS = 0.5
# Drop the sender's stamps older than the window, then count one more if under the limit, in one
# atomic step on the Redis server's clock (the servers' clocks may differ).
_SLIDING_WINDOW = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local window_ms = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now_ms - window_ms)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  return 0
end
redis.call('ZADD', KEYS[1], now_ms, ARGV[3])
redis.call('PEXPIRE', KEYS[1], window_ms)
return 1
"""


class Limiter(Protocol):
    """What the channels use."""

    def allow(self, sender: str) -> bool:
        """Count one message from ``sender``; ``False`` when it is over the limit."""


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


class SharedRateLimiter:
    """The sliding window of :class:`RateLimiter`, counted in Redis for all Rasa servers.

    If Redis cannot be reached the message is allowed (a patient is never refused because the
    limiter is down) and a warning is logged once until Redis answers again.
    """

    def __init__(self, client: "redis.Redis[bytes]", name: str, limit: int, window: float):
        """Count in ``client`` under keys named after ``name`` (one per channel and purpose).

        Raises:
            ValueError: A limit is not positive.
        """
        if limit < 1 or window <= 0:
            raise ValueError("limit and window must be positive")
        self.client = client
        self.name = name
        self.limit = limit
        self.window_ms = max(1, int(window * 1000))
        self._script = client.register_script(_SLIDING_WINDOW)
        self._failing = False

    def allow(self, sender: str) -> bool:
        """Count one message from ``sender``; ``False`` when it is over the limit."""
        key = f"{KEY_PREFIX}:{self.name}:{sender}"
        try:
            allowed = bool(
                self._script(keys=[key], args=[self.window_ms, self.limit, uuid.uuid4().hex])
            )
        except redis.RedisError as exc:
            if not self._failing:
                logger.warning(
                    "rate limit: Redis unavailable (%s); not limiting", type(exc).__name__
                )
            self._failing = True
            return True
        self._failing = False
        return allowed


def rate_limiter(
    settings: Settings, name: str, limit: Optional[int] = None, window: Optional[float] = None
) -> Limiter:
    """The limiter for channel ``name``: shared through Redis when a Redis lock store is set.

    ``limit`` and ``window`` default to ``FAQBOT_RATE_LIMIT`` and ``FAQBOT_RATE_WINDOW``.
    """
    limit = settings.rate_limit if limit is None else limit
    window = settings.rate_window if window is None else window
    if not settings.lock_store_url:
        return RateLimiter(limit, window)
    return SharedRateLimiter(_redis_client(settings.lock_store_url), name, limit, window)


@functools.lru_cache(maxsize=None)
def _redis_client(url: str) -> "redis.Redis[bytes]":
    """One client (and connection pool) per Redis URL, shared by every limiter of the process."""
    return redis.Redis.from_url(
        url,
        socket_timeout=REDIS_TIMEOUT_SECONDS,
        socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
    )
