"""A threaded HTTP server on a loopback port that records requests and can fail on demand."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List, Optional, Tuple

from scripts.stack import free_port

Answer = Tuple[int, Dict[str, Any]]


@dataclass
class Recorded:
    """One request the fake got and the status it answered."""

    method: str
    path: str
    headers: Dict[str, str]
    body: bytes
    status: int
    answer: Dict[str, Any]


@dataclass
class FakeServer:
    """Base of the fakes: subclasses implement :meth:`respond`.

    ``fail_next`` answers that many requests with ``fail_status`` (a server error by default)
    before behaving normally again.
    """

    port: int = field(default_factory=free_port)
    fail_next: int = 0
    fail_status: int = 500
    requests: List[Recorded] = field(default_factory=list)
    server: Optional[ThreadingHTTPServer] = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def respond(self, method: str, path: str, headers: Dict[str, str], body: bytes) -> Answer:
        raise NotImplementedError

    def failure(self) -> Dict[str, Any]:
        return {"error": "server error"}

    def start(self) -> "FakeServer":
        fake = self
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                with lock:
                    if fake.fail_next > 0:
                        fake.fail_next -= 1
                        status, answer = fake.fail_status, fake.failure()
                    else:
                        status, answer = fake.respond(self.command, self.path, headers, body)
                    fake.requests.append(
                        Recorded(self.command, self.path, headers, body, status, answer)
                    )
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_POST = _serve  # noqa: N815 (http.server API)
            do_GET = _serve  # noqa: N815

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
