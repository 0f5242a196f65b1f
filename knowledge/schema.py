"""The version tag of the ``custom`` payload every bot message carries (light to import)."""

PAYLOAD_SCHEMA = "faqbot/1"
