"""Tell staff about handoffs: a signed JSON webhook and/or an e-mail, retried until delivered.

Notifications carry no patient text, phone number or e-mail address: only the reference,
reason, priority, status, channel and time. Staff read the conversation and the contact with
``python -m handoffs show <reference>``.

The store queues one pending notification per sink when a handoff is created or its priority
raised; :meth:`Notifier.deliver_due` sends what is due. A failed attempt stays pending and is
retried after ``retry_base * 2**(attempts - 1)`` seconds, at most ``retry_max``, forever.

A burst is collapsed: each sink gets at most ``burst`` alerts per ``window`` seconds. When several
notifications are due at once they go out as one digest ("12 handoffs, 12 urgent: ..."); past
the limit they wait for the window and then go out as one digest, so a flood of fake emergencies
costs staff a handful of alerts, not hundreds (``handoffs list`` still shows every urgent one).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import smtplib
import ssl
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any, Deque, Dict, List, Optional, Sequence

import httpx

from handoffs.records import Handoff, PendingNotification, utc, utc_now
from handoffs.store import HandoffStore

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Faqbot-Signature"
SUBJECT_PREFIX = "[clinic bot]"
USER_AGENT = "clinic-faqbot-handoffs/1"
_BATCH = 20
_MAX_EXPONENT = 30


class NotifyError(Exception):
    """A sink did not accept a notification; the message is short and holds no patient data."""


class Sink:
    """Something that tells staff about a handoff.

    Attributes:
        name: Name the store's notification rows use (``webhook``, ``email``).
    """

    name = "sink"

    def send(self, handoff: Handoff) -> None:
        """Deliver one notification about the handoff.

        Raises:
            NotifyError: The notification was not accepted (it will be retried).
        """
        raise NotImplementedError

    def send_digest(self, handoffs: Sequence[Handoff]) -> None:
        """Deliver one notification about several handoffs (a burst).

        Raises:
            NotifyError: The notification was not accepted (each handoff will be retried).
        """
        for handoff in handoffs:
            self.send(handoff)


def digest_event(handoffs: Sequence[Handoff]) -> Dict[str, Any]:
    """The notification data of a burst of handoffs, without any patient data."""
    return {
        "event": "handoff_digest",
        "count": len(handoffs),
        "urgent": sum(1 for h in handoffs if h.priority == "urgent"),
        "references": [h.reference for h in handoffs],
        "reasons": sorted({h.reason for h in handoffs}),
    }


def handoff_event(handoff: Handoff) -> Dict[str, Any]:
    """The notification data of a handoff, without any patient data."""
    return {
        "event": "handoff",
        "reference": handoff.reference,
        "reason": handoff.reason,
        "priority": handoff.priority,
        "status": handoff.status,
        "channel": handoff.channel,
        "created_at": handoff.created_at.isoformat(),
        "has_contact": handoff.has_contact,
    }


def sign(body: bytes, secret: str) -> str:
    """Return the ``X-Faqbot-Signature`` value of a body: ``sha256=<hex HMAC-SHA256>``."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify_signature(body: bytes, secret: str, header: Optional[str]) -> bool:
    """Check a ``X-Faqbot-Signature`` header in constant time (for receivers and tests)."""
    return bool(header) and hmac.compare_digest(sign(body, secret), str(header))


