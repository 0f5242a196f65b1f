"""The website widget and its socket.io channel, on the real Rasa server and action server.

The socket tests talk to ``/socket.io`` with python-socketio's client (long-polling, as the widget
does); the browser tests drive the demo page at ``/webhooks/widget/`` in Debian's headless Chromium.
Screenshots go to ``var/screenshots/``.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import warnings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest
import requests
import socketio
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from scripts.stack import Stack, free_port
from tests.browser import (
    CHROMIUM,
    CONTRAST_JS,
    ask,
    bot_messages,
    focused,
    log_texts,
    open_widget,
    screenshot,
    shadow,
    wait_for_turn,
)
from tests.integration.chat import ANSWERABLE

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]

FOOT_ULCER_QUESTION = "how many sessions will I need for a foot ulcer?"
FOOT_ULCER_SECTION = (
    "Exosome Therapy for Diabetic Foot Ulcers › How Many Sessions Are Typically Required?"
)
# Close candidates from two articles (checked on the current index): the bot offers a choice.
AMBIGUOUS_QUESTION = "stem cells"
EMERGENCY = "my husband has crushing chest pain and is sweating"
REFERENCE = re.compile(r"^[A-Z0-9]{4}-[A-Z0-9]{4}$")


def base(stack: Stack) -> str:
    return f"http://127.0.0.1:{stack.rasa_port}"


def demo_url(stack: Stack) -> str:
    return f"{base(stack)}/webhooks/widget/"


# --- the socket.io channel, without a browser ---------------------------------------------------


Event = Tuple[str, Any]


class SocketChat:
    """A socket.io client that collects what the server sends until the end of each turn."""

    def __init__(self, url: str):
        self.url = url
        self.sio = socketio.AsyncClient(reconnection=False)
        self.events: List[Event] = []
        self.session: "asyncio.Future[str]" = asyncio.get_running_loop().create_future()
        self.turn = asyncio.Event()
        for name in ("bot_uttered", "bot_turn_end", "input_error"):
            self.sio.on(name, self._collector(name))
        self.sio.on("session_confirm", self._confirmed)

    def _collector(self, name: str) -> Any:
        async def collect(data: Any = None) -> None:
            self.events.append((name, data))
            if name in ("bot_turn_end", "input_error"):
                self.turn.set()

        return collect

    async def _confirmed(self, session_id: str) -> None:
        if not self.session.done():
            self.session.set_result(session_id)

    async def start(self, session_id: Optional[str] = None) -> str:
        await self.sio.connect(self.url, transports=["polling"])
        await self.sio.emit("session_request", {"session_id": session_id})
        return await asyncio.wait_for(self.session, 20)

    async def close(self) -> None:
        """Hang up without waiting for the pending long-poll (a graceful close waits ~30 s)."""
        await self.sio.eio.disconnect(abort=True)

    async def send(self, *args: Any) -> List[Event]:
        """Emit ``user_uttered`` with ``args`` and return the events up to the turn's end."""
        self.turn.clear()
        start = len(self.events)
        await self.sio.emit("user_uttered", args[0] if len(args) == 1 else args)
        await asyncio.wait_for(self.turn.wait(), 60)
        return self.events[start:]

    async def say(self, text: str) -> List[Dict[str, Any]]:
        session = await self.session
        events = await self.send({"message": text, "session_id": session})
        return [data for name, data in events if name == "bot_uttered"]


def test_each_bot_message_is_one_event_with_text_citation_and_payload(stack: Stack) -> None:
    async def scenario() -> List[Dict[str, Any]]:
        chat = SocketChat(base(stack))
        await chat.start()
        try:
            return await chat.say(FOOT_ULCER_QUESTION)
        finally:
            await chat.close()

    messages = asyncio.run(scenario())
    answer = messages[0]
    assert answer["custom"]["kind"] == "answer"
    assert f"Source: {FOOT_ULCER_SECTION}" in answer["text"]
    assert "three to five treatments" in answer["text"]
    assert (
        answer["custom"]["citations"][0]["section"] == "How Many Sessions Are Typically Required?"
    )


