"""The WhatsApp channel over Meta's Cloud API (``/webhooks/whatsapp/webhook``).

``GET`` answers Meta's verification handshake. Every ``POST`` must carry ``X-Hub-Signature-256``
(HMAC-SHA256 of the raw body with the app secret) or it is refused with a 403 and nothing is
processed. Accepted webhooks are acknowledged at once; their messages are processed in the
background and answered through the Graph API (``POST {api}/{phone_number_id}/messages``).
Status callbacks are ignored; text, interactive button/list replies and captions are read. A
message whose ``timestamp`` is missing, invalid or older than the duplicate check's window is
skipped: its id may have been forgotten, so a replay of it would be answered again.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from typing import Any, Dict, Iterator, List, Optional, Sequence

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.background import BackgroundChannel, Inbound, OnNewMessage
from bot.channels.blueprints import channel_blueprint
from bot.channels.dedupe import DEFAULT_TTL
from bot.channels.outbound import whatsapp_messages
from bot.channels.sending import Poster
from bot.channels.validation import MAX_SENDER_CHARS, clean_text
from knowledge.config import Settings

logger = logging.getLogger(__name__)
SIGNATURE_HEADER = "X-Hub-Signature-256"
# Message types without words: the bot is asked with an empty text, so it asks for words.
WORDLESS = {"image", "audio", "video", "document", "sticker", "location", "contacts"}
# Nothing for the bot to answer: reactions, system notices, unsupported content.
IGNORED = {"reaction", "system", "unsupported", "order", "request_welcome", "ephemeral"}
# Messages older than this are not answered: the duplicate check remembers ids this long.
MAX_AGE = DEFAULT_TTL
# Tolerated clock difference for a message stamped in the future.
MAX_FUTURE = 3600.0


def valid_signature(secret: str, body: bytes, header: Optional[str]) -> bool:
    """Whether ``header`` is ``sha256=`` + the hex HMAC-SHA256 of ``body`` (constant time)."""
    if not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    given = header[len("sha256=") :].strip().lower()
    return hmac.compare_digest(expected.encode("ascii"), given.encode("utf-8", "replace"))


def _dicts(value: Any) -> List[Dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _text_of(message: Dict[str, Any]) -> Optional[str]:
    """The text the bot should read for one message; ``None`` when it needs no answer."""
    kind = message.get("type")
    if not isinstance(kind, str):  # e.g. a list: not hashable, so not looked up below
        return ""
    body = message.get(kind)
    body = body if isinstance(body, dict) else {}
    if kind == "text":
        return str(body.get("body") or "")
    if kind == "interactive":
        reply = body.get("button_reply") or body.get("list_reply") or {}
        # The reply id is the button's payload (e.g. /request_human), read as an intent.
        return str(reply.get("id") or reply.get("title") or "") if isinstance(reply, dict) else ""
    if kind == "button":  # a quick-reply button of a template message
        return str(body.get("payload") or body.get("text") or "")
    if kind in WORDLESS:
        caption = body.get("caption")
        return caption if isinstance(caption, str) else ""
    if kind in IGNORED:
        return None
    return ""


def timestamp_problem(message: Dict[str, Any], now: float, max_age: float = MAX_AGE) -> str:
    """Why a message's ``timestamp`` (Unix seconds, a decimal string) is refused; ``""`` if not."""
    stamp = message.get("timestamp")
    if not isinstance(stamp, str) or not stamp.isascii() or not stamp.isdigit() or len(stamp) > 12:
        return "a missing or invalid timestamp"
    if int(stamp) < now - max_age:
        return "a timestamp older than the duplicate check's window"
    if int(stamp) > now + MAX_FUTURE:
        return "a timestamp in the future"
    return ""


def incoming_messages(
    data: Dict[str, Any],
    phone_number_id: Optional[str],
    max_chars: int,
    now: Optional[float] = None,
) -> Iterator[Inbound]:
    """The patient messages in a webhook body (status callbacks and other fields are skipped).

    Messages sent to another phone number of the same app than ``phone_number_id`` are skipped,
    and so are messages whose timestamp is missing, invalid or older than :data:`MAX_AGE` before
    ``now`` (default: the current time).
    """
    now = time.time() if now is None else now
    if data.get("object") != "whatsapp_business_account":
        return
    for entry in _dicts(data.get("entry")):
        for change in _dicts(entry.get("changes")):
            value = change.get("value")
            if change.get("field") != "messages" or not isinstance(value, dict):
                continue
            meta = value.get("metadata")
            to = meta.get("phone_number_id") if isinstance(meta, dict) else None
            if phone_number_id and to is not None and str(to) != phone_number_id:
                logger.warning("whatsapp: skipped messages sent to another phone number id")
                continue
            for message in _dicts(value.get("messages")):
                sender, message_id = message.get("from"), message.get("id")
                text = _text_of(message)
                if text is None or not isinstance(sender, str):
                    continue
                problem = timestamp_problem(message, now)
                if problem:
                    logger.warning("whatsapp: skipped a message with %s", problem)
                    continue
                sender = clean_text(sender.strip(), MAX_SENDER_CHARS)[0]
                if not sender:
                    continue
                cleaned, truncated = clean_text(text, max_chars)
                identifier = message_id if isinstance(message_id, str) and message_id else None
                yield Inbound(sender, identifier, cleaned, truncated)


