"""The learned answerability judge: its features, training folds, storage and verdicts."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from knowledge.answerability import (
    CANDIDATES,
    FEATURES,
    MODEL_FILE,
    Answerability,
    AnswerabilityError,
    features,
)
from knowledge.answerability_training import FOLDS, fold_of, searcher_without, training_questions
from knowledge.embedding import Embedder
from knowledge.index import IndexNotReady
from knowledge.service import FaqService


def _probabilities(service: FaqService, question: str) -> dict:
    parts = service.parts()
    query = service.search_words(question)[0]
    vector = service.embed(query)
    named = parts.topics.detect(query)
    hits = parts.searcher.rank(query, vector, prefer_condition=named)[:CANDIDATES]
    assert parts.judge is not None
    chances = parts.judge.probabilities(features(parts.searcher, query, vector, hits, named))
    return {hit.passage.section: float(p) for hit, p in zip(hits, chances)}


def test_one_row_of_every_feature_per_candidate(service: FaqService) -> None:
    parts = service.parts()
    vector = service.embed("how much does the foot ulcer treatment cost")
    hits = parts.searcher.rank("how much does the foot ulcer treatment cost", vector)
    rows = features(
        parts.searcher, "how much does the foot ulcer treatment cost", vector, hits, None
    )
    assert rows.shape == (CANDIDATES, len(FEATURES))
    assert np.isfinite(rows).all()
    coverage = rows[:, FEATURES.index("heading_coverage")]
    cost = [i for i, h in enumerate(hits[:CANDIDATES]) if "Cost" in h.passage.section]
    assert cost and coverage[cost[0]] > 0  # "cost" is in that section's heading
    assert features(parts.searcher, "x", vector, [], None).shape == (0, len(FEATURES))


def test_the_judge_backs_the_passage_that_answers_and_none_for_an_unrelated_question(
    service: FaqService,
) -> None:
    chances = _probabilities(service, "how much does exosome therapy for a foot ulcer cost?")
    best = max(chances, key=chances.__getitem__)
    assert "Cost" in best and chances[best] >= 0.8
    assert max(_probabilities(service, "which train goes from Delhi to Agra").values()) < 0.4


def test_every_training_question_is_in_one_fold_and_its_fold_searcher_lacks_it(
    service: FaqService,
) -> None:
    questions = training_questions(service)
    assert len(questions) > 1000
    assert any(not answers for _, answers in questions)  # the ones the articles do not answer
    folds = [fold_of(text) for text, _ in questions]
    assert set(folds) == set(range(FOLDS))
    assert max(folds.count(k) for k in range(FOLDS)) < 2 * len(folds) / FOLDS
    searcher = searcher_without(service, 0)
    left = {q.text for q in searcher.index.questions}
    assert left and not any(fold_of(text) == 0 for text in left)
    unanswered = service.parts().kb.unanswerable
    assert searcher.index.unanswered_vectors is not None
    assert len(searcher.index.unanswered_vectors) == sum(fold_of(t) != 0 for t in unanswered)


def test_a_stored_judge_loads_with_the_same_verdicts(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    rows = rng.normal(size=(200, len(FEATURES))).astype(np.float32)
    labels = rows[:, 0] > 0.5
    judge = Answerability.fit(rows, labels)
    judge.save(tmp_path, {"index_built_at": "then"})
    loaded = Answerability.load(tmp_path)
    assert np.allclose(loaded.probabilities(rows), judge.probabilities(rows))
    assert judge.probabilities(rows[labels]).mean() > judge.probabilities(rows[~labels]).mean()
    assert json.loads((tmp_path / "answerability.json").read_text())["index_built_at"] == "then"


def test_a_judge_needs_both_classes_and_a_file_of_its_own_version(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        Answerability.fit(np.zeros((4, len(FEATURES))), np.zeros(4, dtype=bool))
    with pytest.raises(AnswerabilityError, match="unreadable"):
        Answerability.load(tmp_path)
    rows = np.arange(40, dtype=np.float32).reshape(-1, 1) * np.ones((1, len(FEATURES)))
    Answerability.fit(rows, rows[:, 0] > 20).save(tmp_path, {})
    data = dict(np.load(tmp_path / MODEL_FILE))
    np.savez(tmp_path / MODEL_FILE, **{**data, "version": np.array("0")})
    with pytest.raises(AnswerabilityError, match="make index"):
        Answerability.load(tmp_path)


def test_the_project_index_carries_its_judge(
    service: FaqService, embedder: Embedder, tmp_path: Path
) -> None:
    assert service.parts().judge is not None
    copy = tmp_path / "index"
    shutil.copytree(service.settings.index_dir, copy)
    (copy / MODEL_FILE).unlink()
    settings = dataclasses.replace(service.settings, index_dir=copy)
    with pytest.raises(IndexNotReady, match="make index"):
        FaqService(settings, embedder).warm_up()
    off = dataclasses.replace(settings, answerable_floor=0.0, choice_floor=0.0, settle_floor=1.0)
    assert FaqService(off, embedder).warm_up().parts().judge is None
