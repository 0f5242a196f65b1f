"""The socket.io channel's rules and the widget-assets channel, without a running server."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import logging
import os
import re
import types
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Dict, List, Optional, Tuple

import pytest
from engineio.async_socket import AsyncSocket
from rasa.core.channels.channel import UserMessage

from bot.channels.sessions import SessionSigner, session_secret
from bot.channels.socketio import (
    ERROR_EVT,
    TURN_END_EVT,
    EngineIOServer,
    OriginCheck,
    SocketIOInput,
    SocketIOOutput,
    bot_event,
)
from bot.channels.validation import BadRequest
from bot.channels.widget import WIDGET_DIR, Asset, WidgetAssets
from knowledge.config import Settings

SECRET = "my blood sugar is 310 and my name is Asha"


class FakeServer:
    """Records what the channel emits (the part of python-socketio's AsyncServer it uses)."""

    def __init__(self) -> None:
        self.emitted: List[Tuple[str, Any, Optional[str]]] = []

    async def emit(
        self, event: str, data: Any = None, room: Optional[str] = None, **_: Any
    ) -> None:
        self.emitted.append((event, data, room))


def channel(**overrides: Any) -> SocketIOInput:
    settings = dataclasses.replace(Settings.from_env({}), **overrides)
    made = SocketIOInput(settings=settings)
    made.sessions["sid-1"] = ("session-1", "widget:session-1")
    return made


def run(made: SocketIOInput, text: str, bot: Any) -> List[Tuple[str, Any, Optional[str]]]:
    """Send ``text`` from connection ``sid-1`` through ``process`` with ``bot`` as the agent."""
    server = FakeServer()
    incoming = made.parse("sid-1", [{"message": text, "session_id": "session-1"}])
    asyncio.run(made.process(server, incoming, bot))  # type: ignore[arg-type]
    return server.emitted


def answering(*messages: Dict[str, Any]) -> Any:
    async def bot(message: UserMessage) -> None:
        for reply in messages:
            await message.output_channel.send_response(message.sender_id, dict(reply))

    return bot


# --- parsing ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "error"),
    [
        ([], "must be an object"),
        (["hello"], "must be an object"),
        ([None], "must be an object"),
        ([{"message": "a"}, {"message": "b"}], "must be an object"),
        ([{"session_id": "session-1"}], "'message' is required"),
        ([{"message": ["hi"], "session_id": "session-1"}], "'message' is required"),
        ([{"message": "hi", "session_id": "session-2"}], "not this connection's session"),
        ([{"message": "hi", "metadata": "{oops"}], "'metadata' must be a JSON object"),
        ([{"message": "hi", "metadata": "[1, 2]"}], "'metadata' must be a JSON object"),
        ([{"message": "hi", "metadata": 7}], "'metadata' must be a JSON object"),
        # Nested deeper than the JSON decoder goes: RecursionError, and the client got no reply.
        ([{"message": "hi", "metadata": "[" * 20_000}], "'metadata' must be a JSON object"),
    ],
)
def test_malformed_events_are_refused_with_a_reason(args: List[Any], error: str) -> None:
    with pytest.raises(BadRequest, match=re.escape(error)):
        channel().parse("sid-1", args)


def test_a_connection_without_a_confirmed_session_cannot_send() -> None:
    with pytest.raises(BadRequest, match="send session_request first"):
        channel().parse("sid-unknown", [{"message": "hi", "session_id": "session-1"}])


def test_control_characters_are_dropped_and_long_text_is_cut() -> None:
    made = channel(max_message_chars=10)
    clean = made.parse("sid-1", [{"message": "he\x00llo\x1b\tthere", "session_id": "session-1"}])
    assert (clean.text, clean.truncated) == ("hello\tther", True)
    short = made.parse("sid-1", [{"message": "hi\nyou", "metadata": '{"a": 1}'}])
    assert (short.text, short.truncated, short.sender, short.metadata) == (
        "hi\nyou",
        False,
        "widget:session-1",
        {"a": 1},
    )


