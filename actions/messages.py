"""How replies are worded and shaped for channels: text, buttons and the ``custom`` payload.

Pure functions over :class:`knowledge.service.Reply`; the actions pass their output to
``dispatcher.utter_message(**message)``.
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Optional

from actions.texts import translated
from knowledge.decision import ANSWER, CLARIFY
from knowledge.schema import Kind, payload
from knowledge.service import Reply

Message = Dict[str, Any]
BUTTON_TITLE_MAX = 60
CONDITION_LABELS = {
    "foot_ulcers": "Foot ulcers",
    "type_1_diabetes": "Type 1 diabetes",
    "neuropathy": "Neuropathy",
    "nephropathy": "Kidneys (nephropathy)",
    "general": "Exosome therapy",
}
HUMAN_BUTTON = {"title": "Talk to a person", "payload": "/request_human"}


def quote_block(reply: Reply, lead: str) -> str:
    """``lead`` + the verbatim quote + its citation line."""
    top = reply.hits[0].passage
    return f"{lead}\n“{reply.quote}”\nSource: {top.citation}"


def human_button(language: Optional[str] = None) -> Dict[str, str]:
    """The "Talk to a person" button, labelled in the patient's language."""
    return {**HUMAN_BUTTON, "title": translated("human_button", language) or HUMAN_BUTTON["title"]}


def answer_message(reply: Reply, language: Optional[str] = None) -> Message:
    """The patient-facing message for an answer, clarify or no-answer reply.

    In Hindi or Hinglish the quote stays English (the articles are), with the lead in the
    patient's language; "I don't know" says that the bot answers from English articles.
    """
    if reply.kind == ANSWER:
        lead = translated("answer_lead", language) or "Here is what our article says:"
        text = quote_block(reply, lead)
        return {"text": text, "json_message": reply.payload()}
    if reply.kind == CLARIFY:
        buttons = [
            {
                "title": button_title(h.passage.condition, h.passage.section),
                "payload": "/ask_question" + json.dumps({"passage_id": h.passage.id}),
            }
            for h in reply.hits
        ]
        return {
            "text": (
                "Your question matches more than one part of our articles. Which topic do you mean?"
            ),
            "buttons": buttons,
            "json_message": reply.payload(),
        }
    return {
        "text": translated("no_answer", language)
        or (
            "I'm sorry, I don't know: I could not find an answer to that in the clinic's "
            "articles, and I only answer from them. You can rephrase the question, or ask to "
            "talk to a member of staff."
        ),
        "buttons": [human_button(language)],
        "json_message": reply.payload(),
    }


def button_title(condition: str, section: str) -> str:
    """A short button label: ``<topic>: <section>``."""
    title = f"{CONDITION_LABELS.get(condition, condition)}: {section}"
    return title if len(title) <= BUTTON_TITLE_MAX else title[: BUTTON_TITLE_MAX - 1] + "…"


def unreadable_message() -> Message:
    """Reply to a message with no words in it (empty, only emoji or symbols)."""
    return {
        "text": "I couldn't find a question in that message. Please type your question in words.",
        "json_message": payload(Kind.NO_ANSWER, citations=[], ranking=[]),
    }


def medical_advice_messages(
    general: Optional[Reply],
    handoff: Optional[Dict[str, Any]] = None,
    handed_over: str = "",
    language: Optional[str] = None,
) -> List[Message]:
    """The reply to a request for personal medical advice, with general information if it fits.

    Args:
        general: The FAQ reply to the message, quoted as general information when it answers.
        handoff: ``{"reference": ..., "reason": ...}`` of the staff handoff, for the payload.
        handed_over: The sentence telling the patient what happens next (see ``handoff_text``).
        language: The patient's language (``hi``, ``hinglish``; English otherwise).
    """
    data = general.payload() if general is not None else {"citations": [], "ranking": []}
    citations: List[Dict[str, Any]] = []
    messages: List[Message] = []
    text = translated("refusal", language) or (
        "I can't give advice about your own health, medicines or results: that needs a doctor "
        "who knows your situation."
    )
    text += " " + (handed_over or "Please talk to the clinic's medical staff or your own doctor.")
    if general is not None and general.kind == ANSWER:
        citations = data["citations"]
        lead = translated("general_lead", language)
        text += "\n" + quote_block(
            general, lead or "General information from our articles (not advice for you):"
        )
    messages.append(
        {
            "text": text,
            "buttons": [] if handoff else [human_button(language)],
            "json_message": payload(
                Kind.MEDICAL_ADVICE, citations=citations, ranking=data["ranking"], handoff=handoff
            ),
        }
    )
    return messages


def handoff_text(
    reference: Optional[str],
    next_steps: str,
    clinic_contact: str,
    queued: bool = False,
    language: Optional[str] = None,
) -> str:
    """What the patient is told after a handoff: the reference and what happens next.

    ``queued`` means the store was down and the request waits in the spool.
    """
    if reference is not None and not queued:
        said = translated("handed_over", language, reference=reference, contact=clinic_contact)
        if said:
            return said
    if reference is None and not queued:
        said = translated("not_handed_over", language, contact=clinic_contact)
        if said:
            return said
    if queued:
        return (
            "Our staff system is not reachable just now, so I have kept your request and it will "
            f"be passed on to our staff automatically. If it is urgent, please contact "
            f"{clinic_contact} directly."
        )
    if reference is None:
        return (
            f"I couldn't pass this on to our staff automatically just now. Please contact "
            f"{clinic_contact} directly."
        )
    return (
        f"I have passed this on to our staff. Your reference number is {reference}. "
        f"{next_steps} You can also contact {clinic_contact}."
    )


def with_disclaimer(message: Message, disclaimer: str) -> Message:
    """The message with the disclaimer as its last paragraph (an empty disclaimer adds nothing)."""
    if not disclaimer:
        return message
    return {**message, "text": f"{message['text']}\n\n{disclaimer}"}
