"""The REST channel (``/webhooks/rest/webhook``): for trusted callers, with input validation.

The REST channel is for trusted callers: staff tools, the evaluation, a website's own back end.
With ``FAQBOT_REST_TOKEN`` set every request needs ``Authorization: Bearer <token>``; without it
only callers on this machine (loopback, not through a proxy) are served. Browsers cannot use it
from other sites: the body must be ``application/json`` (which a cross-site form or a
``text/plain`` fetch cannot send without a preflight) and an ``Origin`` other than
``FAQBOT_CORS_ORIGINS`` is refused.

Rasa's own REST channel answers a non-object body with a 500 and silently ignores a body without
``message``. This one answers every malformed request with a 400 and a clear error, cuts overly long
messages (and says so), and never shows a stack trace. The conversation is ``rest:<sender>``
(:mod:`bot.channels.identity`); replies name the caller's ``sender`` as their recipient.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from typing import Any, Awaitable, Callable, Dict, List, Optional

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput as RasaRestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.admission import Busy, turn_gate
from bot.channels.blueprints import channel_blueprint
from bot.channels.clients import ClientLimits, is_loopback, networks, request_client
from bot.channels.identity import conversation_id
from bot.channels.logs import where
from bot.channels.ratelimit import rate_limiter
from bot.channels.replies import (
    BUSY_RETRY_SECONDS,
    busy_message,
    failure_message,
    rate_limited_message,
    truncated_note,
)
from bot.channels.validation import BadRequest, bounded_metadata, parse_rest_body
from bot.rasa_patches import apply_all
from knowledge.config import Settings
from knowledge.redact import install_log_redaction
from knowledge.schema import Kind, kind_of

logger = logging.getLogger(__name__)
# Once the emergency reply is ready, how long the rest of the turn (the handoff to staff, which
# needs the action server) may still take before the reply goes out without it.
EMERGENCY_GRACE_SECONDS = 1.0


class ReplyCollector(CollectingOutputChannel):
    """Collects the bot's messages and notes when an emergency reply is among them."""

    def __init__(self) -> None:
        """Start empty."""
        super().__init__()
        self.emergency = asyncio.Event()

    async def _persist_message(self, message: Dict[str, Any]) -> None:
        # A private Rasa method: checked as emergency-reply-early (bot.rasa_patches).
        await super()._persist_message(message)
        if kind_of(message) == Kind.EMERGENCY:
            self.emergency.set()


async def run_turn(turn: Awaitable[None], collector: ReplyCollector) -> None:
    """Run ``turn``; return early if an emergency reply is ready and the rest is slow.

    The emergency reply is a domain response, sent before the handoff action; when the action
    server is slow or hung the patient gets it within :data:`EMERGENCY_GRACE_SECONDS`, not after
    the action timeout. The turn then goes on in the background (its handoff is still made).
    """
    task = asyncio.ensure_future(turn)
    urgent = asyncio.ensure_future(collector.emergency.wait())
    try:
        await asyncio.wait({task, urgent}, return_when=asyncio.FIRST_COMPLETED)
        if not task.done():
            await asyncio.wait({task}, timeout=EMERGENCY_GRACE_SECONDS)
    finally:
        urgent.cancel()
        if not task.done():  # answered early, or the request was cancelled: the turn goes on
            task.add_done_callback(_log_failure)
    if task.done():
        task.result()  # raises what the turn raised


def _log_failure(task: "asyncio.Future[None]") -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error(
            "rest channel: the rest of an emergency turn failed: %s",
            where(task.exception()),  # type: ignore[arg-type]
        )


class RestInput(RasaRestInput):
    """REST input channel with validated, bounded input."""

    def __init__(self, max_body_bytes: Optional[int] = None, max_chars: Optional[int] = None):
        """Limits default to the project's settings (environment variables)."""
        self.settings = Settings.from_env()
        self.max_body_bytes = max_body_bytes or self.settings.max_body_bytes
        self.max_chars = max_chars or self.settings.max_message_chars
        self.limiter = rate_limiter(self.settings, self.name())
        self.clients = ClientLimits(self.settings, self.name())
        self.proxies = networks(self.settings.trusted_proxies)
        self.origins = {o.rstrip("/").lower() for o in self.settings.cors_origins}
        apply_all(self.settings.action_timeout, self.settings.action_secret)
        install_log_redaction()

    def refusal(self, request: Request) -> Optional[HTTPResponse]:
        """Why a request may not be served (token, origin, content type), or ``None``."""
        token = self.settings.rest_token
        if token:
            given = request.headers.get("Authorization") or ""
            if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
                return response.json({"error": "a valid bearer token is required"}, status=401)
        elif not is_loopback(request.ip) or "X-Forwarded-For" in request.headers:
            return response.json(
                {
                    "error": "the REST channel serves only this machine unless FAQBOT_REST_TOKEN "
                    "is set (then send it as a bearer token)"
                },
                status=401,
            )
        origin = request.headers.get("Origin")
        if origin is not None and origin.rstrip("/").lower() not in self.origins:
            return response.json({"error": "requests from this origin are not allowed"}, status=403)
        content_type = (request.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if content_type != "application/json":
            return response.json(
                {"error": "the body must be JSON, sent as Content-Type: application/json"},
                status=415,
            )
        return None

    def busy(self, sender: str, status: int) -> HTTPResponse:
        """The "busy, try again" answer (429: this client's limits; 503: the server's queue)."""
        return response.json(
            [busy_message(self.settings, sender)],
            status=status,
            headers={"Retry-After": str(BUSY_RETRY_SECONDS)},
        )

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> "RestInput":
        """Build from ``credentials.yml`` (optional ``max_body_bytes`` and ``max_chars``)."""
        credentials = credentials or {}
        return cls(credentials.get("max_body_bytes"), credentials.get("max_chars"))

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[None]]) -> Blueprint:
        """``GET /`` health and ``POST /webhook`` for messages."""
        on_new_message = turn_gate(self.settings).wrap(on_new_message)
        hook = channel_blueprint(self)

        @hook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @hook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            refused = self.refusal(request)
            if refused is not None:
                return refused
            try:
                incoming = parse_rest_body(request.body or b"", self.max_body_bytes, self.max_chars)
            except BadRequest as exc:
                return response.json({"error": str(exc)}, status=400)
            sender = incoming.sender
            conversation = conversation_id(self.name(), sender)
            if not self.limiter.allow(conversation):
                return response.json([rate_limited_message(self.settings, sender)])
            if not self.clients.admit(request_client(request, self.proxies), conversation):
                return self.busy(sender, status=429)
            collector = ReplyCollector()
            notes: List[Dict[str, Any]] = []
            if incoming.truncated:
                notes.append({"text": truncated_note(self.max_chars)})
            message = UserMessage(
                incoming.text,
                collector,
                conversation,
                input_channel=self.name(),
                metadata=bounded_metadata(
                    incoming.metadata,
                    self.settings.max_metadata_bytes,
                    self.settings.max_metadata_depth,
                ),
            )
            try:
                await run_turn(on_new_message(message), collector)
            except Busy:
                return self.busy(sender, status=503)
            except Exception as exc:  # noqa: BLE001 - the patient gets a reply, the log the type
                logger.error("rest channel: message processing failed: %s", where(exc))
                collector.messages = []
            if not collector.messages:
                # Every message has a reply in this bot; none means an action failed or timed out
                # (Rasa logs it and sends nothing), so the patient is told how to reach the clinic.
                collector.messages.append(failure_message(self.settings, sender))
            replies = notes + list(collector.messages)
            return response.json([{**m, "recipient_id": sender} for m in replies])

        return hook
