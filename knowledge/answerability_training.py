"""Training the answerability judge at build time, cross-fitted on the project's own questions.

The questions a passage answers (``questions.yml`` and the answered entries of
``patient_questions.yml``) and those the articles do not answer (the rest of
``patient_questions.yml``) are the training questions; no evaluation message is among them
(``tests/test_evaluation.py``). They are also in the index, where a question would find itself:
so the questions are split into :data:`FOLDS` folds by a hash of their text, and each fold is
ranked by a searcher whose index lacks that fold's questions, as a patient's new question is.
The features of the best :data:`knowledge.answerability.CANDIDATES` passages, labelled by
whether the question names them as an answer, train :class:`knowledge.answerability.Answerability`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from pathlib import Path
from typing import Callable, Dict, List, Set, Tuple

import numpy as np

from knowledge.answerability import CANDIDATES, Answerability, features
from knowledge.config import Settings
from knowledge.embedding import Embedder
from knowledge.index import IndexNotReady, read_manifest
from knowledge.search import Searcher
from knowledge.service import FaqService

FOLDS = 5


def fold_of(text: str) -> int:
    """The fold a training question belongs to (stable across runs and machines)."""
    return int(hashlib.sha256(text.encode("utf-8")).hexdigest(), 16) % FOLDS


def training_questions(service: FaqService) -> List[Tuple[str, Set[int]]]:
    """Each training question with the index positions of the passages that answer it."""
    index = service.parts().index
    kb = service.parts().kb
    answers: Dict[str, Set[int]] = {}
    for question in index.questions:
        answers.setdefault(question.text, set()).add(question.passage)
    for text in kb.unanswerable:
        answers.setdefault(text, set())
    return list(answers.items())


def searcher_without(service: FaqService, fold: int) -> Searcher:
    """A searcher over the index without the questions of ``fold`` (answered or not)."""
    index = service.parts().index
    kb = service.parts().kb
    keep = [row for row, q in enumerate(index.questions) if fold_of(q.text) != fold]
    unanswered = index.unanswered_vectors
    if unanswered is not None:
        unanswered = unanswered[[fold_of(t) != fold for t in kb.unanswerable]]
    reduced = dataclasses.replace(
        index,
        questions=[index.questions[row] for row in keep],
        question_vectors=index.question_vectors[keep],
        unanswered_vectors=unanswered,
    )
    return Searcher(reduced, service.settings)


def _vectors(service: FaqService, texts: List[str], queries: List[str]) -> np.ndarray:
    """The embedding of each query (the index's own vector when spelling left it as written).

    Most questions come out of spelling correction as written; only the others are embedded.
    """
    parts = service.parts()
    known: Dict[str, np.ndarray] = {
        q.text: parts.index.question_vectors[row] for row, q in enumerate(parts.index.questions)
    }
    if parts.index.unanswered_vectors is not None:
        known.update(zip(parts.kb.unanswerable, parts.index.unanswered_vectors))
    vectors = np.zeros((len(texts), parts.index.question_vectors.shape[1]), dtype=np.float32)
    fresh = []
    for i, (text, query) in enumerate(zip(texts, queries)):
        if query == text and text in known:
            vectors[i] = known[text]
        else:
            fresh.append(i)
    if fresh:
        vectors[fresh] = parts.embedder.encode([queries[i] for i in fresh])
    return vectors


def train(
    service: FaqService, progress: Callable[[str], None] = lambda _msg: None
) -> Tuple[Answerability, Dict[str, float]]:
    """Fit the judge on the cross-fitted features of every training question.

    Returns:
        The fitted judge and figures about its training (questions, rows, seconds).
    """
    started = time.perf_counter()
    parts = service.parts()
    questions = training_questions(service)
    queries = [service.search_words(text)[0] for text, _ in questions]
    vectors = _vectors(service, [text for text, _ in questions], queries)
    rows: List[np.ndarray] = []
    labels: List[bool] = []
    for fold in range(FOLDS):
        searcher = searcher_without(service, fold)
        for (text, answers), query, vector in zip(questions, queries, vectors):
            if fold_of(text) != fold:
                continue
            named = parts.topics.detect(query)
            hits = searcher.rank(query, vector, prefer_condition=named)[:CANDIDATES]
            rows.append(features(searcher, query, vector, hits, named))
            labels.extend(hit.position in answers for hit in hits)
        progress(f"answerability: fold {fold + 1}/{FOLDS} ranked")
    judge = Answerability.fit(np.vstack(rows), np.asarray(labels))
    progress(f"answerability: {len(labels)} candidates of {len(questions)} questions")
    seconds = time.perf_counter() - started
    progress(f"answerability: trained in {seconds:.1f} s")
    figures = {"questions": len(questions), "rows": len(labels), "seconds": round(seconds, 1)}
    return judge, figures


def build(
    settings: Settings, embedder: Embedder, progress: Callable[[str], None] = lambda _msg: None
) -> Path:
    """Train the judge for the index in ``settings.index_dir`` and store it there.

    Returns:
        The folder it was written to.
    """
    manifest = read_manifest(settings.index_dir)
    if manifest is None:
        raise IndexNotReady(f"no index in {settings.index_dir}: run 'make index'")
    unjudged = dataclasses.replace(
        settings, answerable_floor=0.0, choice_floor=0.0, settle_floor=1.0
    )
    service = FaqService(unjudged, embedder).warm_up()
    judge, figures = train(service, progress)
    judge.save(settings.index_dir, {"index_built_at": manifest.built_at, **figures})
    return settings.index_dir
