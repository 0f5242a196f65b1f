"""Generated hostile webhooks against the running WhatsApp channel: no 5xx, the server stays up.

Hypothesis sends 5,000 bodies to ``POST /webhooks/whatsapp/webhook``, most of them correctly
signed so that they reach the parser: raw bytes, JSON of any shape (also nested thousands of
levels deep), and webhook payloads that look like Meta's (``entry[].changes[].value.messages[]``
and ``statuses[]``) with random message types, ids, timestamps, texts, button and list replies,
and wrong types at every level. The rest carry a missing or wrong signature and must be refused.

Every signed body gets the answer the channel documents: 200 for a JSON object (whatever is in
it), 400 with a JSON error for anything else, 403 without a valid signature. Messages that pass
the parser are processed in the background and answered through the fake Graph API; they come
from a handful of senders, so the rate limit soon answers them cheaply. Afterwards the server's
memory has not grown by more than 150 MB, no background task failed, and a real question from a
new number still gets its cited answer.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from typing import Any, Dict, List, Optional

import pytest
import requests
from hypothesis import example, given
from hypothesis import strategies as st

from bot.channels.replies import RATE_LIMITED_TEXT
from bot.channels.whatsapp import incoming_messages
from knowledge.config import Settings
from scripts.stack import Stack
from tests.fakes.graph_api import FakeGraphApi, body_of, sign, text_message, webhook
from tests.integration.conftest import WHATSAPP_APP_SECRET
from tests.integration.fuzzing import (
    EXAMPLES,
    FUZZ,
    MAX_BODY_BYTES,
    MAX_RSS_GROWTH_MB,
    Case,
    LogWatch,
    Tally,
    background_failures,
    cpu_seconds,
    deep_json,
    dumps,
    header_junk,
    huge_text,
    json_values,
    mostly,
    not_strings,
    odd_text,
    payload_text,
    rss_mb,
    small_json,
    weighted,
)
from tests.receivers import wait_for

pytestmark = pytest.mark.integration
PHONE_NUMBER_ID = FakeGraphApi.phone_number_id
# The only senders whose messages reach the bot (a few, so the rate limit soon answers them).
SENDERS = ["919800000001", "919800000002"]
# Odd senders: once cleaned, empty (skipped), one of SENDERS, or one more (cut to 128 characters).
ODD_SENDERS = [
    "",
    "   ",
    "\x00\x07\x1b",
    "\ud800",
    " 919800000001 ",
    "\ud800919800000001\x7f",
    "91980000\x000002",
    "9" * 300,
]
TYPES = [
    "text",
    "interactive",
    "button",
    "image",
    "audio",
    "video",
    "document",
    "sticker",
    "location",
    "contacts",
    "reaction",
    "system",
    "unsupported",
    "order",
    "request_welcome",
    "ephemeral",
    "bogus",
    "",
    "TEXT",
]
IGNORED = ["reaction", "system", "unsupported", "order", "request_welcome", "ephemeral"]
APP_SECRET = WHATSAPP_APP_SECRET
# JSON the decoder refuses: a number beyond Python's 4,300 digits, a byte-order mark, UTF-16;
# and bodies that are JSON but not objects.
EDGE_JSON = [
    b'{"object": 1' + b"0" * 5000 + b"}",
    b'\xef\xbb\xbf{"object": "x"}',
    '{"object": "x"}'.encode("utf-16"),
    b'{"object": NaN, "entry": [Infinity]}',
    b'{"object": "a", "object": "b"}',
    b"",
    b"null",
    b'"whatsapp_business_account"',
]
QUESTION = "how many sessions will I need for a foot ulcer?"
METADATA = {"display_phone_number": "15550783881", "phone_number_id": PHONE_NUMBER_ID}
SOURCE = "Source: Exosome Therapy for Diabetic Foot Ulcers › How Many Sessions"


def url(stack: Stack) -> str:
    return f"http://127.0.0.1:{stack.rasa_port}/webhooks/whatsapp/webhook"


# -- message objects ---------------------------------------------------------------------------

texts = mostly(odd_text, not_strings)
reply_object = mostly(
    st.fixed_dictionaries(
        {"id": mostly(payload_text, not_strings)},
        optional={"title": texts, "description": texts},
    ),
    st.fixed_dictionaries({}, optional={"title": texts, "id": st.none()}) | small_json,
)
WORDLESS = ["image", "audio", "video", "document", "sticker", "location", "contacts"]


def content_for(kind: str) -> st.SearchStrategy[Any]:
    """What a message of type ``kind`` carries under that key (sometimes anything at all)."""
    if kind == "text":
        good = st.fixed_dictionaries(
            {"body": mostly(odd_text, huge_text(1900, 2100) | not_strings)},
            optional={"preview_url": small_json},
        )
    elif kind == "interactive":
        good = st.one_of(
            st.fixed_dictionaries({"type": mostly(st.just(reply), small_json), reply: reply_object})
            for reply in ["button_reply", "list_reply"]
        )
    elif kind == "button":
        good = st.fixed_dictionaries(
            {}, optional={"payload": mostly(payload_text, not_strings), "text": texts}
        )
    elif kind in WORDLESS:
        good = st.fixed_dictionaries({"id": st.text(max_size=20)}, optional={"caption": texts})
    else:
        good = small_json
    return mostly(good, small_json)


message_ids = st.one_of(
    st.uuids().map(lambda u: f"wamid.{u.hex}"),
    st.uuids().map(lambda u: f"wamid.{u.hex}"),
    st.sampled_from(["", "wamid.repeated-1", "wamid.repeated-2", "\ud800", "x" * 300]),
    st.text(max_size=40),
    not_strings,
)


NO_TIMESTAMP = "<no timestamp>"
# Mostly now (drawn when the message is built); else too old, missing, or not Unix seconds.
timestamps = mostly(
    st.just(0).map(lambda _: str(int(time.time()))),
    st.sampled_from(["1700000000", "1577836800", "", "-1", "1e9", NO_TIMESTAMP, "9" * 30])
    | odd_text
    | not_strings,
)


def message(
    sender: Any, kind: Any, content: Any, message_id: Any, extra: Dict, timestamp: Any
) -> Dict:
    """A message object, its content under the key named by its type (if that is text)."""
    built: Dict[str, Any] = {**extra, "from": sender, "type": kind}
    if timestamp != NO_TIMESTAMP:
        built["timestamp"] = timestamp
    if message_id is not None:
        built["id"] = message_id
    built[kind if isinstance(kind, str) else "text"] = content
    return built


def typed_message(kind: str) -> st.SearchStrategy[Dict]:
    return st.builds(
        message,
        sender=mostly(st.sampled_from(SENDERS), st.sampled_from(ODD_SENDERS) | not_strings),
        kind=mostly(st.just(kind), st.sampled_from(TYPES) | not_strings),
        content=content_for(kind),
        message_id=mostly(message_ids, st.none()),
        extra=mostly(st.just({}), st.fixed_dictionaries({"context": small_json})),
        timestamp=timestamps,
    )


answerable = st.one_of([typed_message(kind) for kind in TYPES])
statuses = st.lists(
    st.fixed_dictionaries(
        {
            "id": message_ids,
            "status": mostly(st.sampled_from(["sent", "delivered", "read"]), small_json),
            "recipient_id": mostly(st.sampled_from(SENDERS), small_json),
        },
    ),
    max_size=2,
)
# Where a webhook carries a wrong value instead of Meta's structure (None: nowhere).
LEVELS = [None, None, None, None, None, None]
LEVELS += ["object", "entries", "entry", "changes", "change", "field", "value", "metadata"]
LEVELS += ["messages", "message", "statuses"]
WRONG = {
    "object": st.sampled_from(["page", "", "WHATSAPP_BUSINESS_ACCOUNT"]),
    "field": st.sampled_from(["statuses", "", "MESSAGES"]),
    "metadata": st.fixed_dictionaries(
        {"phone_number_id": st.sampled_from(["1", "", int(PHONE_NUMBER_ID)])}
    ),
    "messages": st.just([]),
}
# Random senders only with types the channel ignores, so they never start a conversation.
ignored = st.builds(
    message,
    sender=st.text(max_size=30),
    kind=st.sampled_from(IGNORED),
    content=small_json,
    message_id=message_ids,
    extra=st.just({}),
    timestamp=timestamps,
)


def structure(wrong: Optional[str]) -> st.SearchStrategy[Dict]:
    """A webhook body like Meta's, with a wrong value at level ``wrong`` (if any)."""

    def at(level: str, good: st.SearchStrategy) -> st.SearchStrategy:
        if level != wrong:
            return good
        return WRONG[level] | small_json if level in WRONG else small_json

    one = at("message", answerable | ignored)
    value = st.fixed_dictionaries(
        {
            "messaging_product": st.just("whatsapp"),
            "metadata": at("metadata", st.just(METADATA)),
            "messages": at("messages", st.lists(one, min_size=1, max_size=2)),
        },
        optional={"statuses": at("statuses", statuses)},
    )
    change = st.fixed_dictionaries({"field": at("field", st.just("messages")), "value": value})
    entry = st.fixed_dictionaries(
        {
            "id": st.just("102290129340398"),
            "changes": at("changes", st.lists(at("change", change), min_size=1, max_size=2)),
        }
    )
    return st.fixed_dictionaries(
        {
            "object": at("object", st.just("whatsapp_business_account")),
            "entry": at("entries", st.lists(at("entry", entry), min_size=1, max_size=2)),
        },
    )


