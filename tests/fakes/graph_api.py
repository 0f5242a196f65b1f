"""A local stand-in for Meta's Graph API messages endpoint (WhatsApp Cloud API).

``POST /{version}/{phone_number_id}/messages`` with ``Authorization: Bearer <token>`` and a JSON
body is checked against the documented rules (``messaging_product``, ``to``, text at most 4,096
characters, interactive bodies at most 1,024, 1-3 reply buttons with titles of at most 20
characters, list messages with at most 10 rows, row titles of at most 24 and descriptions of at
most 72 characters) and answered like Meta does; refusals carry Graph API error objects. The
module also builds and signs the webhooks Meta sends.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence

from tests.fakes.http import Answer, FakeServer

VERSION = "v21.0"


def _error(message: str, code: int = 100, kind: str = "OAuthException") -> Dict[str, Any]:
    return {
        "error": {
            "message": message,
            "type": kind,
            "code": code,
            "fbtrace_id": uuid.uuid4().hex[:20],
        }
    }


def _text_problem(value: Any, name: str, limit: int) -> Optional[str]:
    if not isinstance(value, str) or not value.strip():
        return f"(#100) The parameter {name} is required."
    if len(value) > limit:
        return f"(#100) Param {name} must be at most {limit} characters long."
    return None


def _interactive_problem(interactive: Any) -> Optional[str]:
    if not isinstance(interactive, dict):
        return "(#100) The parameter interactive is required."
    body = interactive.get("body")
    problem = _text_problem(body.get("text") if isinstance(body, dict) else None, "body", 1024)
    if problem:
        return problem
    action = interactive.get("action") if isinstance(interactive.get("action"), dict) else {}
    if interactive.get("type") == "button":
        buttons = action.get("buttons")
        if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
            return "(#131009) Parameter value is not valid: buttons must have 1 to 3 items"
        ids, titles = set(), set()
        for button in buttons:
            reply = button.get("reply") if isinstance(button, dict) else None
            if not isinstance(reply, dict) or button.get("type") != "reply":
                return "(#100) Each button must be of type reply"
            problem = _text_problem(reply.get("id"), "reply.id", 256) or _text_problem(
                reply.get("title"), "reply.title", 20
            )
            if problem:
                return problem
            if reply["id"] in ids or reply["title"] in titles:
                return "(#131009) Button ids and titles must be unique"
            ids.add(reply["id"])
            titles.add(reply["title"])
        return None
    if interactive.get("type") == "list":
        problem = _text_problem(action.get("button"), "action.button", 20)
        if problem:
            return problem
        sections = action.get("sections")
        if not isinstance(sections, list) or not 1 <= len(sections) <= 10:
            return "(#131009) sections must have 1 to 10 items"
        rows: List[Dict[str, Any]] = []
        for section in sections:
            if not isinstance(section, dict) or not isinstance(section.get("rows"), list):
                return "(#100) Each section needs rows"
            if len(sections) > 1 or "title" in section:
                problem = _text_problem(section.get("title"), "section.title", 24)
                if problem:
                    return problem
            rows.extend(section["rows"])
        if not 1 <= len(rows) <= 10:
            return "(#131009) Total row count exceed max allowed count: 10"
        ids = set()
        for row in rows:
            problem = _text_problem(row.get("id"), "row.id", 200) or _text_problem(
                row.get("title"), "row.title", 24
            )
            if not problem and "description" in row:
                problem = _text_problem(row.get("description"), "row.description", 72)
            if problem:
                return problem
            if row["id"] in ids:
                return "(#131009) Row ids must be unique"
            ids.add(row["id"])
        return None
    return "(#100) Param interactive['type'] must be one of {BUTTON, LIST, ...}"


@dataclass
class FakeGraphApi(FakeServer):
    """The Graph API for one business phone number and access token."""

    access_token: str = "test-access-token"
    phone_number_id: str = "109876543210"

    @property
    def url(self) -> str:
        """The base URL to configure (``WHATSAPP_API_URL``)."""
        return f"{self.base}/{VERSION}"

    def failure(self) -> Dict[str, Any]:
        return _error("An unknown error occurred", code=1, kind="OAuthException")

    def respond(self, method: str, path: str, headers: Dict[str, str], body: bytes) -> Answer:
        if method != "POST" or path != f"/{VERSION}/{self.phone_number_id}/messages":
            return 400, _error(
                f"Unsupported {method.lower()} request. Object with ID does not exist", code=100
            )
        if headers.get("authorization") != f"Bearer {self.access_token}":
            return 401, _error("Invalid OAuth access token - Cannot parse access token", 190)
        if not headers.get("content-type", "").startswith("application/json"):
            return 400, _error("(#100) The request body must be JSON")
        try:
            message = json.loads(body)
        except ValueError:
            return 400, _error("(#100) The request body is not valid JSON")
        if not isinstance(message, dict) or message.get("messaging_product") != "whatsapp":
            return 400, _error("(#100) The parameter messaging_product is required.")
        to = message.get("to")
        if not isinstance(to, str) or not to:
            return 400, _error("(#100) The parameter to is required.")
        kind = message.get("type", "text")
        if kind == "text":
            text = message.get("text")
            problem = _text_problem(
                text.get("body") if isinstance(text, dict) else None, "text['body']", 4096
            )
        elif kind == "interactive":
            problem = _interactive_problem(message.get("interactive"))
        else:
            problem = f"(#100) Param type must be one of {{TEXT, INTERACTIVE, ...}} - got {kind}"
        if problem:
            return 400, _error(problem)
        return 200, {
            "messaging_product": "whatsapp",
            "contacts": [{"input": to, "wa_id": to}],
            "messages": [{"id": f"wamid.{uuid.uuid4().hex}"}],
        }

    # -- for assertions -----------------------------------------------------------------------

    def sent_to(self, recipient: str) -> List[Dict[str, Any]]:
        """The messages to ``recipient`` that the API accepted, in order."""
        accepted = [json.loads(r.body) for r in self.requests if r.status == 200]
        return [m for m in accepted if m.get("to") == recipient]

    def attempts_to(self, recipient: str) -> int:
        """Every request about ``recipient``, accepted or not."""
        count = 0
        for r in self.requests:
            try:
                count += json.loads(r.body).get("to") == recipient
            except (ValueError, AttributeError):
                continue
        return count


def body_of(message: Dict[str, Any]) -> str:
    """The text the patient sees for one sent message (text body or interactive body)."""
    if message.get("type") == "interactive":
        return str(message["interactive"]["body"]["text"])
    return str(message["text"]["body"])


# -- Meta's side of a webhook -----------------------------------------------------------------


def sign(body: bytes, app_secret: str) -> str:
    """``X-Hub-Signature-256`` for ``body``, as Meta computes it."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def text_message(sender: str, text: str, message_id: str = "") -> Dict[str, Any]:
    """An incoming text message object."""
    return {
        "from": sender,
        "id": message_id or new_message_id(),
        "timestamp": str(int(time.time())),
        "type": "text",
        "text": {"body": text},
    }


