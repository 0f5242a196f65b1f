"""The FAQ service: the one decision path shared by the Rasa actions, the CLI and the evaluation."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from knowledge import language, spelling
from knowledge.answerability import Answerability, AnswerabilityError, features
from knowledge.config import Settings
from knowledge.decision import (
    ANSWER,
    CLARIFY,
    NO_ANSWER,
    Decision,
    DecisionRule,
    Hit,
    JudgeRule,
    decide,
    judge,
)
from knowledge.embedding import Embedder, shared_embedder
from knowledge.index import IndexNotReady, KnowledgeIndex, load_index
from knowledge.quoting import quote
from knowledge.schema import Kind, payload
from knowledge.search import Searcher
from knowledge.sectioning import Passage
from knowledge.sources import GENERAL, KnowledgeBase, load_knowledge_base
from knowledge.topics import TopicDetector
from knowledge.translate import english_query

MAX_QUESTION_CHARS = 1000  # the model reads ~256 word pieces; longer text adds only noise and cost
OUT_OF_SCOPE_SURE = 0.6  # NLU this sure a message is out of scope raises the answer bar
OUT_OF_SCOPE_BAR_RAISE = 0.08
# A follow-up is read in its condition's article first; that article being the one under
# discussion, a passage of it needs a little less to be quoted (chosen on the dev conversations,
# tests/eval/conversations_dev.yml).
FOLLOW_UP_BAR_DROP = 0.04
# A follow-up ("and how is it given?") says little by itself: it is searched with the patient's
# previous message mixed in at this weight (the patient's words, not the article's title).
FOLLOW_UP_CONTEXT = 0.5
_CORRECTION = re.compile(
    r"\b(i\W+meant|i\W+mean|i\W+was\W+(asking|talking)|not\W+\w+\W+(but|i\W+meant)|sorry|actually|"
    r"no\W+no|galti|matlab)\b",
    re.IGNORECASE,
)


def is_correction(text: str) -> bool:
    """Whether a message corrects which condition the patient meant ("sorry, I meant ...")."""
    return bool(_CORRECTION.search(text)) and len(text.split()) <= 12


@dataclass(frozen=True)
class Reply:
    """The outcome of one question.

    Attributes:
        kind: ``answer``, ``clarify`` or ``no_answer``.
        condition: Condition the conversation is about after this question (may be ``None``).
        hits: For ``answer`` the ranked candidates (the first is the answer); for ``clarify``
            the choices; for ``no_answer`` the best candidates below the bar.
        quote: For ``answer``, the verbatim sentences quoted from ``hits[0]``.
        ranking: The best candidates in rank order, whatever the decision (defaults to ``hits``).
    """

    kind: str
    condition: Optional[str]
    hits: Tuple[Hit, ...]
    quote: Optional[str] = None
    ranking: Tuple[Hit, ...] = ()

    @property
    def cited(self) -> Tuple[Hit, ...]:
        """Passages asserted to the patient: the answer, or the choices offered."""
        if self.kind == ANSWER:
            return self.hits[:1]
        if self.kind == CLARIFY:
            return self.hits
        return ()

    def payload(self) -> Dict[str, Any]:
        """Machine-readable data for clients and tests."""
        return payload(
            Kind(self.kind),
            condition=self.condition,
            citations=[citation(h.passage, h.score) for h in self.cited],
            ranking=[
                {"id": h.passage.id, "score": round(h.score, 4)}
                for h in (self.ranking or self.hits)
            ],
        )


def citation(passage: Passage, score: Optional[float] = None) -> Dict[str, Any]:
    """A passage as cited in a message payload."""
    data: Dict[str, Any] = {
        "id": passage.id,
        "article": passage.title,
        "section": passage.section,
        "citation": passage.citation,
        "text": passage.text,
    }
    if score is not None:
        data["score"] = round(score, 4)
    return data


@dataclass(frozen=True)
class Parts:
    """What :meth:`FaqService.warm_up` loaded."""

    embedder: Embedder
    searcher: Searcher
    topics: TopicDetector
    index: KnowledgeIndex
    kb: KnowledgeBase
    judge: Optional[Answerability]


class FaqService:
    """Loads the knowledge base, the index and the model once; answers questions."""

    def __init__(self, settings: Settings, embedder: Optional[Embedder] = None):
        """Keep settings; nothing is loaded until :meth:`warm_up`."""
        self.settings = settings
        self._embedder = embedder
        self._lock = threading.Lock()
        self._ready = False
        self.kb: Optional[KnowledgeBase] = None
        self.index: Optional[KnowledgeIndex] = None
        self.searcher: Optional[Searcher] = None
        self.topics: Optional[TopicDetector] = None
        self.judge: Optional[Answerability] = None

    def warm_up(self) -> "FaqService":
        """Load sources, index, model and language identifier (once; thread-safe).

        The answerability judge is loaded too unless its floors switch it off.

        Raises:
            knowledge.index.IndexNotReady: The index or the judge is missing or unreadable.
            knowledge.sources.SourceError: The sources are malformed.
        """
        with self._lock:
            if self._ready:
                return self
            self.kb = load_knowledge_base(self.settings.sources_dir)
            self.topics = TopicDetector.from_knowledge_base(self.kb)
            self.index = load_index(self.settings.index_dir)
            self.searcher = Searcher(self.index, self.settings)
            if self.settings.judged:
                try:
                    self.judge = Answerability.load(self.settings.index_dir)
                except AnswerabilityError as exc:
                    raise IndexNotReady(f"{exc}: run 'make index'") from exc
            if self._embedder is None:
                self._embedder = shared_embedder(
                    self.settings.model_path, threads=self.settings.torch_threads
                )
            self._embedder.warm_up()
            language.load()  # never raises: without it the language rules alone decide
            if self.settings.spelling:
                spelling.load(self.settings.sources_dir)  # never raises either
            self._ready = True
        return self

    @property
    def ready(self) -> bool:
        """Whether :meth:`warm_up` has finished."""
        return self._ready

    def parts(self) -> Parts:
        """The loaded parts.

        Raises:
            RuntimeError: Called before :meth:`warm_up`.
        """
        if not self._ready:
            raise RuntimeError("FaqService used before warm_up()")
        if not (self._embedder and self.searcher and self.topics and self.index and self.kb):
            raise RuntimeError("FaqService is only partly loaded")
        return Parts(self._embedder, self.searcher, self.topics, self.index, self.kb, self.judge)

    def search_words(self, text: str) -> Tuple[str, bool]:
        """The English words a message is searched with, and whether they are a translation.

        Hindi and Hinglish are translated word by word (:mod:`knowledge.translate`); English is
        spelling-corrected (:mod:`knowledge.spelling`) unless ``FAQBOT_SPELLING`` is off.
        """
        english = english_query(text)
        if english != text:
            return english, True
        return (spelling.correct(text) if self.settings.spelling else text), False

    def embed(self, text: str) -> np.ndarray:
        """The unit vector of one text (CPU-bound: call it off the event loop)."""
        return self.parts().embedder.encode_query(text)

    def ask(
        self,
        question: str,
        *,
        condition: Optional[str] = None,
        vector: Optional[np.ndarray] = None,
        threshold: Optional[float] = None,
        intent: Optional[Tuple[str, float]] = None,
        previous: Optional[str] = None,
        mode: str = "hybrid",
    ) -> Reply:
        """Answer a question from the articles: the one decision path of the bot, CLI and eval.

        A question naming no condition, asked while one is under discussion, is a follow-up: it
        is answered from that condition's article or the general FAQ, by what it asks (not by
        the article's title). A question naming a condition switches to it. A correction ("no,
        I meant the nerves") asks the ``previous`` question again for the named condition. A
        Hindi or Hinglish question is searched with its English words (:mod:`knowledge.translate`).

        Args:
            question: The patient's message.
            condition: Condition remembered from earlier in the conversation.
            vector: The question's embedding, if already computed (English questions only).
            threshold: Answer bar to use instead of the configured one.
            intent: The NLU's ``(intent, confidence)``; an out-of-scope one raises the bar.
            previous: The patient's previous message: a correction asks it again, a follow-up is
                searched with it mixed in.
            mode: Ranking mode (``hybrid``; ``dense`` and ``lexical`` are the baselines).
        """
        parts = self.parts()
        searcher, topics = parts.searcher, parts.topics
        question = question[:MAX_QUESTION_CHARS]
        query, translated = self.search_words(question)
        if query != question:
            vector = None
        named = topics.detect(query)
        within: Optional[Tuple[str, str]] = None
        context: Optional[str] = None  # what a follow-up is searched with besides its own words
        if named is not None and previous and is_correction(query):
            # The previous question, asked of the condition now named (its own words may name
            # the condition the patient did not mean).
            query, previous_translated = self.search_words(previous[:MAX_QUESTION_CHARS])
            translated = translated or previous_translated
            vector, within = None, (named, GENERAL)
        elif named is None and condition is not None:
            within = (condition, GENERAL)  # a follow-up: the condition's article or the FAQ
            if previous:
                context = self.search_words(previous[:MAX_QUESTION_CHARS])[0]
        topic = named or condition
        if vector is None:
            vector = self.embed(query)
        if context:
            mixed = vector + FOLLOW_UP_CONTEXT * self.embed(context)
            vector = mixed / max(float(np.linalg.norm(mixed)), 1e-12)
        bar = self.settings.answer_threshold if threshold is None else threshold
        if translated and threshold is None:
            bar = max(bar, self.settings.translated_threshold)
        if intent is not None and intent[0] == "out_of_scope" and intent[1] >= OUT_OF_SCOPE_SURE:
            bar += OUT_OF_SCOPE_BAR_RAISE
        hits = searcher.rank(query, vector, prefer_condition=topic, mode=mode, within=within)
        decision = decide(hits, DecisionRule.from_settings(self.settings, bar))
        if within is not None:
            # A follow-up is answered from the condition's own article when it answers it.
            own = searcher.rank(query, vector, mode=mode, within=within[:1])
            first = decide(own, DecisionRule.from_settings(self.settings, bar - FOLLOW_UP_BAR_DROP))
            if first.kind == ANSWER:
                hits, decision = own, first
        ranking = tuple(hits[: self.settings.top_k])
        decision = self._judged(decision, query, vector, hits, topic)
        if decision.kind != NO_ANSWER and searcher.unanswered(vector):
            return Reply(NO_ANSWER, topic, ranking, ranking=ranking)
        if decision.kind == ANSWER:
            top = decision.hits[0]
            topic = top.passage.condition if top.passage.condition != GENERAL else topic
            return Reply(ANSWER, topic, decision.hits, quote(top, vector, searcher.index), ranking)
        return Reply(decision.kind, topic, decision.hits, ranking=ranking)

    def _judged(
        self,
        decision: Decision,
        query: str,
        vector: np.ndarray,
        hits: List[Hit],
        topic: Optional[str],
    ) -> Decision:
        """The decision held against the answerability judge (:func:`knowledge.decision.judge`)."""
        parts = self.parts()
        if parts.judge is None or decision.kind == NO_ANSWER:
            return decision
        rows = features(parts.searcher, query, vector, hits, topic)
        probability = parts.judge.probabilities(rows)
        by_position = {hit.position: float(p) for hit, p in zip(hits, probability)}
        return judge(decision, by_position, JudgeRule.from_settings(self.settings))

    def passage_texts(self) -> Dict[str, str]:
        """Text of every passage, by id."""
        return {p.id: p.text for p in self.parts().index.passages}

    def passage(self, passage_id: str) -> Optional[Tuple[int, Passage]]:
        """The index position and passage with this id, if it exists."""
        index = self.parts().index
        for position, passage in enumerate(index.passages):
            if passage.id == passage_id:
                return position, passage
        return None

    def answer_passage(self, passage_id: str, question: str = "") -> Optional[Reply]:
        """Answer with a passage the patient chose (a clarify button); ``None`` if unknown."""
        found = self.passage(passage_id)
        if found is None:
            return None
        position, passage = found
        searcher = self.parts().searcher
        vector = self.embed(question or passage.section)
        hit = Hit(passage, position, 1.0, 1.0, 0.0, 1.0)
        condition = passage.condition if passage.condition != GENERAL else None
        return Reply(ANSWER, condition, (hit,), quote(hit, vector, searcher.index))

    def rank_ids(self, question: str, mode: str, vector: Optional[np.ndarray] = None) -> List[str]:
        """Passage ids ranked by one mode alone (for the baselines)."""
        searcher = self.parts().searcher
        if vector is None:
            vector = self.embed(question)
        return [h.passage.id for h in searcher.rank(question, vector, mode=mode)]