payloads = st.one_of([structure(level) for level in LEVELS])

# -- whole requests ----------------------------------------------------------------------------


def expected_for(body: bytes) -> int:
    """The documented answer to a correctly signed body: 200 for a JSON object, else 400."""
    if len(body) > MAX_BODY_BYTES:
        return 400
    try:
        return 200 if isinstance(json.loads(body.decode("utf-8")), dict) else 400
    except (ValueError, RecursionError):
        return 400


def signed(kind: str, body: bytes, *statuses: int) -> Case:
    headers = {"Content-Type": "application/json", "X-Hub-Signature-256": sign(body, APP_SECRET)}
    return Case(kind, body, headers, frozenset(statuses or {expected_for(body)}))


def bad_signature(body: bytes, how: str, junk: str) -> Case:
    right = sign(body, APP_SECRET)
    header: Optional[str] = {
        "missing": None,
        "other secret": sign(body, "not-the-app-secret"),
        "other body": sign(body + b" ", APP_SECRET),
        "sha1 scheme": "sha1=" + right[len("sha256=") :],
        "no scheme": right[len("sha256=") :],
        "truncated": right[:-1],
        "junk": junk,
        "junk after scheme": "sha256=" + junk,
    }[how]
    headers = {"Content-Type": "application/json"}
    if header is not None:
        headers["X-Hub-Signature-256"] = header
    refused = 400 if len(body) > MAX_BODY_BYTES else 403  # the size is checked first
    return Case("unsigned", body, headers, frozenset({refused}))


