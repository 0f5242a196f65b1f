"""Which language a patient writes in: English, Hindi (Devanagari) or Hinglish (Hindi in Latin).

Devanagari is told by its Unicode block; Hinglish by marker words kept as data
(``knowledge/lexicon/hinglish.yml``), since a general language identifier reads Hindi typed in
Latin letters as some other language. The bot replies to emergencies, personal-advice requests
and handoffs in the patient's language.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any, Dict, FrozenSet, Optional, Tuple

import yaml

ENGLISH, HINDI, HINGLISH = "en", "hi", "hinglish"
LEXICON = Path(__file__).resolve().parent / "lexicon" / "hinglish.yml"
_DEVANAGARI = re.compile(r"[\u0900-\u097f]")
_WORD = re.compile(r"[a-z]+")


@functools.lru_cache(maxsize=1)
def _lexicon(path: Path = LEXICON) -> Dict[str, Any]:
    """The Hinglish lexicon file, read once (markers, ambiguous words, chitchat)."""
    return dict(yaml.safe_load(path.read_text(encoding="utf-8")))


@functools.lru_cache(maxsize=1)
def _markers() -> Tuple[FrozenSet[str], FrozenSet[str]]:
    data = _lexicon()
    return frozenset(data["markers"]), frozenset(data.get("ambiguous") or ())


def detect(text: str) -> str:
    """``hi``, ``hinglish`` or ``en`` for a message.

    Hindi when at least two words (or a third of them) are written in Devanagari: patients who
    write Devanagari often keep English words in Latin letters ("क्या exosome therapy safe है").
    """
    words = text.split()
    hindi = sum(1 for w in words if _DEVANAGARI.search(w))
    if hindi and (hindi >= 2 or hindi * 3 >= len(words)):
        return HINDI
    markers, ambiguous = _markers()
    found = {w for w in _WORD.findall(text.lower()) if w in markers}
    if len(found) >= 2 and found - ambiguous:
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
