"""Whether a ranked passage answers the question: a learned judge over retrieval features.

The fused score says how related a passage sounds; it cannot tell "answers it" from "sounds
related". :class:`Answerability` is a gradient-boosted classifier (scikit-learn's
``HistGradientBoostingClassifier``, installed with Rasa) that reads, for each of the best
:data:`CANDIDATES` passages, its scores (fused, dense parts, BM25, topic boost), where it stands
among the others, how much of the question's content words its text and headings hold, whether
it belongs to the condition the question names, and how close the question is to one the
articles are known not to answer; it gives the probability that the passage answers the
question. It is trained at build time (:mod:`knowledge.answerability_training`) on the project's
own questions and stored next to the index; :func:`knowledge.decision.judge` uses it to turn a
quote or a choice it doubts into "I don't know".
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence

import numpy as np

from knowledge.decision import Hit
from knowledge.sources import GENERAL

if TYPE_CHECKING:  # knowledge.index reads the record; the searcher imports the index
    from knowledge.search import Searcher

# Bump when the features or the training change: the index folder then counts as stale.
ANSWERABILITY_VERSION = "2"
MODEL_FILE = "answerability.npz"
RECORD_FILE = "answerability.json"
CANDIDATES = 8  # passages judged per question (the decision never looks further)
FEATURES = (
    "score",
    "dense",
    "lexical",
    "boost",
    "passage_cosine",
    "question_cosine",
    "sentence_cosine",
    "rank",
    "below_top",
    "above_other_sections",
    "top_score",
    "content_words",
    "text_coverage",
    "heading_coverage",
    "is_general",
    "named_condition",
    "other_condition",
    "unanswered_nearest",
    "answered_nearest",
    "unanswered_lead",
    "dense_rank",
    "lexical_rank",
    "question_rank",
    "sentence_rank",
    "passage_rank",
    "dense_lead",
    "lexical_lead",
    "question_lead",
    "sentence_lead",
    "passage_lead",
    "questions_over_0_5",
    "questions_over_0_6",
)


class AnswerabilityError(RuntimeError):
    """The stored model is missing, unreadable or of another version."""


def features(
    searcher: "Searcher",
    query: str,
    vector: np.ndarray,
    hits: Sequence[Hit],
    named: Optional[str],
) -> np.ndarray:
    """One row of :data:`FEATURES` per hit (at most :data:`CANDIDATES` rows).

    Args:
        searcher: The searcher that ranked ``hits``.
        query: The words the question was searched with.
        vector: Its unit embedding.
        hits: The ranked passages, best first.
        named: The condition the question names or is about, if any.
    """
    hits = list(hits[:CANDIDATES])
    if not hits:
        return np.zeros((0, len(FEATURES)), dtype=np.float32)
    index = searcher.index
    passage, question, sentence = searcher.dense_parts(vector)
    question_sims = index.question_vectors @ vector
    owners = index.question_owners
    tokenize = searcher.lexical.tokenize
    words = set(tokenize(query))
    n_words = max(len(words), 1)
    unanswered = index.unanswered_vectors
    unanswered_nearest = (
        float(np.max(unanswered @ vector)) if unanswered is not None and len(unanswered) else 0.0
    )
    answered_nearest = float(np.max(question_sims, initial=-1.0))
    positions = [h.position for h in hits]
    parts = np.stack(
        [
            np.array([h.dense for h in hits], dtype=np.float32),
            np.array([h.lexical for h in hits], dtype=np.float32),
            question[positions],
            sentence[positions],
            passage[positions],
        ]
    )
    # Per part and candidate: how many candidates score higher, and the lead over the best other.
    above = (parts[:, None, :] > parts[:, :, None]).sum(axis=2)
    order = np.sort(parts, axis=1)
    first = order[:, -1:]
    second = order[:, -2:-1] if len(hits) > 1 else np.full_like(first, -1.0)
    best_other = np.where(parts == first, np.maximum(second, -1.0), first)
    # Ties: each of two equal leaders has the other as its best rival (a lead of 0).
    lead = parts - best_other
    support = [
        np.bincount(owners[question_sims > floor], minlength=len(index.passages))[positions]
        for floor in (0.5, 0.6)
    ]
    top = hits[0]
    rows: List[List[float]] = []
    for rank, hit in enumerate(hits):
        at = hit.position
        own = hit.passage
        rivals = [
            h.score for h in hits if (h.passage.doc, h.passage.section) != (own.doc, own.section)
        ]
        rows.append(
            [
                hit.score,
                hit.dense,
                hit.lexical,
                hit.rank_score - hit.score,
                float(passage[at]),
                float(question[at]),
                float(sentence[at]),
                float(rank),
                top.score - hit.score,
                hit.score - (rivals[0] if rivals else 0.0),
                top.score,
                float(len(words)),
                len(words & searcher.text_words[at]) / n_words,
                len(words & searcher.heading_words[at]) / n_words,
                float(own.condition == GENERAL),
                float(named is not None and own.condition == named),
                float(named is not None and own.condition not in (named, GENERAL)),
                unanswered_nearest,
                answered_nearest,
                unanswered_nearest - answered_nearest,
                *above[:, rank].astype(float),
                *lead[:, rank].astype(float),
                float(support[0][rank]),
                float(support[1][rank]),
            ]
        )
    return np.asarray(rows, dtype=np.float32)


@dataclass(frozen=True)
class Answerability:
    """The fitted judge: the probability that each candidate answers the question.

    The boosted trees are kept as plain arrays (one row per tree, one column per node) and
    walked with numpy: scikit-learn's own prediction starts OpenMP threads for every call,
    which on 2 shared cores cost milliseconds per answer and stalled under load, and the stored
    file is arrays only (read without unpickling).
    """

    baseline: float
    feature: np.ndarray  # (trees, nodes) feature index of each split
    threshold: np.ndarray  # go left when the value is at most this
    left: np.ndarray
    right: np.ndarray
    leaf: np.ndarray  # bool
    value: np.ndarray  # a leaf's contribution to the log-odds

    @classmethod
    def fit(cls, rows: np.ndarray, labels: np.ndarray) -> "Answerability":
        """Fit on feature rows and their labels (1: the passage answers the question).

        Raises:
            ValueError: Fewer than two classes, rows and labels disagree in length, or the
                trees read from scikit-learn do not reproduce its own probabilities.
        """
        from sklearn.ensemble import HistGradientBoostingClassifier

        if len(rows) != len(labels) or len(set(labels.tolist())) < 2:
            raise ValueError("answerability needs rows of both classes, one label per row")
        model = HistGradientBoostingClassifier(
            max_depth=3, max_iter=100, learning_rate=0.15, random_state=0
        )
        model.fit(rows, labels.astype(int))
        # scikit-learn 1.1 keeps the trees in _predictors (one TreePredictor per iteration);
        # the check below refuses the build if that ever reads differently.
        trees = [nodes.nodes for (nodes,) in model._predictors]
        width = max(len(t) for t in trees)

        def table(field: str, dtype: type) -> np.ndarray:
            out: np.ndarray = np.zeros((len(trees), width), dtype=dtype)
            for i, t in enumerate(trees):
                out[i, : len(t)] = t[field]
            return out

        leaf = table("is_leaf", bool)
        leaf |= np.arange(width)[None, :] >= np.array([len(t) for t in trees])[:, None]
        judge = cls(
            float(np.ravel(model._baseline_prediction)[0]),
            table("feature_idx", np.int64),
            table("num_threshold", np.float64),
            table("left", np.int64),
            table("right", np.int64),
            leaf,
            table("value", np.float64),
        )
        sample = rows[:: max(1, len(rows) // 500)]
        if not np.allclose(
            judge.probabilities(sample), model.predict_proba(sample)[:, 1], atol=1e-5
        ):
            raise ValueError("the trees read from scikit-learn do not give its probabilities")
        return judge

    def probabilities(self, rows: np.ndarray) -> np.ndarray:
        """Probability per row that its passage answers the question."""
        if not len(rows):
            return np.zeros(0, dtype=np.float32)
        values = np.asarray(rows, dtype=np.float64)
        trees = np.arange(len(self.feature))[:, None]
        cases = np.arange(len(values))[None, :]
        node = np.zeros((len(self.feature), len(values)), dtype=np.int64)
        while True:
            inner = ~self.leaf[trees, node]
            if not inner.any():
                break
            goes_left = values[cases, self.feature[trees, node]] <= self.threshold[trees, node]
            step = np.where(goes_left, self.left[trees, node], self.right[trees, node])
            node = np.where(inner, step, node)
        logit = self.baseline + self.value[trees, node].sum(axis=0)
        return (1.0 / (1.0 + np.exp(-logit))).astype(np.float32)

    def save(self, folder: Path, record: Dict[str, Any]) -> None:
        """Write the trees and their record (what they were trained for) into ``folder``."""
        arrays = {f.name: getattr(self, f.name) for f in fields(self)}
        with (folder / MODEL_FILE).open("wb") as out:
            np.savez(out, version=np.array(ANSWERABILITY_VERSION), **arrays)
        data = {"version": ANSWERABILITY_VERSION, **record}
        (folder / RECORD_FILE).write_text(json.dumps(data, indent=2), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> "Answerability":
        """Read the trees :meth:`save` wrote.

        Raises:
            AnswerabilityError: Missing, unreadable or of another version.
        """
        try:
            with np.load(folder / MODEL_FILE, allow_pickle=False) as data:
                if str(data["version"]) != ANSWERABILITY_VERSION:
                    raise AnswerabilityError(
                        f"{folder / MODEL_FILE} is not of version {ANSWERABILITY_VERSION}: "
                        "run 'make index'"
                    )
                arrays = {f.name: data[f.name] for f in fields(cls)}
        except (OSError, ValueError, KeyError) as exc:
            raise AnswerabilityError(f"{folder / MODEL_FILE} is unreadable ({exc})") from exc
        arrays["baseline"] = float(arrays["baseline"])
        return cls(**arrays)


def read_record(folder: Path) -> Optional[Dict[str, Any]]:
    """What the stored model was trained for, or ``None`` when absent or unreadable."""
    try:
        data = json.loads((folder / RECORD_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def staleness(folder: Path, index_built_at: str) -> Optional[str]:
    """Why the stored judge must be trained again for the index built at ``index_built_at``."""
    record = read_record(folder)
    if record is None or not (folder / MODEL_FILE).is_file():
        return f"{MODEL_FILE} is missing"
    if record.get("version") != ANSWERABILITY_VERSION:
        return "the answerability judge changed"
    if record.get("index_built_at") != index_built_at:
        return f"{MODEL_FILE} was trained for another index"
    return None
