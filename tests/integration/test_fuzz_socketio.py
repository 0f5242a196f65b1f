"""Generated hostile input against the running socket.io channel: no 5xx, the server stays up.

Hypothesis sends 5,000 inputs to ``/socket.io/``, the widget's channel (Engine.IO 4 long-polling
only; WebSockets are not offered), on two levels:

* **Raw HTTP**, about two in five: handshakes ``GET /socket.io/?EIO=4&transport=polling`` with
  wrong, missing or repeated Engine.IO versions, transports and JSONP indexes and with foreign or
  junk origins; polls and posts for session ids that do not exist; other HTTP methods; and posts to
  a live Engine.IO session (connected to socket.io, with a confirmed conversation) of raw bytes,
  invalid UTF-8, bodies over the 64 KiB limit, JSONP forms and Engine.IO payloads of packets of
  every type, carrying Socket.IO packets of every type with events of any JSON shape. Each request
  gets exactly the status that python-engineio's checks give it, predicted here from the request:
  200, 400, or 405 for methods other than GET, POST and OPTIONS; never a 5xx or a stack trace.
* **Events**, the rest: python-socketio clients connected as the widget is emit ``user_uttered``
  with payloads of any JSON shape, odd text (control characters, lone surrogates, right-to-left
  marks, emoji, up to hundreds of kilobytes), wrong types for ``message``, ``session_id`` and
  ``metadata`` (also metadata as JSON text, nested too deeply to decode), binary and several
  arguments; ``session_request`` with any session id; and unknown events. Each gets what
  ``bot/channels/socketio.py`` documents: ``input_error {"error"}`` for a malformed message,
  otherwise ``bot_uttered`` events then ``bot_turn_end``; ``session_confirm`` with the id asked
  for when it is plain (``[A-Za-z0-9_.:-]``, 1 to 128 characters), else a new one; nothing for an
  unknown event; and an event larger than the limit closes the client's connection (a 400 to its
  POST), after which it reconnects.

A few clients stay connected (reconnected when the server closes one), and their messages belong
to a few conversations, so the rate limit soon answers them cheaply. Afterwards the server's memory
has not grown by more than 150 MB, no handler of the channel raised, and a real question over
socket.io still gets its cited answer. Inputs that once broke the channel (``FOUND``) are always
sent first.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import queue
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, replace
from typing import Any, Dict, List, Optional, Sequence, Set, Tuple, Union
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
import socketio
from engineio import packet as eio_packet
from engineio.payload import Payload
from hypothesis import example, given
from hypothesis import strategies as st
from socketio import packet as sio_packet

from scripts.stack import Stack
from tests.integration.fuzzing import (
    EXAMPLES,
    FUZZ,
    MAX_BODY_BYTES,
    MAX_RSS_GROWTH_MB,
    TRACE_MARKERS,
    Case,
    LogWatch,
    Tally,
    cpu_seconds,
    header_junk,
    huge_text,
    json_values,
    mostly,
    not_strings,
    odd_text,
    payload_text,
    rss_mb,
    weighted,
)

pytestmark = pytest.mark.integration
PATH = "/socket.io/"
# The conversations of the event-level clients (one client each); a few, so that the rate limit
# soon answers their well-formed messages without running the bot.
# Names of sessions, each replaced by the signed id the server issued for it when sent (the
# server gives sessions; a client cannot choose one).
SESSIONS = ["fuzz-sio-a", "fuzz-sio-b", "fuzz-sio-c"]
SESSION_CLIENT = len(SESSIONS)  # the client that only sends session_request
SPARE = "fuzz-sio-spare"  # the session client's own session, which it may ask for again
RAW_SESSION = "fuzz-sio-raw"  # the conversation of the raw Engine.IO session
PLAIN = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:-")
NEW_SESSION = re.compile(r"[0-9a-f]{32}\.[0-9a-f]{32}")
HANDLED = {"session_request", "user_uttered"}
# Sizes this close to the limit may or may not fit once the client adds a pong to the POST.
SIZE_MARGIN = 100
REPLY_TIMEOUT = 60.0
QUESTION = "how much does exosome therapy cost for a foot ulcer?"


# -- raw HTTP requests -------------------------------------------------------------------------


@dataclass(frozen=True)
class Raw:
    """One generated HTTP request to the Engine.IO endpoint, before it is addressed.

    ``params`` is the query in order; a ``sid`` of :data:`LIVE` is replaced by the live session's
    id. ``origin`` names an ``Origin`` header (see :func:`origin_header`).
    """

    kind: str
    method: str
    params: Tuple[Tuple[str, str], ...]
    body: bytes
    origin: str


@dataclass(frozen=True)
class Request(Case):
    """A :class:`Case` with its method and URL (for failure messages)."""

    method: str = "GET"
    url: str = ""

    def describe(self) -> str:
        """The method, the URL cut to 200 characters, then the body and headers."""
        return f"{self.method} {self.url[:200]} {super().describe()}"


Params = List[Tuple[str, str]]
LIVE = "<live>"
ORIGINS = ["own", "own/", "OWN", "https", "other port", "foreign", "null"]


def origin_header(origin: str, port: int) -> Optional[str]:
    """The ``Origin`` header named by ``origin`` (``""``: none; not in ORIGINS: itself)."""
    own = f"http://127.0.0.1:{port}"
    return {
        "": None,
        "own": own,
        "own/": own + "/",
        "OWN": own.upper(),
        "https": f"https://127.0.0.1:{port}",
        "other port": f"http://127.0.0.1:{port + 1}",
        "foreign": "https://evil.example",
        "null": "null",
    }.get(origin, origin)


def origin_allowed(header: Optional[str], port: int) -> bool:
    """The channel's rule: no ``Origin`` (not a browser), or this machine's own loopback origin
    on the server's port (plain http: the demo page; no origin is taken from ``Host``)."""
    if not header:
        return True
    own = {f"http://{host}:{port}" for host in ("127.0.0.1", "localhost", "[::1]")}
    return header.rstrip("/").lower() in own


