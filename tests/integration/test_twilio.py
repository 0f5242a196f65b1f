"""WhatsApp via Twilio: the real Rasa server's signed Twilio channel, replying to a local fake of
Twilio's Messages API.

Webhooks are signed with Twilio's own ``RequestValidator`` over the URL the test posts to (the
stack sets no ``TWILIO_WEBHOOK_URL``). As in ``test_whatsapp.py``, a later "thank you" from the
same sender proves that an earlier webhook caused nothing: one sender's messages are handled in
order.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Dict, List, Optional, Sequence, Tuple
from urllib.parse import urlencode

import pytest
import requests
from multidict import MultiDict
from twilio.request_validator import RequestValidator

from bot.channels.background import Inbound
from bot.channels.twilio import EMPTY_TWIML, TwilioInput
from handoffs.store import HandoffStore
from knowledge.config import Settings
from scripts.stack import Stack
from tests.fakes.twilio_api import FakeTwilioApi, form_body
from tests.integration.conftest import TWILIO_WHATSAPP_FROM
from tests.receivers import wait_for

pytestmark = pytest.mark.integration
GREETING = "Hello, I am the clinic's assistant"
WELCOME = "You're welcome"
HINT = "Reply with the number of your choice."


def new_sender() -> str:
    return "whatsapp:+91" + str(uuid.uuid4().int)[:10]


def url(stack: Stack) -> str:
    return f"http://127.0.0.1:{stack.rasa_port}/webhooks/twilio/webhook"


def post(
    stack: Stack,
    twilio_api: FakeTwilioApi,
    params: Dict[str, str],
    signature: Optional[str] = None,
) -> requests.Response:
    """POST form ``params``, signed for the webhook URL unless ``signature`` is given."""
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    signature = twilio_api.sign(url(stack), params) if signature is None else signature
    if signature:
        headers["X-Twilio-Signature"] = signature
    return requests.post(url(stack), data=form_body(params), headers=headers, timeout=10)


def send(stack: Stack, twilio_api: FakeTwilioApi, sender: str, text: str) -> None:
    reply = post(stack, twilio_api, twilio_api.incoming(sender, TWILIO_WHATSAPP_FROM, text))
    assert reply.status_code == 200, reply.text
    assert reply.text == EMPTY_TWIML and reply.headers["Content-Type"].startswith("text/xml")


def bodies(twilio_api: FakeTwilioApi, sender: str) -> List[str]:
    return [m["Body"] for m in twilio_api.sent_to(sender)]


def wait_for_body(twilio_api: FakeTwilioApi, sender: str, part: str) -> List[str]:
    """Wait until a message to ``sender`` contains ``part``; all bodies to ``sender`` so far."""
    wait_for(lambda: any(part in b for b in bodies(twilio_api, sender)), 30, repr(part))
    return bodies(twilio_api, sender)


def labels(seen: List[str]) -> List[str]:
    return [
        "greeting" if b.startswith(GREETING) else "welcome" if b.startswith(WELCOME) else b[:40]
        for b in seen
    ]


def thank_and_wait(stack: Stack, twilio_api: FakeTwilioApi, sender: str) -> List[str]:
    send(stack, twilio_api, sender, "thank you")
    return wait_for_body(twilio_api, sender, WELCOME)


def test_signed_question_is_acknowledged_with_empty_twiml_and_answered_with_a_quote(
    stack: Stack, twilio_api: FakeTwilioApi
) -> None:
    sender = new_sender()
    started = time.monotonic()
    send(stack, twilio_api, sender, "how many sessions will I need for a foot ulcer?")
    assert time.monotonic() - started < 1.0
    assert not twilio_api.sent_to(sender), "acknowledged before the bot answered"
    wait_for_body(twilio_api, sender, "Source:")
    [message] = twilio_api.sent_to(sender)
    assert message["From"] == TWILIO_WHATSAPP_FROM and message["To"] == sender
    assert "three to five treatments" in message["Body"]
    assert "Source: Exosome Therapy for Diabetic Foot Ulcers › How Many Sessions" in message["Body"]
    assert "faqbot/1" not in message["Body"]


def test_missing_wrong_and_misdirected_signatures_are_refused_and_nothing_is_sent(
    stack: Stack, twilio_api: FakeTwilioApi
) -> None:
    sender = new_sender()
    params = twilio_api.incoming(sender, TWILIO_WHATSAPP_FROM, "what are exosomes")
    other_token = FakeTwilioApi(port=0)
    other_token.auth_token = "someone-elses-token"
    refused = [
        post(stack, twilio_api, params, signature=""),
        post(stack, twilio_api, params, signature=other_token.sign(url(stack), params)),
        post(
            stack,
            twilio_api,
            params,
            signature=twilio_api.sign("https://elsewhere.example/webhooks/twilio/webhook", params),
        ),
        post(
            stack,
            twilio_api,
            {**params, "Body": "what does it cost"},
            signature=twilio_api.sign(url(stack), params),
        ),
    ]
    for reply in refused:
        assert reply.status_code == 403
        assert "X-Twilio-Signature" in reply.json()["error"]
    assert labels(thank_and_wait(stack, twilio_api, sender)) == ["welcome"]


def test_a_repeated_message_sid_is_answered_once(stack: Stack, twilio_api: FakeTwilioApi) -> None:
    sender = new_sender()
    params = twilio_api.incoming(sender, TWILIO_WHATSAPP_FROM, "hello")
    for _ in range(2):
        assert post(stack, twilio_api, params).status_code == 200
    assert labels(thank_and_wait(stack, twilio_api, sender)) == ["greeting", "welcome"]


def post_pairs(
    stack: Stack, twilio_api: FakeTwilioApi, pairs: Sequence[Tuple[str, str]], signature: str = ""
) -> requests.Response:
    """POST ``pairs`` as they are (repeats kept), signed as Twilio would unless ``signature``."""
    fields: "MultiDict[str]" = MultiDict(pairs)
    validator = RequestValidator(twilio_api.auth_token)
    signature = signature or validator.compute_signature(url(stack), fields)
    assert validator.validate(url(stack), fields, signature), "the channel's validator accepts it"
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": signature,
    }
    return requests.post(url(stack), data=urlencode(list(pairs)), headers=headers, timeout=10)


def assert_refused(reply: requests.Response, error: str) -> None:
    assert reply.status_code == 400, reply.text
    assert reply.text.count("\n") == 0 and reply.json() == {"error": error}


def test_a_message_re_split_under_the_same_signature_is_refused_and_answered_once(
    stack: Stack, twilio_api: FakeTwilioApi
) -> None:
    # The signature joins name + value of every field without separators, so moving
    # "NumMedia" + "0" into the end of MessageSid keeps it valid, with a new message id.
    sender = new_sender()
    params = twilio_api.incoming(sender, TWILIO_WHATSAPP_FROM, "hello")
    signature = twilio_api.sign(url(stack), params)
    assert post(stack, twilio_api, params).status_code == 200
    resplit = {k: v for k, v in params.items() if k != "NumMedia"}
    resplit["MessageSid"] = params["MessageSid"] + "NumMedia0"
    reply = post_pairs(stack, twilio_api, list(resplit.items()), signature)
    assert_refused(reply, "'MessageSid' is missing or not a Twilio message SID")
    assert labels(thank_and_wait(stack, twilio_api, sender)) == ["greeting", "welcome"]


@pytest.mark.parametrize(
    "repeated", [("NumMedia", "0"), ("MessageSid", None), ("Body", "what does it cost")]
)
def test_a_form_field_that_appears_twice_is_refused_and_nothing_is_sent(
    stack: Stack, twilio_api: FakeTwilioApi, repeated: Tuple[str, Optional[str]]
) -> None:
    sender = new_sender()
    params = twilio_api.incoming(sender, TWILIO_WHATSAPP_FROM, "hello")
    name, value = repeated
    # Twilio's validator signs a repeated identical value once: the same signature as without.
    pairs = [*params.items(), (name, params[name] if value is None else value)]
    reply = post_pairs(stack, twilio_api, pairs)
    assert_refused(reply, "a form field appears more than once")
    assert labels(thank_and_wait(stack, twilio_api, sender)) == ["welcome"]


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("AccountSid", "AC" + "f" * 32, "'AccountSid' is missing or not this account's"),
        ("AccountSid", None, "'AccountSid' is missing or not this account's"),
        ("MessageSid", "SMrepeated1", "'MessageSid' is missing or not a Twilio message SID"),
        ("MessageSid", "SM" + "AB" * 16, "'MessageSid' is missing or not a Twilio message SID"),
        ("MessageSid", "XX" + "ab" * 16, "'MessageSid' is missing or not a Twilio message SID"),
        ("MessageSid", None, "'MessageSid' is missing or not a Twilio message SID"),
    ],
)
def test_a_signed_message_of_another_account_or_with_a_malformed_sid_is_refused(
    stack: Stack, twilio_api: FakeTwilioApi, field: str, value: Optional[str], error: str
) -> None:
    sender = new_sender()
    params = twilio_api.incoming(sender, TWILIO_WHATSAPP_FROM, "hello")
    if value is None:
        del params[field]
    else:
        params[field] = value
    assert_refused(post(stack, twilio_api, params), error)
    assert labels(thank_and_wait(stack, twilio_api, sender)) == ["welcome"]


def test_a_media_message_sid_is_accepted(stack: Stack, twilio_api: FakeTwilioApi) -> None:
    sender = new_sender()
    params = twilio_api.incoming(sender, TWILIO_WHATSAPP_FROM, "hello")
    params["MessageSid"] = "MM" + uuid.uuid4().hex
    assert post(stack, twilio_api, params).status_code == 200
    assert labels(thank_and_wait(stack, twilio_api, sender)) == ["greeting", "welcome"]


def test_status_callbacks_are_ignored(stack: Stack, twilio_api: FakeTwilioApi) -> None:
    sender = new_sender()
    for status in ("sent", "delivered", "read"):
        callback = twilio_api.status_callback(sender, TWILIO_WHATSAPP_FROM, status)
        reply = post(stack, twilio_api, callback)
        assert (reply.status_code, reply.text) == (200, EMPTY_TWIML)
    assert labels(thank_and_wait(stack, twilio_api, sender)) == ["welcome"]


def test_buttons_become_numbered_options_and_the_number_picks_the_payload(
    stack: Stack, twilio_api: FakeTwilioApi, handoff_store: HandoffStore
) -> None:
    sender = new_sender()
    send(stack, twilio_api, sender, "what's the weather going to be in mumbai tomorrow")
    [offer] = wait_for_body(twilio_api, sender, HINT)
    assert offer.endswith("\n\n1. Talk to a person\n\n" + HINT)
    send(stack, twilio_api, sender, "1")
    handed = wait_for_body(twilio_api, sender, "reference number")[-1]
    handoff = handoff_store.get(handed.split("reference number is ")[1][:9])
    assert handoff is not None
    assert (handoff.channel, handoff.sender_id) == ("twilio", f"twilio:{sender}")
    assert handoff.contact is not None
    assert (handoff.contact.kind, handoff.contact.value) == ("phone", sender[len("whatsapp:") :])


def test_a_choice_between_articles_is_numbered_and_the_number_gets_that_answer(
    stack: Stack, twilio_api: FakeTwilioApi
) -> None:
    sender = new_sender()
    send(stack, twilio_api, sender, "stem cells")
    [choice] = wait_for_body(twilio_api, sender, HINT)
    options = [line for line in choice.splitlines() if line[:3] in ("1. ", "2. ", "3. ")]
    assert 2 <= len(options) <= 3
    section = options[1].split(": ", 1)[1]
    send(stack, twilio_api, sender, "2")
    answer = wait_for_body(twilio_api, sender, "Source:")[-1]
    assert "› " + section.rstrip("…") in answer, "option 2's section is cited"


def test_a_number_without_options_is_read_as_text(stack: Stack, twilio_api: FakeTwilioApi) -> None:
    sender = new_sender()
    send(stack, twilio_api, sender, "1")
    wait_for(lambda: bodies(twilio_api, sender), 30, "a reply")
    assert "reference number" not in bodies(twilio_api, sender)[0]


@pytest.mark.parametrize("body", [b"Body=%FF%FE&From=x", b"Body=\xff\xfe&From=x"])
def test_a_form_body_that_is_not_utf8_gets_a_clear_error(stack: Stack, body: bytes) -> None:
    headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": "x"}
    reply = requests.post(url(stack), data=body, headers=headers, timeout=10)
    assert (reply.status_code, reply.json()["error"]) == (400, "request body is not valid UTF-8")


def test_an_oversized_body_is_refused(stack: Stack, twilio_api: FakeTwilioApi) -> None:
    params = twilio_api.incoming(new_sender(), TWILIO_WHATSAPP_FROM, "a" * 70_000)
    reply = post(stack, twilio_api, params)
    assert reply.status_code == 400 and "larger than" in reply.json()["error"]


# -- the channel's delivery through the Messages API, in this process ---------------------------


def channel_for(twilio_api: FakeTwilioApi, tmp_path: Path, **env: str) -> TwilioInput:
    settings = Settings.from_env(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'seen.db'}",
            "TWILIO_ACCOUNT_SID": twilio_api.account_sid,
            "TWILIO_AUTH_TOKEN": twilio_api.auth_token,
            "TWILIO_API_URL": twilio_api.url,
            **env,
        }
    )
    return TwilioInput(settings)


def deliver(channel: TwilioInput, inbound: Inbound, messages: List[Dict[str, Any]]) -> None:
    async def run() -> None:
        await channel.deliver(inbound, messages)
        await channel.close()

    asyncio.run(run())


def test_a_long_reply_is_split_under_1600_characters_with_the_options_last(
    twilio_api: FakeTwilioApi, tmp_path: Path
) -> None:
    channel = channel_for(twilio_api, tmp_path, TWILIO_WHATSAPP_FROM="+14155238886")
    sender = new_sender()
    sentence = "Exosomes carry proteins and genetic material between cells to support repair. "
    text = sentence * 50
    buttons = [{"title": "Talk to a person", "payload": "/request_human"}]
    deliver(channel, Inbound(sender, None, ""), [{"text": text, "buttons": buttons}])
    sent = twilio_api.sent_to(sender)
    assert len(sent) == 3
    assert all(len(m["Body"]) <= 1600 for m in sent)
    assert all(m["From"] == "whatsapp:+14155238886" for m in sent), "WhatsApp prefix added"
    assert all(m["Body"].endswith("repair.") for m in sent[:-1])
    assert sent[-1]["Body"].endswith("1. Talk to a person\n\n" + HINT)
    joined = " ".join(m["Body"] for m in sent)
    assert joined.split()[: len(text.split())] == text.split()
    choice = channel.resolve(Inbound(sender, None, " 1 "))
    assert choice.text == "/request_human"
    assert channel.resolve(Inbound(sender, None, "2")).text == "2"


def test_without_a_configured_sender_replies_come_from_the_number_written_to(
    twilio_api: FakeTwilioApi, tmp_path: Path
) -> None:
    channel = channel_for(twilio_api, tmp_path)
    sender = new_sender()
    inbound = Inbound(sender, None, "", reply_from="whatsapp:+15550001111")
    deliver(channel, inbound, [{"text": "Hello."}])
    [message] = twilio_api.sent_to(sender)
    assert (message["From"], message["Body"]) == ("whatsapp:+15550001111", "Hello.")


def test_the_public_webhook_url_setting_is_what_signatures_are_checked_against(
    twilio_api: FakeTwilioApi, tmp_path: Path
) -> None:
    public = "https://bot.clinic.example/webhooks/twilio/webhook"
    request = SimpleNamespace(url="http://10.0.0.5:5005/webhooks/twilio/webhook")
    proxied = channel_for(twilio_api, tmp_path, TWILIO_WEBHOOK_URL=public)
    assert proxied.signed_url(request) == public  # type: ignore[arg-type]
    assert channel_for(twilio_api, tmp_path).signed_url(request) == request.url  # type: ignore[arg-type]
