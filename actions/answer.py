"""``action_answer_question``: quote the article passage that answers the patient's question."""

from __future__ import annotations

import logging
import re
from typing import Any, Dict, List, Optional, Tuple

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import runtime
from actions.messages import Message, answer_message, unreadable_message, with_disclaimer
from actions.texts import LANGUAGE_SLOT
from knowledge.config import Settings
from knowledge.decision import ANSWER, CLARIFY

logger = logging.getLogger(__name__)
CONDITION_SLOT = "condition"
DISCLAIMER_SLOT = "disclaimer_shown"
PASSAGE_ENTITY = "passage_id"
_WORD = re.compile(r"\w", re.UNICODE)


def chosen_passage(tracker: Tracker) -> Optional[str]:
    """The passage id a clarify button sent, if the latest message came from one."""
    for entity in tracker.latest_message.get("entities") or []:
        if entity.get("entity") == PASSAGE_ENTITY and isinstance(entity.get("value"), str):
            return str(entity["value"])
    return None


def disclaimer_once(message: Message, tracker: Tracker) -> Tuple[Message, List[EventType]]:
    """Add the disclaimer to the conversation's first such message, and remember it was said."""
    disclaimer = Settings.from_env().disclaimer
    if not disclaimer or tracker.get_slot(DISCLAIMER_SLOT):
        return message, []
    return with_disclaimer(message, disclaimer), [SlotSet(DISCLAIMER_SLOT, True)]


def previous_question(tracker: Tracker) -> Optional[str]:
    """The patient's message before the latest one (for a correction), if any."""
    seen = 0
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            seen += 1
            if seen == 2:
                text = event.get("text")
                return str(text) if isinstance(text, str) and text.strip() else None
    return None


def has_words(text: str) -> bool:
    """Whether the text has at least one letter or digit."""
    return bool(_WORD.search(text))


class ActionAnswerQuestion(Action):
    """Answers from the articles: a cited quote, a choice between articles, or "I don't know"."""

    def name(self) -> str:
        """Action name used in the domain."""
        return "action_answer_question"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        """Answer the latest user message and remember the condition being discussed."""
        text = tracker.latest_message.get("text") or ""
        passage_id = chosen_passage(tracker)
        if passage_id is None and not has_words(text):
            dispatcher.utter_message(**unreadable_message())
            return []
        service = await runtime.service()
        if passage_id is not None:
            reply = await runtime.call(service.answer_passage, passage_id)
            if reply is None:
                logger.info("unknown passage id from a button")
                dispatcher.utter_message(**unreadable_message())
                return []
        else:
            intent = tracker.latest_message.get("intent") or {}
            reply = await runtime.call(
                service.ask,
                text,
                condition=tracker.get_slot(CONDITION_SLOT),
                intent=(str(intent.get("name")), float(intent.get("confidence") or 0.0)),
                previous=previous_question(tracker),
            )
        message = answer_message(reply, tracker.get_slot(LANGUAGE_SLOT))
        events: List[EventType] = []
        if reply.kind in (ANSWER, CLARIFY):
            message, events = disclaimer_once(message, tracker)
        dispatcher.utter_message(**message)
        if reply.condition != tracker.get_slot(CONDITION_SLOT):
            events.append(SlotSet(CONDITION_SLOT, reply.condition))
        return events
