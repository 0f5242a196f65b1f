"""The action server answers only the Rasa server: calls must carry the shared secret.

The Rasa server sends ``FAQBOT_ACTION_SECRET`` in ``X-Faqbot-Action-Secret``
(:func:`bot.rasa_patches.action_calls.send_secret`). Without a configured secret the action
server refuses every call and says why: an action server without one would run the bot's
actions (saving contact details on a handoff, paging staff) for anyone who can reach it.
``make run``, the tests and the benchmarks generate a secret for each run when none is set.
"""

from __future__ import annotations

import hmac
import logging
from typing import Optional

from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.rasa_patches.action_calls import SECRET_HEADER

logger = logging.getLogger(__name__)
OPEN_PATHS = {"/health"}


def refusal(request_secret: Optional[str], secret: Optional[str]) -> Optional[str]:
    """Why a call with ``request_secret`` is refused, or ``None`` if it may run."""
    if not secret:
        return "the action server needs FAQBOT_ACTION_SECRET (the same on the Rasa server)"
    if not hmac.compare_digest((request_secret or "").encode(), secret.encode()):
        return "missing or wrong action server secret"
    return None


def require_secret(secret: Optional[str], app_name: str = "rasa_sdk") -> bool:
    """Add the check to the running rasa-sdk app; ``False`` when there is none (not a server)."""
    try:
        app = Sanic.get_app(app_name)
    except Exception:  # noqa: BLE001 - imported outside the action server (tests, tools)
        return False
    if not secret:
        logger.error("FAQBOT_ACTION_SECRET is not set: the action server refuses every call")

    @app.on_request
    async def check(request: Request) -> Optional[HTTPResponse]:
        if request.path in OPEN_PATHS:
            return None
        reason = refusal(request.headers.get(SECRET_HEADER), secret)
        if reason is None:
            return None
        logger.warning("action server: refused a call (%s)", reason)
        return response.json({"error": reason}, status=401)

    return True
