"""Staff command line for handoffs (settings from the environment, see docs/configuration.md).

python -m handoffs list [--status open|claimed|resolved|all] [--limit N] [--json]
python -m handoffs show REF [--json]
python -m handoffs claim REF --by NAME
python -m handoffs resolve REF --by NAME [--note TEXT]
python -m handoffs deliver                      send due staff notifications once (cron/ops)
python -m handoffs purge [--older-than-days N]  delete resolved handoffs older than N days
                                                [FAQBOT_RETENTION_DAYS, 30]

Errors are one line on stderr: exit 1 for an unknown reference, a status that does not allow
the change, or a failed notification; exit 2 for configuration or database problems.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import datetime, timedelta
from typing import Any, Dict, List, Optional

from handoffs.notify import Notifier
from handoffs.records import STATUSES, Handoff, Notification
from handoffs.store import HandoffStore, StoreError, StoreUnavailable
from knowledge.config import ConfigError, Settings

# C0 controls (tab and newline aside) and DEL: shown as U+FFFD.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
# C1 controls (a terminal may read U+009B as CSI) and bidi controls (they reorder what follows,
# e.g. U+202E shows a phone number or an instruction reversed): shown as \u escapes.
_ESCAPED = re.compile(r"[\x80-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _escape(match: "re.Match[str]") -> str:
    return f"\\u{ord(match.group()):04x}"


def _clean(text: str) -> str:
    """Make patient or channel text safe to print on a terminal (no escapes, no reordering)."""
    return _ESCAPED.sub(_escape, _CONTROL.sub("\ufffd", text))


def _json(data: object) -> str:
    """``data`` as indented JSON, C1 and bidi controls as JSON escapes (the same data)."""
    return _ESCAPED.sub(_escape, json.dumps(data, ensure_ascii=False, indent=2))


def _when(moment: Optional[datetime]) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC" if moment else "-"


def _summary(handoff: Handoff) -> Dict[str, Any]:
    data = handoff.to_dict()
    data["turns"] = len(handoff.turns)
    return data


def _cmd_list(store: HandoffStore, status: str, limit: int, as_json: bool) -> int:
    handoffs = store.list(None if status == "all" else status, limit=limit)
    if as_json:
        print(_json([_summary(h) for h in handoffs]))
    elif not handoffs:
        print("no handoffs" if status == "all" else f"no {status} handoffs")
    else:
        rows = [
            ("REFERENCE", "PRIORITY", "STATUS", "REASON", "CHANNEL", "CREATED", "CONTACT", "BY")
        ]
        for h in handoffs:
            by = (h.resolved_by if h.status == "resolved" else h.claimed_by) or "-"
            rows.append(
                (
                    _clean(h.reference),
                    _clean(h.priority),
                    _clean(h.status),
                    _clean(h.reason),
                    _clean(h.channel),
                    _when(h.created_at),
                    _clean(h.contact.kind) if h.contact else "-",
                    _clean(by),
                )
            )
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        for row in rows:
            print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    failing = store.failing(limit=1000)
    if failing:
        print(
            f"warning: {len(failing)} staff notification(s) failing; "
            "'python -m handoffs deliver' lists them",
            file=sys.stderr,
        )
    return 0


def _contact_line(handoff: Handoff) -> str:
    if handoff.contact is None:
        return "not given"
    if handoff.contact.kind == "declined":
        return "declined by the patient"
    return f"{_clean(handoff.contact.kind)} {_clean(handoff.contact.value or '')}"


def _notification_line(n: Notification, with_reference: bool = False) -> str:
    sink = _clean(n.sink)
    head = f"  {_clean(n.reference)}  {sink:<8}" if with_reference else f"  {sink:<8}"
    if n.status == "delivered":
        return f"{head} delivered {_when(n.delivered_at)} (attempts {n.attempts})"
    if n.attempts == 0:
        return f"{head} pending since {_when(n.next_attempt_at)}"
    return (
        f"{head} FAILING after {n.attempts} attempt(s): {_clean(n.last_error or '?')}; "
        f"next try {_when(n.next_attempt_at)}"
    )


def _cmd_show(store: HandoffStore, reference: str, as_json: bool) -> int:
    handoff = store.get(reference)
    if handoff is None:
        print(f"error: no handoff with reference {reference.strip()!r}", file=sys.stderr)
        return 1
    notifications = store.notifications(handoff.reference)
    if as_json:
        data = handoff.to_dict()
        data["notifications"] = [n.to_dict() for n in notifications]
        print(_json(data))
        return 0
    lines = [
        f"Handoff {_clean(handoff.reference)}  [{_clean(handoff.priority)}]  "
        f"{_clean(handoff.status)}",
        f"reason:      {_clean(handoff.reason)}",
        f"channel:     {_clean(handoff.channel)}   sender: {_clean(handoff.sender_id)}",
        f"created:     {_when(handoff.created_at)}   updated: {_when(handoff.updated_at)}",
        f"contact:     {_contact_line(handoff)}",
        f"claimed by:  {_clean(handoff.claimed_by or '-')}",
    ]
    if handoff.status == "resolved":
        lines.append(
            f"resolved:    {_when(handoff.resolved_at)} by {_clean(handoff.resolved_by or '-')}"
        )
        lines.append(f"note:        {_clean(handoff.note or '-')}")
    lines.append(f"conversation (last {len(handoff.turns)} turns):")
    for turn in handoff.turns:
        stamp = f"[{turn.at:%H:%M}] " if turn.at else ""
        text = _clean(turn.text).replace("\n", "\n" + " " * 12)
        lines.append(f"  {stamp}{_clean(turn.speaker):>7}: {text}")
    if not handoff.turns:
        lines.append("  (none)")
    lines.append("notifications:")
    lines.extend(_notification_line(n) for n in notifications)
    if not notifications:
        lines.append("  (none: no sink was configured)")
    print("\n".join(lines))
    return 0


def _cmd_claim(store: HandoffStore, reference: str, staff: str) -> int:
    handoff = store.claim(reference, staff)
    print(
        f"claimed {_clean(handoff.reference)} ({_clean(handoff.priority)}, "
        f"{_clean(handoff.reason)}) for {_clean(staff)}"
    )
    return 0


def _cmd_resolve(store: HandoffStore, reference: str, staff: str, note: Optional[str]) -> int:
    handoff = store.resolve(reference, staff, note=note)
    print(f"resolved {_clean(handoff.reference)} by {_clean(staff)}")
    return 0


def _cmd_deliver(store: HandoffStore, settings: Settings) -> int:
    notifier = Notifier.from_settings(store, settings)
    if not notifier.sinks:
        print(
            "error: no notification sink is configured (set FAQBOT_WEBHOOK_URL or "
            "FAQBOT_SMTP_HOST); pending notifications stay queued",
            file=sys.stderr,
        )
        return 2
    report = notifier.deliver_due()
    print(f"delivered {report.delivered}, failed {report.failed}")
    for n in store.failing():
        print(_notification_line(n, with_reference=True))
    return 1 if report.failed else 0


def _cmd_purge(store: HandoffStore, days: int) -> int:
    count = store.purge(timedelta(days=days))
    print(f"purged {count} resolved handoff(s) resolved more than {days} day(s) ago")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m handoffs", description="Staff tools for the bot's human handoffs."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    listing = sub.add_parser("list", help="list handoffs, the ones to act on first")
    listing.add_argument("--status", choices=(*STATUSES, "all"), default="all")
    listing.add_argument("--limit", type=int, default=50, help="at most this many [50]")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    show = sub.add_parser("show", help="one handoff with its conversation and contact")
    show.add_argument("reference")
    show.add_argument("--json", action="store_true", help="machine-readable output")
    claim = sub.add_parser("claim", help="take an open handoff")
    claim.add_argument("reference")
    claim.add_argument("--by", required=True, metavar="NAME", help="who takes it")
    resolve = sub.add_parser("resolve", help="close a handoff")
    resolve.add_argument("reference")
    resolve.add_argument("--by", required=True, metavar="NAME", help="who closes it")
    resolve.add_argument("--note", help="what was done")
    sub.add_parser("deliver", help="send due staff notifications once (exit 1 if any failed)")
    purge = sub.add_parser("purge", help="delete old resolved handoffs")
    purge.add_argument(
        "--older-than-days", type=int, metavar="N", help="[FAQBOT_RETENTION_DAYS, 30]"
    )
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    """Run the command line; returns the exit code."""
    args = _parser().parse_args(argv)
    if getattr(args, "limit", 1) < 1:
        print("error: --limit must be at least 1", file=sys.stderr)
        return 2
    if (getattr(args, "older_than_days", None) or 0) < 0:
        print("error: --older-than-days must not be negative", file=sys.stderr)
        return 2
    try:
        settings = Settings.from_env()
        store = HandoffStore(settings.database_url, turns_kept=settings.handoff_turns)
    except (ConfigError, StoreUnavailable) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        if args.command == "list":
            return _cmd_list(store, args.status, args.limit, args.json)
        if args.command == "show":
            return _cmd_show(store, args.reference, args.json)
        if args.command == "claim":
            return _cmd_claim(store, args.reference, args.by)
        if args.command == "resolve":
            return _cmd_resolve(store, args.reference, args.by, args.note)
        if args.command == "deliver":
            return _cmd_deliver(store, settings)
        days = settings.retention_days if args.older_than_days is None else args.older_than_days
        return _cmd_purge(store, days)
    except StoreUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (StoreError, ValueError) as exc:
        print(f"error: {_clean(str(exc))}", file=sys.stderr)
        return 1
    finally:
        store.close()
