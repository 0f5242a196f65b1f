"""Keep patients' contact details out of the logs: a logging filter that redacts them.

The bot's own code never logs message text; this filter is the second line of defence for what a
library might log (exception texts, URLs with a sender id): e-mail addresses and phone-number-like
runs of 8 or more digits are replaced before any handler writes the record.
"""

from __future__ import annotations

import logging
import re

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
PHONE = re.compile(r"(?<![\w.])\+?\d(?:[\s()-]*\d){7,}(?![\w.])")
EMAIL_MARK = "[email]"
PHONE_MARK = "[phone]"


def redact(text: str) -> str:
    """``text`` with e-mail addresses and phone numbers replaced by markers."""
    return PHONE.sub(PHONE_MARK, EMAIL.sub(EMAIL_MARK, text))


class RedactingFilter(logging.Filter):
    """Rewrites each record's message (and exception text) with :func:`redact`."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact in place; never drops a record."""
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format string must not lose the record
            message = str(record.msg)
        record.msg, record.args = redact(message), ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


def install_log_redaction() -> None:
    """Add the filter to every handler of the root logger (once)."""
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig()
    for handler in root.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
