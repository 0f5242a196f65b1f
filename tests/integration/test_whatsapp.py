"""The WhatsApp (Cloud API) channel of the real Rasa server, replying to a local Graph API fake.

Webhooks are built and signed as Meta does; replies are read from what the fake accepted (it
refuses anything that breaks the Graph API's documented limits). To prove that a webhook was *not*
processed, a later message from the same sender is awaited: the channel handles one sender's
messages in order, so once that reply is in, anything the earlier webhook caused would be too.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Dict, List

import pytest
import requests

from bot.channels.background import Inbound
from bot.channels.dedupe import SeenMessages
from bot.channels.whatsapp import WhatsAppInput
from handoffs.store import HandoffStore
from knowledge.config import Settings
from scripts.stack import Stack
from tests.fakes.graph_api import (
    FakeGraphApi,
    body_of,
    reply_message,
    sign,
    status_update,
    text_message,
    webhook,
)
from tests.integration.conftest import WHATSAPP_APP_SECRET, WHATSAPP_VERIFY_TOKEN
from tests.receivers import wait_for

pytestmark = pytest.mark.integration
GREETING = "Hello, I am the clinic's assistant"
WELCOME = "You're welcome"
# Close candidates from two articles (as in test_widget.py): the bot offers a choice.
AMBIGUOUS_QUESTION = "stem cells"
FOOT_ULCER_SOURCE = "Source: Exosome Therapy for Diabetic Foot Ulcers › How Many Sessions"


def new_number() -> str:
    """A WhatsApp ``from``: country code and number, digits only."""
    return "91" + str(uuid.uuid4().int)[:10]


def url(stack: Stack) -> str:
    return f"http://127.0.0.1:{stack.rasa_port}/webhooks/whatsapp/webhook"


def post(
    stack: Stack, body: bytes, signature: str = "", secret: str = WHATSAPP_APP_SECRET
) -> requests.Response:
    """POST a webhook body, signed with ``secret`` unless ``signature`` is given."""
    headers = {"Content-Type": "application/json"}
    headers["X-Hub-Signature-256"] = signature or sign(body, secret)
    return requests.post(url(stack), data=body, headers=headers, timeout=10)


def send(stack: Stack, graph_api: FakeGraphApi, *messages: Dict[str, Any]) -> None:
    reply = post(stack, webhook(graph_api.phone_number_id, messages))
    assert reply.status_code == 200, reply.text


def bodies(graph_api: FakeGraphApi, sender: str) -> List[str]:
    return [body_of(m) for m in graph_api.sent_to(sender)]


def wait_for_reply(
    graph_api: FakeGraphApi, sender: str, check: Callable[[str], bool], timeout: float = 30
) -> List[str]:
    """Wait until a message to ``sender`` passes ``check``; all bodies to ``sender`` so far."""
    wait_for(lambda: any(check(b) for b in bodies(graph_api, sender)), timeout, "reply")
    return bodies(graph_api, sender)


def labels(seen: List[str]) -> List[str]:
    """Each body as ``greeting`` / ``welcome``, or its start."""
    return [
        "greeting" if b.startswith(GREETING) else "welcome" if b.startswith(WELCOME) else b[:40]
        for b in seen
    ]


def thank_and_wait(stack: Stack, graph_api: FakeGraphApi, sender: str) -> List[str]:
    """Send "thank you" and wait for its reply: everything sent before it has arrived too."""
    send(stack, graph_api, text_message(sender, "thank you"))
    return wait_for_reply(graph_api, sender, lambda b: b.startswith(WELCOME))


# -- verification handshake -------------------------------------------------------------------


def test_verification_handshake_echoes_the_challenge_only_for_the_right_token(
    stack: Stack,
) -> None:
    good = {"hub.mode": "subscribe", "hub.verify_token": WHATSAPP_VERIFY_TOKEN}
    reply = requests.get(url(stack), params={**good, "hub.challenge": "1158201444"}, timeout=10)
    assert (reply.status_code, reply.text) == (200, "1158201444")
    assert reply.headers["X-Content-Type-Options"] == "nosniff"
    assert reply.headers["Content-Type"].split(";")[0] == "text/plain"
    # A challenge that looks like a page is still served as plain text, not sniffed as HTML.
    page = "<html><script>alert(1)</script></html>"
    reply = requests.get(url(stack), params={**good, "hub.challenge": page}, timeout=10)
    assert (reply.status_code, reply.text) == (200, page)
    assert reply.headers["Content-Type"].split(";")[0] == "text/plain"
    assert reply.headers["X-Content-Type-Options"] == "nosniff"
    for params in [
        {**good, "hub.verify_token": "wrong-token", "hub.challenge": "1"},
        {**good, "hub.mode": "unsubscribe", "hub.challenge": "1"},
        {"hub.mode": "subscribe", "hub.challenge": "1"},
    ]:
        refused = requests.get(url(stack), params=params, timeout=10)
        assert refused.status_code == 403
        assert "1" not in refused.text.replace("403", "")


# -- signatures -------------------------------------------------------------------------------


def test_unsigned_forged_and_tampered_webhooks_are_refused_and_nothing_is_sent(
    stack: Stack, graph_api: FakeGraphApi
) -> None:
    sender = new_number()
    body = webhook(graph_api.phone_number_id, [text_message(sender, "what are exosomes")])
    unsigned = requests.post(
        url(stack), data=body, headers={"Content-Type": "application/json"}, timeout=10
    )
    forged = post(stack, body, signature=sign(body, "not-the-app-secret"))
    signature = sign(body, WHATSAPP_APP_SECRET)
    tampered = post(stack, body.replace(b"what are exosomes", b"what does it cost"), signature)
    wrong_scheme = post(stack, body, signature="sha1=" + signature[len("sha256=") :])
    for refused in (unsigned, forged, tampered, wrong_scheme):
        assert refused.status_code == 403
        assert "X-Hub-Signature-256" in refused.json()["error"]
    assert labels(thank_and_wait(stack, graph_api, sender)) == ["welcome"]


def test_signed_question_is_acknowledged_at_once_and_answered_with_a_cited_quote(
    stack: Stack, graph_api: FakeGraphApi
) -> None:
    sender = new_number()
    body = webhook(
        graph_api.phone_number_id,
        [text_message(sender, "how many sessions will I need for a foot ulcer?")],
    )
    started = time.monotonic()
    reply = post(stack, body)
    assert reply.status_code == 200
    assert time.monotonic() - started < 1.0
    assert not graph_api.sent_to(sender), "acknowledged before the bot answered"
    [answer] = wait_for_reply(graph_api, sender, lambda b: "Source:" in b)
    assert "three to five treatments" in answer
    assert FOOT_ULCER_SOURCE in answer
    assert "faqbot/1" not in answer and '"kind"' not in answer, "no raw JSON payload"
    [sent] = graph_api.sent_to(sender)
    assert sent["type"] == "text" and sent["messaging_product"] == "whatsapp"
    assert sent["to"] == sender


# -- duplicates and ignored callbacks ---------------------------------------------------------


def test_a_replayed_webhook_is_answered_once(stack: Stack, graph_api: FakeGraphApi) -> None:
    sender = new_number()
    body = webhook(graph_api.phone_number_id, [text_message(sender, "hello")])
    for _ in range(3):
        assert post(stack, body).status_code == 200
    assert labels(thank_and_wait(stack, graph_api, sender)) == ["greeting", "welcome"]


def test_a_message_id_seen_by_an_earlier_server_process_is_not_answered_again(
    stack: Stack, graph_api: FakeGraphApi, database_url: str
) -> None:
    # As if the server had processed the message before a restart: the id is in the database.
    sender = new_number()
    message = text_message(sender, "hello")
    earlier = SeenMessages(database_url)
    assert earlier.first_time("whatsapp", message["id"])
    earlier.close()
    send(stack, graph_api, message)
    assert labels(thank_and_wait(stack, graph_api, sender)) == ["welcome"]


@pytest.mark.parametrize(
    ("timestamp", "logged"),
    [
        ("1577836800", "a timestamp older than the duplicate check's window"),  # 2020-01-01
        (str(int(time.time() - 8 * 24 * 3600)), "a timestamp older than the duplicate check's"),
        (None, "a missing or invalid timestamp"),
        ("", "a missing or invalid timestamp"),
        ("yesterday", "a missing or invalid timestamp"),
        (1577836800, "a missing or invalid timestamp"),  # a number, not Meta's string
        ("-5", "a missing or invalid timestamp"),
        ("9" * 40, "a missing or invalid timestamp"),
        (str(int(time.time() + 2 * 24 * 3600)), "a timestamp in the future"),
    ],
)
def test_a_message_too_old_for_the_duplicate_check_or_without_a_valid_timestamp_is_not_answered(
    stack: Stack, graph_api: FakeGraphApi, timestamp: Any, logged: str
) -> None:
    # Its id may have been purged from the seen-message table: a replay would be answered again.
    assert stack.log_dir is not None
    log = stack.log_dir / "rasa.log"
    start = log.stat().st_size
    sender = new_number()
    old = text_message(sender, "hello")
    if timestamp is None:
        del old["timestamp"]
    else:
        old["timestamp"] = timestamp
    send(stack, graph_api, old)
    assert labels(thank_and_wait(stack, graph_api, sender)) == ["welcome"]
    written = log.read_bytes()[start:].decode("utf-8", "replace")
    assert f"whatsapp: skipped a message with {logged}" in written
    assert sender not in written and "hello" not in written and old["id"] not in written


def test_a_message_from_a_few_days_ago_is_still_answered(
    stack: Stack, graph_api: FakeGraphApi
) -> None:
    # Meta retries failed deliveries for days; those are within the duplicate check's window.
    sender = new_number()
    late = text_message(sender, "hello")
    late["timestamp"] = str(int(time.time() - 6 * 24 * 3600))
    send(stack, graph_api, late)
    assert labels(thank_and_wait(stack, graph_api, sender)) == ["greeting", "welcome"]


def test_status_callbacks_are_ignored(stack: Stack, graph_api: FakeGraphApi) -> None:
    sender = new_number()
    for status in ("sent", "delivered", "read"):
        body = webhook(graph_api.phone_number_id, statuses=[status_update(sender, status)])
        assert post(stack, body).status_code == 200
    assert labels(thank_and_wait(stack, graph_api, sender)) == ["welcome"]


# -- buttons and handoff ----------------------------------------------------------------------


def test_reply_button_is_interactive_and_tapping_it_hands_over_with_the_phone_number(
    stack: Stack, graph_api: FakeGraphApi, handoff_store: HandoffStore
) -> None:
    sender = new_number()
    send(
        stack, graph_api, text_message(sender, "what's the weather going to be in mumbai tomorrow")
    )
    wait_for_reply(graph_api, sender, lambda b: "don't know" in b)
    [offer] = graph_api.sent_to(sender)
    assert offer["type"] == "interactive"
    assert offer["interactive"]["action"]["buttons"] == [
        {"type": "reply", "reply": {"id": "/request_human", "title": "Talk to a person"}}
    ]
    send(stack, graph_api, reply_message(sender, "/request_human", "Talk to a person"))
    handed = wait_for_reply(graph_api, sender, lambda b: "reference number" in b)[-1]
    reference = handed.split("reference number is ")[1][:9]
    handoff = handoff_store.get(reference)
    assert handoff is not None
    assert handoff.channel == "whatsapp" and handoff.sender_id == f"whatsapp:{sender}"
    assert handoff.contact is not None
    assert (handoff.contact.kind, handoff.contact.value) == ("phone", f"+{sender}")


def test_a_choice_between_articles_is_a_list_and_a_tapped_row_is_answered(
    stack: Stack, graph_api: FakeGraphApi
) -> None:
    sender = new_number()
    send(stack, graph_api, text_message(sender, AMBIGUOUS_QUESTION))
    wait_for(lambda: graph_api.sent_to(sender), 30, "the choice")
    [choice] = graph_api.sent_to(sender)
    assert choice["type"] == "interactive" and choice["interactive"]["type"] == "list"
    assert "Which topic do you mean?" in choice["interactive"]["body"]["text"]
    rows = choice["interactive"]["action"]["sections"][0]["rows"]
    assert 2 <= len(rows) <= 3
    assert all(row["id"].startswith('/ask_question{"passage_id": ') for row in rows)
    row = rows[1]
    send(stack, graph_api, reply_message(sender, row["id"], row["title"], kind="list_reply"))
    answer = wait_for_reply(graph_api, sender, lambda b: "Source:" in b)[-1]
    assert "› " + row["description"].rstrip("…") in answer, "the chosen section is cited"


# -- input rules ------------------------------------------------------------------------------


def test_a_very_long_message_is_cut_with_a_note_before_the_answer(
    stack: Stack, graph_api: FakeGraphApi
) -> None:
    sender = new_number()
    send(
        stack,
        graph_api,
        text_message(sender, "how much does exosome therapy cost for a foot ulcer " * 100),
    )
    seen = wait_for_reply(graph_api, sender, lambda b: "Source:" in b)
    assert "only read its first 2,000 characters" in seen[0]
    assert len(seen) == 2


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        (b'{"object": ', 400, "not valid JSON"),
        (b'{"object": "\xff\xfe"}', 400, "not valid UTF-8"),
        (b"[1, 2]", 400, "JSON object"),
        (b'{"object": "' + b"a" * 70_000 + b'"}', 400, "larger than"),
    ],
)
def test_malformed_webhooks_get_a_clear_error(
    stack: Stack, body: bytes, status: int, error: str
) -> None:
    reply = post(stack, body)
    assert reply.status_code == status
    assert error in reply.json()["error"]


# -- delivery through the Graph API -----------------------------------------------------------


def test_failed_sends_are_retried_and_logged_without_the_number(
    stack: Stack, graph_api: FakeGraphApi
) -> None:
    assert stack.log_dir is not None
    log = stack.log_dir / "rasa.log"
    start = log.stat().st_size
    sender = new_number()
    graph_api.fail_next = 2
    send(stack, graph_api, text_message(sender, "hello"))
    wait_for_reply(graph_api, sender, lambda b: b.startswith(GREETING))
    assert graph_api.attempts_to(sender) == 3
    written = log.read_bytes()[start:].decode("utf-8", "replace")
    assert "whatsapp: sending failed (HTTP 500, error code 1), attempt 1 of 4" in written
    assert sender not in written and sender[2:] not in written


def channel_for(graph_api: FakeGraphApi, tmp_path: Path) -> WhatsAppInput:
    """The channel class itself, in this process, sending to the fake."""
    settings = Settings.from_env(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'seen.db'}",
            "WHATSAPP_VERIFY_TOKEN": WHATSAPP_VERIFY_TOKEN,
            "WHATSAPP_APP_SECRET": WHATSAPP_APP_SECRET,
            "WHATSAPP_ACCESS_TOKEN": graph_api.access_token,
            "WHATSAPP_PHONE_NUMBER_ID": graph_api.phone_number_id,
            "WHATSAPP_API_URL": graph_api.url,
        }
    )
    return WhatsAppInput(settings)


def deliver(channel: WhatsAppInput, sender: str, messages: List[Dict[str, Any]]) -> None:
    async def run() -> None:
        await channel.deliver(Inbound(sender, None, ""), messages)
        await channel.close()

    asyncio.run(run())


def test_a_long_answer_arrives_split_at_sentences_under_4096_characters(
    graph_api: FakeGraphApi, tmp_path: Path
) -> None:
    sentence = "Exosomes carry proteins and genetic material between cells to support repair. "
    text = "Here is what our article says:\n“" + sentence * 120 + "”"
    custom = {"kind": "answer", "citations": [{"citation": "Exosome FAQ › What are exosomes?"}]}
    sender = new_number()
    deliver(channel_for(graph_api, tmp_path), sender, [{"text": text, "custom": custom}])
    seen = bodies(graph_api, sender)
    assert len(seen) == 3
    assert all(len(b) <= 4096 for b in seen)
    assert all(b.endswith(("repair.", "”")) for b in seen[:-1]), "cut at sentence ends"
    source = "\nSource: Exosome FAQ › What are exosomes?"
    assert seen[-1].endswith(source), "the citation closes the answer"
    assert " ".join(seen)[: -len(source)].split() == text.split(), "no word lost"


def test_many_or_long_buttons_arrive_as_a_list_the_api_accepts(
    graph_api: FakeGraphApi, tmp_path: Path
) -> None:
    buttons = [
        {
            "title": f"{topic}: {section}",
            "payload": "/ask_question" + json.dumps({"passage_id": f"{topic.lower()}#{i}"}),
        }
        for i, (topic, section) in enumerate(
            [
                ("Foot ulcers", "How Many Sessions Are Typically Required?"),
                ("Kidneys (nephropathy)", "Is Exosome Therapy Safe for Patients on Dialysis?"),
                ("Neuropathy", "What Results Can Patients Expect After Treatment?"),
            ]
        )
    ]
    sender = new_number()
    text = "Your question matches more than one of our articles. Which topic do you mean?"
    deliver(channel_for(graph_api, tmp_path), sender, [{"text": text, "buttons": buttons}])
    [sent] = graph_api.sent_to(sender)
    assert sent["interactive"]["type"] == "list"
    rows = sent["interactive"]["action"]["sections"][0]["rows"]
    assert [r["id"] for r in rows] == [b["payload"] for b in buttons]
    assert [r["title"] for r in rows] == ["Foot ulcers", "Kidneys (nephropathy)", "Neuropathy"]
    assert rows[1]["description"] == "Is Exosome Therapy Safe for Patients on Dialysis?"


def test_a_send_that_keeps_failing_is_given_up_after_four_attempts(
    graph_api: FakeGraphApi, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    channel = channel_for(graph_api, tmp_path)
    channel.poster.base_delay = 0.01
    sender = new_number()
    graph_api.fail_next = 10
    try:
        deliver(channel, sender, [{"text": "Please call the clinic."}])
    finally:
        graph_api.fail_next = 0
    assert graph_api.attempts_to(sender) == 4
    assert not graph_api.sent_to(sender)
    assert "could not be sent after 4 attempts (HTTP 500, error code 1)" in caplog.text
    assert sender not in caplog.text and "Please call" not in caplog.text


# -- the action server down (last: restarts it) ------------------------------------------------


def test_with_the_action_server_down_the_patient_is_told_to_contact_the_clinic(
    stack: Stack, graph_api: FakeGraphApi
) -> None:
    sender = new_number()
    stack.stop("actions")
    try:
        send(stack, graph_api, text_message(sender, "how much does it cost"))
        [reply] = wait_for_reply(graph_api, sender, lambda b: "can't answer right now" in b)
        assert "reception desk" in reply
    finally:
        stack.start_actions()
        stack.wait_ready()
        stack.warm_up()
