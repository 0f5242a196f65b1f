"""Typed /intent{...} text: only the bot's own payloads are commands."""

from __future__ import annotations

import json

import pytest

from bot.shortcuts import is_client_command

KNOWN = frozenset({"exosome-therapy-faq#0123456789"})


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("/greet", True),
        ("  /request_human ", True),
        ('/ask_question{"passage_id": "exosome-therapy-faq#0123456789"}', True),
        ('/ask_question{"passage_id": "no-such#0000000000"}', False),
        ('/ask_question{"passage_id": "exosome-therapy-faq#0123456789", "condition": "x"}', False),
        ("/ask_question", False),
        ('/ask_question{"passage_id": ', False),
        ('/emergency{"emergency_numbers": "+1 555 0100 (Dr Evil)"}', False),
        ('/greet{"emergency_numbers": "+1 555 0100"}', False),
        ("/emergency", False),
        ("/restart", False),
        ("/session_start", False),
        ("/my HbA1c is 9.1, call me on +44 7911 123456", False),
        ("greet", False),
    ],
)
def test_only_the_bots_own_payloads_are_commands(text: str, command: bool) -> None:
    assert is_client_command(text, KNOWN) is command


def test_a_clarify_button_payload_as_the_bot_writes_it_is_a_command() -> None:
    payload = "/ask_question" + json.dumps({"passage_id": "exosome-therapy-faq#0123456789"})
    assert is_client_command(payload, KNOWN)
