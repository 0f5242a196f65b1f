"""Rasa reads only the bot's own ``/intent{...}`` payloads as commands (:mod:`bot.shortcuts`)."""

from __future__ import annotations

from typing import Any, Callable, List


def only_client_commands(original: Callable[..., List[Any]]) -> Callable[..., List[Any]]:
    """``RegexMessageHandler.process`` unpacking only :func:`~bot.shortcuts.client_command` texts.

    Every other message keeps what the NLU pipeline (intent classifier, safety screen) made of
    it. Without this, Rasa also logs the whole text of a ``/...`` message it cannot unpack.
    """
    from rasa.shared.nlu.constants import TEXT

    from bot.shortcuts import client_command

    def process(self: Any, messages: list, domain: object = None) -> list:
        commands = [m for m in messages if client_command(m.get(TEXT) or "")]
        unpacked = iter(original(self, commands, domain) if commands else [])
        return [next(unpacked) if client_command(m.get(TEXT) or "") else m for m in messages]

    return process
