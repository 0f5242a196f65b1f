"""Shaping the bot's messages for messaging platforms: splitting text, buttons, citations.

Pure functions, shared by the WhatsApp (Cloud API) and Twilio channels. Long text is split at the
best natural boundary that keeps a chunk at least half full (paragraph, line, sentence, word) and
only cut inside a word when a single word is longer than the limit.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Pattern, Sequence, Tuple

from knowledge.schema import Kind

WHATSAPP_TEXT_MAX = 4096
WHATSAPP_BODY_MAX = 1024  # body text of an interactive message
WHATSAPP_BUTTONS_MAX = 3
WHATSAPP_BUTTON_TITLE_MAX = 20
WHATSAPP_BUTTON_ID_MAX = 256
WHATSAPP_ROWS_MAX = 10
WHATSAPP_ROW_TITLE_MAX = 24
WHATSAPP_ROW_DESCRIPTION_MAX = 72
WHATSAPP_ROW_ID_MAX = 200
WHATSAPP_LIST_BUTTON = "Choose an option"
WHATSAPP_CHOOSE_PROMPT = "Please choose an option."
TWILIO_TEXT_MAX = 1600
TWILIO_OPTIONS_HINT = "Reply with the number of your choice."

QUOTING_KINDS = frozenset({Kind.ANSWER.value, Kind.MEDICAL_ADVICE.value})

Button = Dict[str, Any]
Payload = Dict[str, Any]

# Boundaries from the best to the worst place to cut; a cut goes after the match.
_BOUNDARIES: Tuple[Pattern[str], ...] = (
    re.compile(r"\n[ \t]*\n\s*"),  # paragraphs
    re.compile(r"\n\s*"),  # lines
    re.compile(r"[.!?…]+[\"'”’)\]]*\s+"),  # sentences
    re.compile(r"\s+"),  # words
)
MIN_FILL = 0.5  # a better boundary is used only if the chunk is at least half full


def _cut(text: str, limit: int) -> int:
    """Where to end the next chunk of ``text`` (longer than ``limit``)."""
    fallback = 0
    for boundary in _BOUNDARIES:
        # A chunk ending at match ``m`` is at most ``m.end()`` minus the match's trailing space.
        cuts = [
            m.end()
            for m in boundary.finditer(text, 0, limit + 1)
            if 0 < m.end() - (len(m.group()) - len(m.group().rstrip())) <= limit
        ]
        if cuts and cuts[-1] >= limit * MIN_FILL:
            return cuts[-1]
        fallback = max([fallback, *cuts])
    return fallback or limit  # no whitespace at all: cut inside the word


def split_text(text: str, limit: int) -> List[str]:
    """Split ``text`` into stripped, non-empty chunks of at most ``limit`` characters.

    Each chunk ends at the best boundary that keeps it at least half full: a paragraph, else a
    line, a sentence, a word. A word is cut only when it is longer than ``limit`` on its own.
    Only whitespace at the cuts is lost.

    Raises:
        ValueError: ``limit`` is below 1.
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    chunks = []
    text = text.strip()
    while len(text) > limit:
        cut = _cut(text, limit)
        chunks.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text:
        chunks.append(text)
    return chunks


def split_with_tail(text: str, limit: int, tail_limit: int) -> Tuple[List[str], str]:
    """Split ``text`` into chunks of at most ``limit`` plus a final part of at most ``tail_limit``.

    Used for a message that ends with buttons: the buttons' message has a shorter body.

    Returns:
        The leading chunks and the tail (empty when ``text`` is empty).
    """
    chunks = split_text(text, limit)
    if not chunks:
        return [], ""
    last = chunks.pop()
    tail = split_text(last, tail_limit)[-1]
    rest = last[: len(last) - len(tail)].strip()
    return chunks + split_text(rest, limit), tail


