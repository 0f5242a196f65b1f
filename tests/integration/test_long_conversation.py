"""A conversation longer than the conversation store's window, through the real bot over REST.

The Rasa server reads only the latest turns of a long session (bot/stores.py, ``_window``); the
condition named at the start, the disclaimer said once and the handoff transcript must not notice.
The conversation stays under the per-sender rate limit (20 messages a minute).
"""

from __future__ import annotations

import pytest

from bot.stores import WINDOW_USER_TURNS
from handoffs.store import HandoffStore
from knowledge.config import Settings
from scripts.stack import Stack
from tests.integration.chat import kinds, new_sender, reference_of, say, split

pytestmark = pytest.mark.integration

SMALL_TALK = ("hello", "thanks", "thank you, that helps", "great, thanks", "hi")


def test_a_conversation_longer_than_the_window_keeps_its_condition_and_transcript(
    stack: Stack, handoff_store: HandoffStore
) -> None:
    sender = new_sender("long")
    text, first = split(say(stack, "how does exosome therapy help diabetic kidney disease", sender))
    assert first[0]["kind"] == "answer" and first[0]["condition"] == "nephropathy"
    assert "not medical advice" in text
    sent = ["how does exosome therapy help diabetic kidney disease"]
    for turn in range(WINDOW_USER_TURNS + 2):  # the first question is now outside the window
        message = SMALL_TALK[turn % len(SMALL_TALK)]
        assert kinds(say(stack, message, sender)), message
        sent.append(message)

    text, follow = split(say(stack, "and does it have side effects?", sender))
    sent.append("and does it have side effects?")
    assert follow[0]["kind"] == "answer"
    assert follow[0]["citations"][0]["id"].startswith("exosomes-diabetic-nephropathy")
    assert "not medical advice" not in text, "the disclaimer is said once per conversation"

    handed = say(stack, "can I talk to a person please", sender)
    sent.append("can I talk to a person please")
    saved = handoff_store.get(reference_of(handed))
    assert saved is not None
    turns_kept = Settings.from_env().handoff_turns
    assert len(saved.turns) == turns_kept
    patient = [t.text for t in saved.turns if t.speaker == "patient"]
    assert patient == sent[-len(patient) :] and len(patient) >= turns_kept // 2
