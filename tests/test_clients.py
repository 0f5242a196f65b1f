"""Who the client is behind proxies, and the per-client and global limits."""

from __future__ import annotations

import dataclasses

import pytest

from bot.channels.clients import ClientLimits, client_address, global_new_conversations, networks
from bot.channels.identity import conversation_id, split_conversation_id
from bot.channels.validation import bounded_metadata
from knowledge.config import Settings

PROXIES = networks(["127.0.0.1", "10.0.0.0/8"])


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        ("203.0.113.5", None, "203.0.113.5"),
        # Only a trusted proxy's X-Forwarded-For counts; a client cannot name itself another.
        ("203.0.113.5", "198.51.100.7", "203.0.113.5"),
        ("127.0.0.1", "198.51.100.7", "198.51.100.7"),
        ("127.0.0.1", "198.51.100.7, 10.1.2.3", "198.51.100.7"),
        # A forged first hop is ignored: the nearest untrusted hop is the client.
        ("127.0.0.1", "1.2.3.4, 198.51.100.7, 10.1.2.3", "198.51.100.7"),
        ("127.0.0.1", None, "127.0.0.1"),
        (None, None, "unknown"),
    ],
)
def test_the_client_is_the_nearest_untrusted_hop(
    peer: object, forwarded: object, client: str
) -> None:
    assert client_address(peer, forwarded, PROXIES) == client  # type: ignore[arg-type]


def test_new_conversations_are_limited_per_client_and_known_ones_go_on() -> None:
    settings = dataclasses.replace(
        Settings(), new_conversations_per_client=3, new_conversations_global=5
    )
    global_new_conversations.cache_clear()
    limits = ClientLimits(settings, "rest")
    assert all(limits.admit("a", f"rest:a{i}") for i in range(3))
    assert not limits.admit("a", "rest:a3")
    assert limits.admit("a", "rest:a0")  # an existing conversation is not a new one
    assert limits.admit("b", "rest:b0") and limits.admit("b", "rest:b1")
    assert not limits.admit("c", "rest:c0")  # the global limit (5) is reached
    global_new_conversations.cache_clear()


def test_messages_are_limited_per_client_whatever_the_sender() -> None:
    limits = ClientLimits(dataclasses.replace(Settings(), client_rate_limit=4), "rest")
    assert [limits.admit("a", "rest:one") for _ in range(5)] == [True] * 4 + [False]
    assert limits.admit("b", "rest:one")


def test_conversation_ids_name_their_channel() -> None:
    assert conversation_id("rest", "15551230004") == "rest:15551230004"
    assert split_conversation_id("twilio:whatsapp:+15551230004") == (
        "twilio",
        "whatsapp:+15551230004",
    )
    assert split_conversation_id("15551230004") is None
    assert split_conversation_id("evil:15551230004") is None
    with pytest.raises(ValueError):
        conversation_id("rest:x", "y")


def test_metadata_beyond_the_bounds_is_dropped() -> None:
    assert bounded_metadata({"a": {"b": 1}}, 100, 4) == {"a": {"b": 1}}
    assert bounded_metadata({"a": "x" * 200}, 100, 4) == {}
    deep: dict = {}
    for _ in range(900):
        deep = {"a": deep}
    assert bounded_metadata(deep, 100_000, 4) == {}
    assert bounded_metadata(["not", "an", "object"], 100, 4) == {}