def post_status(body: bytes) -> Tuple[int, bool]:
    """What python-engineio answers to a POST of ``body`` to a live session, and if it closes it.

    400 when the body is over the limit, or when a packet that the server does not take from a
    client (open, ping, noop, or an upgrade after a close) comes before any packet that makes it
    give up; otherwise 200, also for a body that is not UTF-8 or not a payload at all (the server
    logs that and carries on).
    """
    if len(body) > MAX_BODY_BYTES:
        return 400, True
    try:
        packets = Payload(encoded_payload=body.decode("utf-8")).packets
    except Exception:  # noqa: BLE001 - whatever the decoder raises, the server answers 200
        return 200, False
    closed = False
    for pkt in packets:
        kind = pkt.packet_type
        if kind == eio_packet.CLOSE:
            closed = True
        elif kind in (eio_packet.OPEN, eio_packet.PING, eio_packet.NOOP) or (
            kind == eio_packet.UPGRADE and closed
        ):
            return 400, True
        elif kind not in (eio_packet.PONG, eio_packet.MESSAGE, eio_packet.UPGRADE):
            return 200, closed  # no such packet type: logging it fails, the server gives up
    return 200, closed


def expected_status(
    method: str, query: str, origin: Optional[str], port: int, body: bytes, live: Optional[str]
) -> Tuple[int, bool]:
    """The status python-engineio (behind Sanic) documents for a request, and if it reached
    session ``live`` (the live session's id)."""
    if method == "OPTIONS":
        return 200, False  # a CORS preflight, answered before the Engine.IO server
    if method not in ("GET", "POST"):
        return 405, False
    if not origin_allowed(origin, port):
        return 400, False
    params = parse_qs(query)
    if params.get("transport", ["polling"])[0] != "polling":
        return 400, False
    sid = params["sid"][0] if "sid" in params else None
    if sid is None and params.get("EIO") != ["4"]:
        return 400, False
    if "j" in params:
        try:
            int(params["j"][0])
        except ValueError:
            return 400, False
    if sid is None:
        return (200 if method == "GET" else 400), False  # GET: a handshake, a new session
    if sid != live:
        return 400, False  # no such session
    return (200 if method == "GET" else post_status(body)[0]), True


def echoed(query: str, origin: Optional[str]) -> List[str]:
    """What an Engine.IO error may quote from a request: the session id and the origin."""
    return [value for value in [*parse_qs(query).get("sid", []), origin or ""] if value]


def no_marker(text: str) -> bool:
    """Whether ``text`` (quoted back in an error) contains nothing that looks like a trace."""
    return not any(marker in text for marker in TRACE_MARKERS)


def param(name: str, good: str, bad: st.SearchStrategy[str]) -> st.SearchStrategy[Params]:
    """``[(name, good)]`` mostly; else a wrong value, no parameter, or the parameter twice."""
    return weighted(
        (14, st.just([(name, good)])),
        (3, bad.map(lambda value: [(name, value)])),
        (2, st.just([])),
        (1, (bad | st.just(good)).map(lambda value: [(name, good), (name, value)])),
    )


eio_versions = st.sampled_from(["3", "5", "", "4 ", "04", "4.0", "four", "\u0664"]) | st.text(
    max_size=5
)
transports = st.sampled_from(["websocket", "", "POLLING", "xhr-polling", "polling "]) | st.text(
    max_size=10
)
jsonp = st.sampled_from(["0", "1", "-1", " 7", "x", "", "1e3", "\u0663"]) | st.integers().map(str)
# Session ids that no session has (an error quotes them back).
stale_sids = (
    st.sampled_from(["", "null", "undefined", "0", "a" * 20, "%", "\ud800", "x" * 300])
    | st.text(min_size=1, max_size=40)
    | st.binary(min_size=15, max_size=15).map(lambda b: base64.urlsafe_b64encode(b).decode())
).filter(no_marker)
extra_params = st.lists(
    st.tuples(
        st.sampled_from(["t", "b64", "EIO", "transport", "j", "sid", ""]) | st.text(max_size=8),
        st.text(max_size=20).filter(no_marker),
    ),
    max_size=2,
)
origins = weighted(
    (14, st.just("")),
    (4, st.sampled_from(ORIGINS)),
    (1, header_junk.filter(no_marker)),
)


