"""Scenario 1, retrieval alone: encode + hybrid search + decision, in this process.

Uses the same :class:`knowledge.service.FaqService` path as the action server (one query
embedding, hybrid ranking, decision, quote), with the same settings (torch threads from
``FAQBOT_TORCH_THREADS``), over every dev-set message.
"""

from __future__ import annotations

import time
from typing import Any, Dict, List, Sequence

from bench.stats import combine_runs, summarize
from knowledge.config import Settings
from knowledge.service import FaqService

WARM_UP_CALLS = 20


def run_retrieval(questions: Sequence[str], passes: int) -> Dict[str, Any]:
    """Time ``passes`` passes over ``questions``; medians over passes and the pooled latencies.

    Returns:
        ``total``, ``encode`` and ``search`` (search + decision + quote) as medians over passes
        of each pass's p50/p95/p99 (ms), the per-pass summaries, and ``latencies`` (all totals).
    """
    settings = Settings.from_env()
    service = FaqService(settings).warm_up()
    for question in list(questions)[:WARM_UP_CALLS]:
        service.ask(question)
    runs: Dict[str, List[Dict[str, float]]] = {"total": [], "encode": [], "search": []}
    pooled: List[float] = []
    for _ in range(passes):
        total, encode, search = [], [], []
        for question in questions:
            t0 = time.perf_counter()
            vector = service.embed(question)
            t1 = time.perf_counter()
            service.ask(question, vector=vector)
            t2 = time.perf_counter()
            encode.append((t1 - t0) * 1000.0)
            search.append((t2 - t1) * 1000.0)
            total.append((t2 - t0) * 1000.0)
        runs["total"].append(summarize(total))
        runs["encode"].append(summarize(encode))
        runs["search"].append(summarize(search))
        pooled.extend(total)
    keys = ("p50", "p95", "p99")
    return {
        "questions": len(questions),
        "passes": passes,
        "torch_threads": settings.torch_threads,
        "total": combine_runs(runs["total"], keys),
        "encode": combine_runs(runs["encode"], keys),
        "search": combine_runs(runs["search"], keys),
        "per_pass": runs["total"],
        "latencies": pooled,
    }
