"""Escalations that could not be stored yet, kept in a local file until the store takes them.

When the handoff database is down, the action server appends the escalation to a JSON-lines file
(flushed and fsync'd) and the patient is told it will be passed on. The delivery loop calls
:meth:`Spool.drain` every round; each escalation is then stored with its original time, which
also queues the staff notifications. The file holds what the handoff record would hold, so it
lives beside the database's own data (``var/``) and is emptied as soon as the store is back.
Appends and drains take an exclusive ``flock``, so several action-server copies on one machine
can share the file.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Dict, Iterator, List, Optional, Sequence, Tuple

from handoffs.records import Contact, Turn, utc
from handoffs.store import HandoffStore, StoreUnavailable


@dataclass(frozen=True)
class PendingEscalation:
    """An escalation waiting for the store (the arguments of :meth:`HandoffStore.escalate`)."""

    channel: str
    sender_id: str
    reason: str
    turns: Tuple[Turn, ...]
    contact: Optional[Contact]
    at: datetime

    def to_dict(self) -> Dict[str, Any]:
        """JSON-ready data."""
        return {
            "channel": self.channel,
            "sender_id": self.sender_id,
            "reason": self.reason,
            "turns": [turn.to_dict() for turn in self.turns],
            "contact": self.contact.to_dict() if self.contact else None,
            "at": utc(self.at).isoformat(),
        }

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "PendingEscalation":
        """Build from :meth:`to_dict` data."""
        contact = data.get("contact")
        return cls(
            channel=str(data["channel"]),
            sender_id=str(data["sender_id"]),
            reason=str(data["reason"]),
            turns=tuple(Turn.from_dict(item) for item in data["turns"]),
            contact=Contact(str(contact["kind"]), contact.get("value")) if contact else None,
            at=datetime.fromisoformat(str(data["at"])),
        )


class Spool:
    """A JSON-lines file of :class:`PendingEscalation`, oldest first."""

    def __init__(self, path: Path):
        """Remember where the file goes (created on the first :meth:`add`)."""
        self.path = path

    @contextlib.contextmanager
    def _locked(self, mode: str) -> Iterator[IO[str]]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, mode, encoding="utf-8") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield handle
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def add(self, pending: PendingEscalation) -> None:
        """Append one escalation durably (flushed and fsync'd before returning).

        Raises:
            OSError: The file cannot be written.
        """
        line = json.dumps(pending.to_dict(), ensure_ascii=False) + "\n"
        with self._locked("a") as handle:
            handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())

    def pending(self) -> List[PendingEscalation]:
        """The escalations still waiting (unreadable lines are skipped, never deleted)."""
        if not self.path.is_file():
            return []
        with self._locked("r") as handle:
            entries = [_parse_line(line) for line in handle.read().splitlines()]
        return [entry for entry in entries if entry is not None]

    def drain(self, store: HandoffStore, sinks: Sequence[str]) -> int:
        """Store every waiting escalation, oldest first, stopping at the first store failure.

        Returns:
            How many escalations were stored (and removed from the file).
        """
        if not self.path.is_file() or self.path.stat().st_size == 0:
            return 0
        with self._locked("r+") as handle:
            lines = handle.read().splitlines()
            done = 0
            kept: List[str] = []
            for index, line in enumerate(lines):
                if not line.strip():
                    continue
                entry = _parse_line(line)
                if entry is None:
                    kept.append(line)  # unreadable: keep it for a person to look at
                    continue
                try:
                    store.escalate(
                        entry.channel,
                        entry.sender_id,
                        entry.reason,
                        entry.turns,
                        contact=entry.contact,
                        sinks=sinks,
                        now=entry.at,
                    )
                except StoreUnavailable:
                    kept.extend(lines[index:])
                    break
                done += 1
            handle.seek(0)
            handle.write("".join(f"{line}\n" for line in kept))
            handle.truncate()
            handle.flush()
            os.fsync(handle.fileno())
        return done


def _parse_line(line: str) -> Optional[PendingEscalation]:
    if not line.strip():
        return None
    try:
        return PendingEscalation.from_dict(json.loads(line))
    except (ValueError, KeyError, TypeError):
        return None