class WebhookSink(Sink):
    """POST the handoff event as JSON to a URL; any non-2xx answer or transport error fails.

    Args:
        url: ``http://`` or ``https://`` URL.
        secret: If set, the body is signed in the ``X-Faqbot-Signature`` header.
        timeout: Seconds for the whole request.
    """

    name = "webhook"

    def __init__(self, url: str, secret: Optional[str] = None, timeout: float = 5.0) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError("the webhook URL must start with http:// or https://")
        self.url = url
        self.secret = secret
        self.timeout = timeout

    def send(self, handoff: Handoff) -> None:
        """POST the event.

        Raises:
            NotifyError: Transport error or a non-2xx status.
        """
        self._post(handoff_event(handoff))

    def send_digest(self, handoffs: Sequence[Handoff]) -> None:
        """POST one ``handoff_digest`` event for a burst.

        Raises:
            NotifyError: Transport error or a non-2xx status.
        """
        self._post(digest_event(handoffs))

    def _post(self, event: Dict[str, Any]) -> None:
        body = json.dumps(event, separators=(",", ":")).encode("utf-8")
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
        if self.secret:
            headers[SIGNATURE_HEADER] = sign(body, self.secret)
        try:
            with httpx.Client(timeout=self.timeout, follow_redirects=False) as client:
                response = client.post(self.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise NotifyError(f"webhook {type(exc).__name__}") from None
        if not 200 <= response.status_code < 300:
            raise NotifyError(f"webhook HTTP {response.status_code}")


class EmailSink(Sink):
    """Send a plain-text e-mail about the handoff to the staff addresses over SMTP.

    Args:
        host: SMTP server.
        port: SMTP port.
        sender: From address.
        recipients: Staff addresses.
        username: SMTP login, if the server needs one.
        password: SMTP password, if the server needs one.
        starttls: Upgrade the connection with STARTTLS (certificate verified).
        timeout: Seconds for each network operation.
    """

    name = "email"

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        recipients: Sequence[str],
        username: Optional[str] = None,
        password: Optional[str] = None,
        starttls: bool = False,
        timeout: float = 5.0,
    ) -> None:
        if not recipients:
            raise ValueError("the e-mail sink needs at least one recipient")
        self.host = host
        self.port = port
        self.sender = sender
        self.recipients = tuple(recipients)
        self.username = username
        self.password = password
        self.starttls = starttls
        self.timeout = timeout

    def message(self, handoff: Handoff) -> EmailMessage:
        """Build the e-mail (no patient text, phone number or address in it)."""
        message = EmailMessage()
        message["Subject"] = (
            f"{SUBJECT_PREFIX} {handoff.priority.upper()} handoff {handoff.reference}: "
            f"{handoff.reason}"
        )
        message["From"] = self.sender
        message["To"] = ", ".join(self.recipients)
        message.set_content(
            "\n".join(
                [
                    "A patient conversation was handed to staff.",
                    "",
                    f"Reference:  {handoff.reference}",
                    f"Reason:     {handoff.reason}",
                    f"Priority:   {handoff.priority}",
                    f"Status:     {handoff.status}",
                    f"Channel:    {handoff.channel}",
                    f"Created:    {handoff.created_at:%Y-%m-%d %H:%M} UTC",
                    f"Contact:    {'left by the patient' if handoff.has_contact else 'none'}",
                    "",
                    "See the conversation and contact details with:",
                    f"    python -m handoffs show {handoff.reference}",
                    f"Take it with:  python -m handoffs claim {handoff.reference} --by YOUR-NAME",
                    "",
                ]
            )
        )
        return message

    def digest(self, handoffs: Sequence[Handoff]) -> EmailMessage:
        """Build the e-mail about a burst of handoffs (references, reasons, priorities only)."""
        urgent = sum(1 for h in handoffs if h.priority == "urgent")
        message = EmailMessage()
        message["Subject"] = (
            f"{SUBJECT_PREFIX} {len(handoffs)} handoffs ({urgent} URGENT) in a short time"
        )
        message["From"] = self.sender
        message["To"] = ", ".join(self.recipients)
        lines = [
            f"{len(handoffs)} patient conversations were handed to staff in a short time "
            f"({urgent} urgent). Many at once can be a real rush or a flood of fake messages.",
            "",
        ]
        lines += [f"  {h.reference}  {h.priority:<7} {h.reason:<15} {h.channel}" for h in handoffs]
        lines += ["", "Every urgent handoff, newest first:  python -m handoffs list", ""]
        message.set_content("\n".join(lines))
        return message

    def send(self, handoff: Handoff) -> None:
        """Send the e-mail.

        Raises:
            NotifyError: Connection, TLS, login or delivery failed (also if any recipient is
                refused).
        """
        self._deliver(self.message(handoff))

    def send_digest(self, handoffs: Sequence[Handoff]) -> None:
        """Send one e-mail about a burst of handoffs.

        Raises:
            NotifyError: As for :meth:`send`.
        """
        self._deliver(self.digest(handoffs))

    def _deliver(self, message: EmailMessage) -> None:
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.username:
                    smtp.login(self.username, self.password or "")
                refused = smtp.send_message(message)
        except (smtplib.SMTPException, OSError) as exc:
            raise NotifyError(f"email {type(exc).__name__}") from None
        if refused:
            raise NotifyError(f"email refused for {len(refused)} recipient(s)")


def sinks_from_settings(settings: Any) -> Dict[str, Sink]:
    """Build the configured sinks from :class:`knowledge.config.Settings`.

    Returns:
        ``{"webhook": ..., "email": ...}`` with only the configured ones (maybe empty).
    """
    sinks: Dict[str, Sink] = {}
    if settings.webhook_url:
        sinks[WebhookSink.name] = WebhookSink(
            settings.webhook_url, settings.webhook_secret, settings.notify_timeout
        )
    if settings.smtp_host:
        sinks[EmailSink.name] = EmailSink(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.smtp_from,
            recipients=settings.smtp_to,
            username=settings.smtp_username,
            password=settings.smtp_password,
            starttls=settings.smtp_starttls,
            timeout=settings.notify_timeout,
        )
    return sinks


@dataclass(frozen=True)
class DeliveryReport:
    """Outcome of one :meth:`Notifier.deliver_due` run.

    Attributes:
        delivered: Notifications accepted by their sink.
        failed: Attempts that failed (each is pending again with a later retry time).
    """

    delivered: int = 0
    failed: int = 0


