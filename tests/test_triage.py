"""The red-flag screen (patterns kept as data in knowledge/safety/red_flags.yml)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import pytest

from knowledge.language import detect
from knowledge.triage import EMERGENCY, MEDICAL_ADVICE, PatternError, RedFlagScreen


@pytest.fixture(scope="module")
def screen() -> RedFlagScreen:
    return RedFlagScreen.from_file()


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("my dad has bad chest pain", "chest_pain"),
        ("CHEST PIAN since an hour", "chest_pain"),
        ("her face is drooping and speech slurred", "stroke"),
        ("glucose 32 and sweating", "severe_hypoglycaemia"),
        ("sugar reading 650!!", "severe_hyperglycaemia_dka"),
        ("there are red streaks up from the wound", "spreading_infection_gangrene"),
        ("it is bleeding heavily", "heavy_bleeding"),
        ("i cant breth", "anaphylaxis"),
        ("she is unresponsive", "not_breathing_unconscious"),
        ("i want to end my life", "self_harm"),
        ("i think my mum is having a stroke", "stroke"),
        ("chset pain and sweating", "chest_pain"),
        ("pain spreading to my left arm and jaw", "chest_pain"),
        ("my husband says he will hang himself", "self_harm"),
        ("no point going on, they are better off without me", "self_harm"),
    ],
)
def test_emergencies_are_flagged(screen: RedFlagScreen, text: str, rule: str) -> None:
    flag = screen.screen(text)
    assert flag is not None and flag.level == EMERGENCY and flag.rule == rule
    assert flag.crisis == (rule == "self_harm")


@pytest.mark.parametrize(
    "text",
    [
        "should i stop my metformin before the injection",
        "my hba1c is 9.2, can I have it",
        "am i eligible for exosome therapy",
        "my ulcer looks yellow and smells, what should I do about it",
        "i am pregnant, is this ok",
        "i had a mini stroke last year, is it risky for me",
        "i take jardiance, do i need to stop it before the injections",
        "creatinine came back high what should i do",
        "i am on dialysis, can i have the injections",
    ],
)
def test_personal_advice_is_flagged(screen: RedFlagScreen, text: str) -> None:
    flag = screen.screen(text)
    assert flag is not None and flag.level == MEDICAL_ADVICE


@pytest.mark.parametrize(
    "text",
    [
        "how many sessions are needed",
        "what are the side effects of exosome therapy",
        "how does exosome therapy help diabetic kidney disease",
        "is exosome therapy safe",
        "what should i do at home after the treatment",
        "hello",
    ],
)
def test_general_questions_are_not_flagged(screen: RedFlagScreen, text: str) -> None:
    assert screen.screen(text) is None


def test_emergency_wins_over_advice(screen: RedFlagScreen) -> None:
    flag = screen.screen("should I take my insulin? my chest really hurts right now")
    assert flag is not None and flag.level == EMERGENCY


def test_bad_pattern_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "flags.yml"
    bad.write_text("emergency:\n  broken: ['(unclosed']\n")
    with pytest.raises(PatternError, match="broken"):
        RedFlagScreen.from_file(bad)
    bad.write_text("urgent:\n  x: ['a']\n")
    with pytest.raises(PatternError, match="unknown levels"):
        RedFlagScreen.from_file(bad)


@pytest.mark.parametrize(
    ("text", "level"),
    [
        # Denied or in the past: not an emergency.
        ("no chest pain or anything, just curious about exosomes for the heart", None),
        ("I had a stroke five years ago, can exosomes help me walk better?", None),
        ("seene mein dard nahi hai bas poochna tha", None),
        # A denial of one thing does not hide another.
        ("no fever but I have crushing chest pain now", "emergency"),
        # A duration is not a reading; "years ago" is the past; a denied last symptom is denied.
        ("my mother has had sugar for 25 years, can exosomes help her kidneys?", None),
        ("my sugar is 35 and I am shaking", "emergency"),
        ("he had a seizure years ago, is this therapy safe for him?", "medical_advice"),
        ("he is having a seizure right now", "emergency"),
        ("the ulcer smells a bit but no fever, can exosomes help it heal?", None),
        ("the ulcer smells and now he has a fever and chills", "emergency"),
        ("my family would be better off without me", "emergency"),
        ("heavy bleeding from the wound and it is not stopping", "emergency"),
        ("सीने में कोई दर्द नहीं है, बस जानना था", None),
        # A question that mentions a child or an illness is general; a decision about one is not.
        ("My son has type 1. Is there any exosome research for it?", None),
        ("can my son have exosome therapy", "medical_advice"),
        ("my daughter is 12, can she take it", "medical_advice"),
        ("meri maa ko sugar se kidney ki problem hai, aisa kyun", None),
        ("meri sugar 300 hai", "medical_advice"),
        ("can exosomes lower how much insulin type 1 patients need?", None),
        ("how much insulin for a reading of 300", "medical_advice"),
        ("डॉक्टर ने ऑपरेशन की तारीख अगले हफ्ते के सोमवार की दे दी है, क्या उसे रद्द कर दूं?", "medical_advice"),
        ("क्या पापा का डायलिसिस टाला जा सकता है?", "medical_advice"),
        ("bachche ko doodh pilati hu, kya exosome le sakti hu", "medical_advice"),
        ("agent", "request_human"),
        ("how can I book an appointment with the doctor", "request_human"),
        ("who do I talk to about getting treated", "request_human"),
        ("kya kisi se phone pe baat ho sakti hai", "request_human"),
        # Idioms, anaesthesia and the Hindi past are not emergencies.
        ("these hospital bills are giving me a heart attack, is exosome therapy cheaper?", None),
        ("I am dying to know if exosomes help hair grow", None),
        ("क्या ऑपरेशन की तरह इसमें भी बेहोश करते हैं?", None),
        ("तीन साल पहले नाना को हार्ट अटैक आया था, क्या एक्सोसोम दिल के लिए भी हैं?", None),
        ("nana ko heart attack aaya tha pichhle saal, ab theek hain", None),
        ("नाना को अभी हार्ट अटैक आया है", "emergency"),
        # A symptom that itself starts with "no" is not a denial of the next one.
        ("she has no pulse and is not breathing", "emergency"),
        # Lay and indirect English.
        ("the redness around my sore is going up past my ankle", "emergency"),
        ("I keep blacking out when I stand up", "emergency"),
        ("I'm so tired of being a burden to everyone", "emergency"),
        # Hinglish and Hindi.
        ("seene me bahut dard ho raha hai aur baayen haath sunn hai", "emergency"),
        ("मेरे सीने में तेज दर्द है और बायां हाथ सुन्न हो गया", "emergency"),
        ("papa ka muh tedha ho gaya aur bol nahi pa rahe", "emergency"),
        ("mujhe ab jeena nahi hai", "emergency"),
        ("मुझे अब जीना नहीं है", "emergency"),
        ("insulin ki dose kitni badhaun", "medical_advice"),
        ("क्या मैं अपनी शुगर की दवा बंद कर सकता हूं", "medical_advice"),
        ("doctor se baat karni hai", "request_human"),
        ("कृपया मुझे फोन करें", "request_human"),
        # General questions stay general.
        ("kya exosome therapy safe hai?", None),
        ("what are exosomes", None),
    ],
)
def test_lay_hindi_and_hinglish_wording_and_denials(text: str, level: Optional[str]) -> None:
    flag = RedFlagScreen.from_file().screen(text)
    assert (flag.level if flag else None) == level, flag


def test_self_harm_in_hindi_gets_the_crisis_reply() -> None:
    flag = RedFlagScreen.from_file().screen("मैं मरना चाहता हूं")
    assert flag is not None and flag.crisis


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("what are the side effects", "en"),
        ("is the treatment painful for the kidneys", "en"),
        ("seene me dard ho raha hai", "hinglish"),
        ("kya exosome therapy safe hai?", "hinglish"),
        ("मुझे अब जीना नहीं है", "hi"),
        ("क्या exosome therapy safe है", "hi"),
    ],
)
def test_the_language_is_told_by_script_and_hinglish_markers(text: str, language: str) -> None:
    assert detect(text) == language
