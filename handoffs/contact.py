"""Read a phone number or an e-mail address out of what a patient typed.

Patients answer "how can we reach you?" in free text: "my number is 98765 43210", "call me on
+44 7911 123456", "it's john.doe@gmail.com thanks". :func:`parse_contact` finds the first valid
phone number or e-mail address in the text, or says there is none (the bot then asks again).

Phone numbers are found and validated with ``phonenumbers`` (Google's libphonenumber metadata:
the number must be valid for its region, not merely the right length) and stored as E.164.
E-mail addresses are validated with ``email-validator`` without DNS look-ups
(``check_deliverability=False``: no network in the conversation path) because a regex cannot
check what it does: length limits, dot rules, internationalised domains (IDNA), special-use
domains such as ``localhost``, and normalisation (the domain lower-cased, Unicode NFC).
"""

from __future__ import annotations

import re
from typing import List, Optional, Tuple

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from handoffs.records import Contact

# Something with an @ and no spaces: a candidate address (validated afterwards).
_EMAIL_CANDIDATE = re.compile(r"[^\s<>()\[\],;:\"'`]+@[^\s<>()\[\],;:\"'`]*")
_TRAILING = ".!?…"


def _emails(text: str) -> List[Tuple[int, str]]:
    """Valid addresses in the text, with their positions."""
    found: List[Tuple[int, str]] = []
    for match in _EMAIL_CANDIDATE.finditer(text):
        candidate = match.group(0).rstrip(_TRAILING)
        try:
            result = validate_email(candidate, check_deliverability=False)
        except EmailNotValidError:
            continue
        found.append((match.start(), str(result.normalized)))
    return found


def _phones(text: str, region: str) -> List[Tuple[int, str]]:
    matcher = phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID)
    found = []
    for match in matcher:
        if phonenumbers.is_valid_number(match.number):
            e164 = phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
            found.append((match.start, e164))
    return found


def parse_contact(text: str, region: str) -> Optional[Contact]:
    """Find the first valid phone number or e-mail address in a patient's message.

    Args:
        text: What the patient typed.
        region: ISO 3166 region (``"IN"``, ``"GB"``...) for numbers written without a country
            code, e.g. ``98765 43210`` read in ``IN`` is ``+919876543210``.

    Returns:
        The first valid contact in the text (an e-mail address normalised, a phone number in
        E.164), or ``None``.

    Raises:
        ValueError: ``region`` is not a region phonenumbers knows.
    """
    region = (region or "").strip().upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"unknown phone region {region!r} (expected e.g. IN, GB, US)")
    text = text or ""
    emails = _emails(text)
    # Numbers inside e-mail addresses ("raj1987@...") are not phone numbers.
    without_emails = _EMAIL_CANDIDATE.sub(lambda m: " " * len(m.group(0)), text)
    phones = _phones(without_emails, region)
    found = sorted(
        [(pos, "email", v) for pos, v in emails] + [(pos, "phone", v) for pos, v in phones]
    )
    if not found:
        return None
    _, kind, value = found[0]
    return Contact(kind, value)
