"""``faqbot ask "question"``: one question through the whole bot, for staff and scripts.

The question goes to the bot's REST channel (``--url``, default the ``make run`` address), so the
answer comes from the same decision path as a patient's: Rasa's intent classifier, the red-flag
screen, the rules and the actions. When nothing answers there, a private bot is started on free
loopback ports for the one question (about 30 s) unless ``--no-start`` is given. Prints the
replies, the decision kind, the citations and the retrieval scores; ``--json`` prints the raw
replies and the kinds for machines. Exit codes: 0 answered, 2 the bot could not be reached.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.request
import uuid
from typing import Any, Dict, List, Optional

from knowledge.schema import kind_of
from scripts.stack import Stack, free_port, post_json

DEFAULT_URL = "http://127.0.0.1:5005"


def ask(base_url: str, question: str, sender: str) -> List[Dict[str, Any]]:
    """Send one message to the REST channel at ``base_url``; the bot's replies.

    ``FAQBOT_REST_TOKEN``, when set, is sent as the bearer token the channel then requires.
    """
    reply = post_json(
        f"{base_url.rstrip('/')}/webhooks/rest/webhook",
        {"sender": sender, "message": question},
        token=os.environ.get("FAQBOT_REST_TOKEN") or None,
    )
    return [m for m in reply if isinstance(m, dict)] if isinstance(reply, list) else []


def kinds(messages: List[Dict[str, Any]]) -> List[str]:
    """The decision kinds in the replies' ``custom`` payloads."""
    return [k for k in map(kind_of, messages) if k is not None]


def render(messages: List[Dict[str, Any]]) -> str:
    """Human-readable: the texts and buttons, then decision, citations and scores."""
    lines: List[str] = []
    for message in messages:
        if message.get("text"):
            lines += [message["text"], ""]
        for button in message.get("buttons") or []:
            lines.append(f"  [{button.get('title')}] -> {button.get('payload')}")
    lines.append(f"decision: {', '.join(kinds(messages)) or 'none'}")
    for message in messages:
        custom = message.get("custom")
        if not isinstance(custom, dict):
            continue
        if custom.get("condition"):
            lines.append(f"condition: {custom['condition']}")
        for cited in custom.get("citations") or []:
            score = cited.get("score", 0.0)
            lines.append(f"cited  {score:.3f}  {cited['citation']}  [{cited['id']}]")
        for ranked in custom.get("ranking") or []:
            lines.append(f"ranked {ranked['score']:.3f}  [{ranked['id']}]")
        if custom.get("handoff"):
            lines.append(f"handoff: {json.dumps(custom['handoff'])}")
    return "\n".join(lines)


def _reachable(base_url: str) -> bool:
    """Whether the REST channel's health check answers at ``base_url``."""
    try:
        with urllib.request.urlopen(f"{base_url.rstrip('/')}/webhooks/rest/", timeout=2) as r:  # noqa: S310
            return int(r.status) == 200
    except (OSError, ValueError):
        return False


def main(argv: Optional[List[str]] = None) -> int:
    """Run the command line; returns the exit code."""
    parser = argparse.ArgumentParser(prog="faqbot", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    one = sub.add_parser("ask", help="ask the bot one question")
    one.add_argument("question")
    one.add_argument("--url", default=DEFAULT_URL, help=f"the running bot [{DEFAULT_URL}]")
    one.add_argument("--sender", help="conversation id (default: a new one)")
    one.add_argument("--json", action="store_true", help="machine-readable output")
    one.add_argument("--no-start", action="store_true", help="fail instead of starting a bot")
    args = parser.parse_args(argv)
    sender = args.sender or f"staff-{uuid.uuid4().hex[:8]}"
    stack: Optional[Stack] = None
    url = args.url
    try:
        if not _reachable(url):
            if args.no_start:
                print(f"error: no bot answers at {url} (start it with 'make run')", file=sys.stderr)
                return 2
            print("faqbot: no bot running; starting one for this question...", file=sys.stderr)
            stack = Stack(free_port(), free_port()).start()
            url = f"http://127.0.0.1:{stack.rasa_port}"
        messages = ask(url, args.question, sender)
    except (OSError, RuntimeError) as exc:
        print(f"error: the bot could not be reached: {exc}", file=sys.stderr)
        return 2
    finally:
        if stack is not None:
            stack.stop()
    if args.json:
        print(json.dumps({"sender": sender, "kinds": kinds(messages), "messages": messages}))
    else:
        print(render(messages))
    return 0


if __name__ == "__main__":
    sys.exit(main())