def queries(sid: st.SearchStrategy[Params]) -> st.SearchStrategy[Params]:
    """Query parameters: the right ones mostly, with ``sid``, sometimes in another order."""
    pairs = st.builds(
        lambda *parts: [pair for part in parts for pair in part],
        param("EIO", "4", eio_versions),
        param("transport", "polling", transports),
        weighted((8, st.just([])), (2, jsonp.map(lambda value: [("j", value)]))),
        sid,
        mostly(st.just([]), extra_params),
    )
    return pairs.flatmap(lambda found: mostly(st.just(found), st.permutations(found)))


no_sid: st.SearchStrategy[Params] = st.just([])
a_stale_sid = stale_sids.map(lambda sid: [("sid", sid)])
the_live_sid = st.just([("sid", LIVE)])

# Engine.IO payloads: packets (Socket.IO packets inside message packets) joined by "\x1e".
EVENT_NAMES = ["user_uttered", "connect", "disconnect", "session_confirm", "bot_uttered", "nope"]
raw_messages = st.fixed_dictionaries(
    {},
    optional={
        "message": mostly(odd_text, not_strings),
        "session_id": mostly(st.just(RAW_SESSION), st.text(max_size=10) | not_strings),
        "metadata": mostly(
            st.dictionaries(st.text(max_size=5), json_values, max_size=2), json_values
        ),
    },
)
event_data = weighted(
    (
        10,
        st.tuples(
            st.sampled_from(EVENT_NAMES) | st.text(max_size=10),
            st.lists(raw_messages | json_values, max_size=2),
        ).map(lambda pair: json.dumps([pair[0], *pair[1]])),
    ),
    # A raw session only ever asks for its own conversation, so that the bot (rate-limited
    # there) is not run for fresh conversations whose replies nobody fetches.
    (2, st.just(json.dumps(["session_request", {"session_id": RAW_SESSION}]))),
    (3, json_values.map(json.dumps)),
    (1, st.integers(1000, 20_000).map(lambda depth: "[" * depth)),
    (2, st.text(max_size=30)),
)
socketio_packets = st.builds(
    lambda kind, attachments, namespace, ack, data: f"{kind}{attachments}{namespace}{ack}{data}",
    kind=weighted((8, st.just("2")), (4, st.sampled_from("0123456789")), (1, st.text(max_size=2))),
    attachments=mostly(st.just(""), st.sampled_from(["1-", "0-", "11-", "-"])),
    namespace=mostly(st.just(""), st.sampled_from(["/,", "/nope,", "/", "/?x=1,", "/\ud800,"])),
    ack=mostly(st.just(""), st.integers(0, 10**12).map(str)),
    data=mostly(event_data, st.sampled_from(["", "{}", "[]", "null", "{", "auth"])),
)
engineio_packets = weighted(
    (12, socketio_packets.map(lambda packet: "4" + packet)),
    (4, st.tuples(st.sampled_from("0123456789"), st.text(max_size=10)).map("".join)),
    (2, st.sampled_from(["3", "5", "1", "3probe", "5probe"])),
    (1, st.binary(max_size=30).map(lambda data: "b" + base64.b64encode(data).decode())),
    (1, st.text(max_size=10).map(lambda text: "b" + text)),
    (1, st.text(max_size=20)),
)
payloads = st.lists(engineio_packets, min_size=1, max_size=4).map("\x1e".join)
live_bodies = weighted(
    # Lone surrogates become bytes that are not UTF-8.
    (30, payloads.map(lambda text: text.encode("utf-8", "surrogatepass"))),
    (6, st.binary(max_size=300)),
    (2, payloads.map(lambda text: urlencode({"d": text}, errors="surrogatepass").encode())),
    (2, st.integers(MAX_BODY_BYTES + 1, MAX_BODY_BYTES + 5000).map(lambda n: b"4" * n)),
    (1, st.integers(100, MAX_BODY_BYTES - 40).map(lambda n: b'42["nope","' + b"x" * n + b'"]')),
)


def raw(
    kind: str,
    method: st.SearchStrategy[str],
    params: st.SearchStrategy[Params],
    body: st.SearchStrategy[bytes],
) -> st.SearchStrategy[Raw]:
    return st.builds(Raw, st.just(kind), method, params.map(tuple), body, origins)


