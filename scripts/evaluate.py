"""``make eval CASES=...``: run every case through the real bot's REST channel and score it.

Starts the trained model, the action server and the Rasa server on free loopback ports, sends each
case as a fresh conversation, stops everything, prints a table and, as its last line, one JSON
object with the metrics (see :func:`knowledge.evaluation.summarise`).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from knowledge.config import Settings
from knowledge.evaluation import Case, CaseError, Outcome, load_cases, summarise
from knowledge.service import FaqService
from scripts.stack import MODEL_DIR, ROOT, Stack, free_port, post_json


def outcome_of(case: Case, messages: Sequence[Dict[str, Any]], texts: Dict[str, str]) -> Outcome:
    """Decision kinds and ranked passage texts from the bot's REST messages."""
    kinds: List[str] = []
    ranked: List[str] = []
    seen: set = set()
    for message in messages:
        custom = message.get("custom")
        if not isinstance(custom, dict):
            continue
        kinds.append(str(custom.get("kind")))
        for cited in custom.get("citations") or []:
            if cited.get("id") not in seen:
                seen.add(cited.get("id"))
                ranked.append(str(cited.get("text", "")))
        for item in custom.get("ranking") or []:
            if item.get("id") not in seen and item.get("id") in texts:
                seen.add(item.get("id"))
                ranked.append(texts[item["id"]])
    return Outcome(case, kinds, ranked)


def baseline_ranks(service: FaqService, cases: Sequence[Case], mode: str) -> List[Optional[int]]:
    """Hit rank of each answer case when ranking by one retriever alone."""
    texts = service.passage_texts()
    ranks = []
    for case in cases:
        ids = service.rank_ids(case.text, mode)[: service.settings.top_k]
        ranks.append(Outcome(case, [], [texts[i] for i in ids]).hit_rank())
    return ranks


def _table(summary: Dict[str, Any]) -> str:
    rows = []
    for group, metrics in summary.items():
        if group == "baselines":
            for name, values in metrics.items():
                rows.append(f"  baseline {name:<8} hit@1={values['hit@1']:.3f}")
            continue
        values = "  ".join(f"{k}={v}" for k, v in metrics.items())
        rows.append(f"  {group:<16} {values}")
    return "\n".join(rows)


def main(argv: Optional[List[str]] = None) -> int:
    """Run the evaluation; exit 0 when it ran (the metrics are judged by the caller)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("cases", type=Path)
    parser.add_argument("--show-misses", action="store_true", help="list the cases it got wrong")
    parser.add_argument(
        "--model", type=Path, default=MODEL_DIR, help="model file or folder [models/]"
    )
    args = parser.parse_args(argv)
    try:
        cases = load_cases(args.cases)
    except CaseError as exc:
        print(f"eval: {exc}", file=sys.stderr)
        return 2
    service = FaqService(Settings.from_env()).warm_up()
    texts = service.passage_texts()
    print(f"eval: {len(cases)} cases from {args.cases}; starting the bot...", flush=True)
    outcomes: List[Outcome] = []
    scratch = tempfile.TemporaryDirectory(prefix="faqbot-eval-")
    # Escalations made by the evaluation go to a throwaway handoff store, never the clinic's.
    env = {"DATABASE_URL": f"sqlite:///{scratch.name}/handoffs.db"}
    with scratch, Stack(
        free_port(),
        free_port(),
        model=args.model,
        log_dir=ROOT / "var" / "logs" / "eval",
        extra_env=env,
    ) as stack:
        for i, case in enumerate(cases):
            sender = f"eval-{i}-{uuid.uuid4().hex[:8]}"
            reply = post_json(stack.rest_url, {"sender": sender, "message": case.text}, 60)
            outcomes.append(outcome_of(case, reply if isinstance(reply, list) else [], texts))
    answers = [c for c in cases if c.expect == "answer"]
    baselines = {
        "bm25": baseline_ranks(service, answers, "lexical"),
        "dense": baseline_ranks(service, answers, "dense"),
    }
    summary = summarise(outcomes, baselines)
    if args.show_misses:
        for outcome in outcomes:
            if not outcome.correct():
                print(f"  miss [{outcome.case.expect}] {outcome.case.text!r} -> {outcome.kinds}")
    print(_table(summary))
    print(json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
