"""The staff-notification outbox of the handoff store.

A notification is written in the same transaction as its handoff (:func:`queue_notifications`),
so a crash between saving and notifying loses nothing; it stays ``pending`` until a sink accepts
it. Deliverers take due ones with a lease (``SKIP LOCKED`` on PostgreSQL), so two running at once
do not both send them.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Any, List, Optional, Sequence

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from handoffs.records import Notification, PendingNotification, utc, utc_now
from handoffs.schema import (
    MAX_ERROR,
    H,
    N,
    handoff_from_row,
    handoffs_table,
    notification_from_row,
    notifications_table,
)


def queue_notifications(
    conn: Connection, handoff_id: int, sinks: Sequence[str], now: datetime
) -> None:
    """Make one notification per sink due ``now`` (a pending one is made due again)."""
    for sink in dict.fromkeys(sinks):
        pending = conn.execute(
            select(N.id).where(N.handoff_id == handoff_id, N.sink == sink, N.status == "pending")
        ).first()
        if pending is not None:
            conn.execute(
                update(notifications_table).where(N.id == pending.id).values(next_attempt_at=now)
            )
            continue
        conn.execute(
            insert(notifications_table).values(
                handoff_id=handoff_id,
                sink=sink,
                status="pending",
                attempts=0,
                created_at=now,
                next_attempt_at=now,
            )
        )


class NotificationOutbox:
    """The notification methods of :class:`handoffs.store.HandoffStore` (which it mixes into)."""

    def _transaction(self) -> "AbstractContextManager[Connection]":
        raise NotImplementedError

    def _row(self, conn: Connection, reference: str, lock: bool = False) -> Any:
        raise NotImplementedError

    def due(
        self,
        now: Optional[datetime] = None,
        limit: int = 50,
        sinks: Optional[Sequence[str]] = None,
        lease: Optional[timedelta] = None,
    ) -> List[PendingNotification]:
        """Return the pending notifications whose next attempt is due, the oldest due first.

        Args:
            now: The current time (for tests); defaults to the clock.
            limit: At most this many.
            sinks: Only these sinks (notifications for a sink that is not configured any more
                stay pending, untouched, until it is configured again); ``None`` for all.
            lease: If given, the returned notifications are not due again for this long, so
                that two deliverers running at once (action server and cron) do not both send
                them; :meth:`mark_delivered` or :meth:`mark_failed` then settles them.

        Raises:
            StoreUnavailable: The database cannot be used.
        """
        moment = utc(now) if now else utc_now()
        if sinks is not None and not sinks:
            return []
        query = (
            select(
                N.id.label("n_id"),
                N.sink.label("n_sink"),
                N.attempts.label("n_attempts"),
                N.next_attempt_at.label("n_next"),
                *handoffs_table.c,
            )
            .join_from(notifications_table, handoffs_table, N.handoff_id == H.id)
            .where(N.status == "pending", N.next_attempt_at <= moment)
            .order_by(N.next_attempt_at, N.id)
            .limit(limit)
        )
        if sinks is not None:
            query = query.where(N.sink.in_(list(sinks)))
        if lease is not None:
            query = query.with_for_update(of=notifications_table, skip_locked=True)
        with self._transaction() as conn:
            rows = conn.execute(query).all()
            if lease is not None and rows:
                conn.execute(
                    update(notifications_table)
                    .where(N.id.in_([row.n_id for row in rows]))
                    .values(next_attempt_at=moment + lease)
                )
            return [
                PendingNotification(
                    id=row.n_id,
                    sink=row.n_sink,
                    attempts=row.n_attempts,
                    next_attempt_at=row.n_next,
                    handoff=handoff_from_row(row),
                )
                for row in rows
            ]

    def mark_delivered(self, notification_id: int, now: Optional[datetime] = None) -> None:
        """Record that a notification was accepted by its sink (a purged one is ignored)."""
        moment = utc(now) if now else utc_now()
        with self._transaction() as conn:
            conn.execute(
                update(notifications_table)
                .where(N.id == notification_id, N.status == "pending")
                .values(
                    status="delivered",
                    attempts=N.attempts + 1,
                    delivered_at=moment,
                    last_error=None,
                )
            )

    def postpone(self, notification_ids: Sequence[int], until: datetime) -> None:
        """Make pending notifications due again at ``until`` (not an attempt: nothing failed)."""
        if not notification_ids:
            return
        with self._transaction() as conn:
            conn.execute(
                update(notifications_table)
                .where(N.id.in_(list(notification_ids)), N.status == "pending")
                .values(next_attempt_at=utc(until))
            )

    def mark_failed(self, notification_id: int, error: str, retry_at: datetime) -> None:
        """Record a failed attempt; the notification stays pending and is due at ``retry_at``.

        Args:
            notification_id: The notification.
            error: Short reason, without patient data (cut to 200 characters).
            retry_at: When to try again.
        """
        with self._transaction() as conn:
            conn.execute(
                update(notifications_table)
                .where(N.id == notification_id, N.status == "pending")
                .values(
                    attempts=N.attempts + 1,
                    last_error=(error or "error")[:MAX_ERROR],
                    next_attempt_at=utc(retry_at),
                )
            )

    def notifications(self, reference: str) -> List[Notification]:
        """Return the notifications of one handoff, oldest first.

        Raises:
            UnknownReference: No handoff has this reference.
            StoreUnavailable: The database cannot be used.
        """
        with self._transaction() as conn:
            row = self._row(conn, reference)
            query = self._notification_query().where(N.handoff_id == row.id).order_by(N.id)
            return [notification_from_row(r) for r in conn.execute(query)]

    def failing(self, limit: int = 50) -> List[Notification]:
        """Return pending notifications that failed at least once, the longest failing first.

        Raises:
            StoreUnavailable: The database cannot be used.
        """
        query = (
            self._notification_query()
            .where(N.status == "pending", N.attempts > 0)
            .order_by(N.created_at, N.id)
            .limit(limit)
        )
        with self._transaction() as conn:
            return [notification_from_row(r) for r in conn.execute(query)]

    @staticmethod
    def _notification_query() -> Any:
        return select(
            N.id,
            H.reference,
            N.sink,
            N.status,
            N.attempts,
            N.next_attempt_at,
            N.last_error,
            N.delivered_at,
        ).join_from(notifications_table, handoffs_table, N.handoff_id == H.id)
