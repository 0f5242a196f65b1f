"""With the action server down: emergencies are still answered, everything else gets a short
"can't answer right now" reply with the clinic's contact, at once."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Iterator

import pytest
import requests

from scripts.stack import Stack, free_port

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def rasa_only() -> Iterator[Stack]:
    stack = Stack(free_port(), free_port(), log_dir=ROOT / "var" / "logs" / "tests-no-actions")
    stack.start_rasa()  # no action server at all
    try:
        stack.wait_ready()
        yield stack
    finally:
        stack.stop()


@pytest.mark.parametrize(
    ("text", "crisis"),
    [
        ("my wife collapsed and is not breathing", False),
        ("chest pian and sweating", False),
        ("i dont want to live anymore", True),
    ],
)
def test_emergency_reply_needs_no_action_server(rasa_only: Stack, text: str, crisis: bool) -> None:
    reply = requests.post(
        rasa_only.rest_url,
        json={"sender": f"e-{uuid.uuid4().hex[:8]}", "message": text},
        timeout=30,
    )
    messages = reply.json()
    assert reply.status_code == 200
    assert messages[0]["text"].startswith(("This sounds like", "I'm really sorry"))
    assert "emergency number" in messages[0]["text"]
    assert messages[0]["text"].startswith("I'm really sorry") == crisis
    assert "Tele-MANAS 14416" in messages[0]["text"], "every emergency reply names a crisis line"
    assert [m["custom"]["kind"] for m in messages if "custom" in m] == ["emergency"]


def test_without_the_action_server_a_question_gets_the_clinic_contact_quickly(
    rasa_only: Stack,
) -> None:
    started = time.monotonic()
    reply = requests.post(
        rasa_only.rest_url,
        json={"sender": f"q-{uuid.uuid4().hex[:8]}", "message": "how much does it cost"},
        timeout=30,
    )
    elapsed = time.monotonic() - started
    messages = reply.json()
    assert reply.status_code == 200
    assert [m["custom"]["kind"] for m in messages] == ["unavailable"]
    assert "can't answer right now" in messages[0]["text"]
    assert "reception desk" in messages[0]["text"], "names FAQBOT_CLINIC_CONTACT"
    assert elapsed < 2.0, f"took {elapsed:.1f} s"


@pytest.mark.parametrize(
    ("text", "language", "start"),
    [
        ("seene me bahut dard hai aur baayen haath sunn ho gaya", "hinglish", "Yeh emergency"),
        ("mujhe ab jeena nahi hai", "hinglish", "Mujhe bahut dukh"),
        ("पापा बेहोश हो गए हैं और जवाब नहीं दे रहे", "hi", "यह आपातकाल"),
        ("मुझे अब जीना नहीं है", "hi", "मुझे बहुत दुख"),
        # No pattern matches these two; the learned screen, stored in the model, catches them.
        ("मैं सब को छोड़ के जाना चाहता हूं हमेशा के लिए, गोलियां जमा कर ली हैं", "hi", "मुझे बहुत दुख"),
        (
            "sab se alvida keh diya hai maine, aaj raat ke baad koi pareshan nahi hoga",
            "hinglish",
            "Mujhe bahut dukh",
        ),
    ],
)
def test_the_emergency_reply_comes_in_the_patients_language_without_the_action_server(
    rasa_only: Stack, text: str, language: str, start: str
) -> None:
    started = time.monotonic()
    reply = requests.post(
        rasa_only.rest_url,
        json={"sender": f"e-{uuid.uuid4().hex[:8]}", "message": text},
        timeout=30,
    )
    elapsed = time.monotonic() - started
    messages = reply.json()
    [custom] = [m["custom"] for m in messages if "custom" in m]
    assert custom == {"schema": "faqbot/1", "kind": "emergency", "language": language}
    text = messages[0]["text"]
    assert text.startswith(start) and "112 or 108" in text and "14416" in text
    assert elapsed < 2.0, f"took {elapsed:.1f} s"
