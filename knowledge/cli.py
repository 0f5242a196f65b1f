"""Command line for staff and scripts: build the index, check it, ask a question.

python -m knowledge index [--if-stale]     build (or rebuild only when stale)
python -m knowledge status                 exit 0 when the index is fresh, 1 when stale
python -m knowledge ask "question" [--json] [--condition foot_ulcers]
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import List, Optional

from knowledge.config import ConfigError, Settings
from knowledge.index import IndexNotReady, build_index, staleness
from knowledge.sources import CONDITIONS, SourceError


def _progress(message: str) -> None:
    print(f"index: {message}", flush=True)


def _cmd_index(settings: Settings, if_stale: bool) -> int:
    reason = staleness(settings)
    if if_stale and reason is None:
        print(f"index: up to date in {settings.index_dir}")
        return 0
    if reason:
        _progress(f"building ({reason})")
    from knowledge.embedding import Embedder

    # One thread (FAQBOT_TORCH_THREADS): on 2 shared cores, two OpenMP threads spin-wait for
    # each other whenever another process holds a core, which made the build several times slower.
    embedder = Embedder(settings.model_path, threads=settings.torch_threads, fast_queries=False)
    _progress("loading the embedding model")
    manifest = build_index(settings, embedder, progress=_progress)
    from knowledge import answerability_training

    answerability_training.build(settings, embedder, progress=_progress)
    _progress(
        f"{manifest.passage_count} passages, {manifest.sentence_count} sentences, "
        f"{manifest.question_count} questions"
    )
    return 0


def _cmd_status(settings: Settings) -> int:
    reason = staleness(settings)
    print(f"index: stale ({reason})" if reason else "index: up to date")
    return 1 if reason else 0


def _cmd_ask(settings: Settings, question: str, condition: Optional[str], as_json: bool) -> int:
    from knowledge.service import FaqService

    service = FaqService(settings).warm_up()
    reply = service.ask(question, condition=condition)
    if as_json:
        data = reply.payload()
        data["quote"] = reply.quote
        print(json.dumps(data, ensure_ascii=False, indent=2))
        return 0
    print(f"decision: {reply.kind}   condition: {reply.condition or '-'}")
    if reply.quote:
        print(f"\n{reply.quote}\n")
    for hit in reply.hits:
        mark = "*" if hit in reply.cited else " "
        print(
            f"{mark} {hit.score:.3f} (dense {hit.dense:.3f}, lexical {hit.lexical:.3f})  "
            f"{hit.passage.citation}  [{hit.passage.id}]"
        )
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    """Run the command line; returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m knowledge", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    index = sub.add_parser("index", help="build the knowledge index")
    index.add_argument("--if-stale", action="store_true", help="only when missing or stale")
    sub.add_parser("status", help="exit 1 when the index is missing or stale")
    ask = sub.add_parser("ask", help="answer one question from the articles")
    ask.add_argument("question")
    ask.add_argument("--condition", choices=CONDITIONS)
    ask.add_argument("--json", action="store_true", help="machine-readable output")
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
        if args.command == "index":
            return _cmd_index(settings, args.if_stale)
        if args.command == "status":
            return _cmd_status(settings)
        return _cmd_ask(settings, args.question, args.condition, args.json)
    except (ConfigError, SourceError, IndexNotReady) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
