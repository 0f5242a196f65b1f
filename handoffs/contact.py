"""Read a phone number or an e-mail address out of what a patient typed.

Patients answer "how can we reach you?" in free text: "my number is 98765 43210", "call me on
+44 7911 123456", "it's john.doe@gmail.com thanks". :func:`parse_contact` finds the first valid
phone number or e-mail address in the text, tells apart text that looks like a contact but is not
a valid one (so the bot can ask again), and text with no contact at all.

Phone numbers are found and validated with ``phonenumbers`` (Google's libphonenumber metadata:
the number must be valid for its region, not merely the right length) and stored as E.164.
E-mail addresses are validated with ``email-validator`` without DNS look-ups
(``check_deliverability=False``: no network in the conversation path) because a regex cannot
check what it does: length limits, dot rules, internationalised domains (IDNA), special-use
domains such as ``localhost``, and normalisation (the domain lower-cased, Unicode NFC).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import List, Optional, Tuple

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from handoffs.records import Contact

#: ``ContactParse.kind`` values.
PARSE_KINDS = ("email", "phone", "invalid", "none")

# Something with an @ and no spaces: a candidate address (validated afterwards).
_EMAIL_CANDIDATE = re.compile(r"[^\s<>()\[\],;:\"'`]+@[^\s<>()\[\],;:\"'`]*")
# A run of digits with the separators people put in phone numbers.
_DIGIT_RUN = re.compile(r"\+?\d[\d\s().\-/]*\d|\d")
_TRAILING = ".!?…"
MIN_CONTACT_DIGITS = 4


@dataclass(frozen=True)
class ContactParse:
    """What :func:`parse_contact` found.

    Attributes:
        kind: ``"email"`` or ``"phone"`` (a valid contact), ``"invalid"`` (looks like a contact,
            e.g. has an @ or four or more digits, but is not a valid one: ask again), or
            ``"none"`` (no contact in the text).
        value: The normalised address or E.164 number for ``email``/``phone``, else ``None``.
    """

    kind: str
    value: Optional[str] = None

    @property
    def contact(self) -> Optional[Contact]:
        """The :class:`Contact` to store, or ``None`` when nothing valid was found."""
        if self.kind in ("email", "phone") and self.value:
            return Contact(self.kind, self.value)
        return None

    @property
    def looks_like_contact_but_invalid(self) -> bool:
        """Whether the text seems to hold a contact that failed validation."""
        return self.kind == "invalid"


def _emails(text: str) -> Tuple[List[Tuple[int, str]], bool]:
    """Find valid addresses (with their positions) and whether any @ candidate was invalid."""
    found: List[Tuple[int, str]] = []
    invalid = False
    for match in _EMAIL_CANDIDATE.finditer(text):
        candidate = match.group(0).rstrip(_TRAILING)
        try:
            result = validate_email(candidate, check_deliverability=False)
        except EmailNotValidError:
            invalid = True
            continue
        found.append((match.start(), str(result.normalized)))
    return found, invalid


def _phones(text: str, region: str) -> List[Tuple[int, str]]:
    matcher = phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID)
    found = []
    for match in matcher:
        if phonenumbers.is_valid_number(match.number):
            e164 = phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
            found.append((match.start, e164))
    return found


def parse_contact(text: str, region: str) -> ContactParse:
    """Find the first valid phone number or e-mail address in a patient's message.

    Args:
        text: What the patient typed.
        region: ISO 3166 region (``"IN"``, ``"GB"``...) for numbers written without a country
            code, e.g. ``98765 43210`` read in ``IN`` is ``+919876543210``.

    Returns:
        The first valid contact in the text, else ``invalid`` when it has an @ or a run of four
        or more digits, else ``none``.

    Raises:
        ValueError: ``region`` is not a region phonenumbers knows.
    """
    region = (region or "").strip().upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"unknown phone region {region!r} (expected e.g. IN, GB, US)")
    text = text or ""
    emails, bad_email = _emails(text)
    # Numbers inside e-mail addresses ("raj1987@...") are not phone numbers.
    without_emails = _EMAIL_CANDIDATE.sub(lambda m: " " * len(m.group(0)), text)
    phones = _phones(without_emails, region)
    found = sorted(
        [(pos, "email", v) for pos, v in emails] + [(pos, "phone", v) for pos, v in phones]
    )
    if found:
        _, kind, value = found[0]
        return ContactParse(kind, value)
    digits = max(
        (sum(c.isdigit() for c in run) for run in _DIGIT_RUN.findall(without_emails)), default=0
    )
    if bad_email or "@" in text or digits >= MIN_CONTACT_DIGITS:
        return ContactParse("invalid")
    return ContactParse("none")
