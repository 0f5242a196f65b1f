"""Spelling correction of patient messages, with the real dictionary (built once per module)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import List

import pytest

from knowledge import spelling
from knowledge.spelling import SpellingCorrector


@pytest.fixture(scope="module")
def corrector() -> SpellingCorrector:
    built = spelling.load()
    assert built is not None
    return built


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("is exosme therapy safe", "is exosome therapy safe"),
        ("my mother has diabetis", "my mother has diabetes"),
        ("will it cure type 1 diabeties", "will it cure type 1 diabetes"),
        ("nueropathy in both feet", "neuropathy in both feet"),
        ("nuropathy pain", "neuropathy pain"),
        ("kidny problem", "kidney problem"),
        ("foot ulsar not healing", "foot ulcer not healing"),
        ("how many sesions are needed", "how many sessions are needed"),
        ("is it an injectoin or tablet", "is it an injection or tablet"),
        ("tablets vs injecton", "tablets vs injection"),
        ("dialisis patient can take it?", "dialysis patient can take it?"),
        ("they said gangrine", "they said gangrene"),
        ("my docter said amputaion", "my doctor said amputation"),
        ("tingling and numbnes in feet", "tingling and numbness in feet"),
        ("cost of treatmnet", "cost of treatment"),
        ("any side efect?", "any side effect?"),
        ("what is the sucess rate", "what is the success rate"),
        ("recovry time", "recovery time"),
        ("is it aproved", "is it approved"),
        ("can i stop insulin aftr therapy", "can i stop insulin after therapy"),
        ("I take metformn and gabapentine", "I take metformin and gabapentin"),
        ("theraphy for inflamation", "therapy for inflammation"),
        ("how mnay sessions", "how many sessions"),
        ("vist the clinic", "visit the clinic"),
        ("pleeease help", "please help"),
        ("totaly cured?", "totally cured?"),
        ("kinly reply", "kindly reply"),
        ("becuase of neuropaty", "because of neuropathy"),
        ("not healling", "not healing"),
        ("my sugar is uncontroled", "my sugar is uncontrolled"),
    ],
)
def test_typical_typos_are_corrected(corrector: SpellingCorrector, typed: str, meant: str) -> None:
    assert corrector.correct(typed) == meant


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("Exosme therapy cost", "Exosome therapy cost"),  # sentence start keeps its capital
        ("EXOSME THERAPY FOR DIABETIS", "EXOSOME THERAPY FOR DIABETES"),  # all in capitals
        ("Is it safe? Exosme is new", "Is it safe? Exosome is new"),
        ("my exosme's effect", "my exosome's effect"),
        ("kidny, ulsar & nueropathy!!", "kidney, ulcer & neuropathy!!"),
    ],
)
def test_case_and_punctuation_are_kept(
    corrector: SpellingCorrector, typed: str, meant: str
) -> None:
    assert corrector.correct(typed) == meant


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("exosometherapy for diabetic foot", "exosome therapy for diabetic foot"),
        ("any sideeffects", "any side effects"),
        ("kid ney disease", "kidney disease"),
        ("dia betes and foot ulcer", "diabetes and foot ulcer"),
    ],
)
def test_joined_and_split_words(corrector: SpellingCorrector, typed: str, meant: str) -> None:
    assert corrector.correct(typed) == meant


@pytest.mark.parametrize(
    "text",
    [
        # drug names, tests and medical words
        "gabapentin, pregabalin, metformin 500, glimepiride and lantus",
        "HbA1c is 8.5 and sugar 250 mg/dl fasting, pp 320",
        "hba1c 9.2%, egfr 45, creatinine 1.8",
        "on dialysis thrice a week, also taking telmisartan",
        "mesenchymal stem cell exosomes, MSCs and angiogenesis",
        "PCOD, DFU, T1D and CKD",
        # chat words
        "ok pls tell thx",
        "Whats the cost in rupees? pls reply asap",
        "im 65 yrs old, dont know if i can",
        "okk sir, kindly revert",
        # names and places
        "Dr. Ramesh Iyer said so",
        "Sunita Sharma here from Bengaluru",
        "I am Venkatesh from Chennai, my wife Lakshmi",
        "Is Viezec in Hyderbad?",
        "Mr. Subramanian and Anitha asked",
        # Hinglish, Devanagari
        "mera pair ka ghav theek nahi ho raha",
        "papa ko bahut dard hai, kya ilaj hai",
        "namaste ji, dhanyavaad",
        "नमस्ते, इलाज कितने दिन का है?",
        # contact details, URLs, numbers
        "mail me at ramesh.kumar@gmail.com or call +91 98765 43210",
        "Email: priya.s@yahoo.co.in",
        "see https://example.com/exosme-theraphy?id=12 and www.viezec.com/exosme",
        "3-5 sessions, 2x a week, Rs 1,50,000 (approx.)",
        # known words, even where the patient meant another
        "how long to heel the wound",
    ],
)
def test_words_that_must_stay(corrector: SpellingCorrector, text: str) -> None:
    assert corrector.correct(text) == text


def test_hinglish_messages_only_get_article_words(corrector: SpellingCorrector) -> None:
    fixed = corrector.correct("mujhe diabetis hai, kya exosme therapy se theek hoga")
    assert fixed == "mujhe diabetes hai, kya exosome therapy se theek hoga"
    assert corrector.correct("क्या exosme therapy safe है") == "क्या exosome therapy safe है"
    # one Hindi word is enough ("mujhe"): "sujhav" (advice) is not taken for an English typo
    assert corrector.correct("mujhe koi sujhav do") == "mujhe koi sujhav do"
    assert corrector.correct("mujhe kidny problem") == "mujhe kidney problem"


def test_capitalised_words_mid_sentence_are_left_unless_an_article_word(
    corrector: SpellingCorrector,
) -> None:
    assert corrector.correct("my friend Rajeshwari asked") == "my friend Rajeshwari asked"
    assert corrector.correct("what is Exosme therapy") == "what is Exosome therapy"
    assert corrector.correct("Dr. Venkatraman said so") == "Dr. Venkatraman said so"
    assert corrector.correct("Smt. Kamakshi asked") == "Smt. Kamakshi asked"


@pytest.mark.parametrize(
    "text",
    [
        "Shetty here, my father has diabetes",
        "my name is Varun",
        "this is Advait from Pune",
        "i am Kamakshi",
        "Jayalakshmi ji, thank you",
        "rathore here",
        "Kalpesh here, about my mother",
        "Patil here, ask Sameer or Aditi",  # two edits from "pain", "safer", "anti"
    ],
)
def test_names_are_left_alone(corrector: SpellingCorrector, text: str) -> None:
    assert corrector.correct(text) == text


def test_every_article_word_is_known(corrector: SpellingCorrector) -> None:
    for word in spelling.article_words():
        assert corrector.known(word), word


def test_lexicon_words_are_known_and_keep_words_never_offered(
    corrector: SpellingCorrector,
) -> None:
    lexicon = spelling.lexicon_words()
    assert {"insulin", "gabapentin", "metformin", "dialysis", "hba1c"} <= lexicon.domain
    assert {"ok", "pls", "thx", "theek", "nahi", "ghav"} <= lexicon.keep
    assert "shitty" in lexicon.never
    assert all(corrector.known(word) for word in lexicon.domain | lexicon.keep)
    assert corrector.correct("kirana") == "kirana"
    assert corrector.correct("shittyy") != "shitty"


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "\n\t",
        "😀😀😀",
        "🙏🏽 thanks",
        "\x00\x01\x7f",
        "???!!!",
        "a",
        "x" * 500,
        "exosme" * 200,
        "‮exosme‬",
        "\ud800 lone surrogate",
        "naïve café exosme",
    ],
)
def test_odd_input_never_raises(corrector: SpellingCorrector, text: str) -> None:
    fixed = corrector.correct(text)
    assert isinstance(fixed, str)
    assert len(fixed) >= len(text) // 2


def test_control_characters_are_kept_around_a_correction(corrector: SpellingCorrector) -> None:
    assert corrector.correct("\x00exosme\x7f") == "\x00exosome\x7f"


def test_accented_words_are_left_alone(corrector: SpellingCorrector) -> None:
    assert corrector.correct("naïve café exosme") == "naïve café exosome"


def test_a_long_message_is_corrected_whole(corrector: SpellingCorrector) -> None:
    text = ("my father has diabetis and a foot ulsar for 6 months. " * 200)[:10_000]
    fixed = corrector.correct(text)
    assert "diabetis" not in fixed and "ulsar" not in fixed
    assert fixed.count("diabetes") == text.count("diabetis")


def test_non_text_comes_back_as_it_is(corrector: SpellingCorrector) -> None:
    odd: object = None
    assert corrector.correct(odd) is None  # type: ignore[arg-type]


def test_many_threads_get_the_same_corrections(corrector: SpellingCorrector) -> None:
    messages = [f"exosme sesions {n} for kidny and ulsar{n % 7}" for n in range(400)]
    expected = [corrector.correct(m) for m in messages]
    results: List[List[str]] = []

    def run() -> None:
        results.append([corrector.correct(m) for m in messages])

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [expected] * 4


def test_module_correct_uses_the_shared_corrector(corrector: SpellingCorrector) -> None:
    assert spelling.load() is corrector
    assert spelling.correct("kidny") == "kidney"


def test_load_is_built_once_across_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    built: List[int] = []
    sentinel = object()

    def fake_build(sources_dir: object = None) -> object:
        built.append(1)
        return sentinel

    monkeypatch.setattr(spelling, "_default", None)
    monkeypatch.setattr(spelling, "build", fake_build)
    threads = [threading.Thread(target=spelling.load) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert built == [1]
    assert spelling.load() is sentinel


def test_a_dictionary_that_cannot_be_built_leaves_messages_alone(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(spelling, "_default", None)
    monkeypatch.setattr(spelling, "_failed", False)
    assert spelling.load(tmp_path) is None  # no catalog there
    assert spelling.correct("kidny") == "kidny"
