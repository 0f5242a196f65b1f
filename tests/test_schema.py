"""The ``custom`` payload: one definition, used by the actions, the channels and the domain."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from knowledge.schema import PAYLOAD_SCHEMA, Kind, custom_of, kind_of, payload


def test_payload_carries_the_tag_and_kind() -> None:
    built = payload(Kind.HANDOFF, handoff={"reference": "HX7K-3M9Q"})
    assert built == {
        "schema": PAYLOAD_SCHEMA,
        "kind": "handoff",
        "handoff": {"reference": "HX7K-3M9Q"},
    }
    assert kind_of({"custom": built}) == "handoff"


def test_unknown_kinds_are_refused() -> None:
    with pytest.raises(ValueError):
        payload("answr")  # type: ignore[arg-type]


def test_messages_without_our_payload_have_no_kind() -> None:
    assert kind_of({"text": "hi"}) is None
    assert kind_of({"custom": "answer"}) is None
    assert custom_of({"custom": {"kind": "answer"}}) is None  # no tag: not ours


def test_domain_responses_use_the_defined_kinds() -> None:
    path = "bot/domain.yml"
    responses = yaml.safe_load(Path(path).read_text(encoding="utf-8"))["responses"]
    customs = [
        variant["custom"]
        for variants in responses.values()
        for variant in variants
        if "custom" in variant
    ]
    assert customs, f"{path} has no custom payloads"
    for custom in customs:
        assert custom["schema"] == PAYLOAD_SCHEMA
        Kind(custom["kind"])
