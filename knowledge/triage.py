"""Red-flag screen: emergencies and personal medical-advice requests, from patterns kept as data.

A learned intent alone misses phrasings it never saw; this screen catches red-flag terms and
patterns (misspellings included). The bot escalates when either the intent or the screen fires.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Pattern, Tuple

import yaml

EMERGENCY = "emergency"
MEDICAL_ADVICE = "medical_advice"
SELF_HARM = "self_harm"
LEVELS = (EMERGENCY, MEDICAL_ADVICE)  # in order of precedence
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
        return self.rule == SELF_HARM


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
        normal = " ".join(text.replace("’", "'").split())
        for level, rule, pattern in self._rules:
            if pattern.search(normal):
                return Flag(level, rule)
        return None
