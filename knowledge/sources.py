"""The knowledge base on disk: the article catalog and the verbatim article texts."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Tuple

import yaml

GENERAL = "general"  # the general FAQ's condition label: about no condition in particular
CONDITIONS = ("foot_ulcers", "type_1_diabetes", "neuropathy", "nephropathy", GENERAL)
CATALOG_FILE = "catalog.yml"
QUESTIONS_FILE = "questions.yml"
PATIENT_QUESTIONS_FILE = "patient_questions.yml"


class SourceError(ValueError):
    """The catalog or an article file is missing or malformed."""


@dataclass(frozen=True)
class Article:
    """One clinic article with its metadata.

    Attributes:
        slug: Stable identifier; the article text is ``<slug>.txt``.
        title: Title shown in citations.
        condition: The condition the article covers (one of ``CONDITIONS``).
        aliases: Words patients use for the condition.
        last_reviewed: Date of the last content review.
        text: The article text, verbatim.
        section_starts: Editorial headings placed before paragraphs starting with a key.
    """

    slug: str
    title: str
    condition: str
    aliases: Tuple[str, ...]
    last_reviewed: dt.date
    text: str
    section_starts: Mapping[str, str] = field(default_factory=dict)

    @property
    def checksum(self) -> str:
        """SHA-256 of the article text and its metadata."""
        meta = f"{self.slug}|{self.title}|{self.condition}|{sorted(self.section_starts.items())}"
        return hashlib.sha256((meta + "\n" + self.text).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class KnowledgeBase:
    """All articles plus the boilerplate lines to drop when sectioning."""

    articles: Tuple[Article, ...]
    boilerplate: Tuple[str, ...]
    questions: Mapping[str, Tuple[str, ...]] = field(default_factory=dict)
    unanswerable: Tuple[str, ...] = ()

    def by_slug(self, slug: str) -> Article:
        """Return the article with this slug.

        Raises:
            KeyError: No article has this slug.
        """
        for article in self.articles:
            if article.slug == slug:
                return article
        raise KeyError(slug)

    def checksums(self) -> Dict[str, str]:
        """Checksum of every article, by slug, plus the boilerplate list and the questions."""
        sums = {a.slug: a.checksum for a in self.articles}
        sums["_boilerplate"] = hashlib.sha256("\n".join(self.boilerplate).encode()).hexdigest()
        questions = sorted((k, list(v)) for k, v in self.questions.items())
        sums["_questions"] = hashlib.sha256(repr(questions).encode()).hexdigest()
        if self.unanswerable:
            sums["_unanswerable"] = hashlib.sha256(repr(self.unanswerable).encode()).hexdigest()
        return sums


def _require(entry: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in entry or entry[key] in (None, ""):
        raise SourceError(f"{where}: missing '{key}'")
    return entry[key]


def _article(entry: Mapping[str, Any], folder: Path, index: int) -> Article:
    where = f"{folder / CATALOG_FILE} article #{index + 1}"
    slug = str(_require(entry, "slug", where))
    condition = str(_require(entry, "condition", where))
    if condition not in CONDITIONS:
        raise SourceError(f"{where}: condition {condition!r} is not one of {', '.join(CONDITIONS)}")
    reviewed = _require(entry, "last_reviewed", where)
    if not isinstance(reviewed, dt.date):
        try:
            reviewed = dt.date.fromisoformat(str(reviewed))
        except ValueError as exc:
            raise SourceError(f"{where}: last_reviewed must be a date (YYYY-MM-DD)") from exc
    path = folder / f"{slug}.txt"
    if not path.is_file():
        raise SourceError(f"{where}: article file {path} not found")
    text = path.read_text(encoding="utf-8")
    if not text.strip():
        raise SourceError(f"{path} is empty")
    return Article(
        slug=slug,
        title=str(_require(entry, "title", where)),
        condition=condition,
        aliases=tuple(str(a).lower() for a in entry.get("aliases") or ()),
        last_reviewed=reviewed,
        text=text,
        section_starts={str(k): str(v) for k, v in (entry.get("section_starts") or {}).items()},
    )


def load_knowledge_base(folder: Path) -> KnowledgeBase:
    """Read the catalog and every article it lists.

    Args:
        folder: Folder holding ``catalog.yml`` and the ``<slug>.txt`` files.

    Raises:
        SourceError: The catalog is missing or malformed, or an article is missing or empty.
    """
    catalog_path = folder / CATALOG_FILE
    try:
        catalog = yaml.safe_load(catalog_path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SourceError(f"cannot read {catalog_path}: {exc}") from exc
    except yaml.YAMLError as exc:
        raise SourceError(f"{catalog_path} is not valid YAML: {exc}") from exc
    if not isinstance(catalog, dict) or not isinstance(catalog.get("articles"), list):
        raise SourceError(f"{catalog_path} must have an 'articles' list")
    articles: List[Article] = [
        _article(entry, folder, i) for i, entry in enumerate(catalog["articles"])
    ]
    slugs = [a.slug for a in articles]
    if len(set(slugs)) != len(slugs):
        raise SourceError(f"{catalog_path}: duplicate slugs")
    boilerplate = tuple(str(b) for b in catalog.get("boilerplate") or ())
    questions = _questions(folder)
    answered, unanswerable = _patient_questions(folder)
    for passage_id, texts in answered.items():
        questions[passage_id] = tuple(dict.fromkeys([*questions.get(passage_id, ()), *texts]))
    return KnowledgeBase(
        articles=tuple(articles),
        boilerplate=boilerplate,
        questions=questions,
        unanswerable=unanswerable,
    )


def _questions_entry(path: Path) -> Any:
    """The ``questions`` entry of a YAML file (``None`` when it has none)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise SourceError(f"{path} is not valid YAML: {exc}") from exc
    return data.get("questions") if isinstance(data, dict) else None


