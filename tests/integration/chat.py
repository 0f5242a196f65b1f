"""Talking to the running bot over its REST channel."""

from __future__ import annotations

import uuid
from typing import Any, Dict, List, Tuple

import requests

from scripts.stack import Stack

# A question one passage clearly answers (the bot quotes it: no close rival, no choice offered).
ANSWERABLE = "how much does exosome therapy cost for a foot ulcer?"


def new_sender(prefix: str = "test") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def say(stack: Stack, text: str, sender: str = "") -> List[Dict[str, Any]]:
    sender = sender or new_sender()
    reply = requests.post(stack.rest_url, json={"sender": sender, "message": text}, timeout=60)
    assert reply.status_code == 200, reply.text
    return list(reply.json())


def split(messages: List[Dict[str, Any]]) -> Tuple[str, List[Dict[str, Any]]]:
    text = "\n".join(m["text"] for m in messages if "text" in m)
    customs = [m["custom"] for m in messages if "custom" in m]
    return text, customs


def kinds(messages: List[Dict[str, Any]]) -> List[str]:
    return [m["custom"]["kind"] for m in messages if "custom" in m]


def reference_of(messages: List[Dict[str, Any]]) -> str:
    """The handoff reference in the replies (fails the test when there is none)."""
    for custom in split(messages)[1]:
        if custom.get("handoff"):
            return str(custom["handoff"]["reference"])
    raise AssertionError(f"no handoff reference in {messages}")