any_body = st.one_of(
    st.binary(max_size=2000),
    json_values.map(dumps),
    payloads.map(dumps),
    huge_text(60_000, 70_000).map(lambda text: dumps({"object": text})),
)
SIGNATURE_FAULTS = [
    "missing",
    "other secret",
    "other body",
    "sha1 scheme",
    "no scheme",
    "truncated",
    "junk",
    "junk after scheme",
]
cases = weighted(
    (40, payloads.map(lambda body: signed("webhook", dumps(body)))),
    (8, payloads.map(lambda body: signed("webhook", dumps(body, ascii_only=False)))),
    (12, st.builds(bad_signature, any_body, st.sampled_from(SIGNATURE_FAULTS), header_junk)),
    (10, st.binary(max_size=3000).map(lambda body: signed("raw bytes", body))),
    (10, json_values.map(lambda value: signed("any JSON", dumps(value, ascii_only=False)))),
    (6, deep_json.map(lambda body: signed("deep JSON", body, 200, 400))),
    (6, huge_text(60_000, 70_000).map(lambda text: signed("huge", dumps({"object": text})))),
    (2, st.sampled_from(EDGE_JSON).map(lambda body: signed("edge JSON", body))),
)


# Bodies that once broke the channel, always sent first.
FOUND = [
    # A message whose type is a list: TypeError (unhashable) in the parser, a 500.
    signed("webhook", webhook(PHONE_NUMBER_ID, [{"from": SENDERS[0], "id": "", "type": []}])),
    # Nested deeper than Python's recursion limit: RecursionError in json.loads, a 500.
    signed("deep JSON", b"[" * 5000 + b"]" * 5000, 400),
    # A lone surrogate in the sender (and id): Rasa's SQL tracker store exited the server.
    signed(
        "webhook",
        webhook(PHONE_NUMBER_ID, [text_message("\ud800" + SENDERS[0], "hi", "wamid.\ud800")]),
    ),
]


