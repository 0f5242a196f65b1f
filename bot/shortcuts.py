"""Which ``/intent{...}`` texts the bot reads as commands: only the payloads its own clients send.

Rasa reads any message that starts with ``/`` as a command that sets the intent and entities
directly (``/emergency{"emergency_numbers": "..."}``), skipping understanding. Typed by a
stranger, that pages staff with no red flag, puts their words into the emergency reply, or
restarts a conversation. Here only these exact texts are commands:

* ``/greet``: the widget's greeting when a conversation starts;
* ``/request_human``: the "Talk to a person" button;
* ``/ask_question{"passage_id": "<id>"}``: a clarify button, naming a passage of the built index.

Anything else starting with ``/`` is ordinary text, understood like any other message.
"""

from __future__ import annotations

import functools
import json
import logging
from pathlib import Path
from typing import FrozenSet

from knowledge.config import Settings

logger = logging.getLogger(__name__)
PLAIN_COMMANDS = frozenset({"/greet", "/request_human"})
PASSAGE_COMMAND = "/ask_question"
PASSAGE_ENTITY = "passage_id"


@functools.lru_cache(maxsize=4)
def passage_ids(index_dir: Path) -> FrozenSet[str]:
    """The passage ids of the built index in ``index_dir`` (empty when there is none)."""
    try:
        data = json.loads((index_dir / "passages.json").read_text(encoding="utf-8"))
        return frozenset(str(p["id"]) for p in data["passages"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        logger.warning("shortcuts: no passage ids (%s): clarify buttons read as text", type(exc))
        return frozenset()


def is_client_command(text: str, known_passages: FrozenSet[str]) -> bool:
    """Whether ``text`` is exactly a payload the bot's own clients send (see module doc)."""
    text = text.strip()
    if text in PLAIN_COMMANDS:
        return True
    if not text.startswith(PASSAGE_COMMAND + "{"):
        return False
    try:
        entities = json.loads(text[len(PASSAGE_COMMAND) :])
    except ValueError:
        return False
    return (
        isinstance(entities, dict)
        and set(entities) == {PASSAGE_ENTITY}
        and entities[PASSAGE_ENTITY] in known_passages
    )


def client_command(text: str) -> bool:
    """:func:`is_client_command` against the passages of the configured index."""
    if not text.lstrip().startswith("/"):
        return False
    return is_client_command(text, passage_ids(Settings.from_env().index_dir))
