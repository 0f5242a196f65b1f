"""Checks shared by the input channels: body size, JSON shape, UTF-8, control characters, length."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Dict, Optional

# Control characters, and lone surrogates (JSON "\ud800"): no UTF-8 for them, so a sender id
# with one makes Rasa's SQL tracker store fail with a ValueError, on which it exits the server.
# C1 controls and bidi overrides/isolates are dropped too: shown raw in a staff console they can
# disguise what a patient wrote.
_CONTROL = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)
MAX_SENDER_CHARS = 128


class BadRequest(ValueError):
    """The request cannot be processed; the message is safe to show to the client."""


@dataclass(frozen=True)
class Incoming:
    """A validated user message."""

    sender: str
    text: str
    metadata: Optional[Dict[str, Any]]
    truncated: bool


def clean_text(text: str, max_chars: int) -> "tuple[str, bool]":
    """Drop control characters (keeping newlines and tabs) and lone surrogates, cut long text."""
    text = _CONTROL.sub("", text)
    if len(text) > max_chars:
        return text[:max_chars], True
    return text, False


def bounded_metadata(metadata: Any, max_bytes: int, max_depth: int) -> Dict[str, Any]:
    """``metadata`` if it is an object within the size and depth bounds, else ``{}``.

    Rasa stores a message's metadata with the conversation: unbounded, one request could store
    megabytes, and nesting hundreds deep made Rasa log long tracebacks.
    """
    if not isinstance(metadata, dict) or not metadata or max_bytes == 0:
        return {}
    if _depth(metadata, max_depth) > max_depth:
        return {}
    try:
        size = len(json.dumps(metadata, ensure_ascii=False).encode("utf-8"))
    except (TypeError, ValueError):
        return {}
    return metadata if size <= max_bytes else {}


def _depth(value: Any, limit: int, level: int = 1) -> int:
    """Nesting depth of ``value`` (containers only), counted no further than ``limit + 1``."""
    if level > limit or not isinstance(value, (dict, list)):
        return level if isinstance(value, (dict, list)) else level - 1
    children = value.values() if isinstance(value, dict) else value
    return max([level] + [_depth(child, limit, level + 1) for child in children])


def parse_rest_body(body: bytes, max_bytes: int, max_chars: int) -> Incoming:
    """Validate a REST channel body ``{"sender", "message", "metadata"}``.

    Raises:
        BadRequest: Too large, not UTF-8, not a JSON object, or fields of the wrong type.
    """
    if len(body) > max_bytes:
        raise BadRequest(f"request body is larger than {max_bytes} bytes")
    try:
        data = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise BadRequest("request body is not valid UTF-8") from exc
    except (ValueError, RecursionError) as exc:  # RecursionError: nested too deeply
        raise BadRequest("request body is not valid JSON") from exc
    if not isinstance(data, dict):
        raise BadRequest('request body must be a JSON object: {"sender": ..., "message": ...}')
    message = data.get("message")
    if not isinstance(message, str):
        raise BadRequest("'message' is required and must be a string")
    sender = data.get("sender")
    if sender is None:
        raise BadRequest("'sender' is required: a conversation id chosen by the caller")
    if isinstance(sender, str):
        sender = _CONTROL.sub("", sender)
    if not isinstance(sender, str) or not sender.strip() or len(sender) > MAX_SENDER_CHARS:
        raise BadRequest(f"'sender' must be a non-empty string of at most {MAX_SENDER_CHARS} chars")
    metadata = data.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise BadRequest("'metadata' must be a JSON object")
    text, truncated = clean_text(message, max_chars)
    return Incoming(sender, text, metadata, truncated)
