"""The socket.io channel (``/socket.io``) used by the website widget, with the REST channel's rules.

Rasa's own socket.io channel crashes on this bot's ``custom`` payloads (it passes them to
``emit`` as keyword arguments), never joins the session's room with python-socketio 5 (it does not
await ``enter_room``), accepts messages of any shape and length, and sends nothing when an action
fails. This one:

* keeps a conversation per session (``session_persistence`` is always on): a client sends
  ``session_request {"session_id": <id or null>}`` and gets ``session_confirm <id>``; sending the
  stored id again after a page reload continues the conversation. Session ids are issued and
  signed by the server (:mod:`bot.channels.sessions`): an id the client made up gets a new
  session. A connection may only send messages for the session it confirmed; the conversation
  is ``widget:<session>``.
* limits each client (IP address) like the REST channel (:mod:`bot.channels.clients`), and
  drops oversized ``metadata``;
* takes ``user_uttered {"message": str, "session_id": str, "metadata": object?}``: control
  characters are dropped, overly long text is cut (with a note), each session is rate-limited,
  and a malformed event is answered with ``input_error {"error": ...}``;
* emits one ``bot_uttered {"text", "quick_replies"?, "custom"?}`` per bot message, the
  "can't answer right now" reply when the bot produced nothing, then ``bot_turn_end {}``;
* accepts browser connections only from ``FAQBOT_CORS_ORIGINS`` and this machine's own loopback
  origin (the demo page);
* answers a long-polling request that breaks the protocol (too large, unknown packet) with a 400
  at once, also when the client has no long-poll request waiting.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Awaitable, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import engineio
import rasa.core.channels.channel
from rasa.core.channels.channel import OutputChannel, UserMessage
from rasa.core.channels.socketio import SocketBlueprint
from rasa.core.channels.socketio import SocketIOInput as RasaSocketIOInput
from rasa.core.channels.socketio import SocketIOOutput as RasaSocketIOOutput
from sanic import Blueprint, Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncServer

from bot.channels.admission import Busy, turn_gate
from bot.channels.clients import ClientLimits, networks, request_client
from bot.channels.identity import conversation_id
from bot.channels.logs import where
from bot.channels.ratelimit import rate_limiter
from bot.channels.replies import (
    busy_message,
    failure_message,
    rate_limited_message,
    truncated_note,
)
from bot.channels.sessions import SessionSigner, session_secret
from bot.channels.validation import BadRequest, Incoming, bounded_metadata, clean_text
from bot.rasa_patches import apply_all
from knowledge.config import Settings

logger = logging.getLogger(__name__)

ERROR_EVT = "input_error"
TURN_END_EVT = "bot_turn_end"
MESSAGE_SHAPE = 'a message must be an object: {"message": "...", "session_id": "..."}'


def own_origins(environ: Mapping[str, Any]) -> List[str]:
    """The server's own loopback origins (the demo page on this machine), from its listening port.

    Neither ``Host`` nor ``X-Forwarded-Host`` is trusted: a client sets both.
    """
    request = environ.get("sanic.request")
    port = getattr(getattr(request, "conn_info", None), "server_port", None)
    if not port:
        return []
    return [f"http://{host}:{port}" for host in ("127.0.0.1", "localhost", "[::1]")]


class OriginCheck:
    """Decides which browser origins may connect: the configured ones and this machine's own."""

    def __init__(self, allowed: Sequence[str]):
        """``allowed``: origins such as ``https://www.clinic.example``; ``*`` allows all."""
        self.allow_all = "*" in allowed
        self.allowed = {origin.strip().rstrip("/").lower() for origin in allowed if origin}

    def __call__(self, origin: Optional[str], environ: Optional[Mapping[str, Any]] = None) -> bool:
        """Whether ``origin`` (the browser's ``Origin`` header) may connect."""
        if not origin:
            return False
        origin = origin.rstrip("/").lower()
        if self.allow_all or origin in self.allowed:
            return True
        return origin in own_origins(environ or {})


