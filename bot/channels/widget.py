"""Serves the website widget's files from the Rasa server (GET only; no messages come in here).

* ``/webhooks/widget/`` - a demo page with the widget on it (``make run`` prints the URL);
* ``/webhooks/widget/faqbot-widget.js`` - the bundle the clinic's pages include.

Only the files named in :data:`ASSETS` are served (no paths from the request reach the file
system). Responses carry an ``ETag`` (``If-None-Match`` gets a 304) and cache headers.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, Optional, Tuple

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.blueprints import channel_blueprint

WIDGET_DIR = Path(__file__).resolve().parent.parent / "widget"
DEMO_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'"
)


@dataclass(frozen=True)
class Asset:
    """A file the channel serves."""

    path: Path
    content_type: str
    cache_control: str


def default_assets(bundle_max_age: int) -> Dict[str, Asset]:
    """The served files by URL name (``""`` is the demo page)."""
    return {
        "": Asset(WIDGET_DIR / "demo" / "index.html", "text/html; charset=utf-8", "no-cache"),
        "faqbot-widget.js": Asset(
            WIDGET_DIR / "dist" / "faqbot-widget.js",
            "application/javascript; charset=utf-8",
            f"public, max-age={bundle_max_age}",
        ),
    }


class WidgetAssets(InputChannel):
    """GET-only channel ``widget``: the widget bundle and its demo page."""

    @classmethod
    def name(cls) -> str:
        """URL prefix ``/webhooks/widget``."""
        return "widget"

    def __init__(self, bundle_max_age: int = 300, assets: Optional[Dict[str, Asset]] = None):
        """``bundle_max_age``: seconds browsers may reuse the bundle before asking again."""
        self.assets = assets if assets is not None else default_assets(bundle_max_age)
        self._cache: Dict[Path, Tuple[float, bytes, str]] = {}

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> "WidgetAssets":
        """Build from ``credentials.yml`` (optional ``bundle_max_age`` in seconds)."""
        credentials = credentials or {}
        return cls(int(credentials.get("bundle_max_age", 300)))

    def read(self, path: Path) -> Optional[Tuple[bytes, str]]:
        """The file's bytes and ETag, re-read when it changes; ``None`` when it is missing."""
        try:
            mtime = path.stat().st_mtime
        except OSError:
            return None
        cached = self._cache.get(path)
        if cached is None or cached[0] != mtime:
            body = path.read_bytes()
            cached = (mtime, body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"')
            self._cache[path] = cached
        return cached[1], cached[2]

    def serve(self, request: Request, name: str) -> HTTPResponse:
        """The named asset, a 304 when the client has it, or a 404."""
        asset = self.assets.get(name)
        found = self.read(asset.path) if asset is not None else None
        if asset is None or found is None:
            return response.text("not found", status=404, headers={"Cache-Control": "no-store"})
        body, etag = found
        headers = {
            "Cache-Control": asset.cache_control,
            "ETag": etag,
            "X-Content-Type-Options": "nosniff",
        }
        if asset.content_type.startswith("text/html"):
            headers["Content-Security-Policy"] = DEMO_CSP
            headers["Referrer-Policy"] = "no-referrer"
        if etag in (request.headers.get("If-None-Match") or ""):
            return response.empty(status=304, headers=headers)
        return response.raw(body, content_type=asset.content_type, headers=headers)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """``GET /`` (the demo page) and ``GET /<name>`` (the bundle)."""
        hook = channel_blueprint(self)

        @hook.route("/", methods=["GET"])
        async def demo(request: Request) -> HTTPResponse:
            return self.serve(request, "")

        @hook.route("/<name:str>", methods=["GET"])
        async def asset(request: Request, name: str) -> HTTPResponse:
            return self.serve(request, name)

        return hook