def shorten(text: str, limit: int) -> str:
    """``text`` on one line, cut to ``limit`` characters with an ellipsis if it is longer."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def citation_line(custom: Any) -> Optional[str]:
    """A short ``Source: <Article> › <Section>`` line for the passage a reply quotes.

    Only replies that quote a passage (``answer``, ``medical_advice``) have one; a choice between
    articles lists candidates, not a source.
    """
    if not isinstance(custom, dict) or custom.get("kind") not in QUOTING_KINDS:
        return None
    citations = custom.get("citations")
    if not isinstance(citations, list) or not citations or not isinstance(citations[0], dict):
        return None
    cited = citations[0]
    where = cited.get("citation")
    if not isinstance(where, str) or not where.strip():
        parts = [cited.get("article"), cited.get("section")]
        where = " › ".join(p for p in parts if isinstance(p, str) and p.strip())
    return f"Source: {where.strip()}" if where and where.strip() else None


def message_text(message: Dict[str, Any]) -> str:
    """The text to show for one bot message: its text, plus a citation line if it has none.

    The ``custom`` payload itself is never shown: messaging apps would display raw JSON.
    """
    text = message.get("text") if isinstance(message.get("text"), str) else ""
    text = (text or "").strip()
    line = citation_line(message.get("custom"))
    if text and line and "Source:" not in text:
        text = f"{text}\n{line}"
    return text


def usable_buttons(buttons: Any, id_limit: int) -> List[Button]:
    """Buttons with a non-empty title and payload that fits ``id_limit``, without repeats."""
    if not isinstance(buttons, list):
        return []
    kept: List[Button] = []
    seen = set()
    for button in buttons:
        if not isinstance(button, dict):
            continue
        title, payload = button.get("title"), button.get("payload")
        if not isinstance(title, str) or not title.strip() or not isinstance(payload, str):
            continue
        if not payload or len(payload) > id_limit or payload in seen:
            continue
        seen.add(payload)
        kept.append({"title": title, "payload": payload})
    return kept


# -- WhatsApp Cloud API -----------------------------------------------------------------------


def whatsapp_text(to: str, body: str) -> Payload:
    """A Graph API text message."""
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "text",
        "text": {"preview_url": False, "body": body},
    }


def _list_row(button: Button) -> Dict[str, str]:
    """A list row: a title that fits is kept whole; ``Topic: section`` becomes title + description.

    The payload becomes the row id.
    """
    title = " ".join(button["title"].split())
    row = {"id": button["payload"]}
    head, sep, rest = title.partition(": ")
    if len(title) <= WHATSAPP_ROW_TITLE_MAX:
        row["title"] = title
    elif sep and len(head) <= WHATSAPP_ROW_TITLE_MAX:
        row["title"] = head
        row["description"] = shorten(rest, WHATSAPP_ROW_DESCRIPTION_MAX)
    else:
        row["title"] = shorten(title, WHATSAPP_ROW_TITLE_MAX)
        row["description"] = shorten(title, WHATSAPP_ROW_DESCRIPTION_MAX)
    return row


def whatsapp_interactive(to: str, body: str, buttons: Sequence[Button]) -> Payload:
    """Reply buttons when there are at most three with short, distinct titles, else a list.

    A list has at most 10 rows; the payloads become the reply / row ids.
    """
    body = body or WHATSAPP_CHOOSE_PROMPT
    titles = [b["title"].strip() for b in buttons]
    fits = all(len(t) <= WHATSAPP_BUTTON_TITLE_MAX for t in titles)
    if len(buttons) <= WHATSAPP_BUTTONS_MAX and fits and len(set(titles)) == len(titles):
        interactive: Dict[str, Any] = {
            "type": "button",
            "body": {"text": body},
            "action": {
                "buttons": [
                    {"type": "reply", "reply": {"id": b["payload"], "title": b["title"].strip()}}
                    for b in buttons
                ]
            },
        }
    else:
        rows = [_list_row(b) for b in buttons if len(b["payload"]) <= WHATSAPP_ROW_ID_MAX]
        interactive = {
            "type": "list",
            "body": {"text": body},
            "action": {
                "button": WHATSAPP_LIST_BUTTON,
                "sections": [{"title": "Options", "rows": rows[:WHATSAPP_ROWS_MAX]}],
            },
        }
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "interactive",
        "interactive": interactive,
    }


def whatsapp_messages(to: str, message: Dict[str, Any]) -> List[Payload]:
    """The Graph API messages for one bot message (text chunks, then buttons if any)."""
    text = message_text(message)
    buttons = usable_buttons(message.get("buttons"), WHATSAPP_BUTTON_ID_MAX)
    if not buttons:
        return [whatsapp_text(to, chunk) for chunk in split_text(text, WHATSAPP_TEXT_MAX)]
    chunks, tail = split_with_tail(text, WHATSAPP_TEXT_MAX, WHATSAPP_BODY_MAX)
    return [whatsapp_text(to, chunk) for chunk in chunks] + [
        whatsapp_interactive(to, tail, buttons)
    ]


# -- Twilio (plain text with numbered options) -----------------------------------------------


def numbered_options(message: Dict[str, Any]) -> Tuple[List[str], List[str]]:
    """The bodies for one bot message on a text-only channel, and the options' payloads.

    Buttons become numbered lines (``1. Title``) after the text; the patient answers with the
    number, which :func:`chosen_option` maps back to ``payloads[number - 1]``.
    """
    text = message_text(message)
    buttons = usable_buttons(message.get("buttons"), TWILIO_TEXT_MAX)
    if buttons:
        lines = [f"{i}. {' '.join(b['title'].split())}" for i, b in enumerate(buttons, 1)]
        text = "\n\n".join(filter(None, [text, "\n".join(lines), TWILIO_OPTIONS_HINT]))
    return split_text(text, TWILIO_TEXT_MAX), [b["payload"] for b in buttons]


_OPTION = re.compile(r"^\s*(\d{1,2})\s*[.)]?\s*$")


def chosen_option(text: str, payloads: Sequence[str]) -> Optional[str]:
    """The payload of option ``text`` ("1", "2." ...) among ``payloads``; ``None`` if not one."""
    match = _OPTION.match(text or "")
    if not match:
        return None
    number = int(match.group(1))
    return payloads[number - 1] if 1 <= number <= len(payloads) else None
