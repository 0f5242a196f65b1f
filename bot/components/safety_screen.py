"""Rasa NLU component: the red-flag screen runs after the intent classifier on every message.

It also notes the message's language (``en``, ``hi``, ``hinglish``) as the ``language`` entity,
which fills the slot that picks the emergency reply's language.

Beside the patterns it asks a learned classifier (``knowledge.safety_classifier``), trained at
``rasa train`` time from ``knowledge/safety/screen_examples.yml`` and stored in the model; when the
patterns say nothing, its verdict counts the same way (it too can only raise an intent).

It lives on the Rasa side (not the action server), so an emergency is answered by the domain
response ``utter_emergency`` even when the action server is down. The bot escalates when either
the learned intent or the screen fires: the screen can raise a message to ``emergency`` or
``medical_advice``, never lower it. On every emergency it adds the deployment's emergency numbers
and crisis lines (``FAQBOT_EMERGENCY_NUMBERS``, ``FAQBOT_CRISIS_LINES``) as entities, which fill the
slots that the emergency reply names.
"""

from __future__ import annotations

import logging
from pathlib import Path
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
from knowledge.safety_classifier import (
    DEFAULT_EXAMPLES,
    DEFAULT_THRESHOLDS,
    SafetyClassifier,
    examples_fingerprint,
    intent_examples,
    load_examples,
)
from knowledge.triage import (
    DEFAULT_PATTERNS,
    EMERGENCY,
    MEDICAL_ADVICE,
    REQUEST_HUMAN,
    SELF_HARM,
    Flag,
    RedFlagScreen,
)

LOG = logging.getLogger(__name__)
MODEL_FILE = "safety_classifier.joblib"

EMERGENCY_TYPE = "emergency_type"
LANGUAGE = "language"
# Intents the screen leaves alone when it sees a medical-advice or a request-for-a-person
# pattern: they already bring in staff.
ESCALATING = {EMERGENCY, MEDICAL_ADVICE, REQUEST_HUMAN}
# Intents that get a fixed reply instead of an answer from the articles.
CHITCHAT = {"greet", "goodbye", "thanks", "affirm", "deny", "bot_challenge"}


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class SafetyScreen(GraphComponent):
    """Raises the intent to ``emergency``, ``medical_advice`` or ``request_human``."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        """``patterns``: the red-flag YAML file (default: knowledge/safety/red_flags.yml).

        ``examples``: the classifier's labelled examples (default:
        knowledge/safety/screen_examples.yml); ``thresholds``: the probability each level needs
        (``emergency``, ``medical_advice``, ``request_human``); ``english_thresholds``: the
        same for English messages, which the intent classifier already reads well (a lower bar
        there mostly adds false alarms).
        """
        return {
            "patterns": None,
            "examples": None,
            "thresholds": dict(DEFAULT_THRESHOLDS),
            "english_thresholds": {},
        }

    def __init__(
        self,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        classifier: Optional[SafetyClassifier] = None,
    ) -> None:
        """Load and compile the patterns (fails the training run on a bad pattern).

        Also loads the language identifier, so that the first message does not wait for it
        (it never fails: without it the language rules alone decide).
        """
        self.config = {**self.get_default_config(), **config}
        self.screen = RedFlagScreen.from_file(self.config["patterns"] or DEFAULT_PATTERNS)
        self.classifier = classifier
        self._storage = model_storage
        self._resource = resource
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
        """Create the component for training."""
        return cls(config, model_storage, resource)

    @classmethod
    def load(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> "SafetyScreen":
        """Load the trained classifier; without it (a model trained before it) patterns only."""
        classifier = None
        try:
            with model_storage.read_from(resource) as directory:
                path = Path(directory) / MODEL_FILE
                classifier = SafetyClassifier.load(path, config.get("thresholds"))
        except (ValueError, OSError) as exc:
            LOG.warning("safety classifier not loaded (%s): red-flag patterns only", exc)
        return cls(config, model_storage, resource, classifier)

    @classmethod
    def fingerprint_addon(cls, config: Dict[str, Any]) -> Optional[str]:
        """Retrain when the examples file (which is not NLU data) changes."""
        path = Path(config.get("examples") or DEFAULT_EXAMPLES)
        try:
            return examples_fingerprint(path)
        except OSError:
            return None  # training then fails with a clear message

    def train(self, training_data: TrainingData) -> Resource:
        """Fit the classifier on the examples file and the NLU examples; store it in the model.

        The NLU examples (English) teach it the bot's own intents; the file adds Hindi,
        Hinglish and the look-alikes.

        Raises:
            ExamplesError: The examples file is missing or malformed.
        """
        pairs = [(m.get(TEXT) or "", m.get(INTENT) or "") for m in training_data.intent_examples]
        # The NLU has one emergency intent; its self-harm examples are those the patterns say.
        pairs = [
            (text, SELF_HARM if intent == EMERGENCY and self._crisis(text) else intent)
            for text, intent in pairs
        ]
        examples = load_examples(Path(self.config["examples"] or DEFAULT_EXAMPLES))
        examples += intent_examples(pairs)
        self.classifier = SafetyClassifier.train(examples, self.config["thresholds"])
        with self._storage.write_to(self._resource) as directory:
            self.classifier.save(Path(directory) / MODEL_FILE)
        return self._resource

    def process(self, messages: List[Message]) -> List[Message]:
        """Screen each message, raise its intent when a red flag matches, note its language."""
        for message in messages:
            language = detect(message.get(TEXT) or "")
            self._add_entity(message, LANGUAGE, language)
            if language != ENGLISH:
                self._route_hindi(message)
            self._screen(message, language)
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

    def _crisis(self, text: str) -> bool:
        flag = self.screen.screen(text)
        return flag is not None and flag.crisis

    def _flag(self, text: str, language: str) -> Optional[Flag]:
        """The patterns' flag, else the classifier's verdict as a flag."""
        flag = self.screen.screen(text)
        if flag is not None or self.classifier is None:
            return flag
        bars = self.config["english_thresholds"] if language == ENGLISH else None
        verdict = self.classifier.verdict(text, bars)
        if verdict is None:
            return None
        return Flag(verdict.level, SELF_HARM if verdict.crisis else "learned")

    def _screen(self, message: Message, language: str) -> None:
        flag = self._flag(message.get(TEXT) or "", language)
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
