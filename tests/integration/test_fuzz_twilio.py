"""Generated hostile webhooks against the running Twilio channel: no 5xx, the server stays up.

Hypothesis sends 5,000 bodies to ``POST /webhooks/twilio/webhook``, most of them correctly signed
(``X-Twilio-Signature`` by Twilio's own ``RequestValidator`` over the URL and the form fields) so
that they reach the channel's checks: forms like Twilio's with random, missing or repeated
``From``, ``Body``, ``MessageSid``, ``AccountSid``, ``ButtonPayload`` and extra fields, odd
Unicode, bodies around the size limit, and raw bytes that are not UTF-8 or not a proper form. The
rest carry a missing or wrong signature.

Each body gets exactly the answer the channel documents: 400 when it is too large or not UTF-8;
403 without a valid signature; 400 when a field appears twice, ``AccountSid`` is not the account's
or ``MessageSid`` is not a message SID; 200 (empty TwiML) for a status callback or a message with
a sender; 400 for other signed forms. Messages come from a handful of senders, so
the rate limit soon answers them cheaply. Afterwards the server's memory has not grown by more
than 150 MB, no background task failed, and a real question from a new number still gets its
cited answer through the fake Messages API.
"""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass
from typing import List, Optional, Tuple
from urllib.parse import parse_qsl, urlencode

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st
from multidict import MultiDict
from twilio.request_validator import RequestValidator

from bot.channels.replies import RATE_LIMITED_TEXT
from bot.channels.twilio import EMPTY_TWIML, MESSAGE_SID
from bot.channels.validation import MAX_SENDER_CHARS, clean_text
from scripts.stack import Stack
from tests.fakes.twilio_api import FakeTwilioApi
from tests.integration.conftest import TWILIO_WHATSAPP_FROM
from tests.integration.fuzzing import (
    EXAMPLES,
    FUZZ,
    MAX_BODY_BYTES,
    MAX_RSS_GROWTH_MB,
    PAYLOADS,
    Case,
    LogWatch,
    Tally,
    background_failures,
    cpu_seconds,
    header_junk,
    huge_text,
    mostly,
    odd_utf8_text,
    rss_mb,
    weighted,
)
from tests.receivers import wait_for

pytestmark = pytest.mark.integration
Pairs = List[Tuple[str, str]]
# The only senders whose messages reach the bot (a few, so the rate limit soon answers them).
SENDERS = ["whatsapp:+919800000011", "whatsapp:+919800000012"]
# Odd senders: empty once cleaned and stripped (400), too long (400), one of SENDERS once cleaned,
# or a few more conversations (one without the whatsapp: prefix, whose replies Twilio refuses).
ODD_SENDERS = [
    "",
    "   ",
    "\u2003\n",
    "\x00\x1b\x7f",  # nothing left once control characters are dropped
    " whatsapp:+919800000011 ",
    "whatsapp:+9198000000\x0012",
    "w" * (MAX_SENDER_CHARS + 1),
    "whatsapp:+" + "9" * (MAX_SENDER_CHARS - len("whatsapp:+")),
    "+919800000013",
]
FIELDS = [
    "From",
    "To",
    "Body",
    "MessageSid",
    "ButtonPayload",
    "ButtonText",
    "MessageStatus",
    "NumMedia",
    "WaId",
    "ProfileName",
    "AccountSid",
    "SmsSid",
    "",
]
CONTENT_TYPES = [
    "application/x-www-form-urlencoded",
    "application/x-www-form-urlencoded; charset=utf-8",
    "text/plain",
    "application/json",
    "multipart/form-data; boundary=x",
]
SIGNATURE_FAULTS = ["missing", "empty", "other token", "other url", "tampered", "junk"]
# Pieces of raw form bodies: bad percent escapes, bytes that are not UTF-8, separators.
FORM_TOKENS = [b"From=", b"Body=", b"MessageStatus=", b"&", b"=", b"+", b"%", b"%zz", b"%FF"]
FORM_TOKENS += [b"%E2%82", b"%E2%82%AC", b"%ED%A0%80", b"\xff", b"\xe2\x82", b"a", b";", b"%00"]
QUESTION = "how many sessions will I need for a foot ulcer?"
SOURCE = "Source: Exosome Therapy for Diabetic Foot Ulcers › How Many Sessions"
TOKEN = FakeTwilioApi.auth_token
ACCOUNT = FakeTwilioApi.account_sid


