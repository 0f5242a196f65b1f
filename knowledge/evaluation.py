"""Evaluation cases and metrics (pure): the case file format, key matching and the summary.

A case file (YAML) holds single messages, or whole conversations::

    cases:
    - {text: "how many sessions will I need?", expect: answer, keys: ["three to five treatments"]}
    - {text: "seene mein dard ho raha hai", expect: emergency, lang: hinglish}

    conversations:
    - name: "follow-up keeps the condition"
      turns:
      - {text: "does exosome therapy help diabetic foot ulcers?", expect: answer, keys: ["..."]}
      - {text: "and what does the visit involve?", expect: answer, keys: ["..."]}

``expect`` is one of :data:`EXPECT_KINDS` (``any`` only in conversations: a turn not judged);
``lang`` is ``en`` (default), ``hi`` or ``hinglish``. Answer metrics are judged as the patient
meets them: ``correct`` (an answer was asserted and its cited passage holds a key), ``wrong``
(an answer was asserted and its passage holds none: the worst outcome), ``clarify_hit``
(choices were offered and one holds a key), ``silent`` (nothing asserted). ``hit@1``, ``hit@3``
and ``mrr`` rank the retrieved passages whatever the bot said: retrieval diagnostics only.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import yaml

EXPECT_KINDS = ("answer", "medical_advice", "emergency", "human", "out_of_scope", "chitchat")
ANY = "any"
LANGS = ("en", "hi", "hinglish")
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
    lang: str = "en"


@dataclass(frozen=True)
class Conversation:
    """Turns sent one after another by one patient."""

    name: str
    turns: Tuple[Case, ...]


@dataclass(frozen=True)
class Suite:
    """What a case file holds."""

    cases: Tuple[Case, ...] = ()
    conversations: Tuple[Conversation, ...] = ()

    @property
    def all_cases(self) -> List[Case]:
        """The single cases, then every turn of every conversation."""
        return list(self.cases) + [t for c in self.conversations for t in c.turns]


def _holds_key(text: str, keys: Sequence[str]) -> bool:
    body = normalise(text)
    return any(normalise(k) in body for k in keys)


@dataclass
class Outcome:
    """What the bot did with one case.

    Attributes:
        case: The case.
        kinds: Decision kinds of the bot's messages, in order.
        ranked_texts: Texts of the cited/retrieved passages, best first (diagnostics).
        answer_texts: Texts of the passages an ``answer`` message cited (asserted).
        choice_texts: Texts of the passages a ``clarify`` message offered.
    """

    case: Case
    kinds: List[str]
    ranked_texts: List[str] = field(default_factory=list)
    answer_texts: List[str] = field(default_factory=list)
    choice_texts: List[str] = field(default_factory=list)

    @property
    def asserted(self) -> bool:
        """Whether the patient was given an answer (a quoted passage)."""
        return "answer" in self.kinds

    def answered_right(self) -> bool:
        """An answer was asserted and its passage holds a key."""
        return self.asserted and any(_holds_key(t, self.case.keys) for t in self.answer_texts[:1])

    def answered_wrong(self) -> bool:
        """An answer was asserted and its passage holds no key."""
        return self.asserted and not self.answered_right()

    def clarify_hit(self) -> bool:
        """Choices were offered and one of them holds a key."""
        return "clarify" in self.kinds and any(
            _holds_key(t, self.case.keys) for t in self.choice_texts
        )

    def correct(self) -> bool:
        """Whether the bot handled the case as the patient needs it.

        An answer case needs the right passage asserted, an out-of-scope case no asserted answer,
        any other case the expected decision kind; an ``any`` turn is always right.
        """
        if self.case.expect == ANY:
            return True
        if self.case.expect == "answer":
            return self.answered_right()
        if self.case.expect == "out_of_scope":
            return not self.asserted
        return KIND_FOR_EXPECT[self.case.expect] in self.kinds

    def hit_rank(self) -> Optional[int]:
        """1-based rank of the first retrieved passage containing a key, or ``None``."""
        for rank, text in enumerate(self.ranked_texts, start=1):
            if _holds_key(text, self.case.keys):
                return rank
        return None


def normalise(text: str) -> str:
    """NFKC, straight quotes, ASCII dashes, collapsed whitespace, lower case."""
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES)
    return re.sub(r"\s+", " ", text).strip().casefold()


def _case(raw: Any, where: str, allow_any: bool) -> Case:
    if not isinstance(raw, dict) or not isinstance(raw.get("text"), str):
        raise CaseError(f"{where} needs a 'text' string")
    expect = raw.get("expect")
    kinds = EXPECT_KINDS + ((ANY,) if allow_any else ())
    if expect not in kinds:
        raise CaseError(f"{where} has expect={expect!r}, not one of {kinds}")
    keys = tuple(str(k) for k in raw.get("keys") or ())
    if expect == "answer" and not keys:
        raise CaseError(f"{where}: an answer case needs 'keys'")
    lang = raw.get("lang", "en")
    if lang not in LANGS:
        raise CaseError(f"{where} has lang={lang!r}, not one of {LANGS}")
    return Case(raw["text"], str(expect), keys, str(lang))


def load_suite(path: Path) -> Suite:
    """Read and validate a case file (``cases:`` and/or ``conversations:``).

    Raises:
        CaseError: The file is not valid YAML or a case is malformed.
    """
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise CaseError(f"cannot read cases from {path}: {exc}") from exc
    if not isinstance(data, dict) or not (
        isinstance(data.get("cases"), list) or isinstance(data.get("conversations"), list)
    ):
        raise CaseError(f"{path}: expected a mapping with a 'cases' or 'conversations' list")
    cases = tuple(
        _case(raw, f"{path}: case {i}", allow_any=False)
        for i, raw in enumerate(data.get("cases") or [], start=1)
    )
    conversations = []
    for i, raw in enumerate(data.get("conversations") or [], start=1):
        if not isinstance(raw, dict) or not isinstance(raw.get("turns"), list) or not raw["turns"]:
            raise CaseError(f"{path}: conversation {i} needs a 'turns' list")
        name = str(raw.get("name") or f"conversation {i}")
        turns = tuple(
            _case(turn, f"{path}: conversation {name!r} turn {j}", allow_any=True)
            for j, turn in enumerate(raw["turns"], start=1)
        )
        conversations.append(Conversation(name, turns))
    return Suite(cases, tuple(conversations))


def load_cases(path: Path) -> List[Case]:
    """The single cases of a case file (see :func:`load_suite`).

    Raises:
        CaseError: The file is not valid YAML or a case is malformed.
    """
    return list(load_suite(path).cases)


def _ratio(num: float, den: float) -> float:
    return round(num / den, 4) if den else 0.0


def _detection(outcomes: Sequence[Outcome], expect: str) -> Dict[str, Any]:
    kind = KIND_FOR_EXPECT[expect]
    judged = [o for o in outcomes if o.case.expect != ANY]
    relevant = [o for o in judged if o.case.expect == expect]
    flagged = [o for o in judged if kind in o.kinds]
    true_pos = [o for o in flagged if o.case.expect == expect]
    return {
        "n": len(relevant),
        "recall": _ratio(len(true_pos), len(relevant)),
        "precision": _ratio(len(true_pos), len(flagged)),
    }


def _answers(outcomes: Sequence[Outcome]) -> Dict[str, Any]:
    answers = [o for o in outcomes if o.case.expect == "answer"]
    ranks = [o.hit_rank() for o in answers]
    n = len(answers)
    return {
        "n": n,
        "correct": _ratio(sum(o.answered_right() for o in answers), n),
        "wrong": _ratio(sum(o.answered_wrong() for o in answers), n),
        "clarify_hit": _ratio(sum(o.clarify_hit() for o in answers), n),
        "silent": _ratio(sum(not o.asserted for o in answers), n),
        # Retrieval diagnostics: the ranking, whatever the bot told the patient.
        "hit@1": _ratio(sum(1 for r in ranks if r == 1), n),
        "hit@3": _ratio(sum(1 for r in ranks if r is not None and r <= 3), n),
        "mrr": _ratio(sum(1.0 / r for r in ranks if r), n),
    }


def _metrics(outcomes: Sequence[Outcome]) -> Dict[str, Any]:
    oos = [o for o in outcomes if o.case.expect == "out_of_scope"]
    chit = [o for o in outcomes if o.case.expect == "chitchat"]
    human = _detection(outcomes, "human")
    emergency = _detection(outcomes, "emergency")
    others = [o for o in outcomes if o.case.expect not in ("emergency", ANY)]
    emergency["false_alarm_rate"] = _ratio(sum("emergency" in o.kinds for o in others), len(others))
    return {
        "answer": _answers(outcomes),
        "out_of_scope": {
            "n": len(oos),
            "accuracy": _ratio(sum(1 for o in oos if o.correct()), len(oos)),
        },
        "medical_advice": _detection(outcomes, "medical_advice"),
        "emergency": emergency,
        "human": {"n": human["n"], "recall": human["recall"]},
        "chitchat": {
            "n": len(chit),
            "accuracy": _ratio(sum(1 for o in chit if o.correct()), len(chit)),
        },
    }


def summarise(
    outcomes: Sequence[Outcome],
    baselines: Dict[str, List[Optional[int]]],
    conversations: Sequence[Sequence[Outcome]] = (),
) -> Dict[str, Any]:
    """The metrics object printed as the evaluation's last line.

    Args:
        outcomes: One per single case, from the running bot.
        baselines: Per baseline name, the hit rank (or ``None``) of each answer case.
        conversations: Per conversation, one outcome per turn.
    """
    summary = _metrics(outcomes)
    langs = sorted({o.case.lang for o in outcomes})
    if len(langs) > 1 or langs not in ([], ["en"]):
        summary["by_lang"] = {
            lang: _metrics([o for o in outcomes if o.case.lang == lang]) for lang in langs
        }
    summary["baselines"] = {
        name: {"hit@1": _ratio(sum(1 for r in rs if r == 1), len(rs))}
        for name, rs in baselines.items()
    }
    if conversations:
        turns = [o for conversation in conversations for o in conversation]
        summary["conversation_turns"] = _metrics(turns)
        summary["conversations"] = {
            "n": len(conversations),
            "all_turns_right": _ratio(
                sum(all(o.correct() for o in c) for c in conversations), len(conversations)
            ),
        }
    return summary
