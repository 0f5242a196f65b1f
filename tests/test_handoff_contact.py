"""Reading a phone number or e-mail address out of what a patient typed."""

from __future__ import annotations

import pytest

from handoffs.contact import parse_contact
from handoffs.records import Contact


@pytest.mark.parametrize(
    ("text", "region", "kind", "value"),
    [
        ("my number is 98765 43210", "IN", "phone", "+919876543210"),
        ("9876543210", "IN", "phone", "+919876543210"),
        ("+91-98765-43210 please", "IN", "phone", "+919876543210"),
        ("(+91) 98765 43210.", "IN", "phone", "+919876543210"),
        ("098765 43210", "IN", "phone", "+919876543210"),
        ("call me on +44 7911 123456", "IN", "phone", "+447911123456"),
        ("07911 123456", "GB", "phone", "+447911123456"),
        ("reach me at +1 650 253 0000 after 5", "IN", "phone", "+16502530000"),
        ("it's john.doe@gmail.com thanks", "IN", "email", "john.doe@gmail.com"),
        ("Mail: <Asha.K@Example.ORG>.", "IN", "email", "Asha.K@example.org"),
        ("raj1987654321@gmail.com", "IN", "email", "raj1987654321@gmail.com"),
        ("email a@clinic.co or call 9876543210", "IN", "email", "a@clinic.co"),
        ("call 9876543210 or email a@clinic.co", "IN", "phone", "+919876543210"),
    ],
)
def test_valid_contacts_are_found_and_normalised(
    text: str, region: str, kind: str, value: str
) -> None:
    parsed = parse_contact(text, region)
    assert (parsed.kind, parsed.value) == (kind, value)
    assert parsed.contact == Contact(kind, value)
    assert not parsed.looks_like_contact_but_invalid


@pytest.mark.parametrize(
    "text",
    [
        "my number is 98765 4321",  # one digit short
        "call me on +44 7700 900123",  # Ofcom's drama range: not a real number
        "12345",
        "john@gmail",
        "john.doe@@gmail.com",
        "@john",
        "me@localhost",
    ],
)
def test_contact_like_but_invalid_text_is_told_apart(text: str) -> None:
    parsed = parse_contact(text, "IN")
    assert parsed.kind == "invalid"
    assert parsed.looks_like_contact_but_invalid
    assert parsed.value is None and parsed.contact is None


@pytest.mark.parametrize("text", ["no thanks", "I am 45", "", "call me tomorrow at 5pm"])
def test_text_without_a_contact(text: str) -> None:
    parsed = parse_contact(text, "IN")
    assert (parsed.kind, parsed.contact, parsed.looks_like_contact_but_invalid) == (
        "none",
        None,
        False,
    )


def test_region_decides_numbers_without_country_code() -> None:
    assert parse_contact("020 7946 0018", "GB").value == "+442079460018"
    assert parse_contact("020 7946 0018", "IN").value == "+912079460018"
    assert parse_contact("98765 43210", "in").value == "+919876543210"


def test_unknown_region_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown phone region"):
        parse_contact("98765 43210", "XX")