def inbound_count(case: Case) -> int:
    """How many messages of a signed webhook the channel hands to the bot."""
    if case.kind != "webhook":
        return 0
    data = json.loads(case.body)
    return len(list(incoming_messages(data, PHONE_NUMBER_ID, 2000)))


# -- the test ----------------------------------------------------------------------------------


def ask(session: requests.Session, stack: Stack, graph_api: FakeGraphApi, text: str) -> List[str]:
    """Send ``text`` from a new number, wait for the cited answer; every body sent to it."""
    sender = "91" + str(uuid.uuid4().int)[:10]
    body = webhook(graph_api.phone_number_id, [text_message(sender, text)])
    reply = session.post(url(stack), data=body, headers=signed("", body).headers, timeout=30)
    assert reply.status_code == 200, reply.text
    wait_for(lambda: any(SOURCE in body_of(m) for m in graph_api.sent_to(sender)), 60, "the answer")
    return [body_of(m) for m in graph_api.sent_to(sender)]


def test_generated_webhooks_never_break_the_whatsapp_channel(
    stack: Stack, graph_api: FakeGraphApi
) -> None:
    assert graph_api.phone_number_id == PHONE_NUMBER_ID
    session = requests.Session()
    tally = Tally(stack)
    reached = {"webhooks": 0, "messages": 0}
    # Prime caches, allocators and the channel's HTTP session, so memory growth is the run's own.
    ask(session, stack, graph_api, QUESTION)
    watch = LogWatch(stack)
    before = rss_mb(stack)

    @FUZZ
    @example(case=FOUND[0])
    @example(case=FOUND[1])
    @example(case=FOUND[2])
    @given(case=cases)
    def post(case: Case) -> None:
        reply = tally.post(session, url(stack), case)
        if reply.status_code == 200:
            assert reply.json() == {"status": "received"}
            found = inbound_count(case)
            reached["webhooks"] += found > 0
            reached["messages"] += found

    started, cpu, rasa_cpu = time.monotonic(), time.process_time(), cpu_seconds(stack)
    post()
    after = rss_mb(stack)
    print(
        f"\nwhatsapp fuzz: {time.monotonic() - started:.0f} s for the generated requests; CPU s: "
        f"test {time.process_time() - cpu:.0f}, Rasa server {cpu_seconds(stack) - rasa_cpu:.0f}, "
        f"load {os.getloadavg()[0]:.1f}"
    )
    print(f"whatsapp fuzz: {tally.summary()}; reached the bot: {reached}")
    print(f"whatsapp fuzz: Rasa server RSS {before:.0f} MB before, {after:.0f} MB after")

    assert sum(tally.statuses.values()) >= EXAMPLES
    assert set(tally.statuses) == {200, 400, 403}, tally.summary()
    assert set(tally.kinds(200)) >= {"any JSON", "webhook"}, tally.summary()
    assert set(tally.kinds(400)) >= {"raw bytes", "any JSON", "deep JSON", "edge JSON", "huge"}
    assert tally.kinds(403)["unsigned"] > 100, tally.summary()
    # The generated webhooks went deep: many carried messages that the channel passed to the bot.
    assert reached["webhooks"] > 300, reached
    # ...and the channel still limits them: a burst over the limit from each fuzz sender (the
    # generated ones alone may not cross it in one window: the limit counts as turns are run).
    burst = Settings.from_env({}).rate_limit + 1
    for sender in SENDERS:
        body = webhook(
            graph_api.phone_number_id, [text_message(sender, "hello") for _ in range(burst)]
        )
        reply = session.post(url(stack), data=body, headers=signed("", body).headers, timeout=30)
        assert reply.status_code == 200, reply.text
    notice = RATE_LIMITED_TEXT.split(".")[0]
    for sender in SENDERS:
        wait_for(
            lambda sender=sender: any(notice in body_of(m) for m in graph_api.sent_to(sender)),
            60,
            f"the rate-limit notice to {sender}",
        )
        assert len(graph_api.sent_to(sender)) > 1
    assert after - before < MAX_RSS_GROWTH_MB, (before, after)
    # The server still answers a real question, and no message's processing failed meanwhile.
    answer = ask(session, stack, graph_api, QUESTION)
    assert SOURCE in answer[-1]
    assert rss_mb(stack) - before < MAX_RSS_GROWTH_MB
    assert not background_failures(watch, "whatsapp")
    assert stack.procs["actions"].poll() is None, "the action server exited"