def test_session_ids_are_issued_by_the_server_and_others_refused(tmp_path: Path) -> None:
    signer = SessionSigner(session_secret(Settings.from_env({}), tmp_path / "session.key"))
    issued = signer.issue()
    session = signer.verify(issued)
    assert session is not None and re.fullmatch(r"[0-9a-f]{32}", session)
    assert issued.startswith(session + ".")
    other = SessionSigner(b"another server's secret key")
    for made_up in (
        session,  # the bare id, without its signature
        "15551230004",  # a WhatsApp number
        "webchat-session_1.2:3",
        session + "." + "0" * 32,
        other.issue(),
        issued + "\n",
        "",
        None,
        12345,
        {"id": issued},
    ):
        assert signer.verify(made_up) is None
    # The generated secret is kept (same signatures after a restart) and private to its owner.
    again = SessionSigner(session_secret(Settings.from_env({}), tmp_path / "session.key"))
    assert again.verify(issued) == session
    assert (tmp_path / "session.key").stat().st_mode & 0o077 == 0
    configured = Settings.from_env({"FAQBOT_SESSION_SECRET": "x" * 32})
    assert session_secret(configured, tmp_path / "unused.key") == b"x" * 32


def test_a_session_request_from_a_connection_that_hung_up_is_ignored() -> None:
    """Its handler runs after the disconnect when both came in one POST; it raised KeyError."""
    made = channel()
    made.blueprint(answering())
    session_request = made.sio.handlers["/"]["session_request"]
    asyncio.run(session_request("sid-gone", {"session_id": "session-9"}))
    assert "sid-gone" not in made.sessions


def test_the_server_drops_a_connection_without_waiting_for_its_client() -> None:
    """A POST over the size limit, or with an unknown packet, is answered by closing the
    connection; the server waited until the client fetched the close packet, so a client with no
    poll pending got a 503 after 60 s."""

    async def drop() -> Tuple[bool, bool]:
        server = EngineIOServer(async_mode="sanic")
        socket = server.sockets["sid-1"] = AsyncSocket(server, "sid-1")
        await asyncio.wait_for(server.disconnect("sid-1"), 2)
        return socket.closed, "sid-1" in server.sockets

    assert asyncio.run(drop()) == (True, False)


# --- processing ---------------------------------------------------------------------------------


def test_each_bot_message_is_one_event_then_the_turn_ends() -> None:
    emitted = run(
        channel(),
        "what are exosomes",
        answering(
            {
                "text": "Here is what our article says:\n“Q”\nSource: A › S\n\nPlease note: x",
                "custom": {"schema": "faqbot/1", "kind": "answer"},
            },
            {"text": "Which one?", "buttons": [{"title": "T", "payload": "/ask_question"}]},
        ),
    )
    assert emitted == [
        (
            "bot_uttered",
            {
                "text": "Here is what our article says:\n“Q”\nSource: A › S\n\nPlease note: x",
                "custom": {"schema": "faqbot/1", "kind": "answer"},
            },
            "widget:session-1",
        ),
        (
            "bot_uttered",
            {
                "text": "Which one?",
                "quick_replies": [
                    {"content_type": "text", "title": "T", "payload": "/ask_question"}
                ],
            },
            "widget:session-1",
        ),
        (TURN_END_EVT, {}, "widget:session-1"),
    ]


def test_no_reply_from_the_bot_gets_the_failure_message() -> None:
    emitted = run(channel(clinic_contact="reception on 020 7946 0000"), "hello", answering())
    event, data, room = emitted[0]
    assert (event, room) == ("bot_uttered", "widget:session-1")
    assert data["custom"]["kind"] == "unavailable"
    assert "reception on 020 7946 0000" in data["text"]
    assert emitted[1] == (TURN_END_EVT, {}, "widget:session-1")