def _questions(folder: Path) -> Dict[str, Tuple[str, ...]]:
    """Questions each passage answers (doc2query), by passage id; empty when there is no file."""
    path = folder / QUESTIONS_FILE
    if not path.is_file():
        return {}
    raw = _questions_entry(path)
    if not isinstance(raw, dict):
        raise SourceError(f"{path} must have a 'questions' mapping of passage id to a list")
    questions: Dict[str, Tuple[str, ...]] = {}
    for passage_id, items in raw.items():
        if not isinstance(items, list) or not all(isinstance(q, str) for q in items):
            raise SourceError(f"{path}: questions of {passage_id} must be a list of strings")
        questions[str(passage_id)] = tuple(q.strip() for q in items if q.strip())
    return questions


def _patient_questions(folder: Path) -> Tuple[Dict[str, List[str]], Tuple[str, ...]]:
    """Patient-language questions: by passage id those it answers, and those none answers.

    The file lists ``{text, answers: [passage id, ...]}``; an empty ``answers`` marks a
    question the articles do not answer (the index embeds those: ``Searcher.unanswered``).
    """
    path = folder / PATIENT_QUESTIONS_FILE
    if not path.is_file():
        return {}, ()
    raw = _questions_entry(path)
    if not isinstance(raw, list):
        raise SourceError(f"{path} must have a 'questions' list of {{text, answers}}")
    answered: Dict[str, List[str]] = {}
    unanswerable: List[str] = []
    for n, item in enumerate(raw, 1):
        text = item.get("text") if isinstance(item, dict) else None
        answers = item.get("answers") if isinstance(item, dict) else None
        if not isinstance(text, str) or not text.strip() or not isinstance(answers, list):
            raise SourceError(f"{path}: question {n} needs a text and an answers list")
        for passage_id in answers:
            answered.setdefault(str(passage_id), []).append(text.strip())
        if not answers:
            unanswerable.append(text.strip())
    return answered, tuple(unanswerable)