@dataclass(frozen=True)
class Form:
    """A generated request before it is signed for the webhook URL.

    ``pairs`` are the form fields to encode; without them ``raw`` is sent as it is.
    """

    kind: str
    pairs: Optional[Pairs]
    raw: bytes
    signing: str  # "signed" or one of SIGNATURE_FAULTS
    junk: str
    content_type: str


# -- form fields -------------------------------------------------------------------------------

good_sids = st.one_of(
    st.uuids().map(lambda u: f"SM{u.hex}"),
    st.uuids().map(lambda u: f"MM{u.hex}"),
    st.sampled_from(["SM" + "0" * 32, "SM" + "1" * 32]),  # repeated: answered once
)
bad_sids = st.one_of(
    st.sampled_from(["", "  ", "SMrepeated1", "x" * 300, "SM" + "A" * 32, "SM" + "0" * 33]),
    st.uuids().map(lambda u: f"SM{u.hex}NumMedia0"),  # a re-split form
    st.uuids().map(lambda u: f" SM{u.hex}"),
    st.text(max_size=40),
)
# Mostly well-formed (weighted: st.one_of would drift towards the roomier wrong values).
message_sids = weighted((8, good_sids), (2, bad_sids))
bad_accounts = st.sampled_from(["", "AC" + "f" * 32, ACCOUNT.upper(), ACCOUNT + " "]) | st.text(
    max_size=34
)
bodies = weighted(
    (40, odd_utf8_text),
    (10, st.sampled_from(PAYLOADS)),
    (5, huge_text(1900, 2100)),
    (3, huge_text(20_000, 70_000)),  # around the 64 KiB body limit once encoded
)
extra_fields = st.lists(st.tuples(st.sampled_from(FIELDS) | st.text(max_size=15), odd_utf8_text))


def optional(name: str, values: st.SearchStrategy[str]) -> st.SearchStrategy[Pairs]:
    """``[(name, value)]`` mostly, sometimes no field at all."""
    return mostly(values.map(lambda value: [(name, value)]), st.just([]))


def message_form(
    sender: Pairs,
    sid: Pairs,
    account: Pairs,
    body: Pairs,
    button: Pairs,
    to: Pairs,
    extra: Pairs,
    reverse: bool,
) -> Pairs:
    pairs = sender + sid + account + body + button + to + extra[:4]
    return pairs[::-1] if reverse else pairs


messages = st.builds(
    message_form,
    sender=optional("From", mostly(st.sampled_from(SENDERS), st.sampled_from(ODD_SENDERS))),
    sid=optional("MessageSid", message_sids),
    account=weighted(
        (9, st.just([("AccountSid", ACCOUNT)])), (1, optional("AccountSid", bad_accounts))
    ),
    body=optional("Body", bodies),
    button=mostly(
        st.just([]), optional("ButtonPayload", st.sampled_from(PAYLOADS) | odd_utf8_text)
    ),
    to=optional("To", st.just(TWILIO_WHATSAPP_FROM) | odd_utf8_text),
    # No extra From: a message's sender is always one of the few above.
    extra=mostly(st.just([]), extra_fields.map(lambda pairs: [p for p in pairs if p[0] != "From"])),
    reverse=st.booleans(),
)
# Any fields at all, random senders included, but no MessageSid: never a conversation.
any_fields = extra_fields.map(lambda pairs: [(k, v) for k, v in pairs if k != "MessageSid"])
status_callbacks = st.builds(
    lambda sid, account, status, sender, extra: [
        ("MessageSid", sid),
        *account,
        ("MessageStatus", status),
        ("To", sender),
        ("From", TWILIO_WHATSAPP_FROM),
        *extra,
    ],
    message_sids,
    optional("AccountSid", weighted((9, st.just(ACCOUNT)), (1, bad_accounts))),
    st.sampled_from(["sent", "delivered", "read", "failed", ""]) | odd_utf8_text,
    st.text(max_size=30),
    mostly(st.just([]), any_fields),
)
raw_bodies = st.binary(max_size=2000) | st.lists(st.sampled_from(FORM_TOKENS), max_size=30).map(
    b"".join
)
signing = weighted((17, st.just("signed")), (3, st.sampled_from(SIGNATURE_FAULTS)))


