"""Per-sender rate limits: in process, and shared by several Rasa servers through Redis."""

from __future__ import annotations

import logging
import time
import uuid
from typing import List

import pytest
import redis

from bot.channels.ratelimit import RateLimiter, SharedRateLimiter, rate_limiter
from knowledge.config import Settings

REDIS_URL = "redis://127.0.0.1:6379/5"


def redis_client() -> "redis.Redis[bytes]":
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis at {REDIS_URL} is unreachable: {exc}")
    return client


def test_in_process_window_slides() -> None:
    now: List[float] = [0.0]
    limiter = RateLimiter(2, 10.0, clock=lambda: now[0])
    assert [limiter.allow("a"), limiter.allow("a"), limiter.allow("a")] == [True, True, False]
    assert limiter.allow("b")
    now[0] = 10.5
    assert limiter.allow("a")


def test_without_a_lock_store_the_limit_is_per_process() -> None:
    assert isinstance(rate_limiter(Settings.from_env({}), "rest"), RateLimiter)
    settings = Settings.from_env({"FAQBOT_LOCK_STORE_URL": REDIS_URL})
    shared = rate_limiter(settings, "rest")
    assert isinstance(shared, SharedRateLimiter)
    other = rate_limiter(settings, "whatsapp")
    assert isinstance(other, SharedRateLimiter)
    assert other.client is shared.client  # one Redis connection pool per process


def test_two_servers_share_one_count_per_sender() -> None:
    client = redis_client()
    name = f"test-{uuid.uuid4().hex[:8]}"
    server_a = SharedRateLimiter(client, name, limit=3, window=1.0)
    server_b = SharedRateLimiter(client, name, limit=3, window=1.0)
    assert [server_a.allow("p"), server_b.allow("p"), server_a.allow("p")] == [True] * 3
    assert not server_b.allow("p") and not server_a.allow("p")
    assert server_b.allow("someone else")
    other_channel = SharedRateLimiter(client, f"{name}-other", limit=3, window=1.0)
    assert other_channel.allow("p")
    time.sleep(1.1)
    assert server_b.allow("p")
    ttl = client.pttl(f"faqbot:rate:{name}:p")
    assert 0 < ttl <= 1000  # keys expire: memory stays bounded


def test_with_redis_down_messages_are_allowed_and_it_is_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    limiter = SharedRateLimiter(client, "down", limit=1, window=60.0)
    with caplog.at_level(logging.WARNING):
        assert all(limiter.allow("p") for _ in range(3))
    assert [r.getMessage() for r in caplog.records].count(
        "rate limit: Redis unavailable (ConnectionError); not limiting"
    ) == 1
