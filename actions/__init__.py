"""Rasa custom actions: thin adapters from the rasa-sdk action server to :mod:`knowledge`."""
