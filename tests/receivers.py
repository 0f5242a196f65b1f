"""Real local receivers for staff notifications: an HTTP webhook server and an SMTP server."""

from __future__ import annotations

import email
import json
import threading
import time
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, List, Optional

from aiosmtpd.controller import Controller

from scripts.stack import free_port


@dataclass
class Received:
    """One request the webhook receiver got, and the status it answered."""

    path: str
    headers: Dict[str, str]
    body: bytes
    status: int

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class WebhookReceiver:
    """An HTTP server on a loopback port that records POSTs; can fail (500 or ``status``) or be
    down (stopped)."""

    port: int = field(default_factory=free_port)
    status: int = 204
    fail_next: int = 0  # answer this many requests with a 500 before ``status``
    requests: List[Received] = field(default_factory=list)
    server: Optional[ThreadingHTTPServer] = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/handoff"

    def start(self) -> "WebhookReceiver":
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server API)
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                status = receiver.status
                if receiver.fail_next > 0:
                    receiver.fail_next -= 1
                    status = 500
                receiver.requests.append(
                    Received(self.path, dict(self.headers.items()), body, status)
                )
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def delivered_for(self, reference: str) -> List[Received]:
        """Requests about one handoff that were answered with a 2xx."""
        return [r for r in self.requests if r.status < 300 and r.json.get("reference") == reference]


class RecordingHandler:
    """aiosmtpd handler that records each accepted e-mail; ``reply`` can make it refuse."""

    def __init__(self) -> None:
        self.messages: List[Message] = []
        self.envelopes: List[Any] = []
        self.reply = "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.reply.startswith("250"):
            self.envelopes.append(envelope)
            self.messages.append(email.message_from_bytes(envelope.content))
        return self.reply


@dataclass
class SmtpReceiver:
    """A real SMTP server (aiosmtpd) on a loopback port."""

    port: int = field(default_factory=free_port)
    handler: RecordingHandler = field(default_factory=RecordingHandler)
    controller: Optional[Controller] = None

    def start(self) -> "SmtpReceiver":
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def delivered_for(self, reference: str) -> List[Message]:
        """E-mails about one handoff."""
        return [m for m in self.handler.messages if reference in str(m["Subject"])]


def wait_for(check: Callable[[], Any], timeout: float = 20.0, what: str = "") -> Any:
    """Poll ``check`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    result: Optional[Any] = None
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.05)
    failed = f"{what} not met" if what else "nothing arrived"
    raise AssertionError(f"{failed} within {timeout} s (last: {result!r})")
