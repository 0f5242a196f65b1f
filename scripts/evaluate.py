"""``make eval CASES=...``: run every case through the real bot's REST channel and score it.

Starts the trained model, the action server and the Rasa server on free loopback ports, sends each
single case as a fresh conversation and each conversation's turns one after another from one
sender, stops everything, prints a table and, as its last line, one JSON object with the metrics
(see :func:`knowledge.evaluation.summarise`). ``--show-misses`` lists what went wrong.
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
from knowledge.evaluation import Case, CaseError, Outcome, load_suite, summarise
from knowledge.schema import custom_of
from knowledge.service import FaqService
from scripts.stack import MODEL_DIR, ROOT, TOOL_LIMITS_ENV, Stack, free_port, post_json


def outcome_of(case: Case, messages: Sequence[Dict[str, Any]], texts: Dict[str, str]) -> Outcome:
    """Decision kinds, asserted passages and ranked passage texts from the bot's REST messages."""
    outcome = Outcome(case, [])
    seen: set = set()
    for message in messages:
        custom = custom_of(message)
        if custom is None:
            continue
        kind = str(custom.get("kind"))
        outcome.kinds.append(kind)
        cited = [str(c.get("text", "")) for c in custom.get("citations") or []]
        if kind == "answer":
            outcome.answer_texts.extend(cited)
        elif kind == "clarify":
            outcome.choice_texts.extend(cited)
        for item in [*(custom.get("citations") or []), *(custom.get("ranking") or [])]:
            passage = item.get("id")
            if passage not in seen and passage in texts:
                seen.add(passage)
                outcome.ranked_texts.append(texts[passage])
    return outcome


def baseline_ranks(service: FaqService, cases: Sequence[Case], mode: str) -> List[Optional[int]]:
    """Hit rank of each answer case when ranking by one retriever alone."""
    texts = service.passage_texts()
    ranks = []
    for case in cases:
        ids = service.rank_ids(case.text, mode)[: service.settings.top_k]
        ranks.append(Outcome(case, [], [texts[i] for i in ids]).hit_rank())
    return ranks


def _table(summary: Dict[str, Any], indent: str = "  ") -> str:
    rows = []
    for group, metrics in summary.items():
        if group == "baselines":
            for name, values in metrics.items():
                rows.append(f"{indent}baseline {name:<8} hit@1={values['hit@1']:.3f}")
        elif group in ("by_lang", "conversation_turns"):
            parts = metrics.items() if group == "by_lang" else [("turns", metrics)]
            for name, sub in parts:
                rows.append(f"{indent}{group} {name}:")
                rows.append(_table(sub, indent + "    "))
        else:
            values = "  ".join(f"{k}={v}" for k, v in metrics.items())
            rows.append(f"{indent}{group:<16} {values}")
    return "\n".join(rows)


def _miss(outcome: Outcome, where: str = "") -> str:
    what = "wrong passage" if outcome.answered_wrong() else ",".join(outcome.kinds)
    return (
        f"  miss{where} [{outcome.case.expect}/{outcome.case.lang}] {outcome.case.text!r} -> {what}"
    )


def main(argv: Optional[List[str]] = None) -> int:
    """Run the evaluation; exit 0 when it ran (the metrics are judged by the caller)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "cases", type=Path, nargs="+", help="case files (cases and/or conversations)"
    )
    parser.add_argument("--show-misses", action="store_true", help="list the cases it got wrong")
    parser.add_argument(
        "--model", type=Path, default=MODEL_DIR, help="model file or folder [models/]"
    )
    args = parser.parse_args(argv)
    try:
        suites = [load_suite(path) for path in args.cases]
    except CaseError as exc:
        print(f"eval: {exc}", file=sys.stderr)
        return 2
    cases = [c for suite in suites for c in suite.cases]
    dialogues = [c for suite in suites for c in suite.conversations]
    service = FaqService(Settings.from_env()).warm_up()
    texts = service.passage_texts()
    names = ", ".join(str(p) for p in args.cases)
    print(
        f"eval: {len(cases)} cases and {len(dialogues)} conversations from {names}; "
        "starting the bot...",
        flush=True,
    )
    outcomes: List[Outcome] = []
    conversations: List[List[Outcome]] = []
    scratch = tempfile.TemporaryDirectory(prefix="faqbot-eval-")
    # Escalations made by the evaluation go to a throwaway handoff store, never the clinic's.
    env = {**TOOL_LIMITS_ENV, "DATABASE_URL": f"sqlite:///{scratch.name}/handoffs.db"}
    with scratch, Stack(
        free_port(),
        free_port(),
        model=args.model,
        log_dir=ROOT / "var" / "logs" / "eval",
        extra_env=env,
    ) as stack:

        def say(sender: str, case: Case) -> Outcome:
            reply = post_json(stack.rest_url, {"sender": sender, "message": case.text}, 60)
            return outcome_of(case, reply if isinstance(reply, list) else [], texts)

        for i, case in enumerate(cases):
            outcomes.append(say(f"eval-{i}-{uuid.uuid4().hex[:8]}", case))
        for i, dialogue in enumerate(dialogues):
            sender = f"eval-conversation-{i}-{uuid.uuid4().hex[:8]}"
            conversations.append([say(sender, turn) for turn in dialogue.turns])
    answers = [c for c in cases if c.expect == "answer"]
    baselines = {
        "bm25": baseline_ranks(service, answers, "lexical"),
        "dense": baseline_ranks(service, answers, "dense"),
    }
    summary = summarise(outcomes, baselines, conversations)
    if args.show_misses:
        for outcome in outcomes:
            if not outcome.correct():
                print(_miss(outcome))
        for dialogue, turns in zip(dialogues, conversations):
            for j, outcome in enumerate(turns, start=1):
                if not outcome.correct():
                    print(_miss(outcome, f" {dialogue.name!r} turn {j}"))
    print(_table(summary))
    print(json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
