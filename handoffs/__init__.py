"""Human handoffs of the clinic FAQ bot: persisted records, staff notifications, staff CLI.

Plain typed Python with no Rasa imports. The Rasa actions create handoffs through
:class:`handoffs.store.HandoffStore` and notify staff through :class:`handoffs.notify.Notifier`;
staff read and close them with ``python -m handoffs`` (:mod:`handoffs.cli`).
"""

from handoffs.records import (
    CONTACT_KINDS,
    PRIORITIES,
    PRIORITY_BY_REASON,
    REASONS,
    STATUSES,
    Contact,
    Handoff,
    Notification,
    PendingNotification,
    Turn,
)
from handoffs.store import (
    HandoffStore,
    InvalidTransition,
    StoreError,
    StoreUnavailable,
    UnknownReference,
)

__all__ = [
    "CONTACT_KINDS",
    "PRIORITIES",
    "PRIORITY_BY_REASON",
    "REASONS",
    "STATUSES",
    "Contact",
    "Handoff",
    "HandoffStore",
    "InvalidTransition",
    "Notification",
    "PendingNotification",
    "StoreError",
    "StoreUnavailable",
    "Turn",
    "UnknownReference",
]