def test_clarify_buttons_arrive_as_quick_replies_and_answer_the_chosen_passage(
    stack: Stack,
) -> None:
    async def scenario() -> Tuple[Dict[str, Any], Dict[str, Any]]:
        chat = SocketChat(base(stack))
        await chat.start()
        try:
            clarify = (await chat.say(AMBIGUOUS_QUESTION))[0]
            chosen = clarify["quick_replies"][1]["payload"]
            return clarify, (await chat.say(chosen))[0]
        finally:
            await chat.close()

    clarify, answer = asyncio.run(scenario())
    assert clarify["custom"]["kind"] == "clarify"
    assert len(clarify["quick_replies"]) >= 2
    chosen_id = clarify["custom"]["citations"][1]["id"]
    assert clarify["quick_replies"][1]["payload"] == (
        '/ask_question{"passage_id": "' + chosen_id + '"}'
    )
    assert answer["custom"]["kind"] == "answer"
    assert answer["custom"]["citations"][0]["id"] == chosen_id


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (("just a string",), "must be an object"),
        (([1, 2, 3],), "must be an object"),
        (({"session_id": "ours"},), "'message' is required"),
        (({"message": 42, "session_id": "ours"},), "'message' is required"),
        (({"message": "hi", "session_id": "ours", "metadata": "{not json"},), "'metadata'"),
        (({"message": "hi", "session_id": "ours", "metadata": [1]},), "'metadata'"),
        (({"message": "hi", "session_id": "someone-else"},), "not this connection's session"),
        (({"message": "hi"}, {"message": "again"}), "must be an object"),
    ],
)
def test_malformed_messages_get_a_clear_error_and_the_connection_keeps_working(
    stack: Stack, args: Tuple[Any, ...], error: str
) -> None:
    async def scenario() -> Tuple[List[Event], List[Dict[str, Any]]]:
        chat = SocketChat(base(stack))
        session = await chat.start()
        fixed = tuple(
            {**a, "session_id": session}
            if isinstance(a, dict) and a.get("session_id") == "ours"
            else a
            for a in args
        )
        try:
            refused = await chat.send(*fixed)
            return refused, await chat.say(ANSWERABLE)
        finally:
            await chat.close()

    refused, after = asyncio.run(scenario())
    assert [name for name, _ in refused] == ["input_error"]
    message = refused[0][1]["error"]
    assert error in message and "Traceback" not in message
    assert after[0]["custom"]["kind"] == "answer"


def test_messages_before_a_session_is_confirmed_are_refused(stack: Stack) -> None:
    async def scenario() -> List[Event]:
        chat = SocketChat(base(stack))
        await chat.sio.connect(chat.url, transports=["polling"])
        try:
            return await chat.send({"message": "hello", "session_id": "made-up"})
        finally:
            await chat.close()

    events = asyncio.run(scenario())
    assert events == [("input_error", {"error": "no session yet: send session_request first"})]


def test_a_session_continues_on_a_new_connection(stack: Stack) -> None:
    """What a page reload does: reconnect with the stored session id; the bot keeps the context."""

    async def scenario() -> Tuple[str, str, Dict[str, Any]]:
        first = SocketChat(base(stack))
        session = await first.start()
        await first.say("how does exosome therapy help diabetic kidney disease")
        await first.close()
        second = SocketChat(base(stack))
        again = await second.start(session)
        try:
            return session, again, (await second.say("and does it have side effects?"))[0]
        finally:
            await second.close()

    session, again, follow_up = asyncio.run(scenario())
    assert again == session
    assert follow_up["custom"]["citations"][0]["id"].startswith("exosomes-diabetic-nephropathy")


def test_an_unusable_session_id_gets_a_fresh_session(stack: Stack) -> None:
    async def scenario() -> str:
        chat = SocketChat(base(stack))
        try:
            return await chat.start("../../etc/passwd" + "x" * 200)
        finally:
            await chat.close()

    assert re.fullmatch(r"[0-9a-f]{32}\.[0-9a-f]{32}", asyncio.run(scenario()))


