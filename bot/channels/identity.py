"""Conversation ids that carry their channel, so that no channel can reach another's conversations.

Rasa keys a conversation (and this project keys a handoff) by its sender id alone, and a REST
caller chooses its own. Every channel therefore names its conversations ``<channel>:<id>``:
``rest:<sender>``, ``widget:<session>``, ``whatsapp:<number>``, ``twilio:<From>``. A REST caller
that sends ``"sender": "15551230004"`` talks in ``rest:15551230004``, never in the WhatsApp
patient's ``whatsapp:15551230004``.
"""

from __future__ import annotations

from typing import Optional, Tuple

CHANNELS = ("rest", "widget", "whatsapp", "twilio")


def conversation_id(channel: str, sender: str) -> str:
    """The conversation id of ``sender`` on ``channel`` (a name without ``:``)."""
    if not channel or ":" in channel:
        raise ValueError(f"not a channel name: {channel!r}")
    return f"{channel}:{sender}"


def split_conversation_id(value: str) -> Optional[Tuple[str, str]]:
    """``(channel, sender)`` of a conversation id, or ``None`` if it names no channel."""
    channel, sep, sender = value.partition(":")
    if not sep or channel not in CHANNELS or not sender:
        return None
    return channel, sender