def reply_message(sender: str, reply_id: str, title: str, kind: str = "button_reply") -> Dict:
    """An incoming tap on a reply button (``button_reply``) or list row (``list_reply``)."""
    return {
        "from": sender,
        "id": new_message_id(),
        "timestamp": str(int(time.time())),
        "type": "interactive",
        "interactive": {"type": kind, kind: {"id": reply_id, "title": title}},
    }


def status_update(recipient: str, status: str = "delivered") -> Dict[str, Any]:
    """A delivery status of a message the business sent."""
    return {
        "id": new_message_id(),
        "status": status,
        "timestamp": str(int(time.time())),
        "recipient_id": recipient,
        "conversation": {"id": uuid.uuid4().hex, "origin": {"type": "service"}},
        "pricing": {"billable": True, "pricing_model": "CBP", "category": "service"},
    }


def webhook(
    phone_number_id: str,
    messages: Sequence[Dict[str, Any]] = (),
    statuses: Sequence[Dict[str, Any]] = (),
) -> bytes:
    """The JSON body Meta POSTs for messages and/or statuses to one business number."""
    value: Dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": phone_number_id},
    }
    if messages:
        value["contacts"] = [
            {"profile": {"name": "Test Patient"}, "wa_id": m["from"]} for m in messages
        ]
        value["messages"] = list(messages)
    if statuses:
        value["statuses"] = list(statuses)
    body = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"value": value, "field": "messages"}]}],
    }
    return json.dumps(body).encode()


def new_message_id() -> str:
    """A WhatsApp message id (``wamid.`` + base64-like text)."""
    return "wamid.HBgM" + uuid.uuid4().hex.upper() + "FQIAEhgU"
