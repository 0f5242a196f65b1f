"""The Sanic blueprint every input channel of this project mounts its routes on."""

from __future__ import annotations

import inspect

from rasa.core.channels.channel import InputChannel
from sanic import Blueprint


def channel_blueprint(channel: InputChannel) -> Blueprint:
    """An empty blueprint named the way Rasa names custom channels' blueprints.

    Rasa mounts it at ``/webhooks/<channel name>/``.
    """
    module = inspect.getmodule(channel)
    return Blueprint(
        f"custom_webhook_{type(channel).__name__}", module.__name__ if module else None
    )
