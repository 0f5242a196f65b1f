"""The knowledge index on disk: passages, their vectors in FAISS, sentence vectors and a manifest.

The manifest records the model, the source checksums, the sectioning version and the passage
count; an index whose manifest disagrees with the current sources or model is stale.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

import faiss
import numpy as np

from knowledge import answerability
from knowledge.config import Settings
from knowledge.embedding import MODEL_NAME, Embedder, default_model_path, model_fingerprint
from knowledge.sectioning import (
    SECTIONING_VERSION,
    Passage,
    section_knowledge_base,
    split_sentences,
)
from knowledge.sources import SourceError, load_knowledge_base

FORMAT_VERSION = 2
MANIFEST = "manifest.json"
PASSAGES = "passages.json"
DENSE = "dense.faiss"
SENTENCES = "sentences.npy"
QUESTIONS = "questions.npy"
UNANSWERED = "unanswered.npy"  # questions the articles do not answer (knowledge.sources)
# The manifest comes last: it marks a complete index.
FILES = (DENSE, SENTENCES, QUESTIONS, UNANSWERED, PASSAGES, MANIFEST)


class IndexNotReady(RuntimeError):
    """The index is missing, unreadable or stale."""


@dataclass(frozen=True)
class Manifest:
    """What an index was built from."""

    format: int
    model_name: str
    model_fingerprint: str
    sectioning_version: str
    sources: Dict[str, str]
    passage_count: int
    sentence_count: int
    question_count: int
    dimension: int
    built_at: str
    unanswered_count: int = 0


def expected_manifest_fields(settings: Settings) -> Dict[str, Any]:
    """The manifest fields a fresh index must have for the current sources and model."""
    kb = load_knowledge_base(settings.sources_dir)
    model_path = settings.model_path or default_model_path()
    return {
        "format": FORMAT_VERSION,
        "model_name": MODEL_NAME,
        "model_fingerprint": model_fingerprint(model_path),
        "sectioning_version": SECTIONING_VERSION,
        "sources": kb.checksums(),
    }


def read_manifest(index_dir: Path) -> Optional[Manifest]:
    """The manifest of the index in ``index_dir``, or ``None`` when absent or unreadable."""
    try:
        data = json.loads((index_dir / MANIFEST).read_text(encoding="utf-8"))
        return Manifest(**data)
    except (OSError, ValueError, TypeError):
        return None


def staleness(settings: Settings) -> Optional[str]:
    """Why the index must be rebuilt, or ``None`` when it is fresh."""
    manifest = read_manifest(settings.index_dir)
    if manifest is None:
        return f"no index in {settings.index_dir}"
    for name in FILES:
        if not (settings.index_dir / name).is_file():
            return f"{name} is missing"
    for key, value in expected_manifest_fields(settings).items():
        if getattr(manifest, key) != value:
            return f"{key} changed"
    return answerability.staleness(settings.index_dir, manifest.built_at)


@dataclass(frozen=True)
class SentenceRef:
    """Where a sentence vector belongs: passage position, line within the passage, and text."""

    passage: int
    line: int
    text: str


@dataclass(frozen=True)
class QuestionRef:
    """A question a passage answers (doc2query), by passage position."""

    passage: int
    text: str


@dataclass
class KnowledgeIndex:
    """Passages with their dense index, sentence and question vectors, as loaded from disk.

    ``unanswered_vectors`` embeds questions the articles do not answer (one row each; none when
    the sources list none): a message closer to one of them than to any answered question is
    one the bot should not answer.
    """

    passages: List[Passage]
    dense: Any  # faiss.IndexFlatIP
    sentence_vectors: np.ndarray
    sentences: List[SentenceRef]
    question_vectors: np.ndarray
    questions: List[QuestionRef]
    manifest: Manifest
    unanswered_vectors: Optional[np.ndarray] = None

    @property
    def question_owners(self) -> np.ndarray:
        """Passage position of each question row."""
        return np.array([q.passage for q in self.questions], dtype=np.int64)

    def lexical_text(self, position: int) -> str:
        """What BM25 indexes for a passage: title, headings, text and its questions."""
        own = [q.text for q in self.questions if q.passage == position]
        return "\n".join([self.passages[position].search_text(), *own])

    def __post_init__(self) -> None:
        self._rows: Dict[int, List[int]] = {}
        for row, sentence in enumerate(self.sentences):
            self._rows.setdefault(sentence.passage, []).append(row)

    def sentence_rows(self, position: int) -> List[int]:
        """Rows of ``sentences``/``sentence_vectors`` for the passage at ``position``, in order."""
        return self._rows.get(position, [])


def build_index(
    settings: Settings,
    embedder: Embedder,
    progress: Callable[[str], None] = lambda _msg: None,
) -> Manifest:
    """Section the sources, embed passages and sentences, and write the index atomically.

    Returns:
        The manifest of the written index.
    """
    started = time.perf_counter()
    kb = load_knowledge_base(settings.sources_dir)
    passages = section_knowledge_base(kb)
    progress(f"sectioned {len(kb.articles)} articles into {len(passages)} passages")
    embedder.warm_up()
    passage_vectors = embedder.encode([p.search_text() for p in passages])
    progress(f"embedded {len(passages)} passages")
    sentences = [
        SentenceRef(passage=i, line=n, text=s)
        for i, p in enumerate(passages)
        for n, line in enumerate(p.text.split("\n"))
        for s in split_sentences(line)
    ]
    sentence_vectors = embedder.encode([s.text for s in sentences])
    progress(f"embedded {len(sentences)} sentences")
    questions = _question_refs(kb.questions, passages)
    question_vectors = embedder.encode([q.text for q in questions])
    progress(f"embedded {len(questions)} questions")
    unanswered_vectors = embedder.encode(list(kb.unanswerable)) if kb.unanswerable else None
    if unanswered_vectors is None:
        unanswered_vectors = np.zeros((0, question_vectors.shape[1]), dtype=np.float32)
    progress(f"embedded {len(unanswered_vectors)} questions the articles do not answer")
    dense = faiss.IndexFlatIP(passage_vectors.shape[1])
    dense.add(passage_vectors)
    manifest = Manifest(
        **expected_manifest_fields(settings),
        passage_count=len(passages),
        sentence_count=len(sentences),
        question_count=len(questions),
        unanswered_count=len(unanswered_vectors),
        dimension=int(passage_vectors.shape[1]),
        built_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    )
    out = settings.index_dir
    tmp = out.with_name(out.name + ".tmp")
    tmp.mkdir(parents=True, exist_ok=True)
    faiss.write_index(dense, str(tmp / DENSE))
    np.save(tmp / SENTENCES, sentence_vectors)
    np.save(tmp / QUESTIONS, question_vectors)
    np.save(tmp / UNANSWERED, unanswered_vectors)
    payload = {
        "passages": [asdict(p) for p in passages],
        "sentences": [asdict(s) for s in sentences],
        "questions": [asdict(q) for q in questions],
    }
    (tmp / PASSAGES).write_text(json.dumps(payload, ensure_ascii=False, indent=1), "utf-8")
    (tmp / MANIFEST).write_text(json.dumps(asdict(manifest), indent=2), "utf-8")
    out.mkdir(parents=True, exist_ok=True)
    (out / MANIFEST).unlink(missing_ok=True)
    for name in FILES:
        (tmp / name).replace(out / name)
    tmp.rmdir()
    progress(f"index written to {out} in {time.perf_counter() - started:.1f} s")
    return manifest


def load_index(index_dir: Path) -> KnowledgeIndex:
    """Load a built index.

    Raises:
        IndexNotReady: The index is missing or its files do not agree with each other.
    """
    manifest = read_manifest(index_dir)
    if manifest is None:
        raise IndexNotReady(f"no index in {index_dir}: run 'make index'")
    try:
        payload = json.loads((index_dir / PASSAGES).read_text(encoding="utf-8"))
        dense = faiss.read_index(str(index_dir / DENSE))
        sentence_vectors = np.load(index_dir / SENTENCES)
        question_vectors = np.load(index_dir / QUESTIONS)
        unanswered_vectors = np.load(index_dir / UNANSWERED)
    except (OSError, ValueError, RuntimeError) as exc:
        raise IndexNotReady(
            f"index in {index_dir} is unreadable ({exc}): run 'make index'"
        ) from exc
    passages = [
        Passage(**{**p, "heading_path": tuple(p["heading_path"])}) for p in payload["passages"]
    ]
    sentences = [SentenceRef(**s) for s in payload["sentences"]]
    questions = [QuestionRef(**q) for q in payload["questions"]]
    if (
        not len(passages) == dense.ntotal == manifest.passage_count
        or len(sentences) != len(sentence_vectors)
        or len(questions) != len(question_vectors)
        or len(unanswered_vectors) != manifest.unanswered_count
    ):
        raise IndexNotReady(f"index in {index_dir} is inconsistent: run 'make index'")
    return KnowledgeIndex(
        passages,
        dense,
        sentence_vectors,
        sentences,
        question_vectors,
        questions,
        manifest,
        unanswered_vectors,
    )


def _question_refs(
    questions: Mapping[str, Tuple[str, ...]], passages: List[Passage]
) -> List[QuestionRef]:
    positions = {p.id: i for i, p in enumerate(passages)}
    unknown = sorted(set(questions) - set(positions))
    if unknown:
        raise SourceError(
            f"questions.yml names passages that no longer exist (an article or the sectioning "
            f"changed): {', '.join(unknown)}"
        )
    return [QuestionRef(positions[pid], q) for pid, qs in questions.items() for q in qs]
