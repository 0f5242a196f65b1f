"""WhatsApp through Twilio (``/webhooks/twilio/webhook``), with signed webhooks.

Rasa's own Twilio channel does not check ``X-Twilio-Signature``; this one refuses every request
whose signature does not match (403), computed by Twilio's ``RequestValidator`` over the public
URL (``TWILIO_WEBHOOK_URL`` when a proxy changes it, else the request URL) and the form fields.
A signed form is still refused (400) if a field appears more than once (Twilio's signature joins
repeated fields, so a body re-split as ``...&MessageSid=SM...&NumMedia=0`` keeps a valid signature),
if ``AccountSid`` is not the configured account or ``MessageSid`` is not a Twilio message SID.
Accepted messages are acknowledged with empty TwiML at once, processed in the background and
answered through Twilio's Messages API. Buttons become numbered options; a reply of "1", "2"...
from the same sender is read as that option's payload.
"""

from __future__ import annotations

import logging
import re
import time
from collections import OrderedDict
from dataclasses import replace
from typing import Any, Dict, List, Optional, Sequence, Tuple
from urllib.parse import parse_qsl

import aiohttp
from multidict import MultiDict
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from twilio.request_validator import RequestValidator

from bot.channels.background import BackgroundChannel, Inbound, OnNewMessage
from bot.channels.blueprints import channel_blueprint
from bot.channels.outbound import chosen_option, numbered_options
from bot.channels.sending import Poster
from bot.channels.validation import MAX_SENDER_CHARS, clean_text
from knowledge.config import Settings

logger = logging.getLogger(__name__)
SIGNATURE_HEADER = "X-Twilio-Signature"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
OPTIONS_TTL = 24 * 3600.0
MAX_SENDERS = 100_000
# A message SID: "SM" (or "MM" for media messages) and 32 lowercase hexadecimal digits.
MESSAGE_SID = re.compile(r"(?:SM|MM)[0-9a-f]{32}")


class OptionMemory:
    """The numbered options of the latest reply to each sender (bounded, expiring)."""

    def __init__(self, ttl: float = OPTIONS_TTL, max_senders: int = MAX_SENDERS) -> None:
        self.ttl = ttl
        self.max_senders = max_senders
        self._options: "OrderedDict[str, Tuple[float, List[str]]]" = OrderedDict()

    def set(self, sender: str, payloads: List[str]) -> None:
        """Remember ``payloads`` (an empty list forgets the sender's options)."""
        self._options.pop(sender, None)
        if payloads:
            self._options[sender] = (time.monotonic(), payloads)
            while len(self._options) > self.max_senders:
                self._options.popitem(last=False)

    def get(self, sender: str) -> List[str]:
        """The sender's current options, oldest reply first; empty when none or expired."""
        stamp, payloads = self._options.get(sender, (0.0, []))
        return payloads if time.monotonic() - stamp <= self.ttl else []


def whatsapp_address(address: str, like: str) -> str:
    """``address`` with the ``whatsapp:`` prefix when ``like`` has it (Twilio's addressing)."""
    if like.startswith("whatsapp:") and not address.startswith("whatsapp:"):
        return f"whatsapp:{address}"
    return address


