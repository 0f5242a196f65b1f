"""The message mix of the simulated patients: 10-turn conversations of realistic messages.

Questions come from the dev set (``tests/eval/dev.yml``: its answer and out-of-scope cases, so some
questions get "I don't know"); greetings, follow-ups without a named condition (read in the
context of the condition under discussion) and small talk are mixed in. Every conversation has the
same shape, so answer turns and greet turns can be compared between bots and runs; which question
fills which slot is drawn from a seeded generator, so a run is reproducible.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, List, Sequence, Tuple

from knowledge.evaluation import load_cases

DEV_SET = Path(__file__).resolve().parent.parent / "tests" / "eval" / "dev.yml"
QUESTION_KINDS = ("answer", "out_of_scope")

GREET = "greet"
QUESTION = "question"
FOLLOW_UP = "follow_up"
SMALL_TALK = "small_talk"
GOODBYE = "goodbye"
# Turns that go through retrieval (the action server) in our bot.
ANSWER_CATEGORIES = (QUESTION, FOLLOW_UP)

GREETINGS = ("hi", "hello", "good morning", "hey there", "hi, I have a question", "namaste")
FOLLOW_UPS = (
    "how many sessions would I need?",
    "is it safe?",
    "how long does it take to work?",
    "are there any side effects?",
    "how is it given?",
    "how soon will I see results?",
    "who can get this treatment?",
)
SMALL_TALK_MESSAGES = (
    "thanks",
    "thank you, that helps",
    "ok",
    "are you a bot?",
    "great, thanks",
    "no",
)
GOODBYES = ("bye", "goodbye, thanks", "see you", "thanks, that's all")
# Conversation shape: 10 turns, 6 of them answered from the articles.
SHAPE = (
    GREET,
    QUESTION,
    FOLLOW_UP,
    QUESTION,
    SMALL_TALK,
    QUESTION,
    FOLLOW_UP,
    QUESTION,
    SMALL_TALK,
    GOODBYE,
)


@dataclass(frozen=True)
class Message:
    """One patient message and its category (``greet``, ``question``, ...)."""

    category: str
    text: str


def dev_questions(path: Path = DEV_SET) -> List[str]:
    """Texts of the dev set's answer and out-of-scope cases, in file order."""
    return [case.text for case in load_cases(path) if case.expect in QUESTION_KINDS]


class ConversationMix:
    """Endless, reproducible 10-turn conversations."""

    def __init__(self, questions: Sequence[str], seed: int = 5, shape: Tuple[str, ...] = SHAPE):
        """Keep the question pool; ``seed`` fixes the draw.

        Raises:
            ValueError: ``questions`` is empty.
        """
        if not questions:
            raise ValueError("the conversation mix needs at least one question")
        self.questions = list(questions)
        self.shape = shape
        self._rng = random.Random(seed)  # noqa: S311 (a reproducible draw, not a secret)

    def conversation(self) -> List[Message]:
        """The next conversation."""
        pools = {
            GREET: GREETINGS,
            QUESTION: self.questions,
            FOLLOW_UP: FOLLOW_UPS,
            SMALL_TALK: SMALL_TALK_MESSAGES,
            GOODBYE: GOODBYES,
        }
        return [Message(category, self._rng.choice(pools[category])) for category in self.shape]

    def __iter__(self) -> Iterator[List[Message]]:
        while True:
            yield self.conversation()

    def long_conversation(self, turns: int) -> List[Message]:
        """``turns`` messages of one patient: the 10-turn conversations one after another.

        Greetings, questions, follow-ups, thanks and goodbyes keep coming in the same order, as
        from a WhatsApp number that keeps writing in one conversation.
        """
        messages: List[Message] = []
        while len(messages) < turns:
            messages.extend(self.conversation())
        return messages[:turns]


def turn_bands(turns: int) -> List[Tuple[int, int]]:
    """The turns (1-based, inclusive) whose latencies a long conversation compares.

    The first, a middle and the last tenth: 1-30, 121-150 and 271-300 of 300 turns.
    """
    width = max(1, turns // 10)
    middle = max(0, (turns * 2) // 5)
    starts = (0, middle, max(0, turns - width))
    return [(start + 1, min(turns, start + width)) for start in starts]