def form(
    kind: str, pairs: st.SearchStrategy[Pairs], how: st.SearchStrategy[str] = signing
) -> st.SearchStrategy[Form]:
    return st.builds(
        Form,
        kind=st.just(kind),
        pairs=pairs,
        raw=st.just(b""),
        signing=how,
        junk=header_junk,
        content_type=mostly(st.just(CONTENT_TYPES[0]), st.sampled_from(CONTENT_TYPES)),
    )


forms = weighted(
    (55, form("message", messages)),
    (10, form("status callback", status_callbacks)),
    (10, form("any fields", any_fields)),
    (10, form("unsigned", messages | any_fields, st.sampled_from(SIGNATURE_FAULTS))),
    (
        15,
        st.builds(
            Form,
            kind=st.just("raw bytes"),
            pairs=st.none(),
            raw=raw_bodies,
            signing=signing,
            junk=header_junk,
            content_type=st.sampled_from(CONTENT_TYPES),
        ),
    ),
)

# -- the requests and what the channel must answer ---------------------------------------------


def url(stack: Stack) -> str:
    return f"http://127.0.0.1:{stack.rasa_port}/webhooks/twilio/webhook"


def parsed(body: bytes) -> Optional["MultiDict[str]"]:
    """The fields the channel reads from ``body``; ``None`` if it is not UTF-8 (as the channel)."""
    try:
        return MultiDict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, errors="strict"))
    except UnicodeDecodeError:
        return None


def expected_for(body: bytes, params: Optional["MultiDict[str]"], signed: bool) -> int:
    """The channel's documented answer to a request."""
    if len(body) > MAX_BODY_BYTES or params is None:
        return 400
    if not signed:
        return 403
    names = list(params.keys())
    if len(set(names)) != len(names) or params.get("AccountSid") != ACCOUNT:
        return 400
    if not MESSAGE_SID.fullmatch(params.get("MessageSid", "")):
        return 400
    if "MessageStatus" in params:
        return 200
    sender = clean_text(params.get("From", ""), MAX_SENDER_CHARS + 1)[0].strip()
    return 200 if sender and len(sender) <= MAX_SENDER_CHARS else 400


def case_for(webhook_url: str, generated: Form) -> Case:
    body = generated.raw if generated.pairs is None else urlencode(generated.pairs).encode()
    params = parsed(body)
    fields = params if params is not None else MultiDict()
    if generated.pairs is not None:
        assert params is not None and list(params.items()) == generated.pairs, "form round trip"
    validator = RequestValidator(TOKEN)
    signature: Optional[str] = {
        "signed": lambda: validator.compute_signature(webhook_url, fields),
        "missing": lambda: None,
        "empty": lambda: "",
        "other token": lambda: RequestValidator("not-the-token").compute_signature(
            webhook_url, fields
        ),
        "other url": lambda: validator.compute_signature(
            "https://elsewhere.example/webhooks/twilio/webhook", fields
        ),
        "tampered": lambda: validator.compute_signature(
            webhook_url, MultiDict([*fields.items(), ("Body", "tampered")])
        ),
        "junk": lambda: generated.junk,
    }[generated.signing]()
    headers = {"Content-Type": generated.content_type}
    if signature is not None:
        headers["X-Twilio-Signature"] = signature
    status = expected_for(body, params, generated.signing == "signed")
    return Case(generated.kind, body, headers, frozenset({status}))


