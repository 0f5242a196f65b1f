"""How the Rasa server calls the action server: short timeout, cheap checks, kept connections.

Replacements for module-level behaviour of Rasa 3.6's ``RemoteAction`` and ``EndpointConfig``
(no setting exists for any of them). Each function here makes one replacement from the original
it replaces; :mod:`bot.rasa_patches` checks the targets and installs them.
"""

from __future__ import annotations

import asyncio
from typing import Any, Callable, Dict, Hashable, Optional

import aiohttp
import ujson

# Idle connections to the action server are closed after this many seconds, before Sanic's own
# keep-alive timeout (5 s) can close them under a request that is just being sent.
KEEPALIVE_SECONDS = 2.0
SECRET_HEADER = "X-Faqbot-Action-Secret"  # noqa: S105 - a header name, not a secret


def request_timeout(original: float, seconds: float) -> float:
    """The Rasa server gives up on the action server after ``seconds`` instead of 300.

    Rasa 3.6 reads the timeout of every custom-action call from a module constant and offers no
    setting for it; a late reply is then replaced by the channels' "can't answer right now".
    """
    return seconds


def validate_once(original: Callable[..., Any]) -> Callable[..., bool]:
    """``RemoteAction._validate_action_result`` with a validator built once.

    Rasa 3.6 calls ``jsonschema.validate`` on every reply, which first re-checks the constant
    schema against the JSON-Schema meta-schema: 17.6 ms of the Rasa server's CPU per custom-action
    call here, against 0.23 ms for the reply alone (bench/README.md). Replies are checked exactly
    as before and an invalid one still raises ``jsonschema.ValidationError`` with Rasa's hint.
    """
    import jsonschema
    from rasa.core.actions.action import RemoteAction

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

    return validate


class _SessionPool:
    """The open sessions: one per event loop and endpoint configuration.

    Rasa's own session for an endpoint is made of the endpoint's headers and basic auth only (its
    timeout is a constant), so endpoints that agree on both share one session; one whose headers
    change gets a new one. Sessions of an event loop that has been closed are closed and dropped
    when the next session is made (their connections died with the loop).
    """

    def __init__(self) -> None:
        self._by_loop: Dict[asyncio.AbstractEventLoop, Dict[Hashable, aiohttp.ClientSession]] = {}

    async def get(self, endpoint: Any, make: Callable[[Any], Any]) -> aiohttp.ClientSession:
        """The open session for ``endpoint`` on the running loop, made if there is none."""
        loop = asyncio.get_running_loop()
        key = _config_key(endpoint)
        sessions = self._by_loop.get(loop)
        session: Optional[aiohttp.ClientSession] = sessions.get(key) if sessions else None
        if session is None or session.closed:
            await self._drop_closed_loops()
            fresh = make(endpoint)  # Rasa's own session: headers, auth, timeout
            session = aiohttp.ClientSession(
                headers=fresh.headers,
                auth=fresh.auth,
                timeout=fresh.timeout,
                connector=aiohttp.TCPConnector(keepalive_timeout=KEEPALIVE_SECONDS),
                json_serialize=_dumps,
            )
            await fresh.close()
            self._by_loop.setdefault(loop, {})[key] = session
        return session

    async def _drop_closed_loops(self) -> None:
        for loop in [loop for loop in self._by_loop if loop.is_closed()]:
            for session in self._by_loop.pop(loop).values():
                await session.close()  # nothing left to do on a closed loop but mark it closed

    def __len__(self) -> int:
        return sum(len(sessions) for sessions in self._by_loop.values())


def _config_key(endpoint: Any) -> Hashable:
    """What Rasa's own session for ``endpoint`` is made of: its headers and basic auth."""
    headers = endpoint.headers or {}
    auth = endpoint.basic_auth or {}
    try:
        return (frozenset(headers.items()), frozenset(auth.items()))
    except TypeError:  # a header value that cannot be hashed
        return repr((sorted(headers.items()), sorted(auth.items())))


class _SharedSession:
    """What ``EndpointConfig.session()`` returns instead of a new ``aiohttp.ClientSession``.

    Used as ``async with endpoint.session() as session``, it hands out the pool's session for the
    endpoint and event loop and leaves it open, so its connections are reused by the next call.
    Request bodies are written with ujson: the whole conversation goes to the action server on
    every call, and the standard library's encoder took 6% of the Rasa server's time per message.
    """

    pool = _SessionPool()

    def __init__(self, endpoint: Any, make: Callable[[Any], Any]) -> None:
        self.endpoint = endpoint
        self.make = make

    async def __aenter__(self) -> aiohttp.ClientSession:
        return await self.pool.get(self.endpoint, self.make)

    async def __aexit__(self, *exc_info: object) -> None:
        return None


def _dumps(data: Any) -> str:
    """JSON text of a request body, as ``json.dumps`` writes it but faster."""
    return ujson.dumps(data, ensure_ascii=False, escape_forward_slashes=False)


def shared_sessions(original: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``EndpointConfig.session`` that keeps the connections to the action server open.

    Rasa 3.6 opens a new ``aiohttp`` session, and so a new TCP connection, for every
    custom-action call: about 8% of the Rasa server's time per message under load, plus the
    action server's time to accept the connection.
    """

    def session(self: Any) -> Any:
        return _SharedSession(self, original)

    return session


def send_secret(original: Callable[..., None], secret: str) -> Callable[..., None]:
    """``RemoteAction.__init__`` that sends ``secret`` in :data:`SECRET_HEADER` on every call.

    The action server refuses calls without it (:mod:`actions.guard`), so that no other program
    on the machine can run the bot's actions (and, say, rewrite a handoff's contact details).
    It is added to the action endpoint of each ``RemoteAction`` (custom actions, form
    validation), not to other endpoints, so no other server ever sees it.
    """

    def init(self: Any, name: str, action_endpoint: Any) -> None:
        original(self, name, action_endpoint)
        if (
            action_endpoint is not None
            and (action_endpoint.headers or {}).get(SECRET_HEADER) != secret
        ):
            action_endpoint.headers = {**(action_endpoint.headers or {}), SECRET_HEADER: secret}

    return init
