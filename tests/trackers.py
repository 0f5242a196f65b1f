"""Trackers for tests: long conversations with the events the bot writes."""

from __future__ import annotations

from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    DefinePrevUserUtteredFeaturization,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker


def long_conversation(sender: str, turns: int, domain: Domain) -> DialogueStateTracker:
    """One session of ``turns`` turns as the bot writes them.

    The condition is named and the disclaimer said at turn 1; the last reply is an "I don't know"
    (``no_answer``), every other one an answer.
    """
    tracker = DialogueStateTracker(sender, domain.slots)
    clock = iter(range(1, 100 * turns + 10))
    tracker.update(ActionExecuted("action_session_start", timestamp=next(clock)))
    tracker.update(SessionStarted(timestamp=next(clock)))
    for turn in range(1, turns + 1):
        text = "does it help kidneys" if turn == 1 else f"message {turn}"
        tracker.update(ActionExecuted(ACTION_LISTEN_NAME, timestamp=next(clock)))
        tracker.update(
            UserUttered(
                text,
                intent={"name": "ask_question", "confidence": 0.9},
                parse_data={"text": text, "intent": {"name": "ask_question"}, "entities": []},
                timestamp=next(clock),
            )
        )
        tracker.update(SlotSet("language", "en", timestamp=next(clock)))
        tracker.update(DefinePrevUserUtteredFeaturization(False, timestamp=next(clock)))
        tracker.update(ActionExecuted("action_answer_question", timestamp=next(clock)))
        tracker.update(
            BotUttered(
                f"reply {turn}",
                {
                    "custom": {
                        "schema": "faqbot/1",
                        "kind": "no_answer" if turn == turns else "answer",
                    }
                },
                timestamp=next(clock),
            )
        )
        if turn == 1:
            tracker.update(SlotSet("disclaimer_shown", True, timestamp=next(clock)))
            tracker.update(SlotSet("condition", "nephropathy", timestamp=next(clock)))
    tracker.update(ActionExecuted(ACTION_LISTEN_NAME, timestamp=next(clock)))
    return tracker