def retry_delay(attempts: int, retry_base: float, retry_max: float) -> float:
    """Seconds to wait after the ``attempts``-th failed attempt: doubled each time, capped."""
    exponent = min(max(attempts - 1, 0), _MAX_EXPONENT)
    return float(min(retry_base * 2**exponent, retry_max))


class Notifier:
    """Send due notifications through the configured sinks and record the outcome.

    Args:
        store: The handoff store.
        sinks: Sinks by name (see :func:`sinks_from_settings`).
        retry_base: Seconds before the first retry.
        retry_max: Longest wait between retries, in seconds.
        burst: Alerts per sink within ``window`` seconds (see the module doc).
        window: Length of the alert window, in seconds.
    """

    def __init__(
        self,
        store: HandoffStore,
        sinks: Dict[str, Sink],
        retry_base: float = 2.0,
        retry_max: float = 300.0,
        burst: int = 3,
        window: float = 300.0,
    ) -> None:
        if retry_base <= 0 or retry_max <= 0 or burst < 1 or window <= 0:
            raise ValueError("retry_base, retry_max, burst and window must be positive")
        self.store = store
        self.sinks = dict(sinks)
        self.retry_base = retry_base
        self.retry_max = retry_max
        self.burst = burst
        self.window = timedelta(seconds=window)
        self._alerts: Dict[str, Deque[datetime]] = {}

    @classmethod
    def from_settings(cls, store: HandoffStore, settings: Any) -> "Notifier":
        """Build a notifier with the sinks and retry policy of ``Settings``."""
        return cls(
            store,
            sinks_from_settings(settings),
            retry_base=settings.notify_retry_base,
            retry_max=settings.notify_retry_max,
            burst=settings.alert_burst,
            window=settings.alert_window,
        )

    def _recent(self, sink: str, now: datetime) -> Deque[datetime]:
        """When alerts went to ``sink`` within the window before ``now``."""
        sent = self._alerts.setdefault(sink, deque())
        while sent and sent[0] <= now - self.window:
            sent.popleft()
        return sent

    def _lease(self) -> timedelta:
        # Long enough to send a whole batch, so a second deliverer does not send it too.
        timeouts = [float(getattr(sink, "timeout", 5.0)) for sink in self.sinks.values()]
        return timedelta(seconds=60 + 3 * _BATCH * max(timeouts, default=5.0))

    def deliver_due(self, now: Optional[datetime] = None) -> DeliveryReport:
        """Send every notification that is due, once.

        A sink failure never raises: the notification is marked failed (it stays pending) with
        its next attempt at ``now + min(retry_base * 2**(attempts - 1), retry_max)``, and a
        warning naming only the reference, the sink and the error (the sink's own short
        :class:`NotifyError` text, or the exception class for anything else) is logged.

        Args:
            now: The current time (for tests); defaults to the clock.

        Returns:
            How many were delivered and how many attempts failed.

        Raises:
            StoreError: The store cannot be used (nothing is lost: rows stay pending).
        """
        moment = utc(now) if now else utc_now()
        delivered = failed = 0
        if not self.sinks:
            return DeliveryReport()
        by_sink: Dict[str, List[PendingNotification]] = {}
        while True:  # everything due (leased), so that a burst makes one alert per sink
            batch = self.store.due(
                now=moment, limit=_BATCH, sinks=list(self.sinks), lease=self._lease()
            )
            if not batch:
                break
            for pending in batch:
                by_sink.setdefault(pending.sink, []).append(pending)
        for name, items in by_sink.items():
            sent = self._recent(name, moment)
            if len(sent) >= self.burst:  # over the limit: one digest when the window allows
                self.store.postpone([p.id for p in items], sent[0] + self.window)
                continue
            ok, bad = self._send(self.sinks[name], items, moment)
            sent.append(moment)
            delivered, failed = delivered + ok, failed + bad
        return DeliveryReport(delivered=delivered, failed=failed)

    def _send(
        self, sink: Sink, items: Sequence[PendingNotification], moment: datetime
    ) -> "tuple[int, int]":
        """Send ``items`` to ``sink`` as one alert (a digest when several); (delivered, failed)."""
        try:
            if len(items) == 1:
                sink.send(items[0].handoff)
            else:
                sink.send_digest([p.handoff for p in items])
        except Exception as exc:
            error = str(exc) if isinstance(exc, NotifyError) else type(exc).__name__
            for pending in items:
                attempts = pending.attempts + 1
                delay = retry_delay(attempts, self.retry_base, self.retry_max)
                self.store.mark_failed(pending.id, error, moment + timedelta(seconds=delay))
                log.warning(
                    "handoff %s: %s notification failed (%s, attempt %d); retry in %.0fs",
                    pending.handoff.reference,
                    pending.sink,
                    error,
                    attempts,
                    delay,
                )
            return 0, len(items)
        for pending in items:
            self.store.mark_delivered(pending.id, now=moment)
        return len(items), 0
