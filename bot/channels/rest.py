"""The REST channel (``/webhooks/rest/webhook``) with input validation.

Rasa's own REST channel answers a non-object body with a 500 and silently ignores a body without
``message``. This one answers every malformed request with a 400 and a clear error, cuts overly long
messages (and says so), and never shows a stack trace.
"""

from __future__ import annotations

import inspect
import logging
from typing import Any, Awaitable, Callable, Dict, List, Optional

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput as RasaRestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.validation import BadRequest, parse_rest_body
from knowledge.config import Settings

logger = logging.getLogger(__name__)
TRUNCATED_NOTE = (
    "Your message was very long, so I only read its first {n} characters. "
    "Shorter questions get better answers."
)
FAILURE_TEXT = (
    "Sorry, I can't answer right now. Please try again in a moment, or contact the clinic directly."
)


class RestInput(RasaRestInput):
    """REST input channel with validated, bounded input."""

    def __init__(self, max_body_bytes: Optional[int] = None, max_chars: Optional[int] = None):
        """Limits default to the project's settings (environment variables)."""
        settings = Settings.from_env()
        self.max_body_bytes = max_body_bytes or settings.max_body_bytes
        self.max_chars = max_chars or settings.max_message_chars

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> "RestInput":
        """Build from ``credentials.yml`` (optional ``max_body_bytes`` and ``max_chars``)."""
        credentials = credentials or {}
        return cls(credentials.get("max_body_bytes"), credentials.get("max_chars"))

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[None]]) -> Blueprint:
        """``GET /`` health and ``POST /webhook`` for messages."""
        module = inspect.getmodule(self)
        hook = Blueprint(
            f"custom_webhook_{type(self).__name__}", module.__name__ if module else None
        )

        @hook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @hook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            try:
                incoming = parse_rest_body(request.body or b"", self.max_body_bytes, self.max_chars)
            except BadRequest as exc:
                return response.json({"error": str(exc)}, status=400)
            collector = CollectingOutputChannel()
            notes: List[Dict[str, Any]] = []
            if incoming.truncated:
                notes.append(
                    {
                        "recipient_id": incoming.sender,
                        "text": TRUNCATED_NOTE.format(n=f"{self.max_chars:,}"),
                    }
                )
            try:
                await on_new_message(
                    UserMessage(
                        incoming.text,
                        collector,
                        incoming.sender,
                        input_channel=self.name(),
                        metadata=incoming.metadata,
                    )
                )
            except Exception:  # noqa: BLE001 - the patient gets a reply, the log gets the type
                logger.exception("rest channel: message processing failed")
                return response.json([{"recipient_id": incoming.sender, "text": FAILURE_TEXT}])
            return response.json(notes + collector.messages)

        return hook