def test_very_long_message_is_cut_with_a_note_and_answered(stack: Stack) -> None:
    async def scenario() -> List[Dict[str, Any]]:
        chat = SocketChat(base(stack))
        await chat.start()
        try:
            return await chat.say("how much does exosome therapy cost for a foot ulcer " * 600)
        finally:
            await chat.close()

    messages = asyncio.run(scenario())
    assert "only read its first 2,000 characters" in messages[0]["text"]
    assert messages[1]["custom"]["kind"] == "answer"


def test_browsers_on_other_sites_cannot_connect(stack: Stack) -> None:
    handshake = f"{base(stack)}/socket.io/?EIO=4&transport=polling"
    foreign = requests.get(handshake, headers={"Origin": "https://evil.example"}, timeout=10)
    own = requests.get(handshake, headers={"Origin": base(stack)}, timeout=10)
    assert foreign.status_code == 400
    assert "Access-Control-Allow-Origin" not in foreign.headers
    assert own.status_code == 200
    assert own.headers["Access-Control-Allow-Origin"] == base(stack)


def test_only_long_polling_is_offered(stack: Stack) -> None:
    """WebSockets crash inside this Sanic on Python 3.11, so the server never offers them."""
    handshake = requests.get(f"{base(stack)}/socket.io/?EIO=4&transport=polling", timeout=10)
    assert json.loads(handshake.text[1:])["upgrades"] == []
    websocket = requests.get(f"{base(stack)}/socket.io/?EIO=4&transport=websocket", timeout=10)
    assert websocket.status_code == 400


# --- the widget's files --------------------------------------------------------------------------


def test_demo_page_and_bundle_are_served_with_types_and_cache_headers(stack: Stack) -> None:
    page = requests.get(demo_url(stack), timeout=10)
    assert page.status_code == 200
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert page.headers["Cache-Control"] == "no-cache"
    assert "connect-src 'self'" in page.headers["Content-Security-Policy"]
    assert '<script src="/webhooks/widget/faqbot-widget.js"' in page.text
    bundle = requests.get(demo_url(stack) + "faqbot-widget.js", timeout=10)
    assert bundle.status_code == 200
    assert bundle.headers["Content-Type"] == "application/javascript; charset=utf-8"
    assert bundle.headers["Cache-Control"].startswith("public, max-age=")
    assert bundle.headers["X-Content-Type-Options"] == "nosniff"
    assert bundle.text.startswith("/*! faqbot-widget ")
    cached = requests.get(
        demo_url(stack) + "faqbot-widget.js",
        headers={"If-None-Match": bundle.headers["ETag"]},
        timeout=10,
    )
    assert cached.status_code == 304 and cached.content == b""


@pytest.mark.parametrize(
    "path",
    [
        "../channels/widget.py",
        "..%2Fchannels%2Fwidget.py",
        "%2e%2e/%2e%2e/credentials.yml",
        "dist/faqbot-widget.js",
        "demo/index.html",
        "package.json",
        "build.mjs",
    ],
)
def test_nothing_else_is_served(stack: Stack, path: str) -> None:
    reply = requests.get(demo_url(stack) + path, timeout=10)
    assert reply.status_code == 404
    assert "import " not in reply.text and "version" not in reply.text