raw_requests = weighted(
    (14, raw("handshake", st.just("GET"), queries(no_sid), st.just(b""))),
    (5, raw("stale session", st.sampled_from(["GET", "POST"]), queries(a_stale_sid), live_bodies)),
    (24, raw("live POST", st.just("POST"), queries(the_live_sid), live_bodies)),
    (8, raw("live GET", st.just("GET"), queries(the_live_sid), st.just(b""))),
    (
        3,
        raw(
            "other method",
            st.sampled_from(["PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]),
            queries(no_sid | a_stale_sid),
            st.binary(max_size=50),
        ),
    ),
)


class EngineTally(Tally):
    """A :class:`Tally` for the Engine.IO endpoint, whose errors are JSON strings (or Sanic's)."""

    def exchange(self, http: requests.Session, request: Request, echoes: Sequence[str] = ()) -> str:
        """Send ``request``, check the reply (it may quote ``echoes``) and return its text."""
        reply = self.send(http, request.method, request.url, request, timeout=20)
        self.check(request, reply, echoes)
        return reply.text

    def check(self, case: Case, reply: requests.Response, echoes: Sequence[str] = ()) -> None:
        """Assert a clean, expected answer (an Engine.IO error is a JSON string) and count it."""
        status = reply.status_code
        self.statuses[status] += 1
        self.by_kind[(case.kind, status)] += 1
        assert self.stack.procs["rasa"].poll() is None, "the Rasa server exited"
        assert status < 500, (status, reply.text[:300], case.describe())
        assert status in case.expected, (status, reply.text[:300], case.describe())
        text = reply.text
        for value in echoes:
            text = text.replace(json.dumps(value)[1:-1], "")
        for marker in TRACE_MARKERS:
            assert marker not in text, (marker, reply.text[:300], case.describe())
        if status == 400:
            assert isinstance(json.loads(reply.text), str), reply.text[:300]


SID_IN_HANDSHAKE = re.compile(r'sid\\?":\\?"([A-Za-z0-9_-]+)')
LIVE_FOR = 10.0  # seconds; the server closes a session that does not answer its pings for 45 s


class RawClient:
    """Sends the raw requests, and keeps one live Engine.IO session to send some of them to.

    The live session is connected to Socket.IO and has confirmed :data:`RAW_SESSION`; a new one
    is opened when the server closed it, a request may have, or it is :data:`LIVE_FOR` old.
    """

    def __init__(self, stack: Stack, tally: EngineTally) -> None:
        self.port = stack.rasa_port
        self.base = f"http://127.0.0.1:{stack.rasa_port}{PATH}"
        self.tally = tally
        self.http = requests.Session()
        self.sid: Optional[str] = None
        self.opened = 0.0
        self.sessions = 0  # live sessions opened

    def url(self, params: Sequence[Tuple[str, str]]) -> str:
        return f"{self.base}?{urlencode(list(params), errors='surrogatepass')}"

    def session_params(self, sid: str) -> Params:
        return [("EIO", "4"), ("transport", "polling"), ("sid", sid)]

    def must(self, kind: str, method: str, params: Params, body: bytes = b"") -> str:
        """Send a request that must succeed (200); its text."""
        request = Request(kind, body, {}, frozenset({200}), method, self.url(params))
        return self.tally.exchange(self.http, request)

    def live(self) -> str:
        """The live session's id (a new session if needed)."""
        if self.sid is not None and time.monotonic() - self.opened > LIVE_FOR:
            self.must("live setup", "POST", self.session_params(self.sid), b"1")
            self.sid = None
        if self.sid is None:
            found = SID_IN_HANDSHAKE.search(
                self.must("live setup", "GET", [("EIO", "4"), ("transport", "polling")])
            )
            assert found, "no session id in the handshake"
            self.sid, self.opened = found.group(1), time.monotonic()
            self.sessions += 1
            confirm = json.dumps(["session_request", {"session_id": RAW_SESSION}]).encode()
            self.must("live setup", "POST", self.session_params(self.sid), b"40")
            self.must("live setup", "POST", self.session_params(self.sid), b"42" + confirm)
        return self.sid

    def send(self, generated: Raw) -> None:
        """Address, send and check one generated request."""
        live = self.live() if generated.kind.startswith("live") else None
        if generated.kind == "live GET" and live is not None:
            # Something to fetch (a noop packet), so that the poll is answered at once.
            self.must("live setup", "POST", self.session_params(live), b"5")
        params = [(k, live if v == LIVE and live else v) for k, v in generated.params]
        headers = {"Content-Type": "text/plain;charset=UTF-8"}
        origin = origin_header(generated.origin, self.port)
        if origin is not None:
            headers["Origin"] = origin
        url = str(self.http.prepare_request(requests.Request("GET", self.url(params))).url)
        sent = urlsplit(url).query
        expected, reached = expected_status(
            generated.method, sent, origin, self.port, generated.body, live
        )
        request = Request(
            generated.kind, generated.body, headers, frozenset({expected}), generated.method, url
        )
        text = self.tally.exchange(self.http, request, echoed(sent, origin))
        if reached and generated.method == "POST" and post_status(generated.body)[1]:
            self.sid = None  # closed by the server or by the client's close packet
        if generated.method == "GET" and expected == 200 and not reached:
            # A handshake made a session: close it (so that only a few stay open).
            found = SID_IN_HANDSHAKE.search(text)
            assert found, text[:300]
            self.must("close", "POST", self.session_params(found.group(1)), b"1")

    def close(self) -> None:
        """Close the live session (best effort: the server may be gone)."""
        if self.sid is not None:
            with contextlib.suppress(requests.RequestException):
                self.http.post(self.url(self.session_params(self.sid)), data=b"1", timeout=5)
        self.http.close()


# -- socket.io events --------------------------------------------------------------------------


@dataclass(frozen=True)
class Emit:
    """One event a socket.io client emits; ``client`` indexes SESSIONS (or is SESSION_CLIENT)."""

    kind: str
    client: int
    event: Any
    args: Tuple[Any, ...]


def documented_reply(args: Tuple[Any, ...], own: str) -> str:
    """What ``user_uttered`` with ``args`` gets on a connection whose session is ``own``.

    ``"input_error"`` unless there is one argument, an object whose ``message`` is a string,
    whose ``session_id`` is missing, null or ``own``, and whose ``metadata`` is missing, null,
    an object, or JSON text of one (or of null); then ``"bot"``.
    """
    if len(args) != 1 or not isinstance(args[0], dict):
        return "input_error"
    data = args[0]
    claimed, metadata = data.get("session_id"), data.get("metadata")
    if (claimed is not None and claimed != own) or not isinstance(data.get("message"), str):
        return "input_error"
    if isinstance(metadata, str):
        try:
            metadata = json.loads(metadata)
        except (ValueError, RecursionError):
            return "input_error"
    return "bot" if metadata is None or isinstance(metadata, dict) else "input_error"


def documented_session(args: Tuple[Any, ...], issued: Sequence[str]) -> Optional[str]:
    """The session ``session_request`` with ``args`` confirms: the one asked for if the server
    issued it (one of ``issued``); ``None`` for a new one."""
    wanted = args[0].get("session_id") if args and isinstance(args[0], dict) else None
    return wanted if isinstance(wanted, str) and wanted in issued else None


def resolved(value: Any, issued: Dict[str, str]) -> Any:
    """``value`` with every session name (:data:`SESSIONS`, :data:`SPARE`) replaced by its id."""
    if isinstance(value, str):
        return issued.get(value, value)
    if isinstance(value, tuple):
        return tuple(resolved(item, issued) for item in value)
    if isinstance(value, dict):
        return {key: resolved(item, issued) for key, item in value.items()}
    return value


def post_size(event: Any, args: Tuple[Any, ...]) -> int:
    """Bytes of the Engine.IO payload that carries the event (its text part, if binary)."""
    encoded = sio_packet.Packet(sio_packet.EVENT, data=[event, *args]).encode()
    first = encoded[0] if isinstance(encoded, list) else encoded
    return len(("4" + first).encode("utf-8"))


texts = weighted(
    (30, odd_text),
    (6, payload_text),
    (3, huge_text(1900, 2100)),
    (2, huge_text(20_000, 70_000)),  # over the 64 KiB limit once encoded, or not
)
objects = st.dictionaries(st.text(max_size=10), json_values, max_size=3)
metadata_values = weighted(
    (8, objects),
    (2, objects.map(json.dumps)),
    (2, st.sampled_from(["null", "[]", "[1, 2]", '"x"', "{oops", "", "NaN", "1" * 5000])),
    (1, st.text(max_size=20)),
    (2, not_strings),
    # Deeper than the JSON decoder goes (in any process: its limit is the recursion limit).
    (2, st.integers(20_000, 30_000).map(lambda depth: "[" * depth + "]" * depth)),
)


UNKNOWN_EVENTS = [
    "connect",
    "disconnect",
    "message",
    "bot_uttered",
    "bot_turn_end",
    "session_confirm",
    "input_error",
    "*",
    "",
    "user_uttered ",
    "USER_UTTERED",
    "session_request\x00",
]


def message_events(index: int) -> st.SearchStrategy[Emit]:
    """Events from the client of ``SESSIONS[index]``: messages of any shape, unknown events."""
    own, other = SESSIONS[index], SESSIONS[(index + 1) % len(SESSIONS)]
    sessions = weighted(
        (10, st.just(own)),
        (5, st.none()),
        (1, st.sampled_from([other, own + "x", "", own.upper(), own + "\n", RAW_SESSION])),
        (1, not_strings),
    )
    fields = st.fixed_dictionaries(
        {"message": mostly(texts, not_strings | st.binary(max_size=10))},
        optional={
            "session_id": sessions,
            "metadata": metadata_values,
            "sender": json_values,
            "": json_values,
        },
    )
    some_fields = st.fixed_dictionaries(
        {}, optional={"session_id": sessions, "metadata": metadata_values, "text": texts}
    )
    names = weighted(
        (6, st.text(max_size=20).filter(lambda name: name not in HANDLED)),
        (3, st.sampled_from(UNKNOWN_EVENTS)),
        (1, not_strings),
    )

    def user_uttered(args: Sequence[Any]) -> Emit:
        return Emit("user_uttered", index, "user_uttered", tuple(args))

    return weighted(
        (50, fields.map(lambda data: [data]).map(user_uttered)),
        (3, some_fields.map(lambda data: [data]).map(user_uttered)),
        (6, json_values.map(lambda value: [value]).map(user_uttered)),
        (3, st.lists(json_values | fields, max_size=3).map(user_uttered)),
        (2, st.binary(max_size=40).map(lambda data: [data]).map(user_uttered)),
        (
            2,
            huge_text(66_000, 80_000).map(
                lambda text: Emit("oversized", index, "user_uttered", ({"message": text},))
            ),
        ),
        (
            8,
            st.tuples(names, st.lists(json_values, max_size=2)).map(
                lambda pair: Emit("unknown event", index, pair[0], tuple(pair[1]))
            ),
        ),
    )


session_ids = weighted(
    (2, st.just(SPARE)),  # issued by the server to this client: kept
    (6, st.text(alphabet=sorted(PLAIN), min_size=1, max_size=128)),
    (2, st.sampled_from(["", "a b", "x" * 129, "../../etc/passwd", "fuzz\n", "fuzz\x00", "é"])),
    (1, st.sampled_from(["\ud800", "a/b", " fuzz", "fuzz ", "fuzz\r\n", "\u202efuzz", "🙂"])),
    (2, st.text(max_size=140)),
    (1, not_strings),
).filter(lambda wanted: wanted not in [*SESSIONS, RAW_SESSION] or wanted == SPARE)
session_events = weighted(
    (
        10,
        st.fixed_dictionaries({"session_id": session_ids}, optional={"": json_values}).map(
            lambda data: (data,)
        ),
    ),
    (2, json_values.map(lambda value: (value,))),
    (1, st.lists(json_values, max_size=3).map(tuple)),
    (1, st.binary(max_size=20).map(lambda data: (data,))),
).map(lambda args: Emit("session_request", SESSION_CLIENT, "session_request", args))
events = weighted(
    *[(6, message_events(index)) for index in range(len(SESSIONS))],
    (3, session_events),
)
cases = weighted((40, raw_requests), (60, events))

Received = List[Tuple[str, Any]]


class Client:
    """A python-socketio client connected as the widget is (long-polling), and what it received.

    The HTTP status of each of its requests is counted in ``statuses``.
    """

    def __init__(self, url: str, statuses: "Counter[int]", lock: threading.Lock) -> None:
        self.statuses, self.lock = statuses, lock
        self.http = requests.Session()
        self.http.hooks["response"].append(self.count)
        self.sio = socketio.Client(reconnection=False, handle_sigint=False, http_session=self.http)
        self.received: "queue.Queue[Tuple[str, Any]]" = queue.Queue()
        for name in ("session_confirm", "bot_uttered", "bot_turn_end", "input_error"):
            self.sio.on(name, self.collector(name))
        self.sio.on("disconnect", lambda *_: self.received.put(("disconnect", None)))
        self.sio.on("*", lambda event, *args: self.received.put((f"unexpected {event}", args)))
        self.sio.connect(url, transports=["polling"], wait_timeout=30)

    def count(self, reply: requests.Response, *_: Any, **__: Any) -> None:
        with self.lock:
            self.statuses[reply.status_code] += 1

    def collector(self, name: str) -> Any:
        return lambda *args: self.received.put((name, args[0] if len(args) == 1 else args))

    def until(self, ends: Set[str]) -> Received:
        """What the server sends up to one of the events ``ends`` (or the connection's end)."""
        got: Received = []
        deadline = time.monotonic() + REPLY_TIMEOUT
        while not got or got[-1][0] not in ends | {"disconnect"}:
            try:
                got.append(self.received.get(timeout=max(0.0, deadline - time.monotonic())))
            except queue.Empty:
                raise AssertionError(
                    f"nothing ended {sorted(ends)} within {REPLY_TIMEOUT:.0f} s: {got}"
                ) from None
        return got

    def confirm(self, wanted: Optional[str]) -> str:
        """Ask for session ``wanted`` (``None``: a new one); the one confirmed."""
        self.sio.emit("session_request", {"session_id": wanted})
        got = self.until({"session_confirm"})
        assert [name for name, _ in got] == ["session_confirm"], got
        assert wanted is None or got[0][1] == wanted, got
        return str(got[0][1])

    def ask(self, text: str, session: str) -> List[Dict[str, Any]]:
        """Send a message; the bot's messages up to the end of the turn."""
        self.sio.emit("user_uttered", {"message": text, "session_id": session})
        got = self.until({"bot_turn_end", "input_error"})
        assert [name for name, _ in got][-1] == "bot_turn_end", got
        return [data for name, data in got if name == "bot_uttered"]

    def close(self) -> None:
        """Hang up, leaving no long-poll pending (one keeps the server's shutdown waiting 15 s).

        An upgrade packet first makes the server answer the pending poll (with a noop); the
        client, hung up by then, sends no other.
        """
        with contextlib.suppress(Exception):
            if self.sio.eio.state == "connected":
                self.sio.eio._send_packet(eio_packet.Packet(eio_packet.UPGRADE))
                self.sio.disconnect()
        self.http.close()


class Clients:
    """The event-level clients: one per session in SESSIONS, and one for session requests.

    A client whose connection the server closed is replaced; ``connections`` counts them all.
    """

    def __init__(self, stack: Stack) -> None:
        self.url = f"http://127.0.0.1:{stack.rasa_port}"
        self.statuses: "Counter[int]" = Counter()
        self.lock = threading.Lock()
        self.clients: Dict[int, Client] = {}
        self.connections = 0
        self.outcomes: "Counter[str]" = Counter()
        self.bot_kinds: "Counter[str]" = Counter()
        self.issued: Dict[str, str] = {}  # session name -> the signed id the server gave
        self.used: Set[int] = set()
        self.reconnections = 0

    def client(self, index: int) -> Client:
        """The connected client ``index`` (connected again if the server closed it)."""
        client = self.clients.get(index)
        if client is not None and client.sio.connected:
            return client
        if client is not None:
            client.close()
        client = self.clients[index] = Client(self.url, self.statuses, self.lock)
        self.connections += 1
        self.reconnections += index in self.used  # only after a drop (see dropped())
        self.used.add(index)
        name = SESSIONS[index] if index < len(SESSIONS) else SPARE
        if name in self.issued:
            client.confirm(self.issued[name])  # its own session again, as after a page reload
        else:
            self.issued[name] = client.confirm(None)
        return client

    def send(self, case: Emit) -> None:
        """Emit one generated event and check what the server sends back."""
        client = self.client(case.client)
        case = replace(case, args=resolved(case.args, self.issued))
        size = post_size(case.event, case.args)
        client.sio.emit(case.event, case.args)
        if size > MAX_BODY_BYTES + SIZE_MARGIN:
            got = client.until(set())
            assert got == [("disconnect", None)], (got, size, describe(case))
            self.dropped(case.client)
            return
        if case.client == SESSION_CLIENT:
            got = client.until({"session_confirm"})
            assert [name for name, _ in got] == ["session_confirm"], (got, describe(case))
            wanted = documented_session(case.args, [self.issued[SPARE]])
            if wanted is not None:
                assert got[0][1] == wanted, (got, describe(case))
                self.outcomes["session_request: kept"] += 1
            else:
                assert NEW_SESSION.fullmatch(str(got[0][1])), (got, describe(case))
                self.outcomes["session_request: new"] += 1
        elif case.event == "user_uttered":
            self.message(client, case, size)
        else:
            self.outcomes["unknown event: nothing"] += 1  # (anything would fail a later check)
            if case.event == "disconnect":  # the server forgets the connection's session
                client.confirm(self.issued[SESSIONS[case.client]])

    def message(self, client: Client, case: Emit, size: int) -> None:
        """Check the answer to a ``user_uttered`` event."""
        expected = documented_reply(case.args, self.issued[SESSIONS[case.client]])
        got = client.until({"bot_turn_end", "input_error"})
        names = [name for name, _ in got]
        if names == ["disconnect"] and size >= MAX_BODY_BYTES - SIZE_MARGIN:
            self.dropped(case.client)
            return
        if expected == "input_error":
            assert names == ["input_error"], (got, describe(case))
            error = got[0][1]
            assert isinstance(error, dict) and set(error) == {"error"}, got
            assert isinstance(error["error"], str) and no_marker(error["error"]), got
            self.outcomes["user_uttered: input_error"] += 1
            return
        assert len(names) >= 2 and set(names[:-1]) == {"bot_uttered"}, (got, describe(case))
        assert names[-1] == "bot_turn_end" and got[-1][1] == {}, (got, describe(case))
        replies = [data for _, data in got[:-1]]
        for reply in replies:
            assert isinstance(reply, dict) and (reply.get("text") or reply.get("custom")), got
            self.bot_kinds[str(reply.get("custom", {}).get("kind", "(no payload)"))] += 1
        if any(reply.get("custom", {}).get("kind") == "rate_limited" for reply in replies):
            assert len(replies) == 1, got  # and not run through the bot
            self.outcomes["user_uttered: rate limited"] += 1
        else:
            self.outcomes["user_uttered: answered by the bot"] += 1
        if "only read its first" in str(replies[0].get("text")):
            self.outcomes["user_uttered: cut, with a note"] += 1

    def dropped(self, index: int) -> None:
        """Client ``index`` lost its connection as documented (too large an event)."""
        self.clients.pop(index).close()  # the next event connects a new one
        self.outcomes["too large: connection closed"] += 1

    def check_quiet(self) -> None:
        """Each client still works and was sent nothing it did not ask for."""
        for index, client in self.clients.items():
            if index == SESSION_CLIENT:
                assert client.confirm(self.issued[SPARE]) == self.issued[SPARE]
            else:
                client.sio.emit("user_uttered", {"message": 42})
                got = client.until({"input_error"})
                assert [name for name, _ in got] == ["input_error"], got

    def ask(self, text: str) -> Dict[str, Any]:
        """Ask ``text`` over a new connection in a new session; the bot's first message."""
        client = Client(self.url, self.statuses, self.lock)
        try:
            return client.ask(text, client.confirm(None))[0]
        finally:
            client.close()

    def close(self) -> None:
        for client in self.clients.values():
            client.close()


def describe(case: Emit) -> str:
    """The event for failure messages (long values cut)."""
    return f"{case.kind}: {case.event!r} {repr(case.args)[:300]} ({len(repr(case.args))} chars)"


def assert_cited_answer(message: Dict[str, Any]) -> None:
    assert message["custom"]["kind"] == "answer", message
    assert message["custom"]["citations"], message
    assert "Source: " in message["text"], message


# -- the test ----------------------------------------------------------------------------------

LIVE_QUERY = (("EIO", "4"), ("transport", "polling"), ("sid", LIVE))
# Always sent first: inputs that once broke the channel (and one that must reach the bot).
FOUND: List[Union[Raw, Emit]] = [
    # Over the size limit, and a noop packet, from a client without a pending poll: the server
    # waited for the client to fetch the close packet, and answered 503 after 60 s.
    Raw("live POST", "POST", LIVE_QUERY, b"4" * 70_000, ""),
    Raw("live POST", "POST", LIVE_QUERY, b"6", ""),
    # Metadata as JSON text nested too deeply: RecursionError in the handler, no reply at all.
    Emit("user_uttered", 0, "user_uttered", ({"message": "hi", "metadata": "[" * 20_000},)),
    # A session id with a final newline was kept ("$" matches before it).
    Emit("session_request", SESSION_CLIENT, "session_request", ({"session_id": "fuzz\n"},)),
    # A session request, then a disconnect in the same POST: the handler ran after the
    # disconnect and raised KeyError entering the room.
    Raw(
        "live POST",
        "POST",
        LIVE_QUERY,
        b'42["session_request",{"session_id":"fuzz-sio-raw"}]\x1e41',
        "",
    ),
    # Not a bug: a long message while its session is not rate-limited yet is cut, with a note.
    Emit("user_uttered", 1, "user_uttered", ({"message": "what are exosomes? " * 200},)),
]


def test_generated_input_never_breaks_the_socketio_channel(stack: Stack) -> None:
    tally = EngineTally(stack)
    raw_client = RawClient(stack, tally)
    clients = Clients(stack)
    inputs: "Counter[str]" = Counter()
    # Prime caches and allocators first, so that the memory check measures the fuzz run itself.
    assert_cited_answer(clients.ask(QUESTION))
    watch = LogWatch(stack)
    before = rss_mb(stack)

    @FUZZ
    @example(case=FOUND[0])
    @example(case=FOUND[1])
    @example(case=FOUND[2])
    @example(case=FOUND[3])
    @example(case=FOUND[4])
    @example(case=FOUND[5])
    @given(case=cases)
    def send(case: Union[Raw, Emit]) -> None:
        if isinstance(case, Raw):
            inputs["HTTP requests"] += 1
            raw_client.send(case)
        else:
            inputs["socket.io events"] += 1
            clients.send(case)

    started, cpu, rasa_cpu = time.monotonic(), time.process_time(), cpu_seconds(stack)
    try:
        send()
        clients.check_quiet()
    finally:
        raw_client.close()
        clients.close()
    after = rss_mb(stack)
    print(
        f"\nsocketio fuzz: {time.monotonic() - started:.0f} s for the generated input; CPU s: "
        f"test {time.process_time() - cpu:.0f}, Rasa server {cpu_seconds(stack) - rasa_cpu:.0f}, "
        f"load {os.getloadavg()[0]:.1f}"
    )
    print(f"socketio fuzz: inputs {dict(inputs)}")
    print(f"socketio fuzz: HTTP level {tally.summary()}; live sessions {raw_client.sessions}")
    print(
        f"socketio fuzz: event level {dict(clients.outcomes)}; bot message kinds "
        f"{dict(clients.bot_kinds)}; clients' HTTP statuses {dict(clients.statuses)}; "
        f"connections {clients.connections}"
    )
    print(f"socketio fuzz: Rasa server RSS {before:.0f} MB before, {after:.0f} MB after")

    assert sum(inputs.values()) >= EXAMPLES, inputs
    # The HTTP level: every kind of answer, as documented.
    assert set(tally.statuses) == {200, 400, 405}, tally.summary()
    assert set(tally.kinds(200)) >= {"handshake", "live POST", "live GET", "other method"}
    assert set(tally.kinds(400)) >= {"handshake", "stale session", "live POST", "live GET"}
    assert tally.kinds(405)["other method"] > 10, tally.summary()
    assert raw_client.sessions > 10, raw_client.sessions
    # The event level: every kind of answer, as documented. The only HTTP errors the clients saw
    # are 400s: to the POSTs of events over the limit, and to polls of connections closed then.
    for outcome in [
        "user_uttered: answered by the bot",
        "user_uttered: rate limited",
        "user_uttered: cut, with a note",
        "user_uttered: input_error",
        "session_request: kept",
        "session_request: new",
        "unknown event: nothing",
        "too large: connection closed",
    ]:
        assert clients.outcomes[outcome] > 0, (outcome, clients.outcomes)
    assert clients.outcomes["user_uttered: input_error"] > 300, clients.outcomes
    dropped = clients.outcomes["too large: connection closed"]
    assert set(clients.statuses) == {200, 400}, clients.statuses
    assert clients.statuses[400] >= dropped, (clients.statuses, dropped)
    # A new connection only for each client, and for each one the server dropped (if it was used
    # again after the drop).
    assert clients.connections == len(clients.used) + clients.reconnections, clients.connections
    assert clients.reconnections <= dropped <= clients.reconnections + len(clients.used)
    # The server is still up, its memory is bounded, no handler of the channel raised, and a real
    # question still gets its cited answer.
    assert stack.procs["rasa"].poll() is None, "the Rasa server exited"
    assert after - before < MAX_RSS_GROWTH_MB, (before, after)
    assert not watch.lines("bot/channels/socketio.py", "socketio channel: message processing")
    assert_cited_answer(clients.ask(QUESTION))
    assert rss_mb(stack) - before < MAX_RSS_GROWTH_MB
    assert stack.procs["actions"].poll() is None, "the action server exited"
