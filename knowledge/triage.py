"""Red-flag screen: emergencies, personal medical-advice requests and requests for a person.

A learned intent alone misses phrasings it never saw (and the English-trained one knows no Hindi);
this screen catches red-flag terms and patterns kept as data (misspellings, lay words, Hinglish and
Devanagari Hindi included). The bot escalates when either the intent or the screen fires.

An emergency pattern that matches only where the message denies it ("no chest pain", "seene mein
dard nahi hai") or places it in the past ("had a stroke five years ago") does not count: those
are the commonest false alarms, and a false alarm frightens the patient and costs staff an
urgent call. Any other match of the same message still counts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Pattern, Tuple

import yaml

EMERGENCY = "emergency"
MEDICAL_ADVICE = "medical_advice"
REQUEST_HUMAN = "request_human"
SELF_HARM = "self_harm"
LEVELS = (EMERGENCY, MEDICAL_ADVICE, REQUEST_HUMAN)  # in order of precedence
# Words that deny what follows them ("no", "not", "without") or precede them (Hindi "nahi").
# Only a denial right before the match counts ("no chest pain", "without any fever"), so that a
# symptom that starts with "no" ("no pulse, not breathing") is never read as a denial.
_DENIED_BEFORE = re.compile(
    r"\b(no|never|without|denies|denied|nor|free\W+of|none\W+of|no\W+sign\W+of|"
    r"(don'?t|do\W+not|doesn'?t|does\W+not|didn'?t|did\W+not)\W+(have|get|feel))\W+(any\W+|a\W+)?$",
    re.IGNORECASE,
)
# (?!\w), not \b: Devanagari ends "नहीं" with a combining sign, which is no word character.
_DENIED_AFTER = re.compile(r"^\W*(\w+\W+){0,2}(nahi|bilkul\W+nahi|नहीं|नही)(?!\w)", re.IGNORECASE)
_PAST_AFTER = re.compile(
    r"^.{0,40}?\b((\d+|a|one|two|three|four|five|six|few|several|many|ek|do|teen|char|paanch|"
    r"kai)\W+)?(years?|yrs?|months?|saal|sal|mahine|mahina|varsh|साल|महीने)\W+(ago|back|pehle|"
    r"pahle|पहले)\b|^.{0,40}?\b(as\W+a\W+(child|kid|teenager)|in\W+(my|his|her)\W+childhood|"
    r"when\W+(i|he|she)\W+was\W+(young|little|a\W+child|a\W+kid|\d+))\b",
    re.IGNORECASE,
)
_PAST_BEFORE = re.compile(
    r"\b(history\W+of|years\W+ago|last\W+year|in\W+(19|20)\d\d|used\W+to\W+have|"
    r"survived|recovered\W+from|pichle|pichhle|pichhli|pichli|"
    r"(\d+|ek|do|teen|char|paanch|kai)\W+(saal|sal|mahine|mahina)\W+(pehle|pahle))\W+(\w+\W+){0,6}$|"
    r"(पिछले|पिछली|(\d+|एक|दो|तीन|चार|पांच|पाँच|कई)\s*(साल|वर्ष|महीने|महीना)\s*पहले)\s*(\S+\s+){0,6}$",
    re.IGNORECASE,
)
# Hindi past tense right after the match ("behosh hua tha", "बेहोश हुए थे"): it happened before.
_PAST_TENSE_AFTER = re.compile(
    r"^\W*(\w+\W+){0,1}(hua|hui|hue|gaya|gayi|gaye|aaya|aayi|aaye|aya|ayi)\W+(tha|thi|the)\b|"
    r"^\s*(\S+\s+){0,1}(हुआ|हुई|हुए|गया|गई|गए|आया|आई|आए)\s*(था|थी|थे)",
    re.IGNORECASE,
)
# Spelling variants of Hinglish words, read as one (patterns spell them "nahi").
_VARIANTS = re.compile(r"\b(nhi|nahin|nahee|nai|nhin)\b", re.IGNORECASE)
DEFAULT_PATTERNS = Path(__file__).resolve().parent / "safety" / "red_flags.yml"


class PatternError(ValueError):
    """The red-flag file is missing, malformed, or has an invalid regular expression."""


@dataclass(frozen=True)
class Flag:
    """A red flag raised by a message: its level and the rule that matched."""

    level: str
    rule: str

    @property
    def crisis(self) -> bool:
        """Whether the message suggests self-harm (the reply adds a crisis line)."""
        return self.level == EMERGENCY and self.rule == SELF_HARM


class RedFlagScreen:
    """Matches messages against the emergency and medical-advice patterns."""

    def __init__(self, rules: Dict[str, Dict[str, List[str]]]):
        """Compile the rules: ``{level: {rule name: [regex, ...]}}``.

        Raises:
            PatternError: A level is unknown or a pattern does not compile.
        """
        self._rules: List[Tuple[str, str, Pattern[str]]] = []
        for level in LEVELS:
            for rule, patterns in (rules.get(level) or {}).items():
                for pattern in patterns:
                    try:
                        self._rules.append((level, rule, re.compile(pattern, re.IGNORECASE)))
                    except re.error as exc:
                        raise PatternError(
                            f"{level}/{rule}: bad pattern {pattern!r}: {exc}"
                        ) from exc
        unknown = set(rules) - set(LEVELS)
        if unknown:
            raise PatternError(f"unknown levels {sorted(unknown)}; expected {LEVELS}")

    @classmethod
    def from_file(cls, path: Path = DEFAULT_PATTERNS) -> "RedFlagScreen":
        """Load the patterns from a YAML file.

        Raises:
            PatternError: The file cannot be read or is malformed.
        """
        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise PatternError(f"cannot read red flags from {path}: {exc}") from exc
        if not isinstance(data, dict):
            raise PatternError(f"{path} must map levels to rules")
        return cls(data)

    def screen(self, text: str) -> Optional[Flag]:
        """The most serious flag the text raises, or ``None``.

        Emergencies win over medical advice; within a level, the first matching rule.
        """
        normal = _VARIANTS.sub("nahi", " ".join(text.replace("’", "'").split()))
        for level, rule, pattern in self._rules:
            for match in pattern.finditer(normal):
                if level != EMERGENCY or not _denied_or_past(normal, match):
                    return Flag(level, rule)
        return None


def _denied_or_past(text: str, match: "re.Match[str]") -> bool:
    """Whether an emergency match is denied or in the past (see the module doc)."""
    before, after = text[max(0, match.start() - 40) : match.start()], text[match.end() :]
    if _DENIED_BEFORE.search(before) or _DENIED_AFTER.search(after[:30]):
        return True
    return bool(
        _PAST_AFTER.search(after[:60])
        or _PAST_TENSE_AFTER.search(after[:30])
        or _PAST_BEFORE.search(before)
    )
