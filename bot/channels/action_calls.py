"""How the Rasa server calls the action server: short timeout, cheap checks, kept connections.

These are fixes to module-level behaviour of Rasa 3.6's ``RemoteAction`` and ``EndpointConfig``
(no setting exists for any of them), applied with the other fixes by ``bot.server.tune_rasa_server``
before the server takes messages.
"""

from __future__ import annotations

import asyncio
from typing import Any, Dict, Optional, Tuple

import aiohttp
import ujson

# Idle connections to the action server are closed after this many seconds, before Sanic's own
# keep-alive timeout (5 s) can close them under a request that is just being sent.
KEEPALIVE_SECONDS = 2.0


def limit_action_calls(seconds: float) -> None:
    """Make the Rasa server give up on the action server after ``seconds`` instead of 300.

    Rasa 3.6 reads the timeout of every custom-action call from a module constant and offers no
    setting for it; a late reply is then replaced by the channels' "can't answer right now".
    """
    import rasa.core.actions.action as rasa_actions

    rasa_actions.DEFAULT_REQUEST_TIMEOUT = seconds


def validate_action_responses_once() -> None:
    """Check the action server's replies against Rasa's schema with a validator built once.

    Rasa 3.6 calls ``jsonschema.validate`` on every reply, which first re-checks the constant
    schema against the JSON-Schema meta-schema, many times the cost of checking the reply alone
    (measured: bench/README.md). Replies are checked exactly as before and an invalid one still
    raises ``jsonschema.ValidationError`` with Rasa's hint.
    """
    import jsonschema
    from rasa.core.actions.action import RemoteAction

    original = RemoteAction.__dict__["_validate_action_result"]
    if getattr(original, "validator", None) is not None:
        return  # already applied (every channel calls this)
    spec = RemoteAction.action_response_format_spec()
    validator_class = jsonschema.validators.validator_for(spec)
    validator_class.check_schema(spec)
    validator = validator_class(spec)

    def validate(self: RemoteAction, result: Dict[str, Any]) -> bool:
        try:
            validator.validate(result)
        except jsonschema.ValidationError:
            # Rasa's own method repeats the check and raises with its documentation hint.
            return bool(original(self, result))
        return True

    validate.validator = validator  # type: ignore[attr-defined]
    RemoteAction._validate_action_result = validate


class _SharedSession:
    """What ``EndpointConfig.session()`` returns instead of a new ``aiohttp.ClientSession``.

    Used as ``async with endpoint.session() as session``, it hands out one session per endpoint
    and event loop and leaves it open, so its connections are reused by the next call. Request
    bodies are written with ujson: the whole conversation goes to the action server on every
    call, and the standard library's encoder was a measurable share of the Rasa server's time
    per message (bench/README.md).
    """

    _sessions: Dict[Tuple[int, int], aiohttp.ClientSession] = {}

    def __init__(self, endpoint: Any, make: Any) -> None:
        self.endpoint = endpoint
        self.make = make

    async def __aenter__(self) -> aiohttp.ClientSession:
        key = (id(asyncio.get_running_loop()), id(self.endpoint))
        session: Optional[aiohttp.ClientSession] = self._sessions.get(key)
        if session is None or session.closed:
            fresh = self.make(self.endpoint)  # Rasa's own session: headers, auth, timeout
            session = aiohttp.ClientSession(
                headers=fresh.headers,
                auth=fresh.auth,
                timeout=fresh.timeout,
                connector=aiohttp.TCPConnector(keepalive_timeout=KEEPALIVE_SECONDS),
                json_serialize=_dumps,
            )
            await fresh.close()
            self._sessions[key] = session
        return session

    async def __aexit__(self, *exc_info: object) -> None:
        return None


def _dumps(data: Any) -> str:
    """JSON text of a request body, as ``json.dumps`` writes it but faster."""
    return ujson.dumps(data, ensure_ascii=False, escape_forward_slashes=False)


def reuse_action_connections() -> None:
    """Keep the Rasa server's connections to the action server open between calls.

    Rasa 3.6 opens a new ``aiohttp`` session, and so a new TCP connection, for every
    custom-action call, which costs the Rasa server time on every message (measured:
    bench/README.md), plus the action server's time to accept the connection.
    """
    from rasa.utils.endpoints import EndpointConfig

    make = EndpointConfig.session
    if getattr(make, "make", None) is not None:
        return  # already applied (every channel calls this)

    def session(self: EndpointConfig) -> Any:
        return _SharedSession(self, make)

    session.make = make  # type: ignore[attr-defined]
    EndpointConfig.session = session


SECRET_HEADER = "X-Faqbot-Action-Secret"  # noqa: S105 - a header name, not a secret


def send_action_secret(secret: str) -> None:
    """Send ``secret`` in :data:`SECRET_HEADER` with every call to the action server.

    The action server refuses calls without it (:mod:`actions.guard`), so that no other program
    on the machine can run the bot's actions (and, say, rewrite a handoff's contact details).
    It is added to the action endpoint of each ``RemoteAction`` (custom actions, form
    validation), not to other endpoints, so no other server ever sees it.
    """
    from rasa.core.actions.action import RemoteAction

    original = RemoteAction.__dict__["__init__"]
    if getattr(original, "sends_secret", False):
        return  # already applied (every channel calls this)

    def init(self: RemoteAction, name: str, action_endpoint: Any) -> None:
        original(self, name, action_endpoint)
        if (
            action_endpoint is not None
            and (action_endpoint.headers or {}).get(SECRET_HEADER) != secret
        ):
            action_endpoint.headers = {**(action_endpoint.headers or {}), SECRET_HEADER: secret}

    init.sends_secret = True  # type: ignore[attr-defined]
    RemoteAction.__init__ = init