class TwilioInput(BackgroundChannel):
    """Twilio (WhatsApp) input channel (settings from ``TWILIO_*`` environment variables)."""

    @classmethod
    def name(cls) -> str:
        """The channel name (``/webhooks/twilio/``; ``input_channel`` of conversations)."""
        return "twilio"

    def __init__(self, settings: Optional[Settings] = None) -> None:
        """Read the settings; missing credentials are logged once and answered with errors."""
        settings = settings or Settings.from_env()
        super().__init__(
            settings,
            {
                "TWILIO_ACCOUNT_SID": settings.twilio_account_sid,
                "TWILIO_AUTH_TOKEN": settings.twilio_auth_token,
            },
        )
        self.poster = Poster(self.name())
        self.options = OptionMemory()

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> "TwilioInput":
        """Credentials come from the environment only; ``credentials.yml`` needs no entries."""
        return cls()

    @property
    def messages_url(self) -> str:
        """Twilio's Messages API endpoint of the account."""
        return (
            f"{self.settings.twilio_api_url}/2010-04-01/Accounts/"
            f"{self.settings.twilio_account_sid}/Messages.json"
        )

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        """``GET /`` health and ``POST /webhook`` for messages."""
        hook = channel_blueprint(self)
        self.add_drain_listener(hook)

        @hook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok" if not self.missing else "not configured"})

        @hook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            return self.receive(request, on_new_message)

        return hook

    def signed_url(self, request: Request) -> str:
        """The URL Twilio signed: the configured public URL, else the one requested."""
        return self.settings.twilio_webhook_url or str(request.url)

    def receive(self, request: Request, on_new_message: OnNewMessage) -> HTTPResponse:
        """Check a webhook, start processing its message, and answer with empty TwiML."""
        token = self.settings.twilio_auth_token
        if self.missing or not token:
            return response.json(self.not_configured(), status=503)
        body = request.body or b""
        if len(body) > self.settings.max_body_bytes:
            return response.json(
                {"error": f"request body is larger than {self.settings.max_body_bytes} bytes"},
                status=400,
            )
        try:
            pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, errors="strict")
        except UnicodeDecodeError:
            return response.json({"error": "request body is not valid UTF-8"}, status=400)
        params: "MultiDict[str]" = MultiDict(pairs)
        signature = request.headers.get(SIGNATURE_HEADER)
        if not signature or not RequestValidator(token).validate(
            self.signed_url(request), params, signature
        ):
            logger.warning("twilio: refused a webhook with a missing or wrong signature")
            return response.json(
                {"error": f"missing or invalid {SIGNATURE_HEADER} signature"}, status=403
            )
        problem = self.form_problem(params)
        if problem:
            logger.warning("twilio: refused a signed webhook: %s", problem)
            return response.json({"error": problem}, status=400)
        if "MessageStatus" in params:  # a delivery status callback, not a message
            return response.text(EMPTY_TWIML, content_type="text/xml")
        # Cleaned before the check, so that a From of only control characters is refused too.
        sender = clean_text(params.get("From", ""), MAX_SENDER_CHARS + 1)[0].strip()
        message_id = params["MessageSid"]
        if not sender or len(sender) > MAX_SENDER_CHARS:
            return response.json({"error": "'From' is missing or too long"}, status=400)
        text, truncated = clean_text(
            params.get("ButtonPayload") or params.get("Body", ""),
            self.settings.max_message_chars,
        )
        inbound = Inbound(
            sender,
            message_id,
            text,
            truncated,
            reply_from=params.get("To") or None,
        )
        self.spawn(on_new_message, inbound)
        return response.text(EMPTY_TWIML, content_type="text/xml")

    def form_problem(self, params: "MultiDict[str]") -> Optional[str]:
        """Why a signed form is not a webhook of this account (no field values in the text)."""
        if len(set(params.keys())) != len(params):
            return "a form field appears more than once"
        if params.get("AccountSid") != self.settings.twilio_account_sid:
            return "'AccountSid' is missing or not this account's"
        if not MESSAGE_SID.fullmatch(params.get("MessageSid", "")):
            return "'MessageSid' is missing or not a Twilio message SID"
        return None

    def resolve(self, inbound: Inbound) -> Inbound:
        """A bare number answering the latest numbered options becomes that option's payload."""
        payload = chosen_option(inbound.text, self.options.get(inbound.sender))
        return replace(inbound, text=payload) if payload else inbound

    async def deliver(self, inbound: Inbound, messages: Sequence[Dict[str, Any]]) -> None:
        """Send each message as one or more Twilio messages (≤ 1,600 characters each)."""
        sender = self.settings.twilio_whatsapp_from or inbound.reply_from
        if not sender:
            logger.error("twilio: no sender address for replies: set TWILIO_WHATSAPP_FROM")
            return
        sender = whatsapp_address(sender, inbound.sender)
        auth = aiohttp.BasicAuth(
            str(self.settings.twilio_account_sid), str(self.settings.twilio_auth_token)
        )
        options: List[str] = []
        for message in messages:
            bodies, payloads = numbered_options(message)
            options = payloads or options
            for body in bodies:
                form = {"To": inbound.sender, "From": sender, "Body": body}
                await self.poster.post(self.messages_url, data=form, auth=auth)
        self.options.set(inbound.sender, options)

    async def close(self) -> None:
        """Close the HTTP session."""
        await self.poster.close()
