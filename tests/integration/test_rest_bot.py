"""Conversations through the real Rasa server's REST channel, with the real action server."""

from __future__ import annotations

import json
import uuid

import pytest
import requests

from scripts.stack import Stack
from tests.integration.chat import ANSWERABLE, say, split

pytestmark = pytest.mark.integration


def test_question_is_answered_with_a_quote_and_citation(stack: Stack) -> None:
    text, customs = split(say(stack, "how many sessions will I need for a foot ulcer?"))
    assert customs[0]["kind"] == "answer"
    cited = customs[0]["citations"][0]
    assert cited["section"] == "How Many Sessions Are Typically Required?"
    assert "three to five treatments" in text
    assert f"Source: {cited['article']} › {cited['section']}" in text


def test_follow_up_stays_with_the_condition_under_discussion(stack: Stack) -> None:
    sender = f"follow-{uuid.uuid4().hex[:8]}"
    _, first = split(say(stack, "how does exosome therapy help diabetic kidney disease", sender))
    assert first[0]["kind"] == "answer" and first[0]["condition"] == "nephropathy"
    _, follow = split(say(stack, "and does it have side effects?", sender))
    assert follow[0]["citations"][0]["id"].startswith("exosomes-diabetic-nephropathy")
    _, fresh = split(say(stack, "and does it have side effects?"))
    assert not fresh[0]["citations"][0]["id"].startswith("exosomes-diabetic-nephropathy")


def test_greeting_and_chitchat_carry_their_kind(stack: Stack) -> None:
    _, customs = split(say(stack, "hello"))
    assert [c["kind"] for c in customs] == ["chitchat"]


def test_out_of_scope_question_gets_no_answer(stack: Stack) -> None:
    text, customs = split(say(stack, "what's the weather going to be in mumbai tomorrow"))
    assert "answer" not in [c["kind"] for c in customs]
    assert "don't know" in text or "only answer" in text


def test_emergency_comes_first(stack: Stack) -> None:
    text, customs = split(say(stack, "my husband has crushing chest pain and is sweating"))
    assert customs[0]["kind"] == "emergency"
    assert "emergency number" in text


def test_medical_advice_is_not_given(stack: Stack) -> None:
    text, customs = split(say(stack, "should I stop taking my insulin before the injection?"))
    assert customs[0]["kind"] == "medical_advice"
    assert "can't give advice" in text


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ("क्लिनिक के किसी आदमी से मेरी बात करा दीजिए", "handoff"),
        ("मुझे अपनी इंसुलिन की डोज़ कम करनी चाहिए क्या?", "medical_advice"),
        ("kisi insaan se baat karwa do please", "handoff"),
    ],
)
def test_hindi_requests_for_a_person_and_for_advice_are_told_apart(
    stack: Stack, message: str, kind: str
) -> None:
    _, customs = split(say(stack, message))
    assert customs[0]["kind"] == kind, customs


@pytest.mark.parametrize("message", ["", "   ", "🙂🙂🙂👍"])
def test_empty_or_wordless_message_gets_a_clear_reply(stack: Stack, message: str) -> None:
    text, customs = split(say(stack, message))
    assert "type your question" in text
    assert customs[0]["kind"] == "no_answer"


def test_very_long_message_is_cut_with_a_note_and_answered(stack: Stack) -> None:
    message = "how much does exosome therapy cost for a foot ulcer " * 1000  # ~50 KB
    assert len(message.encode()) >= 50_000
    text, customs = split(say(stack, message))
    assert "only read its first" in text
    assert customs[0]["kind"] == "answer"


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b'{"sender": "x", "message": ', "not valid JSON"),
        (b'["just", "a", "list"]', "must be a JSON object"),
        (b'{"sender": "x"}', "'message' is required"),
        (b'{"sender": 5, "message": "hi"}', "'sender' must be"),
        (b'{"sender": "x", "message": "\xff\xfe"}', "not valid UTF-8"),
        (b'{"sender": "x", "message": "' + b"a" * 70_000 + b'"}', "larger than"),
    ],
)
def test_malformed_requests_get_a_clear_400_and_the_server_keeps_serving(
    stack: Stack, body: bytes, error: str
) -> None:
    reply = requests.post(
        stack.rest_url, data=body, headers={"Content-Type": "application/json"}, timeout=30
    )
    assert reply.status_code == 400
    assert error in reply.json()["error"]
    assert "Traceback" not in reply.text
    _, customs = split(say(stack, ANSWERABLE))
    assert customs[0]["kind"] == "answer"


def test_clarify_button_payload_answers_the_chosen_passage(stack: Stack) -> None:
    answer = say(stack, "what is exosome therapy")
    passage_id = split(answer)[1][0]["ranking"][1]["id"]
    payload = "/ask_question" + json.dumps({"passage_id": passage_id})
    _, customs = split(say(stack, payload))
    assert customs[0]["kind"] == "answer"
    assert customs[0]["citations"][0]["id"] == passage_id
