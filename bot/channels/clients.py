"""Who is calling, and how much they may do: per-client and global limits for the input channels.

A *client* is the caller's IP address: the connection's peer, or, when that peer is one of
``FAQBOT_TRUSTED_PROXIES``, the last address in ``X-Forwarded-For`` that is not a trusted proxy.
The per-sender rate limit (:mod:`bot.channels.ratelimit`) cannot stop one client that uses a new
sender id for every message; these limits can:

* ``FAQBOT_CLIENT_RATE_LIMIT`` messages per client per ``FAQBOT_RATE_WINDOW``;
* ``FAQBOT_NEW_CONVERSATIONS_PER_CLIENT`` new conversations per client, and
  ``FAQBOT_NEW_CONVERSATIONS_GLOBAL`` for all clients together, per
  ``FAQBOT_NEW_CONVERSATION_WINDOW``. Each new conversation can make a handoff (an urgent one for
  a red flag), so this also bounds how many handoffs one client can make.

Counts are shared through Redis when a Redis lock store is configured (like the per-sender
limit); which conversations a server has seen is kept per process (bounded).
"""

from __future__ import annotations

import functools
import ipaddress
from collections import OrderedDict
from typing import Any, List, Optional, Sequence, Union

from bot.channels.ratelimit import Limiter, rate_limiter
from knowledge.config import Settings

Network = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]
MAX_KNOWN_CONVERSATIONS = 200_000
GLOBAL = "*"


def networks(items: Sequence[str]) -> List[Network]:
    """The trusted proxies as networks (a plain address is a /32 or /128).

    Raises:
        ValueError: An item is not an address or network.
    """
    return [ipaddress.ip_network(item.strip(), strict=False) for item in items if item.strip()]


def _trusted(address: str, proxies: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return any(ip in net for net in proxies)


def is_loopback(address: Optional[str]) -> bool:
    """Whether ``address`` is a loopback address (127.0.0.0/8, ::1)."""
    try:
        return ipaddress.ip_address((address or "").strip()).is_loopback
    except ValueError:
        return False


def client_address(
    peer: Optional[str], forwarded_for: Optional[str], proxies: Sequence[Network]
) -> str:
    """The client's address: ``peer``, or the nearest untrusted hop of ``X-Forwarded-For``."""
    address = (peer or "").strip() or "unknown"
    if not forwarded_for or not _trusted(address, proxies):
        return address
    for hop in reversed([h.strip() for h in forwarded_for.split(",") if h.strip()]):
        if not _trusted(hop, proxies):
            return hop
        address = hop
    return address


def request_client(request: Any, proxies: Sequence[Network]) -> str:
    """The client of a Sanic request."""
    return client_address(request.ip, request.headers.get("X-Forwarded-For"), proxies)


@functools.lru_cache(maxsize=None)
def global_new_conversations(settings: Settings) -> Limiter:
    """The one count of new conversations that every channel of the process shares."""
    return rate_limiter(
        settings, "new-global", settings.new_conversations_global, settings.new_conversation_window
    )


class ClientLimits:
    """Per-client message rate and new-conversation limits, plus the global one."""

    def __init__(self, settings: Settings, name: str, max_known: int = MAX_KNOWN_CONVERSATIONS):
        """Limits of channel ``name`` from the settings."""
        self.messages: Limiter = rate_limiter(
            settings, f"{name}-client", limit=settings.client_rate_limit
        )
        window = settings.new_conversation_window
        self.new_per_client: Limiter = rate_limiter(
            settings, f"{name}-new", settings.new_conversations_per_client, window
        )
        self.new_global = global_new_conversations(settings)
        self.max_known = max_known
        self._known: "OrderedDict[str, None]" = OrderedDict()

    def admit(self, client: str, conversation: str) -> bool:
        """Count one message of ``client`` in ``conversation``; ``False`` if over a limit."""
        if not self.messages.allow(client):
            return False
        if conversation in self._known:
            self._known.move_to_end(conversation)
            return True
        if not self.new_per_client.allow(client) or not self.new_global.allow(GLOBAL):
            return False
        self._known[conversation] = None
        while len(self._known) > self.max_known:
            self._known.popitem(last=False)
        return True
