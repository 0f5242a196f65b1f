"""Rasa NLU component: the red-flag screen runs after the intent classifier on every message.

It also notes the message's language (``en``, ``hi``, ``hinglish``) as the ``language`` entity,
which fills the slot that picks the emergency reply's language.

It lives on the Rasa side (not the action server), so an emergency is answered by the domain
response ``utter_emergency`` even when the action server is down. The bot escalates when either
the learned intent or the screen fires: the screen can raise a message to ``emergency`` or
``medical_advice``, never lower it. On every emergency it adds the deployment's emergency numbers
and crisis lines (``FAQBOT_EMERGENCY_NUMBERS``, ``FAQBOT_CRISIS_LINES``) as entities, which fill the
slots that the emergency reply names.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from knowledge import language
from knowledge.config import Settings
from knowledge.language import ENGLISH, detect, hindi_chitchat
from knowledge.triage import (
    DEFAULT_PATTERNS,
    EMERGENCY,
    MEDICAL_ADVICE,
    REQUEST_HUMAN,
    RedFlagScreen,
)

EMERGENCY_TYPE = "emergency_type"
LANGUAGE = "language"
# Intents the screen leaves alone when it sees a medical-advice or a request-for-a-person
# pattern: they already bring in staff.
ESCALATING = {EMERGENCY, MEDICAL_ADVICE, REQUEST_HUMAN}
# Intents that get a fixed reply instead of an answer from the articles.
CHITCHAT = {"greet", "goodbye", "thanks", "affirm", "deny", "bot_challenge"}


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class SafetyScreen(GraphComponent):
    """Raises the intent to ``emergency``, ``medical_advice`` or ``request_human`` on a pattern."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        """``patterns``: the red-flag YAML file (default: knowledge/safety/red_flags.yml)."""
        return {"patterns": None}

    def __init__(self, config: Dict[str, Any]) -> None:
        """Load and compile the patterns (fails the training run on a bad pattern).

        Also loads the language identifier, so that the first message does not wait for it
        (it never fails: without it the language rules alone decide).
        """
        self.screen = RedFlagScreen.from_file(config.get("patterns") or DEFAULT_PATTERNS)
        language.load()
        settings = Settings.from_env()
        self.numbers = {
            "emergency_numbers": settings.emergency_numbers,
            "crisis_lines": settings.crisis_lines,
        }

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "SafetyScreen":
        """Create the component (nothing to train)."""
        return cls(config)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Training data passes through unchanged."""
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        """Screen each message, raise its intent when a red flag matches, note its language."""
        for message in messages:
            language = detect(message.get(TEXT) or "")
            self._add_entity(message, LANGUAGE, language)
            if language != ENGLISH:
                self._route_hindi(message)
            self._screen(message)
            if (message.get(INTENT) or {}).get("name") == EMERGENCY:
                for entity, value in self.numbers.items():
                    self._add_entity(message, entity, value)
        return messages

    def _add_entity(self, message: Message, entity: str, value: str) -> None:
        entities = list(message.get(ENTITIES) or [])
        entities.append(
            {
                "entity": entity,
                "value": value,
                "start": 0,
                "end": 0,
                "extractor": type(self).__name__,
            }
        )
        message.set(ENTITIES, entities, add_to_output=True)

    def _route_hindi(self, message: Message) -> None:
        """A Hindi/Hinglish message is chitchat only by a Hindi chitchat word, else a question.

        The intent classifier learnt English only and reads most Hindi as chitchat, so the
        message would get a greeting instead of an answer. Escalating intents are left alone.
        """
        name = (message.get(INTENT) or {}).get("name")
        if name in ESCALATING:
            return
        intent = hindi_chitchat(message.get(TEXT) or "") or (
            "ask_question" if name in CHITCHAT else None
        )
        if intent is not None and intent != name:
            self._set_intent(message, intent)

    def _set_intent(self, message: Message, name: str) -> None:
        chosen = {"name": name, "confidence": 1.0}
        ranking = [chosen] + [
            r for r in message.get(INTENT_RANKING_KEY) or [] if r.get("name") != name
        ]
        message.set(INTENT, chosen, add_to_output=True)
        message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)

    def _screen(self, message: Message) -> None:
        flag = self.screen.screen(message.get(TEXT) or "")
        if flag is None:
            return
        current: Optional[Dict[str, Any]] = message.get(INTENT)
        name = (current or {}).get("name")
        # An escalating intent stays, except that a request for a person the screen recognises
        # ("किसी इंसान से बात करनी है") is answered as one even when the classifier, which knows
        # little Hindi, read it as a personal-advice request: both hand the patient to staff.
        person_not_advice = flag.level == REQUEST_HUMAN and name == MEDICAL_ADVICE
        if (
            flag.level in (MEDICAL_ADVICE, REQUEST_HUMAN)
            and name in ESCALATING
            and not person_not_advice
        ):
            return
        if flag.level == EMERGENCY and flag.crisis:
            self._add_entity(message, EMERGENCY_TYPE, "self_harm")
        if name != flag.level:
            self._set_intent(message, flag.level)
