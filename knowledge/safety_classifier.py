"""A learned second opinion beside the red-flag patterns (``knowledge.triage``).

Patterns catch the phrasings they were written for; patients find others ("my mother is not
waking up properly", "सांस लेने में बहुत दिक्कत"). This classifier reads a message as one of
``emergency`` (with ``self_harm``, an emergency that also needs the crisis line),
``medical_advice``, ``request_human`` or ``other`` from character and word n-grams, so it
works on Devanagari Hindi, Hinglish spelling variants and typos without a second encoder pass
(none is multilingual here, and the Rasa server, where the screen runs, loads none).

It is trained at ``rasa train`` time from labelled examples kept as data
(``knowledge/safety/screen_examples.yml``: written from the articles alone, by people who saw no
evaluation set nor the patterns; a test checks no evaluation message is among them). It says a
level only when its probability reaches that level's threshold; the screen that uses it can only
raise an intent, never lower it.

Uses scikit-learn (TF-IDF n-grams and logistic regression: small, fast, well kept, and already
installed with Rasa).
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np
import yaml

from knowledge.triage import EMERGENCY, MEDICAL_ADVICE, REQUEST_HUMAN, SELF_HARM

LOG = logging.getLogger(__name__)
OTHER = "other"
LABELS = (EMERGENCY, MEDICAL_ADVICE, REQUEST_HUMAN, OTHER)
# An emergency that is self-harm: its own class, so the reply can add the crisis line; its
# probability counts towards the emergency level.
CLASSES = (*LABELS, SELF_HARM)
# The labels as the examples file spells them (as the evaluation cases do).
FILE_LABELS = {
    "emergency": EMERGENCY,
    "self_harm": SELF_HARM,
    "medical_advice": MEDICAL_ADVICE,
    "human": REQUEST_HUMAN,
    "other": OTHER,
}
LANGS = ("en", "hi", "hinglish")
DEFAULT_EXAMPLES = Path(__file__).resolve().parent / "safety" / "screen_examples.yml"
# Probability a level needs before the classifier says it (tuned on the dev sets).
DEFAULT_THRESHOLDS: Mapping[str, float] = {
    EMERGENCY: 0.6,
    MEDICAL_ADVICE: 0.6,
    REQUEST_HUMAN: 0.6,
}
# Fewer words than this are too little evidence for n-grams ("and proximal?" read as an
# emergency); the patterns and the intent classifier still read short messages.
MIN_WORDS = 3
# Bump when the features, the model or what it learns from change: Rasa retrains the component
# only when its fingerprint (config, NLU data, examples file and this) changes.
CLASSIFIER_VERSION = "2"
_DIGIT = re.compile(r"\d")
_TOKENS = r"[\w\u0900-\u097f]+"  # \w alone splits Devanagari words at their vowel signs


class ExamplesError(ValueError):
    """The examples file is missing, malformed or holds an unknown label or language."""


@dataclass(frozen=True)
class Example:
    """One labelled message."""

    text: str
    label: str
    lang: str = "en"


@dataclass(frozen=True)
class Verdict:
    """What the classifier says of a message: a level and its probability."""

    level: str
    probability: float
    crisis: bool = False  # an emergency that is more likely self-harm than not


def load_examples(path: Path = DEFAULT_EXAMPLES) -> List[Example]:
    """The labelled examples in ``path``.

    Raises:
        ExamplesError: The file cannot be read, or an example is malformed.
    """
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ExamplesError(f"cannot read screen examples from {path}: {exc}") from exc
    rows = data.get("examples") if isinstance(data, dict) else None
    if not isinstance(rows, list) or not rows:
        raise ExamplesError(f"{path} must hold a non-empty list under 'examples'")
    examples = []
    for number, row in enumerate(rows, 1):
        if not isinstance(row, dict) or not str(row.get("text") or "").strip():
            raise ExamplesError(f"{path}: example {number} has no text")
        label, lang = str(row.get("label")), str(row.get("lang", "en"))
        if label not in FILE_LABELS or lang not in LANGS:
            raise ExamplesError(
                f"{path}: example {number} has label {label!r} / lang {lang!r};"
                f" expected one of {tuple(FILE_LABELS)} / {LANGS}"
            )
        examples.append(Example(str(row["text"]), FILE_LABELS[label], lang))
    return examples


def intent_examples(pairs: Sequence[Tuple[str, str]], lang: str = "en") -> List[Example]:
    """The intent classifier's own training messages as examples: ``(text, intent)`` pairs.

    Escalating intents keep their level, every other intent is ``other``: contact details
    too, or a phone number ("98765 43210", read as 00000 00000) looks like a sugar reading.
    """
    return [
        Example(text, intent if intent in CLASSES else OTHER, lang)
        for text, intent in pairs
        if text.strip()
    ]


def examples_fingerprint(path: Path = DEFAULT_EXAMPLES) -> str:
    """A checksum of the examples and the classifier version (Rasa retrains when it changes)."""
    digest = hashlib.sha256(CLASSIFIER_VERSION.encode())
    digest.update(Path(path).read_bytes())
    return digest.hexdigest()


def normalise(text: str) -> str:
    """Lower case, one kind of apostrophe, single spaces, every digit as 0 (450 reads as 380)."""
    return _DIGIT.sub("0", " ".join(text.replace("’", "'").lower().split()))


class SafetyClassifier:
    """Character and word n-gram TF-IDF with a logistic regression over the classes."""

    def __init__(self, pipeline: object, thresholds: Mapping[str, float]) -> None:
        """Wrap a fitted scikit-learn pipeline; ``thresholds`` per escalating level in (0, 1]."""
        bad = {k: v for k, v in thresholds.items() if k not in LABELS or not 0 < v <= 1}
        if bad:
            raise ValueError(f"bad thresholds {bad}: levels {LABELS[:3]}, values in (0, 1]")
        self._pipeline = pipeline
        self.thresholds = {**DEFAULT_THRESHOLDS, **thresholds}
        self._classes: List[str] = list(pipeline.classes_)  # type: ignore[attr-defined]
        # One message at a time, the pipeline's own predict_proba spends half its time on
        # stacking and checks: score each vectoriser's row against its slice of the weights.
        union, model = pipeline.steps[0][1], pipeline.steps[1][1]  # type: ignore[attr-defined]
        self._vectorisers = [v for _, v in union.transformer_list]
        weights, start = [], 0
        for vectoriser in self._vectorisers:
            width = len(vectoriser.vocabulary_)
            weights.append(np.ascontiguousarray(model.coef_[:, start : start + width].T))
            start += width
        self._weights = weights
        self._bias = model.intercept_

    @classmethod
    def train(
        cls,
        examples: Sequence[Example],
        thresholds: Optional[Mapping[str, float]] = None,
        regularisation: float = 10.0,
    ) -> "SafetyClassifier":
        """Fit on ``examples`` (a few seconds for a few thousand); logs what it learnt from."""
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline, make_union

        missing = set(LABELS) - {e.label for e in examples}
        if missing:
            raise ExamplesError(f"no examples labelled {sorted(missing)}")
        started = time.perf_counter()
        counts: Dict[str, int] = {}
        for example in examples:
            key = f"{example.label}/{example.lang}"
            counts[key] = counts.get(key, 0) + 1
        LOG.info("training the safety classifier on %d examples: %s", len(examples), counts)
        features = make_union(
            TfidfVectorizer(
                analyzer="char_wb",
                ngram_range=(2, 5),
                min_df=2,
                sublinear_tf=True,
                preprocessor=normalise,
            ),
            TfidfVectorizer(
                analyzer="word",
                ngram_range=(1, 2),
                min_df=1,
                sublinear_tf=True,
                token_pattern=_TOKENS,
                preprocessor=normalise,
            ),
        )
        model = LogisticRegression(C=regularisation, class_weight="balanced", max_iter=3000)
        pipeline = make_pipeline(features, model)
        pipeline.fit([e.text for e in examples], [e.label for e in examples])
        LOG.info("safety classifier trained in %.1f s", time.perf_counter() - started)
        return cls(pipeline, thresholds or {})

    def probabilities(self, text: str) -> Dict[str, float]:
        """The probability of each label for ``text``."""
        scores = self._bias.copy()
        for vectoriser, weights in zip(self._vectorisers, self._weights):
            scores += (vectoriser.transform([text]) @ weights)[0]
        exp = np.exp(scores - scores.max())
        return {label: float(p) for label, p in zip(self._classes, exp / exp.sum())}

    def verdict(
        self, text: str, thresholds: Optional[Mapping[str, float]] = None
    ) -> Optional[Verdict]:
        """The escalating level ``text`` most likely is, when it reaches its threshold.

        ``thresholds`` overrides the classifier's own for this message (e.g. per language).
        Messages of fewer than :data:`MIN_WORDS` words get no verdict.
        """
        if len(re.findall(_TOKENS, text)) < MIN_WORDS:
            return None
        probabilities = self.probabilities(text)
        self_harm = probabilities.pop(SELF_HARM, 0.0)
        crisis = self_harm > probabilities[EMERGENCY]
        probabilities[EMERGENCY] += self_harm
        level = max(probabilities, key=probabilities.__getitem__)
        bar = {**self.thresholds, **(thresholds or {})}
        if level == OTHER or probabilities[level] < bar[level]:
            return None
        return Verdict(level, probabilities[level], crisis and level == EMERGENCY)

    def save(self, path: Path) -> None:
        """Write the fitted model to ``path`` (a file)."""
        import joblib

        joblib.dump({"version": CLASSIFIER_VERSION, "pipeline": self._pipeline}, path)

    @classmethod
    def load(
        cls, path: Path, thresholds: Optional[Mapping[str, float]] = None
    ) -> "SafetyClassifier":
        """Read a model :meth:`save` wrote (only our own build's files: joblib unpickles)."""
        import joblib

        data = joblib.load(path)
        if not isinstance(data, dict) or data.get("version") != CLASSIFIER_VERSION:
            raise ExamplesError(
                f"{path} is not a safety classifier of version {CLASSIFIER_VERSION}"
            )
        return cls(data["pipeline"], thresholds or {})