def test_a_crash_while_answering_gets_the_failure_message_and_logs_no_patient_text(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken(message: UserMessage) -> None:
        raise RuntimeError(f"could not handle {message.text}")

    with caplog.at_level(logging.DEBUG, logger="bot.channels.socketio"):
        emitted = run(channel(), SECRET, broken)
    assert emitted[0][1]["custom"]["kind"] == "unavailable"
    assert emitted[-1][0] == TURN_END_EVT
    assert "RuntimeError at test_socketio_channel.py:" in caplog.text
    assert SECRET not in caplog.text and "Asha" not in caplog.text


def test_long_message_gets_the_note_first_and_is_answered_cut() -> None:
    seen: List[str] = []

    async def bot(message: UserMessage) -> None:
        seen.append(message.text or "")
        await message.output_channel.send_response(message.sender_id, {"text": "answer"})

    emitted = run(channel(max_message_chars=20), "a" * 50, bot)
    assert seen == ["a" * 20]
    texts = [data.get("text") for event, data, _ in emitted if event == "bot_uttered"]
    assert texts == [
        "Your message was very long, so I only read its first 20 characters. "
        "Shorter questions get better answers.",
        "answer",
    ]


def test_a_sender_over_the_rate_limit_is_told_to_wait_and_not_processed() -> None:
    made = channel(rate_limit=2, emergency_numbers="112")
    calls: List[str] = []

    async def bot(message: UserMessage) -> None:
        calls.append(message.text or "")
        await message.output_channel.send_response(message.sender_id, {"text": "ok"})

    for _ in range(2):
        run(made, "hello", bot)
    emitted = run(made, "hello again", bot)
    assert calls == ["hello", "hello"]
    assert emitted[0][1]["custom"]["kind"] == "rate_limited"
    assert "112" in emitted[0][1]["text"]
    assert emitted[-1] == (TURN_END_EVT, {}, "widget:session-1")


def test_output_sends_custom_payloads_that_rasas_own_channel_crashes_on() -> None:
    server = FakeServer()
    output = SocketIOOutput(server, "bot_uttered")  # type: ignore[arg-type]
    asyncio.run(output.send_custom_json("room-1", {"schema": "faqbot/1", "kind": "emergency"}))
    asyncio.run(output.send_response("room-1", {"text": "   "}))
    assert server.emitted == [
        ("bot_uttered", {"custom": {"schema": "faqbot/1", "kind": "emergency"}}, "room-1")
    ]
    assert output.sent == 1


def test_bot_event_keeps_text_buttons_and_payload_together() -> None:
    event = bot_event(
        {
            "text": "  Pick one  ",
            "buttons": [{"title": "A", "payload": "/a"}, {"title": None, "payload": "/b"}, "x"],
            "custom": {"kind": "clarify"},
            "recipient_id": "someone",
        }
    )
    assert event == {
        "text": "Pick one",
        "quick_replies": [{"content_type": "text", "title": "A", "payload": "/a"}],
        "custom": {"kind": "clarify"},
    }
    assert bot_event({"text": "", "custom": {}}) == {}


def test_credentials_configure_events_and_persistence_is_always_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    made = SocketIOInput.from_credentials(
        {"user_message_evt": "said", "bot_message_evt": "answered", "session_persistence": False}
    )
    assert (made.user_message_evt, made.bot_message_evt) == ("said", "answered")
    assert made.session_persistence is True
    assert "session_persistence is always on" in caplog.text
    assert ERROR_EVT == "input_error"


# --- origins ------------------------------------------------------------------------------------


class FakeRequest:
    def __init__(self, port: int) -> None:
        self.conn_info = types.SimpleNamespace(server_port=port)


ON_5005 = {"sanic.request": FakeRequest(5005), "HTTP_HOST": "bot.clinic.example"}


@pytest.mark.parametrize(
    ("origin", "environ", "allowed"),
    [
        ("http://127.0.0.1:5005", ON_5005, True),
        ("http://localhost:5005", ON_5005, True),
        ("https://www.clinic.example", ON_5005, True),
        ("https://WWW.Clinic.Example/", ON_5005, True),
        # Host and X-Forwarded-Host are the client's to set: never trusted.
        ("https://bot.clinic.example", ON_5005, False),
        (
            "https://evil.example",
            {**ON_5005, "HTTP_HOST": "evil.example", "HTTP_X_FORWARDED_HOST": "evil.example"},
            False,
        ),
        ("https://clinic.example.evil.example", ON_5005, False),
        ("http://127.0.0.1:5006", ON_5005, False),
        ("http://127.0.0.1:5005", {"HTTP_HOST": "127.0.0.1:5005"}, False),
        ("null", ON_5005, False),
        (None, ON_5005, False),
    ],
)
def test_origins_are_the_configured_ones_and_this_machines_own(
    origin: Optional[str], environ: Dict[str, Any], allowed: bool
) -> None:
    check = OriginCheck(
        Settings.from_env({"FAQBOT_CORS_ORIGINS": " https://www.clinic.example/ ,"}).cors_origins
    )
    assert check(origin, environ) is allowed


def test_a_star_allows_every_origin() -> None:
    assert OriginCheck(("*",))("https://anywhere.example", {"HTTP_HOST": "bot"})
    assert not OriginCheck(())("https://anywhere.example", {"HTTP_HOST": "bot"})


# --- the widget's files -------------------------------------------------------------------------


def request(etag: str = "") -> Any:
    return SimpleNamespace(method="GET", headers={"If-None-Match": etag} if etag else {})


def test_widget_assets_are_served_with_type_cache_and_etag() -> None:
    assets = WidgetAssets(bundle_max_age=120)
    bundle = assets.serve(request(), "faqbot-widget.js")
    assert bundle.status == 200
    assert bundle.content_type == "application/javascript; charset=utf-8"
    assert bundle.headers["Cache-Control"] == "public, max-age=120"
    assert bundle.body == (WIDGET_DIR / "dist" / "faqbot-widget.js").read_bytes()
    again = assets.serve(request(bundle.headers["ETag"]), "faqbot-widget.js")
    assert again.status == 304 and not again.body
    demo = assets.serve(request(), "")
    assert demo.content_type == "text/html; charset=utf-8"
    assert demo.headers["Cache-Control"] == "no-cache"
    assert "frame-ancestors 'none'" in demo.headers["Content-Security-Policy"]


@pytest.mark.parametrize(
    "name",
    [
        "index.html",
        "../widget.py",
        "dist/faqbot-widget.js",
        "..",
        "package.json",
        "FAQBOT-WIDGET.JS",
    ],
)
def test_only_named_assets_are_served(name: str) -> None:
    assert WidgetAssets().serve(request(), name).status == 404


def test_a_missing_or_changed_file_is_noticed(tmp_path: Path) -> None:
    path = tmp_path / "w.js"
    assets = WidgetAssets(assets={"w.js": Asset(path, "application/javascript", "no-cache")})
    assert assets.serve(request(), "w.js").status == 404
    path.write_text("one")
    first = assets.serve(request(), "w.js")
    path.write_text("two!")
    os.utime(path, (1, 1))
    second = assets.serve(request(), "w.js")
    assert (first.body, second.body) == (b"one", b"two!")
    assert first.headers["ETag"] != second.headers["ETag"]


def source_digest() -> str:
    """The digest ``bot/widget/build.mjs`` writes into the bundle's banner."""
    names = sorted(f"src/{p.name}" for p in (WIDGET_DIR / "src").glob("*.js"))
    digest = hashlib.sha256()
    for name in [*names, "package-lock.json"]:
        digest.update(f"{name}\0".encode())
        digest.update((WIDGET_DIR / name).read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def test_committed_bundle_was_built_from_the_current_sources() -> None:
    banner = (WIDGET_DIR / "dist" / "faqbot-widget.js").read_text(encoding="utf-8").split("\n")[0]
    assert f"src-sha256:{source_digest()}" in banner, "run 'make widget' and commit the bundle"


def test_widget_default_disclaimer_matches_the_bots() -> None:
    source = (WIDGET_DIR / "src" / "config.js").read_text(encoding="utf-8")
    match = re.search(r"DEFAULT_DISCLAIMER =\s*((?:\"[^\"]*\"\s*\+?\s*)+);", source)
    assert match is not None
    text = "".join(re.findall(r"\"([^\"]*)\"", match.group(1)))
    assert text == Settings().disclaimer
