"""Evaluation cases and metrics (pure): the case file format, key matching and the summary.

Case file (YAML)::

    cases:
    - {text: "how many sessions will I need?", expect: answer, keys: ["three to five treatments"]}
    - {text: "should I stop my insulin?", expect: medical_advice}
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import yaml

EXPECT_KINDS = ("answer", "medical_advice", "emergency", "human", "out_of_scope", "chitchat")
# The decision kind in the bot's payload that counts as the expected behaviour.
KIND_FOR_EXPECT = {
    "answer": "answer",
    "medical_advice": "medical_advice",
    "emergency": "emergency",
    "human": "handoff",
    "chitchat": "chitchat",
}
_QUOTES = str.maketrans(
    {
        "‘": "'",
        "’": "'",
        "‚": "'",
        "“": '"',
        "”": '"',
        "„": '"',
        "–": "-",
        "—": "-",
        "‐": "-",
        "‑": "-",
        "−": "-",
    }
)


class CaseError(ValueError):
    """The case file is malformed."""


@dataclass(frozen=True)
class Case:
    """One evaluation message and what the bot should do with it."""

    text: str
    expect: str
    keys: Tuple[str, ...] = ()


@dataclass
class Outcome:
    """What the bot did with one case.

    Attributes:
        case: The case.
        kinds: Decision kinds of the bot's messages, in order.
        ranked_texts: Texts of the cited/retrieved passages, best first.
    """

    case: Case
    kinds: List[str]
    ranked_texts: List[str] = field(default_factory=list)

    def correct(self) -> bool:
        """Whether the bot handled the case.

        An answer case needs a key in the top passage, an out-of-scope case no asserted answer,
        any other case the expected decision kind.
        """
        if self.case.expect == "answer":
            return self.hit_rank() == 1
        if self.case.expect == "out_of_scope":
            return "answer" not in self.kinds
        return KIND_FOR_EXPECT[self.case.expect] in self.kinds

    def hit_rank(self) -> Optional[int]:
        """1-based rank of the first passage containing a key, or ``None``."""
        keys = [normalise(k) for k in self.case.keys]
        for rank, text in enumerate(self.ranked_texts, start=1):
            body = normalise(text)
            if any(k in body for k in keys):
                return rank
        return None


def normalise(text: str) -> str:
    """NFKC, straight quotes, ASCII dashes, collapsed whitespace, lower case."""
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES)
    return re.sub(r"\s+", " ", text).strip().casefold()


def load_cases(path: Path) -> List[Case]:
    """Read and validate a case file.

    Raises:
        CaseError: The file is not valid YAML or a case is malformed.
    """
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise CaseError(f"cannot read cases from {path}: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("cases"), list):
        raise CaseError(f"{path}: expected a mapping with a 'cases' list")
    cases = []
    for i, raw in enumerate(data["cases"], start=1):
        if not isinstance(raw, dict) or not isinstance(raw.get("text"), str):
            raise CaseError(f"{path}: case {i} needs a 'text' string")
        expect = raw.get("expect")
        if expect not in EXPECT_KINDS:
            raise CaseError(f"{path}: case {i} has expect={expect!r}, not one of {EXPECT_KINDS}")
        keys = tuple(str(k) for k in raw.get("keys") or ())
        if expect == "answer" and not keys:
            raise CaseError(f"{path}: answer case {i} needs 'keys'")
        cases.append(Case(raw["text"], expect, keys))
    return cases


def _ratio(num: float, den: float) -> float:
    return round(num / den, 4) if den else 0.0


def _detection(outcomes: Sequence[Outcome], expect: str) -> Dict[str, Any]:
    kind = KIND_FOR_EXPECT[expect]
    relevant = [o for o in outcomes if o.case.expect == expect]
    flagged = [o for o in outcomes if kind in o.kinds]
    true_pos = [o for o in flagged if o.case.expect == expect]
    return {
        "n": len(relevant),
        "recall": _ratio(len(true_pos), len(relevant)),
        "precision": _ratio(len(true_pos), len(flagged)),
    }


def summarise(
    outcomes: Sequence[Outcome], baselines: Dict[str, List[Optional[int]]]
) -> Dict[str, Any]:
    """The metrics object printed as the evaluation's last line.

    Args:
        outcomes: One per case, from the running bot.
        baselines: Per baseline name, the hit rank (or ``None``) of each answer case.
    """
    answers = [o for o in outcomes if o.case.expect == "answer"]
    ranks = [o.hit_rank() for o in answers]
    n = len(answers)
    oos = [o for o in outcomes if o.case.expect == "out_of_scope"]
    chit = [o for o in outcomes if o.case.expect == "chitchat"]
    human = _detection(outcomes, "human")
    return {
        "answer": {
            "n": n,
            "hit@1": _ratio(sum(1 for r in ranks if r == 1), n),
            "hit@3": _ratio(sum(1 for r in ranks if r is not None and r <= 3), n),
            "mrr": _ratio(sum(1.0 / r for r in ranks if r), n),
            "answered": _ratio(sum(1 for o in answers if "answer" in o.kinds), n),
        },
        "out_of_scope": {
            "n": len(oos),
            "accuracy": _ratio(sum(1 for o in oos if o.correct()), len(oos)),
        },
        "medical_advice": _detection(outcomes, "medical_advice"),
        "emergency": _detection(outcomes, "emergency"),
        "human": {"n": human["n"], "recall": human["recall"]},
        "chitchat": {
            "n": len(chit),
            "accuracy": _ratio(sum(1 for o in chit if o.correct()), len(chit)),
        },
        "baselines": {
            name: {"hit@1": _ratio(sum(1 for r in rs if r == 1), len(rs))}
            for name, rs in baselines.items()
        },
    }
