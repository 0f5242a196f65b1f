"""Splitting long text and shaping buttons for WhatsApp and Twilio (pure functions)."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.channels.outbound import (
    TWILIO_OPTIONS_HINT,
    TWILIO_TEXT_MAX,
    WHATSAPP_BODY_MAX,
    WHATSAPP_TEXT_MAX,
    chosen_option,
    citation_line,
    message_text,
    numbered_options,
    shorten,
    split_text,
    split_with_tail,
    whatsapp_messages,
)

HUMAN = {"title": "Talk to a person", "payload": "/request_human"}
SENTENCE = "Exosome therapy uses tiny vesicles released by stem cells to support healing. "


def clarify_buttons(n: int):
    return [
        {
            "title": f"Foot ulcers: How Many Sessions Are Typically Required? ({i})",
            "payload": "/ask_question" + json.dumps({"passage_id": f"exosomes-foot#{i:010d}"}),
        }
        for i in range(n)
    ]


words = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    min_size=1,
    max_size=30,
).filter(lambda w: w.strip() == w and w and not any(c.isspace() for c in w))
separators = st.sampled_from([" ", "  ", "\n", "\n\n", ". ", "! ", "?\n", ".” ", "\t"])
texts = st.lists(st.tuples(words, separators), max_size=80).map(
    lambda parts: "".join(w + s for w, s in parts)
)


@settings(max_examples=200, deadline=None, database=None)
@given(texts, st.integers(min_value=1, max_value=200))
def test_every_chunk_fits_and_no_character_is_lost(text: str, limit: int) -> None:
    chunks = split_text(text, limit)
    assert all(0 < len(c) <= limit for c in chunks)
    assert all(c == c.strip() for c in chunks)
    squeeze = re.compile(r"\s+")
    assert squeeze.sub("", "".join(chunks)) == squeeze.sub("", text)


@settings(max_examples=200, deadline=None, database=None)
@given(texts, st.integers(min_value=33, max_value=200))
def test_words_that_fit_are_never_cut(text: str, limit: int) -> None:
    # A word is at most 30 characters plus up to 3 of punctuation, so none needs cutting.
    chunks = split_text(text, limit)
    assert " ".join(chunks).split() == text.split()


@settings(max_examples=200, deadline=None, database=None)
@given(texts, st.integers(min_value=33, max_value=300), st.integers(min_value=33, max_value=60))
def test_split_with_tail_keeps_everything_in_order(text: str, limit: int, tail: int) -> None:
    chunks, last = split_with_tail(text, limit, tail)
    assert all(0 < len(c) <= limit for c in chunks)
    assert len(last) <= tail
    assert " ".join([*chunks, last]).split() == text.split()


def test_sentences_are_kept_whole_when_they_fit() -> None:
    text = SENTENCE * 80  # about 6,300 characters
    chunks = split_text(text, WHATSAPP_TEXT_MAX)
    assert len(chunks) == 2
    assert all(c.endswith("healing.") for c in chunks)


def test_paragraphs_and_lines_are_preferred_to_sentences() -> None:
    quote = "Here is what our article says:\n“" + SENTENCE * 14 + "”\nSource: Article › Section"
    chunks = split_text(quote + "\n\n" + "Please note: general information.", 1180)
    assert len(chunks) == 2
    assert chunks[-1] == "Please note: general information."
    assert chunks[0].endswith("Source: Article › Section")


def test_a_word_longer_than_the_limit_is_cut() -> None:
    assert split_text("a" * 25, 10) == ["a" * 10, "a" * 10, "a" * 5]
    assert split_text("   ", 10) == []
    with pytest.raises(ValueError):
        split_text("text", 0)


def test_citation_line_is_added_only_when_the_text_has_none() -> None:
    cited = {"article": "Foot Ulcers", "section": "Costs", "citation": "F › C"}
    custom = {"kind": "answer", "citations": [cited]}
    assert citation_line(custom) == "Source: F › C"
    assert (
        citation_line({"kind": "medical_advice", "citations": [{"article": "A", "section": "B"}]})
        == "Source: A › B"
    )
    assert citation_line({"kind": "answer", "citations": []}) is None
    assert citation_line({"kind": "clarify", "citations": [cited]}) is None, "candidates only"
    assert message_text({"text": "Quote.", "custom": custom}) == "Quote.\nSource: F › C"
    assert message_text({"text": "Quote.\nSource: X", "custom": custom}) == "Quote.\nSource: X"
    assert message_text({"custom": custom}) == ""


def test_whatsapp_text_is_never_raw_json() -> None:
    message = {"text": "Hello.", "custom": {"schema": "faqbot/1", "kind": "chitchat"}}
    sent = whatsapp_messages("919876543210", message)
    assert sent == [
        {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": "919876543210",
            "type": "text",
            "text": {"preview_url": False, "body": "Hello."},
        }
    ]
    assert whatsapp_messages("1", {"custom": {"kind": "answer"}}) == []


def test_up_to_three_short_buttons_are_reply_buttons_with_the_payload_as_id() -> None:
    [sent] = whatsapp_messages("1", {"text": "I don't know.", "buttons": [HUMAN]})
    assert sent["type"] == "interactive"
    interactive = sent["interactive"]
    assert interactive["type"] == "button"
    assert interactive["body"] == {"text": "I don't know."}
    assert interactive["action"]["buttons"] == [
        {"type": "reply", "reply": {"id": "/request_human", "title": "Talk to a person"}}
    ]


@pytest.mark.parametrize("count", [2, 4, 12])
def test_more_or_longer_buttons_become_a_list_of_at_most_ten_rows(count: int) -> None:
    buttons = clarify_buttons(count)
    [sent] = whatsapp_messages("1", {"text": "Which topic?", "buttons": buttons})
    interactive = sent["interactive"]
    assert interactive["type"] == "list"
    assert len(interactive["action"]["button"]) <= 20
    rows = interactive["action"]["sections"][0]["rows"]
    assert len(rows) == min(count, 10)
    assert [r["id"] for r in rows] == [b["payload"] for b in buttons][:10]
    assert all(r["title"] == "Foot ulcers" for r in rows)
    assert all(len(r["description"]) <= 72 for r in rows)
    assert rows[0]["description"].startswith("How Many Sessions")


def test_buttons_with_the_same_title_become_a_list() -> None:
    buttons = [{"title": "Yes", "payload": "/affirm"}, {"title": "Yes", "payload": "/other"}]
    [sent] = whatsapp_messages("1", {"text": "Sure?", "buttons": buttons})
    assert sent["interactive"]["type"] == "list"


def test_a_long_title_without_a_topic_is_shortened_in_the_row() -> None:
    button = {"title": "An extremely long option title without any colon", "payload": "/x"}
    [sent] = whatsapp_messages("1", {"text": "Pick", "buttons": [button]})
    [row] = sent["interactive"]["action"]["sections"][0]["rows"]
    assert len(row["title"]) <= 24 and row["title"].endswith("…")
    assert row["description"] == button["title"]


def test_long_text_with_buttons_sends_text_first_and_a_short_body_with_the_buttons() -> None:
    text = SENTENCE * 100
    sent = whatsapp_messages("1", {"text": text, "buttons": [HUMAN]})
    assert [m["type"] for m in sent] == ["text", "text", "interactive"]
    assert all(len(m["text"]["body"]) <= WHATSAPP_TEXT_MAX for m in sent[:-1])
    body = sent[-1]["interactive"]["body"]["text"]
    assert len(body) <= WHATSAPP_BODY_MAX
    seen = " ".join([m["text"]["body"] for m in sent[:-1]] + [body])
    assert seen.split() == text.split()


def test_buttons_without_text_get_a_prompt_and_bad_buttons_are_dropped() -> None:
    buttons = [
        HUMAN,
        HUMAN,
        {"title": "", "payload": "/x"},
        {"title": "Long", "payload": "/" * 300},
    ]
    [sent] = whatsapp_messages("1", {"buttons": buttons})
    assert sent["interactive"]["body"]["text"] == "Please choose an option."
    assert len(sent["interactive"]["action"]["buttons"]) == 1


def test_twilio_buttons_become_numbered_options_that_map_back() -> None:
    bodies, payloads = numbered_options({"text": "Which topic?", "buttons": clarify_buttons(3)})
    assert bodies == [
        "Which topic?\n\n"
        "1. Foot ulcers: How Many Sessions Are Typically Required? (0)\n"
        "2. Foot ulcers: How Many Sessions Are Typically Required? (1)\n"
        "3. Foot ulcers: How Many Sessions Are Typically Required? (2)\n\n" + TWILIO_OPTIONS_HINT
    ]
    assert chosen_option("2", payloads) == payloads[1]
    assert chosen_option(" 3. ", payloads) == payloads[2]
    assert chosen_option("1)", payloads) == payloads[0]
    for other in ["4", "0", "12 weeks", "one", ""]:
        assert chosen_option(other, payloads) is None
    assert chosen_option("1", []) is None


def test_twilio_long_text_is_split_under_1600_with_the_options_at_the_end() -> None:
    text = SENTENCE * 50
    bodies, payloads = numbered_options({"text": text, "buttons": [HUMAN]})
    assert len(bodies) == 3
    assert all(len(b) <= TWILIO_TEXT_MAX for b in bodies)
    assert bodies[-1].endswith("1. Talk to a person\n\n" + TWILIO_OPTIONS_HINT)
    assert payloads == ["/request_human"]


def test_shorten() -> None:
    assert shorten("short", 10) == "short"
    assert shorten("a  b\nc", 10) == "a b c"
    assert shorten("Kidneys (nephropathy)", 20) == "Kidneys (nephropath…"
