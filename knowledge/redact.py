"""Keep patients' contact details out of the logs: a logging filter that redacts them.

The bot's own code never logs message text; this is the second line of defence for what a
library might log (exception texts, URLs with a sender id, warnings): e-mail addresses and
phone-number-like runs of 8 or more digits are replaced when the record is made, before any
handler sees it.
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


_installed = False


def install_log_redaction() -> None:
    """Redact every log record of the process, whichever logger or handler it goes to (once).

    The record factory is wrapped, so that the message (and any exception text) of every record
    is redacted when it is created: handlers that Rasa adds later (``--log-file``, syslog) and
    loggers that do not propagate are covered too. Warnings (``warnings.warn``, which Rasa uses
    for "Failed to parse arguments in line ...") are routed through logging and so redacted.
    """
    global _installed
    if _installed:
        return
    _installed = True
    make_record = logging.getLogRecordFactory()
    redactor = RedactingFilter()

    def redacting_factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        redactor.filter(record)
        return record

    logging.setLogRecordFactory(redacting_factory)
    logging.captureWarnings(True)