# --- the widget in a real browser ----------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run 'make browser'")
    with warnings.catch_warnings():
        # Playwright starts its driver with fork+exec; JAX (loaded by Rasa) warns about any fork.
        warnings.filterwarnings(
            "ignore", message=r"os\.fork\(\) was called", category=RuntimeWarning
        )
        playwright = sync_playwright().start()
    try:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM))
        yield launched
        launched.close()
    finally:
        playwright.stop()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A fresh browser profile (its own storage), as a new patient."""
    fresh = browser.new_context(viewport={"width": 1000, "height": 800}, locale="en-GB")
    yield fresh
    fresh.close()


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    opened = context.new_page()
    errors: List[str] = []
    opened.on("pageerror", lambda exc: errors.append(str(exc)))
    yield opened
    assert not errors, f"errors in the page: {errors}"


def test_widget_greets_and_answers_with_a_quoted_cited_passage(stack: Stack, page: Page) -> None:
    open_widget(page, demo_url(stack))
    greeting = bot_messages(page)[0]
    assert "I am the clinic's assistant" in greeting["text"]
    intro = shadow(page, "root.querySelector('.fb-log .fb-intro').innerText")
    assert intro.startswith("Please note: I share general information")
    answer = ask(page, FOOT_ULCER_QUESTION)[0]
    screenshot(page, "widget-answer")
    assert answer["kind"] == "answer"
    assert answer["sources"] == [f"Source: {FOOT_ULCER_SECTION}"]
    assert answer["quotes"][0].startswith("“") and "three to five treatments" in answer["quotes"][0]
    assert "Source:" not in answer["quotes"][0]
    assert log_texts(page)[-2] == f"user: {FOOT_ULCER_QUESTION}"


def test_clarify_button_asks_for_the_chosen_topic(stack: Stack, page: Page) -> None:
    open_widget(page, demo_url(stack))
    clarify = ask(page, AMBIGUOUS_QUESTION)[0]
    assert clarify["kind"] == "clarify" and len(clarify["buttons"]) >= 2
    screenshot(page, "widget-clarify")
    title = clarify["buttons"][1]
    before = len(bot_messages(page))
    page.locator(".fb-choice").nth(1).click()
    wait_for_turn(page, before)
    answer = bot_messages(page)[-1]
    assert log_texts(page)[-2] == f"user: {title}"
    assert answer["kind"] == "answer"
    section = title.split(": ", 1)[1].rstrip("…")
    assert section in answer["sources"][0]
    assert shadow(page, "[...root.querySelectorAll('.fb-choice')].every((b) => b.disabled)")
    assert focused(page) == "fb-input"


def test_conversation_survives_a_reload(stack: Stack, page: Page) -> None:
    open_widget(page, demo_url(stack))
    ask(page, "how does exosome therapy help diabetic kidney disease")
    shown = log_texts(page)
    stored = page.evaluate("() => Object.keys(sessionStorage)")
    assert stored == [f"faqbot-widget:{base(stack)}"]
    assert page.evaluate("() => localStorage.length") == 0
    page.reload()
    page.wait_for_selector(".fb-panel:not([hidden]) .fb-msg")
    assert log_texts(page) == shown
    follow_up = ask(page, "and does it have side effects?")[0]
    screenshot(page, "widget-after-reload")
    assert "Diabetic Nephropathy" in follow_up["sources"][0], "the bot kept the context"


def test_local_storage_and_history_limit_are_configurable(stack: Stack, page: Page) -> None:
    url = demo_url(stack) + "local-storage-test.html"
    html = (
        "<!doctype html><html lang='en'><body><h1>Test</h1><script>"
        "window.faqbotWidgetConfig = {storage: 'local', historyLimit: 4, greet: false};"
        "</script><script src='/webhooks/widget/faqbot-widget.js'></script></body></html>"
    )
    page.route(url, lambda route: route.fulfill(body=html, content_type="text/html"))
    page.goto(url)
    page.get_by_role("button", name="Questions? Chat with us").click()
    for question in ("what are exosomes", "how much does it cost", "is it painful"):
        ask(page, question)
    assert len(log_texts(page)) >= 6
    assert page.evaluate("() => sessionStorage.length") == 0
    assert page.evaluate("() => localStorage.length") == 1
    page.reload()
    page.wait_for_selector(".fb-panel:not([hidden]) .fb-msg")
    restored = log_texts(page)
    assert len(restored) == 4
    assert restored[0] == "user: how much does it cost"


def test_emergency_is_a_distinct_alert_shown_first(stack: Stack, page: Page) -> None:
    open_widget(page, demo_url(stack))
    reply = ask(page, EMERGENCY)
    screenshot(page, "widget-emergency")
    assert reply[0]["kind"] == "emergency" and reply[0]["role"] == "alert"
    assert reply[0]["text"].lower().startswith("emergency\n")
    assert "emergency number" in reply[0]["text"]
    assert [m["role"] for m in reply[1:]] == [None] * (len(reply) - 1)
    alert = page.locator(".fb-emergency")
    style = alert.evaluate("(el) => getComputedStyle(el).backgroundColor")
    plain = page.locator(".fb-bot:not(.fb-emergency)").first
    assert style != plain.evaluate("(el) => getComputedStyle(el).backgroundColor")
    assert alert.evaluate(CONTRAST_JS)["ratio"] >= 4.5
    # The alert's start stays in view although the staff-alert message came after it.
    place = alert.evaluate(
        """(el) => ({
            top: el.getBoundingClientRect().top - el.parentElement.getBoundingClientRect().top,
            height: el.parentElement.clientHeight,
            scrolled: el.parentElement.scrollTop,
        })"""
    )
    assert 0 <= place["top"] < place["height"] - 40, place
    assert place["scrolled"] > 0, "the conversation is long enough to scroll"
    handoff = reply[-1]
    assert handoff["reference"] is not None and REFERENCE.match(handoff["reference"])
    assert f"(reference {handoff['reference']})" in handoff["text"]


def test_handoff_reference_is_shown_clearly(stack: Stack, page: Page) -> None:
    open_widget(page, demo_url(stack))
    reply = ask(page, "I want to talk to a person")
    screenshot(page, "widget-handoff")
    with_reference = [m for m in reply if m["reference"]]
    assert with_reference, reply
    reference = with_reference[0]["reference"]
    assert REFERENCE.match(reference)
    assert f"Your reference number: {reference}" in with_reference[0]["text"]


def test_keyboard_only(stack: Stack, page: Page) -> None:
    page.goto(demo_url(stack))
    for _ in range(5):  # past the page's own focusable elements (its scrollable code sample)
        page.keyboard.press("Tab")
        if focused(page):
            break
    assert focused(page) == "fb-launcher fb-right"
    page.keyboard.press("Enter")
    assert focused(page) == "fb-input"
    wait_for_turn(page, 0)
    page.keyboard.type(AMBIGUOUS_QUESTION)
    before = len(bot_messages(page))
    page.keyboard.press("Enter")
    wait_for_turn(page, before)
    page.keyboard.press("Tab")
    assert focused(page) == "fb-send"
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    assert focused(page) == "fb-choice", "the clarify buttons are reachable with Tab"
    title = shadow(page, "root.activeElement.innerText")
    before = len(bot_messages(page))
    page.keyboard.press("Enter")
    wait_for_turn(page, before)
    assert log_texts(page)[-2] == f"user: {title}"
    assert bot_messages(page)[-1]["kind"] == "answer"
    screenshot(page, "widget-keyboard")
    page.keyboard.press("Escape")
    assert page.locator(".fb-panel").is_hidden()
    assert focused(page) == "fb-launcher fb-right"
    page.keyboard.press("Enter")
    assert page.locator(".fb-panel").is_visible() and focused(page) == "fb-input"


def test_accessible_structure_labels_contrast_and_text_size(stack: Stack, page: Page) -> None:
    open_widget(page, demo_url(stack))
    ask(page, FOOT_ULCER_QUESTION)
    log = page.get_by_role("log", name="Conversation")
    assert log.get_attribute("aria-live") == "polite"
    assert page.get_by_role("dialog", name="Ask the clinic").is_visible()
    assert page.get_by_label("Type your question").is_visible()
    for name in ("Send", "Close chat", "Start a new conversation"):
        assert page.get_by_role("button", name=name).is_visible()
    assert page.locator(".fb-typing").get_attribute("role") == "status"
    for selector in (
        ".fb-user p",
        ".fb-bot p",
        ".fb-quote",
        ".fb-source",
        ".fb-note",
        ".fb-intro",
        ".fb-notice",
        ".fb-title",
        ".fb-send",
        ".fb-input",
    ):
        measured = page.locator(selector).first.evaluate(CONTRAST_JS)
        assert measured["ratio"] >= 4.5, (selector, measured)
        assert measured["size"] >= 15, (selector, measured)
    assert page.locator(".fb-bot p").first.evaluate(CONTRAST_JS)["size"] >= 18


class OtherSite:
    """Pages of another web site on loopback (a real server: Chromium refuses a faked public
    origin loading from loopback). ``pages`` maps a path to its HTML."""

    def __init__(self) -> None:
        self.pages: Dict[str, str] = {}
        pages = self.pages

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the http.server API
                body = pages.get(self.path, "").encode()
                self.send_response(200 if body else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def page_with_widget(self, path: str, bot: str) -> str:
        """Put a page embedding the widget from ``bot`` (a base URL) at ``path``; its URL."""
        self.pages[path] = (
            "<!doctype html><html lang='en'><title>Another site</title><h1>Clinic</h1>"
            f"<script src='{bot}/webhooks/widget/faqbot-widget.js' defer></script></html>"
        )
        return self.origin + path

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def other_site() -> Iterator[OtherSite]:
    site = OtherSite()
    yield site
    site.close()


@pytest.fixture(scope="module")
def rasa_allowing(other_site: OtherSite) -> Iterator[Stack]:
    """A Rasa server (no action server) whose FAQBOT_CORS_ORIGINS names the other site."""
    env = {"FAQBOT_CORS_ORIGINS": other_site.origin}
    server = Stack(
        free_port(), free_port(), log_dir=ROOT / "var" / "logs" / "tests-widget", extra_env=env
    )
    server.start_rasa()
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


def test_widget_on_a_site_that_is_not_allowed_says_it_cannot_connect(
    stack: Stack, page: Page, other_site: OtherSite
) -> None:
    page.goto(other_site.page_with_widget("/not-allowed.html", base(stack)))
    page.get_by_role("button", name="Questions? Chat with us").click()
    page.wait_for_function(
        "() => document.querySelector('#faqbot-widget').shadowRoot"
        ".querySelector('.fb-status').innerText.includes(\"can't reach\")",
        timeout=20_000,
    )
    screenshot(page, "widget-refused-origin")
    assert shadow(page, "root.querySelectorAll('.fb-msg').length") == 0


def test_widget_on_an_allowed_site_works_and_says_when_the_bot_cannot_answer(
    rasa_allowing: Stack, page: Page, other_site: OtherSite
) -> None:
    """FAQBOT_CORS_ORIGINS lets the clinic's own site connect (``rasa run --cors`` is on too,
    and a response with two Access-Control-Allow-Origin headers would be refused). Without an
    action server, a question gets the "can't answer right now" reply with the clinic contact."""
    open_widget(page, other_site.page_with_widget("/allowed.html", base(rasa_allowing)))
    assert "I am the clinic's assistant" in bot_messages(page)[0]["text"]
    reply = ask(page, "how much does it cost")
    screenshot(page, "widget-allowed-origin-no-actions")
    assert [m["kind"] for m in reply] == ["unavailable"]
    assert "Sorry, I can't answer right now" in reply[0]["text"]
    assert "the clinic's reception desk" in reply[0]["text"]


def test_new_conversation_starts_a_fresh_session(stack: Stack, page: Page) -> None:
    open_widget(page, demo_url(stack))
    ask(page, "what are exosomes")
    key = f"faqbot-widget:{base(stack)}"
    first = page.evaluate(f"() => JSON.parse(sessionStorage.getItem('{key}')).sessionId")
    page.get_by_role("button", name="Start a new conversation").click()
    wait_for_turn(page, 0)
    second = page.evaluate(f"() => JSON.parse(sessionStorage.getItem('{key}')).sessionId")
    assert second != first and len(log_texts(page)) == 1
    assert "I am the clinic's assistant" in log_texts(page)[0]