class WhatsAppInput(BackgroundChannel):
    """WhatsApp Cloud API input channel (settings from ``WHATSAPP_*`` environment variables)."""

    @classmethod
    def name(cls) -> str:
        """The channel name (``/webhooks/whatsapp/``; ``input_channel`` of conversations)."""
        return "whatsapp"

    def __init__(self, settings: Optional[Settings] = None) -> None:
        """Read the settings; missing credentials are logged once and answered with errors."""
        settings = settings or Settings.from_env()
        super().__init__(
            settings,
            {
                "WHATSAPP_VERIFY_TOKEN": settings.whatsapp_verify_token,
                "WHATSAPP_APP_SECRET": settings.whatsapp_app_secret,
                "WHATSAPP_ACCESS_TOKEN": settings.whatsapp_access_token,
                "WHATSAPP_PHONE_NUMBER_ID": settings.whatsapp_phone_number_id,
            },
        )
        self.poster = Poster(self.name())

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> "WhatsAppInput":
        """Credentials come from the environment only; ``credentials.yml`` needs no entries."""
        return cls()

    @property
    def messages_url(self) -> str:
        """The Graph API endpoint replies are posted to."""
        return f"{self.settings.whatsapp_api_url}/{self.settings.whatsapp_phone_number_id}/messages"

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        """``GET /`` health, ``GET /webhook`` verification and ``POST /webhook`` messages."""
        hook = channel_blueprint(self)
        self.add_drain_listener(hook)

        @hook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok" if not self.missing else "not configured"})

        @hook.route("/webhook", methods=["GET"])
        async def verify(request: Request) -> HTTPResponse:
            return self.verify(request)

        @hook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            return self.receive(request, on_new_message)

        return hook

    def verify(self, request: Request) -> HTTPResponse:
        """Meta's handshake: echo ``hub.challenge`` if the mode and the verify token are right."""
        expected = self.settings.whatsapp_verify_token
        if not expected:
            return response.json(
                {"error": "webhook verification is not configured: set WHATSAPP_VERIFY_TOKEN"},
                status=403,
            )
        mode = request.args.get("hub.mode")
        token = request.args.get("hub.verify_token") or ""
        challenge = request.args.get("hub.challenge")
        matches = hmac.compare_digest(token.encode("utf-8"), expected.encode("utf-8"))
        if mode == "subscribe" and matches and challenge:
            logger.info("whatsapp: webhook verified")
            return response.text(
                challenge,
                content_type="text/plain; charset=utf-8",
                headers={"X-Content-Type-Options": "nosniff"},
            )
        logger.warning("whatsapp: webhook verification refused")
        return response.json({"error": "verification failed"}, status=403)

    def receive(self, request: Request, on_new_message: OnNewMessage) -> HTTPResponse:
        """Check a webhook, start processing its messages, and acknowledge it."""
        secret = self.settings.whatsapp_app_secret
        if self.missing or not secret:
            return response.json(self.not_configured(), status=503)
        body = request.body or b""
        if len(body) > self.settings.max_body_bytes:
            return response.json(
                {"error": f"request body is larger than {self.settings.max_body_bytes} bytes"},
                status=400,
            )
        if not valid_signature(secret, body, request.headers.get(SIGNATURE_HEADER)):
            logger.warning("whatsapp: refused a webhook with a missing or wrong signature")
            return response.json(
                {"error": f"missing or invalid {SIGNATURE_HEADER} signature"}, status=403
            )
        try:
            data = json.loads(body.decode("utf-8"))
        except UnicodeDecodeError:
            return response.json({"error": "request body is not valid UTF-8"}, status=400)
        except (ValueError, RecursionError):  # RecursionError: nested too deeply
            return response.json({"error": "request body is not valid JSON"}, status=400)
        if not isinstance(data, dict):
            return response.json({"error": "request body must be a JSON object"}, status=400)
        phone_number_id = self.settings.whatsapp_phone_number_id
        for inbound in incoming_messages(data, phone_number_id, self.settings.max_message_chars):
            self.spawn(on_new_message, inbound)
        return response.json({"status": "received"})

    async def deliver(self, inbound: Inbound, messages: Sequence[Dict[str, Any]]) -> None:
        """Send each message as Graph API text / interactive messages, in order."""
        headers = {"Authorization": f"Bearer {self.settings.whatsapp_access_token}"}
        for message in messages:
            for payload in whatsapp_messages(inbound.sender, message):
                await self.poster.post(self.messages_url, json=payload, headers=headers)

    async def close(self) -> None:
        """Close the HTTP session."""
        await self.poster.close()
