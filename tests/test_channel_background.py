"""What the WhatsApp and Twilio channels do around the bot: duplicates, rate limit, the failure
reply, the truncation note, order per sender, errors in the background, missing configuration.

``on_new_message`` stands in for Rasa's message handler: it writes to the output channel it is
given, as Rasa does. Delivery is recorded by a subclass instead of calling a platform.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Awaitable, Callable, Dict, List, Sequence

import pytest
from rasa.core.channels.channel import UserMessage

from bot.channels.background import BackgroundChannel, Inbound
from bot.channels.twilio import TwilioInput
from bot.channels.whatsapp import WhatsAppInput, incoming_messages, valid_signature
from knowledge.config import Settings


class Recording(BackgroundChannel):
    @classmethod
    def name(cls) -> str:
        return "recording"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings, {})
        self.delivered: List[tuple] = []

    async def deliver(self, inbound: Inbound, messages: Sequence[Dict[str, Any]]) -> None:
        self.delivered.append((inbound.sender, [m.get("text") for m in messages]))


def settings_for(tmp_path: Path, **env: str) -> Settings:
    return Settings.from_env({"DATABASE_URL": f"sqlite:///{tmp_path / 'seen.db'}", **env})


def bot(reply: str = "Hello.", delay: float = 0.0) -> Callable[[UserMessage], Awaitable[None]]:
    async def on_new_message(message: UserMessage) -> None:
        await asyncio.sleep(delay)
        assert message.output_channel is not None
        text = f"{reply} ({message.text[:12]})"
        await message.output_channel.send_response(
            message.sender_id, {"text": text, "custom": {"kind": "chitchat"}}
        )

    return on_new_message


def run(channel: BackgroundChannel, on_new: Any, *inbound: Inbound) -> None:
    async def main() -> None:
        for item in inbound:
            channel.spawn(on_new, item)
        await asyncio.wait(set(channel.tasks))
        await channel.drain()

    asyncio.run(main())


def test_replies_keep_the_order_of_each_senders_messages(tmp_path: Path) -> None:
    channel = Recording(settings_for(tmp_path))
    slow_first = bot(delay=0.0)
    calls: List[str] = []

    async def on_new(message: UserMessage) -> None:
        calls.append(message.text)
        await asyncio.sleep(0.2 if message.text == "first" else 0.0)
        await slow_first(message)

    run(channel, on_new, Inbound("a", "1", "first"), Inbound("a", "2", "second"))
    assert calls == ["first", "second"]
    assert [texts for _, texts in channel.delivered] == [
        ["Hello. (first)"],
        ["Hello. (second)"],
    ]


def test_a_repeated_message_id_is_processed_once(tmp_path: Path) -> None:
    channel = Recording(settings_for(tmp_path))
    run(channel, bot(), Inbound("a", "m1", "hi"), Inbound("a", "m1", "hi"), Inbound("a", "m2", "x"))
    assert len(channel.delivered) == 2


@pytest.mark.parametrize("failure", ["silent", "raises"])
def test_when_the_bot_produces_nothing_the_patient_is_told_to_contact_the_clinic(
    tmp_path: Path, failure: str, caplog: pytest.LogCaptureFixture
) -> None:
    channel = Recording(settings_for(tmp_path, FAQBOT_CLINIC_CONTACT="Dr. Rao's desk"))

    async def on_new(message: UserMessage) -> None:
        if failure == "raises":
            raise RuntimeError("patient text inside an error: chest pain")

    run(channel, on_new, Inbound("a", "m", "how much does it cost"))
    [(_, [text])] = channel.delivered
    assert "can't answer right now" in text and "Dr. Rao's desk" in text
    assert "chest pain" not in caplog.text


def test_a_cut_message_gets_the_note_before_the_answer(tmp_path: Path) -> None:
    channel = Recording(settings_for(tmp_path, FAQBOT_MAX_MESSAGE_CHARS="100"))
    run(channel, bot(), Inbound("a", "m", "x" * 100, truncated=True))
    [(_, texts)] = channel.delivered
    assert texts[0].startswith("Your message was very long, so I only read its first 100")
    assert texts[1].startswith("Hello.")


def test_over_the_rate_limit_the_bot_is_not_asked_and_the_notice_comes_once(
    tmp_path: Path,
) -> None:
    channel = Recording(settings_for(tmp_path, FAQBOT_RATE_LIMIT="2"))
    asked: List[str] = []
    answer = bot()

    async def on_new(message: UserMessage) -> None:
        asked.append(message.text)
        await answer(message)

    run(
        channel, on_new, *[Inbound("a", f"m{i}", f"q{i}") for i in range(5)], Inbound("b", "x", "q")
    )
    assert sorted(asked) == ["q", "q0", "q1"], "sender b is not limited by a"
    to_a = [texts for sender, texts in channel.delivered if sender == "a"]
    assert len(to_a) == 3
    assert "faster than I can answer" in to_a[2][0]


def test_a_failing_delivery_is_logged_by_type_only(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken(Recording):
        async def deliver(self, inbound: Inbound, messages: Sequence[Dict[str, Any]]) -> None:
            raise ConnectionError(f"cannot reach {inbound.sender}")

    channel = Broken(settings_for(tmp_path))
    run(channel, bot(), Inbound("919876543210", "m", "hello"))
    assert "recording: processing a message failed (ConnectionError)" in caplog.text
    assert "919876543210" not in caplog.text
    assert not channel.tasks, "finished tasks are released"


# -- configuration and checks of the two channels --------------------------------------------


def fake_request(body: bytes = b"{}", **headers: str) -> Any:
    return SimpleNamespace(body=body, headers=headers, args={}, url="http://x/webhook")


def test_missing_credentials_start_the_channel_but_answer_with_a_clear_error(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    whatsapp = WhatsAppInput(settings_for(tmp_path))
    twilio = TwilioInput(settings_for(tmp_path, TWILIO_ACCOUNT_SID="AC1"))
    reply = whatsapp.receive(fake_request(), bot())
    assert reply.status == 503
    assert "WHATSAPP_APP_SECRET" in json.loads(reply.body)["error"]
    verify = whatsapp.verify(fake_request())
    assert verify.status == 403 and b"WHATSAPP_VERIFY_TOKEN" in verify.body
    reply = twilio.receive(fake_request(), bot())
    assert reply.status == 503
    assert json.loads(reply.body)["error"] == (
        "the twilio channel is not configured: set TWILIO_AUTH_TOKEN"
    )
    warnings = [r.getMessage() for r in caplog.records if "not configured" in r.getMessage()]
    assert len(warnings) == 2
    assert "missing WHATSAPP_VERIFY_TOKEN, WHATSAPP_APP_SECRET" in warnings[0]


def test_signature_check() -> None:
    body = b'{"object": "whatsapp_business_account"}'
    good = "sha256=" + hmac.new(b"secret", body, hashlib.sha256).hexdigest()
    assert valid_signature("secret", body, good)
    assert valid_signature("secret", body, good.upper().replace("SHA256=", "sha256="))
    for bad in [None, "", good[7:], "sha256=", good + "0", "sha256=é" + good[8:]]:
        assert not valid_signature("secret", body, bad)
    assert not valid_signature("other", body, good)
    assert not valid_signature("secret", body + b" ", good)


def test_webhook_parsing_reads_texts_replies_and_captions_and_skips_the_rest() -> None:
    def message(kind: str, **body: Any) -> Dict[str, Any]:
        return {
            "from": "919876543210",
            "id": f"wamid.{kind}",
            "timestamp": str(int(time.time())),
            "type": kind,
            kind: body,
        }

    data = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "metadata": {"phone_number_id": "111"},
                            "statuses": [{"id": "wamid.s", "status": "read"}],
                            "messages": [
                                message("text", body="hi\x00 there"),
                                message(
                                    "interactive",
                                    type="list_reply",
                                    list_reply={"id": "/request_human", "title": "Talk"},
                                ),
                                message("button", payload="/greet", text="Hi"),
                                message("image", caption="is this ulcer infected?"),
                                message("audio"),
                                message("reaction", emoji="👍"),
                                {"type": "text", "text": {"body": "no sender"}},
                            ],
                        },
                    },
                    {
                        "field": "messages",
                        "value": {
                            "metadata": {"phone_number_id": "222"},
                            "messages": [message("text", body="to another number")],
                        },
                    },
                ]
            }
        ],
    }
    found = list(incoming_messages(data, "111", max_chars=5000))
    assert [(m.sender, m.message_id, m.text) for m in found] == [
        ("919876543210", "wamid.text", "hi there"),
        ("919876543210", "wamid.interactive", "/request_human"),
        ("919876543210", "wamid.button", "/greet"),
        ("919876543210", "wamid.image", "is this ulcer infected?"),
        ("919876543210", "wamid.audio", ""),
    ]
    assert list(incoming_messages({**data, "object": "page"}, "111", 5000)) == []
    [cut] = incoming_messages(
        {**data, "entry": [{"changes": [data["entry"][0]["changes"][1]]}]}, None, max_chars=5
    )
    assert (cut.text, cut.truncated) == ("to an", True)
