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
    assert parse_contact(text, region) == Contact(kind, value)


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
def test_contact_like_but_invalid_text_is_no_contact(text: str) -> None:
    assert parse_contact(text, "IN") is None


@pytest.mark.parametrize("text", ["no thanks", "I am 45", "", "call me tomorrow at 5pm"])
def test_text_without_a_contact(text: str) -> None:
    assert parse_contact(text, "IN") is None


def test_region_decides_numbers_without_country_code() -> None:
    assert parse_contact("020 7946 0018", "GB") == Contact("phone", "+442079460018")
    assert parse_contact("020 7946 0018", "IN") == Contact("phone", "+912079460018")
    assert parse_contact("98765 43210", "in") == Contact("phone", "+919876543210")


def test_unknown_region_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown phone region"):
        parse_contact("98765 43210", "XX")
