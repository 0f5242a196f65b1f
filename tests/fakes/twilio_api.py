"""A local stand-in for Twilio's Messages API, and Twilio's way of signing webhooks.

``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` with HTTP basic auth (SID and auth
token) and form fields ``To``, ``From`` and ``Body`` is checked like Twilio does (error codes
20003, 21602, 21603, 21604, 21617 and 21910) and answered with a message resource (201). The
fake also builds and signs the webhooks Twilio sends.
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping
from urllib.parse import parse_qs, urlencode

from twilio.request_validator import RequestValidator

from tests.fakes.http import Answer, FakeServer

BODY_MAX = 1600


def _error(status: int, code: int, message: str) -> Answer:
    return status, {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


@dataclass
class FakeTwilioApi(FakeServer):
    """Twilio's REST API for one account."""

    account_sid: str = "AC" + "0123456789abcdef" * 2
    auth_token: str = "test-twilio-auth-token"

    @property
    def url(self) -> str:
        """The base URL to configure (``TWILIO_API_URL``)."""
        return self.base

    def failure(self) -> Dict[str, Any]:
        return {"code": 20500, "message": "Internal Server Error", "status": self.fail_status}

    def respond(self, method: str, path: str, headers: Dict[str, str], body: bytes) -> Answer:
        if method != "POST" or path != f"/2010-04-01/Accounts/{self.account_sid}/Messages.json":
            return _error(404, 20404, "The requested resource was not found")
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        if headers.get("authorization") != f"Basic {expected}":
            return _error(401, 20003, "Authenticate")
        if not headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            return _error(400, 20001, "Content-Type must be application/x-www-form-urlencoded")
        form = {k: v[0] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}
        to, sender, text = form.get("To", ""), form.get("From", ""), form.get("Body", "")
        if not to:
            return _error(400, 21604, "A 'To' phone number is required.")
        if not sender:
            return _error(400, 21603, "A 'From' phone number is required.")
        if not text:
            return _error(400, 21602, "Message body is required.")
        if len(text) > BODY_MAX:
            return _error(
                400, 21617, "The concatenated message body exceeds the 1600 character limit."
            )
        if to.startswith("whatsapp:") != sender.startswith("whatsapp:"):
            return _error(
                400, 21910, "Invalid From and To pair. From and To should be of the same channel"
            )
        sid = "SM" + uuid.uuid4().hex
        return 201, {
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "body": text,
            "direction": "outbound-api",
            "from": sender,
            "to": to,
            "sid": sid,
            "status": "queued",
            "num_segments": "1",
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json",
        }

    # -- for assertions -----------------------------------------------------------------------

    def sent_to(self, recipient: str) -> List[Dict[str, str]]:
        """The accepted messages (form fields) to ``recipient``, in order."""
        sent = []
        for r in self.requests:
            if r.status == 201:
                form = {k: v[0] for k, v in parse_qs(r.body.decode()).items()}
                if form.get("To") == recipient:
                    sent.append(form)
        return sent

    # -- Twilio's side of a webhook -----------------------------------------------------------

    def sign(self, url: str, params: Mapping[str, str]) -> str:
        """``X-Twilio-Signature`` for a form POST to ``url``, as Twilio computes it."""
        return str(RequestValidator(self.auth_token).compute_signature(url, dict(params)))

    def incoming(self, sender: str, to: str, body: str, **extra: str) -> Dict[str, str]:
        """The form fields of an incoming WhatsApp message webhook, as Twilio sends them."""
        sid = "SM" + uuid.uuid4().hex
        fields = {
            "SmsMessageSid": sid,
            "NumMedia": "0",
            "ProfileName": "Test Patient",
            "SmsSid": sid,
            "WaId": sender.split(":", 1)[-1].lstrip("+"),
            "SmsStatus": "received",
            "Body": body,
            "To": to,
            "NumSegments": "1",
            "ReferralNumMedia": "0",
            "MessageSid": sid,
            "AccountSid": self.account_sid,
            "From": sender,
            "ApiVersion": "2010-04-01",
        }
        fields.update(extra)
        return fields

    def status_callback(self, recipient: str, sender: str, status: str = "delivered") -> Dict:
        """The form fields of a message status callback."""
        sid = "SM" + uuid.uuid4().hex
        return {
            "SmsSid": sid,
            "SmsStatus": status,
            "MessageStatus": status,
            "ChannelToAddress": recipient.split(":", 1)[-1],
            "To": recipient,
            "ChannelPrefix": "whatsapp",
            "MessageSid": sid,
            "AccountSid": self.account_sid,
            "From": sender,
            "ApiVersion": "2010-04-01",
        }


def form_body(params: Mapping[str, str]) -> bytes:
    """The URL-encoded body Twilio posts."""
    return urlencode(list(params.items())).encode()