def bot_event(message: Mapping[str, Any]) -> Dict[str, Any]:
    """The ``bot_uttered`` event for one bot message: text, buttons and payload together."""
    event: Dict[str, Any] = {}
    text = message.get("text")
    if isinstance(text, str) and text.strip():
        event["text"] = text.strip()
    buttons = message.get("quick_replies") or message.get("buttons") or []
    replies = [
        {"content_type": "text", "title": str(b["title"]), "payload": str(b["payload"])}
        for b in buttons
        if isinstance(b, dict) and b.get("title") is not None and b.get("payload") is not None
    ]
    if replies:
        event["quick_replies"] = replies
    custom = message.get("custom")
    if isinstance(custom, dict) and custom:
        event["custom"] = custom
    for key in ("image", "attachment"):
        if message.get(key):
            event[key] = message[key]
    return event


class EngineIOCorsBlueprint(SocketBlueprint):
    """Attaches the socket.io server and leaves CORS on its path to it alone.

    ``rasa run --cors`` (``scripts/stack.py`` passes ``FAQBOT_CORS_ORIGINS``) makes Sanic-CORS add
    its own ``Access-Control-Allow-Origin`` to every response, and browsers refuse a response that
    has two. The socket.io server checks origins itself (also for WebSockets, which CORS does not
    cover), so requests on its path are marked as already handled for Sanic-CORS.
    """

    def register(self, app: Sanic, options: Dict[str, Any]) -> None:
        """Attach the socket.io server and the middleware that marks its requests."""
        from sanic_cors.core import SANIC_CORS_EVALUATED  # the Rasa server has it loaded

        prefix = "/" + str(self.ctx.socketio_path).strip("/")

        async def engineio_does_cors(request: Request) -> None:
            if request.path == prefix or request.path.startswith(prefix + "/"):
                setattr(request.ctx, SANIC_CORS_EVALUATED, "1")

        app.register_middleware(engineio_does_cors, "request")
        super().register(app, options)


class EngineIOServer(engineio.AsyncServer):
    """python-engineio's server, except that it drops a connection without waiting for the client.

    On a body larger than the limit or an unknown packet, python-engineio closes the connection
    and waits until the client has fetched the close packet. A client with no long-poll request
    waiting (a script, not a browser) never fetches it, so its POST hung until Sanic's timeout
    (60 s) and was answered with a 503; now it gets the 400 at once.
    """

    async def disconnect(self, sid: Optional[str] = None) -> None:
        """Close connection ``sid`` (all connections when ``None``)."""
        if sid is None:
            await super().disconnect()
            return
        socket = self.sockets.get(sid)
        if socket is not None:
            # A long-poll request that is waiting still gets the close packet.
            await socket.close(wait=False, reason=self.reason.SERVER_DISCONNECT)
            self.sockets.pop(sid, None)


class SocketIOServer(AsyncServer):
    """python-socketio's server on :class:`EngineIOServer`."""

    def _engineio_server_class(self) -> type:
        return EngineIOServer  # a private method: checked as socketio-engine (bot.rasa_patches)


class SocketIOOutput(RasaSocketIOOutput):
    """Emits each bot message as one event to the session's room, and counts them."""

    def __init__(
        self, sio: AsyncServer, bot_message_evt: str, namespace: Optional[str] = None
    ) -> None:
        """``namespace``: the socket.io namespace the input channel listens on."""
        super().__init__(sio, bot_message_evt)
        self.namespace = namespace
        self.sent = 0

    async def send_response(self, recipient_id: str, message: Dict[str, Any]) -> None:
        """Send one bot message (text, quick replies and ``custom`` payload in one event)."""
        event = bot_event(message)
        if event:
            await self.emit(recipient_id, event)

    async def emit(self, room: str, event: Dict[str, Any]) -> None:
        """Emit a ``bot_uttered`` event to a room."""
        await self.sio.emit(self.bot_message_evt, event, room=room, namespace=self.namespace)
        self.sent += 1

    async def _send_message(self, socket_id: str, response: Any) -> None:
        await self.emit(socket_id, response)  # checked as widget-output (bot.rasa_patches)

    async def send_custom_json(
        self, recipient_id: str, json_message: Dict[str, Any], **kwargs: Any
    ) -> None:
        """Send a ``custom`` payload on its own."""
        await self.emit(recipient_id, {"custom": json_message})