def new_sender() -> str:
    return "whatsapp:+91" + str(uuid.uuid4().int)[:10]


def ask(session: requests.Session, stack: Stack, twilio_api: FakeTwilioApi, text: str) -> str:
    """Send ``text`` from a new number and wait for the cited answer (its body)."""
    sender = new_sender()
    params = twilio_api.incoming(sender, TWILIO_WHATSAPP_FROM, text)
    headers = {
        "Content-Type": CONTENT_TYPES[0],
        "X-Twilio-Signature": twilio_api.sign(url(stack), params),
    }
    reply = session.post(url(stack), data=urlencode(params).encode(), headers=headers, timeout=30)
    assert (reply.status_code, reply.text) == (200, EMPTY_TWIML)
    wait_for(lambda: any(SOURCE in m["Body"] for m in twilio_api.sent_to(sender)), 60, "the answer")
    return twilio_api.sent_to(sender)[-1]["Body"]


# -- the test ----------------------------------------------------------------------------------


def test_generated_webhooks_never_break_the_twilio_channel(
    stack: Stack, twilio_api: FakeTwilioApi
) -> None:
    assert twilio_api.auth_token == TOKEN
    session = requests.Session()
    tally = Tally(stack)
    webhook_url = url(stack)
    # Prime caches, allocators and the channel's HTTP session, so memory growth is the run's own.
    ask(session, stack, twilio_api, QUESTION)
    watch = LogWatch(stack)
    before = rss_mb(stack)

    @FUZZ
    @given(generated=forms)
    def post(generated: Form) -> None:
        case = case_for(webhook_url, generated)
        reply = tally.post(session, webhook_url, case)
        if reply.status_code == 200:
            assert reply.text == EMPTY_TWIML
            assert reply.headers["Content-Type"].startswith("text/xml")

    started, cpu, rasa_cpu = time.monotonic(), time.process_time(), cpu_seconds(stack)
    post()
    after = rss_mb(stack)
    print(
        f"\ntwilio fuzz: {time.monotonic() - started:.0f} s for the generated requests; CPU s: "
        f"test {time.process_time() - cpu:.0f}, Rasa server {cpu_seconds(stack) - rasa_cpu:.0f}, "
        f"load {os.getloadavg()[0]:.1f}"
    )
    print(f"twilio fuzz: {tally.summary()}")
    print(f"twilio fuzz: Rasa server RSS {before:.0f} MB before, {after:.0f} MB after")

    assert sum(tally.statuses.values()) >= EXAMPLES
    assert set(tally.statuses) == {200, 400, 403}, tally.summary()
    assert tally.kinds(200)["message"] > 800, tally.summary()
    assert set(tally.kinds(200)) >= {"message", "status callback"}, tally.summary()
    assert set(tally.kinds(400)) >= {"message", "any fields", "raw bytes"}, tally.summary()
    assert tally.kinds(403)["unsigned"] > 100, tally.summary()
    assert tally.kinds(403)["message"] > 100, tally.summary()
    # The messages reached the bot: the fuzz senders were answered, then told to slow down.
    notice = RATE_LIMITED_TEXT.split(".")[0]
    for sender in SENDERS:
        wait_for(
            lambda sender=sender: any(notice in m["Body"] for m in twilio_api.sent_to(sender)),
            60,
            f"the rate-limit notice to {sender}",
        )
        assert len(twilio_api.sent_to(sender)) > 1
    assert after - before < MAX_RSS_GROWTH_MB, (before, after)
    # The server still answers a real question, and no message's processing failed meanwhile.
    assert "three to five treatments" in ask(session, stack, twilio_api, QUESTION)
    assert rss_mb(stack) - before < MAX_RSS_GROWTH_MB
    assert not background_failures(watch, "twilio")
    assert stack.procs["actions"].poll() is None, "the action server exited"
