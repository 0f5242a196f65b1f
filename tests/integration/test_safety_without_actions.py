"""Emergencies are answered by the Rasa server alone, with the action server stopped."""

from __future__ import annotations

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