class SocketIOInput(RasaSocketIOInput):
    """Socket.io input channel with validated input, rate limit, failure reply and CORS."""

    def __init__(
        self,
        user_message_evt: str = "user_uttered",
        bot_message_evt: str = "bot_uttered",
        namespace: Optional[str] = None,
        socketio_path: str = "/socket.io",
        jwt_key: Optional[str] = None,
        jwt_method: str = "HS256",
        metadata_key: str = "metadata",
        settings: Optional[Settings] = None,
    ):
        """Limits, rate limit and allowed origins come from the project's settings."""
        super().__init__(
            user_message_evt,
            bot_message_evt,
            namespace,
            True,
            socketio_path,
            jwt_key,
            jwt_method,
            metadata_key,
        )
        self.settings = settings or Settings.from_env()
        self.max_chars = self.settings.max_message_chars
        self.limiter = rate_limiter(self.settings, self.name())
        self.origins = OriginCheck(self.settings.cors_origins)
        self.signer = SessionSigner(session_secret(self.settings))
        self.client_limits = ClientLimits(self.settings, self.name())
        self.proxies = networks(self.settings.trusted_proxies)
        # connection (socket id) -> (confirmed signed session id, conversation id)
        self.sessions: Dict[str, Tuple[str, str]] = {}
        self.clients: Dict[str, str] = {}  # connection -> client address
        apply_all(self.settings.action_timeout, self.settings.action_secret)

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> "SocketIOInput":
        """Build from ``credentials.yml`` (the keys of Rasa's socket.io channel)."""
        credentials = credentials or {}
        if credentials.get("session_persistence") is False:
            logger.warning("socketio channel: session_persistence is always on; ignoring false")
        return cls(
            credentials.get("user_message_evt", "user_uttered"),
            credentials.get("bot_message_evt", "bot_uttered"),
            credentials.get("namespace"),
            credentials.get("socketio_path", "/socket.io"),
            credentials.get("jwt_key"),
            credentials.get("jwt_method", "HS256"),
            credentials.get("metadata_key", "metadata"),
        )

    def get_output_channel(self) -> Optional[OutputChannel]:
        """The output channel for messages the bot sends on its own (e.g. reminders)."""
        if self.sio is None:
            return None
        return SocketIOOutput(self.sio, self.bot_message_evt, self.namespace)

    def authorised(self, auth: Any) -> bool:
        """Whether a connection may open (a valid JWT when ``jwt_key`` is set)."""
        if not self.jwt_key:
            return True
        token = auth.get("token") if isinstance(auth, dict) else None
        if not isinstance(token, str):
            return False
        try:
            payload = rasa.core.channels.channel.decode_bearer_token(
                token, self.jwt_key, self.jwt_algorithm
            )
        except Exception:  # noqa: BLE001 - a bad token only refuses the connection
            return False
        return bool(payload)

    def parse(self, sid: str, args: Sequence[Any]) -> Incoming:
        """Validate a ``user_uttered`` event from connection ``sid``.

        Raises:
            BadRequest: No confirmed session, or the event has the wrong shape or types.
        """
        if len(args) != 1 or not isinstance(args[0], dict):
            raise BadRequest(MESSAGE_SHAPE)
        data: Dict[str, Any] = args[0]
        confirmed = self.sessions.get(sid)
        if confirmed is None:
            raise BadRequest("no session yet: send session_request first")
        session, conversation = confirmed
        claimed = data.get("session_id")
        if claimed is not None and claimed != session:
            raise BadRequest("'session_id' is not this connection's session")
        message = data.get("message")
        if not isinstance(message, str):
            raise BadRequest("'message' is required and must be a string")
        metadata = data.get(self.metadata_key or "metadata")
        if isinstance(metadata, str):
            try:
                metadata = json.loads(metadata)
            except (ValueError, RecursionError) as exc:  # RecursionError: nested too deeply
                raise BadRequest(f"'{self.metadata_key}' must be a JSON object") from exc
        if metadata is not None and not isinstance(metadata, dict):
            raise BadRequest(f"'{self.metadata_key}' must be a JSON object")
        text, truncated = clean_text(message, self.max_chars)
        bounded = bounded_metadata(
            metadata, self.settings.max_metadata_bytes, self.settings.max_metadata_depth
        )
        return Incoming(conversation, text, bounded, truncated)

    async def process(
        self,
        sio: AsyncServer,
        incoming: Incoming,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        client: str = "unknown",
    ) -> None:
        """Run one message of ``client`` through the bot; the patient always gets a reply."""
        room = incoming.sender
        output = SocketIOOutput(sio, self.bot_message_evt, self.namespace)
        if not self.limiter.allow(room):
            await output.send_response(room, rate_limited_message(self.settings, room))
        elif not self.client_limits.admit(client, room):
            await output.send_response(room, busy_message(self.settings, room))
        else:
            if incoming.truncated:
                note = SocketIOOutput(sio, self.bot_message_evt, self.namespace)
                await note.send_response(room, {"text": truncated_note(self.max_chars)})
            try:
                await on_new_message(
                    UserMessage(
                        incoming.text,
                        output,
                        room,
                        input_channel=self.name(),
                        metadata=incoming.metadata,
                    )
                )
            except Busy:
                await output.send_response(room, busy_message(self.settings, room))
            except Exception as exc:  # noqa: BLE001 - the patient gets a reply, the log the place
                logger.error("socketio channel: message processing failed: %s", where(exc))
            if not output.sent:
                # Every message has a reply in this bot; none means an action failed or timed
                # out (Rasa logs it and sends nothing), so the patient is told what to do.
                await output.send_response(room, failure_message(self.settings, room))
        await sio.emit(TURN_END_EVT, {}, room=room, namespace=self.namespace)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """``GET /webhooks/socketio/`` health, and the socket.io server at ``socketio_path``."""
        on_new_message = turn_gate(self.settings).wrap(on_new_message)
        sio = SocketIOServer(
            async_mode="sanic",
            cors_allowed_origins=self.origins,
            max_http_buffer_size=self.settings.max_body_bytes,
            # Long-polling only: WebSockets fail inside Sanic 21.12 on Python 3.11 (it passes
            # coroutines to asyncio.wait), so upgrades are not offered.
            transports=["polling"],
            allow_upgrades=False,
        )
        hook = EngineIOCorsBlueprint(sio, self.socketio_path, "socketio_webhook", __name__)
        self.sio = sio
        namespace = self.namespace

        @hook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @sio.on("connect", namespace=namespace)
        async def connect(sid: str, environ: Any = None, auth: Any = None, *_: Any) -> bool:
            if not self.authorised(auth):
                return False
            # A client can also emit an event named "connect" (any arguments): only the real
            # connection, which comes first, names the client.
            request = environ.get("sanic.request") if isinstance(environ, dict) else None
            client = request_client(request, self.proxies) if request else "unknown"
            self.clients.setdefault(sid, client)
            return True

        @sio.on("disconnect", namespace=namespace)
        async def disconnect(sid: str, *_: Any) -> None:
            self.sessions.pop(sid, None)
            self.clients.pop(sid, None)

        @sio.on("session_request", namespace=namespace)
        async def session_request(sid: str, *args: Any) -> None:
            if not sio.manager.is_connected(sid, namespace or "/"):
                return  # it hung up before this ran (e.g. later in the same POST): no rooms
            data = args[0] if args and isinstance(args[0], dict) else {}
            session = data.get("session_id")
            verified = self.signer.verify(session)
            if verified is None:  # none, or not one this server issued: a new conversation
                session = self.signer.issue()
                verified = str(self.signer.verify(session))
            room = conversation_id("widget", verified)
            previous = self.sessions.get(sid)
            if previous is not None and previous[1] != room:
                await sio.leave_room(sid, previous[1], namespace=namespace)
            await sio.enter_room(sid, room, namespace=namespace)
            self.sessions[sid] = (str(session), room)
            await sio.emit("session_confirm", session, room=sid, namespace=namespace)

        @sio.on(self.user_message_evt, namespace=namespace)
        async def handle_message(sid: str, *args: Any) -> None:
            try:
                incoming = self.parse(sid, args)
            except BadRequest as exc:
                await sio.emit(ERROR_EVT, {"error": str(exc)}, room=sid, namespace=namespace)
                return
            await self.process(sio, incoming, on_new_message, self.clients.get(sid, "unknown"))

        return hook
