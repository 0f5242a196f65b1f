"""The learned safety classifier and the Rasa screen that asks it when the patterns say nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict

import pytest

from knowledge.safety_classifier import (
    DEFAULT_EXAMPLES,
    Example,
    ExamplesError,
    SafetyClassifier,
    examples_fingerprint,
    load_examples,
    normalise,
)
from knowledge.triage import EMERGENCY, MEDICAL_ADVICE, REQUEST_HUMAN, SELF_HARM

TOY = [
    *(
        Example(t, EMERGENCY)
        for t in [
            "he will not wake up",
            "she is not waking up at all",
            "mother not waking up since morning",
            "cannot wake him",
        ]
    ),
    *(
        Example(t, MEDICAL_ADVICE)
        for t in [
            "should i reduce my tablets",
            "can i reduce the dose",
            "reduce my insulin dose?",
            "should he reduce pills",
        ]
    ),
    *(
        Example(t, REQUEST_HUMAN)
        for t in [
            "let me speak to a person",
            "speak to a person please",
            "i want to speak to staff",
            "can i speak to someone",
        ]
    ),
    *(
        Example(t, "other")
        for t in [
            "what are exosomes",
            "how much does it cost",
            "what are the side effects",
            "how many sessions are needed",
            "thanks a lot",
            "hello there",
        ]
    ),
]


@pytest.fixture(scope="module")
def toy() -> SafetyClassifier:
    return SafetyClassifier.train(TOY, {EMERGENCY: 0.4, MEDICAL_ADVICE: 0.4, REQUEST_HUMAN: 0.4})


@pytest.fixture(scope="module")
def learned() -> SafetyClassifier:
    """The classifier as ``rasa train`` builds it, from the project's examples."""
    return SafetyClassifier.train(load_examples())


def test_toy_classifier_says_the_level_it_learnt(toy: SafetyClassifier) -> None:
    assert toy.verdict("my father is not waking up").level == EMERGENCY
    assert toy.verdict("can i reduce my tablets").level == MEDICAL_ADVICE
    assert toy.verdict("speak to a person").level == REQUEST_HUMAN
    assert toy.verdict("what is the cost") is None
    assert toy.verdict("   ") is None
    assert toy.verdict("not waking") is None  # two words: too little to go on


def test_self_harm_is_an_emergency_with_the_crisis_mark() -> None:
    harm = [
        Example(t, SELF_HARM)
        for t in [
            "i want to end my life",
            "no reason to live any more",
            "i will end it all",
            "i want to die tonight",
        ]
    ]
    model = SafetyClassifier.train(TOY + harm, {EMERGENCY: 0.4})
    verdict = model.verdict("i just want to end my life now")
    assert verdict is not None and verdict.level == EMERGENCY and verdict.crisis
    medical = model.verdict("my father is not waking up")
    assert medical is not None and medical.level == EMERGENCY and not medical.crisis


def test_a_level_below_its_threshold_is_not_said() -> None:
    strict = SafetyClassifier.train(TOY, {EMERGENCY: 1.0, MEDICAL_ADVICE: 1.0, REQUEST_HUMAN: 1.0})
    assert strict.verdict("my father is not waking up") is None


def test_saved_classifier_loads_with_the_same_probabilities(
    toy: SafetyClassifier, tmp_path: Path
) -> None:
    toy.save(tmp_path / "model.joblib")
    again = SafetyClassifier.load(tmp_path / "model.joblib", toy.thresholds)
    text = "she is not waking up"
    assert again.probabilities(text) == pytest.approx(toy.probabilities(text))


def test_fast_probabilities_are_the_pipelines(toy: SafetyClassifier) -> None:
    for text in ("she is not waking up", "what is the cost of it", "speak to staff now"):
        expected = toy._pipeline.predict_proba([text])[0]
        got = toy.probabilities(text)
        assert [got[c] for c in toy._pipeline.classes_] == pytest.approx(list(expected))


def test_bad_thresholds_and_missing_labels_are_refused() -> None:
    with pytest.raises(ValueError, match="thresholds"):
        SafetyClassifier.train(TOY, {EMERGENCY: 0.0})
    with pytest.raises(ExamplesError, match="request_human"):
        SafetyClassifier.train([e for e in TOY if e.label != REQUEST_HUMAN])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("nothing: here\n", "non-empty list"),
        ("examples:\n- {text: 'hi', label: panic}\n", "label 'panic'"),
        ("examples:\n- {text: 'hi', label: other, lang: fr}\n", "lang 'fr'"),
        ("examples:\n- {label: other}\n", "no text"),
        ("examples: [\n", "cannot read"),
    ],
)
def test_malformed_examples_name_the_problem(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "examples.yml"
    path.write_text(content)
    with pytest.raises(ExamplesError, match=message):
        load_examples(path)


def test_fingerprint_follows_the_examples(tmp_path: Path) -> None:
    path = tmp_path / "examples.yml"
    path.write_text("examples:\n- {text: 'a', label: other}\n")
    before = examples_fingerprint(path)
    path.write_text("examples:\n- {text: 'b', label: other}\n")
    assert examples_fingerprint(path) != before


def test_normalise_reads_any_number_as_the_same_shape() -> None:
    assert normalise("Sugar  450 ’HI’") == normalise("sugar 380 'hi'") == "sugar 000 'hi'"


def test_project_examples_cover_every_label_in_every_language() -> None:
    examples = load_examples(DEFAULT_EXAMPLES)
    cells = {(e.label, e.lang) for e in examples}
    for label in (EMERGENCY, MEDICAL_ADVICE, REQUEST_HUMAN, "other"):
        for lang in ("en", "hi", "hinglish"):
            assert (label, lang) in cells


def test_learned_classifier_generalises_beyond_its_examples(learned: SafetyClassifier) -> None:
    """Cross-validated on the examples: most held-out emergencies found, few false alarms."""
    from sklearn.model_selection import StratifiedKFold

    examples = load_examples()
    labels = [e.label for e in examples]
    found = alarms = emergencies = others = 0
    for train, test in StratifiedKFold(5, shuffle=True, random_state=0).split(examples, labels):
        model = SafetyClassifier.train([examples[i] for i in train], learned.thresholds)
        for i in test:
            verdict = model.verdict(examples[i].text)
            said = verdict.level if verdict else "other"
            if examples[i].label == EMERGENCY:
                emergencies += 1
                found += said == EMERGENCY
            elif examples[i].label == "other":
                others += 1
                alarms += said == EMERGENCY
    assert found / emergencies >= 0.8
    assert alarms / others <= 0.03


def _screen_config(tmp_path: Path) -> Dict[str, Any]:
    path = tmp_path / "examples.yml"
    rows = [(e.text, "human" if e.label == REQUEST_HUMAN else e.label) for e in TOY]
    path.write_text(
        "examples:\n" + "".join(f"- {{text: {t!r}, label: {label}}}\n" for t, label in rows),
        encoding="utf-8",
    )
    return {"examples": str(path), "thresholds": {EMERGENCY: 0.4, MEDICAL_ADVICE: 0.4}}


def _intent(screen: Any, text: str, intent: str = "ask_question") -> str:
    from rasa.shared.nlu.training_data.message import Message

    message = Message(data={"text": text, "intent": {"name": intent, "confidence": 0.9}})
    screen.process([message])
    return message.get("intent")["name"]


def test_rasa_screen_trains_stores_and_loads_the_classifier(tmp_path: Path) -> None:
    """Real Rasa storage: trained in one run, loaded in another, asked when no pattern matches."""
    from rasa.engine.graph import ExecutionContext, GraphSchema
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource
    from rasa.shared.nlu.training_data.training_data import TrainingData

    from bot.components.safety_screen import SafetyScreen

    config = _screen_config(tmp_path)
    (tmp_path / "storage").mkdir()
    storage = LocalModelStorage(tmp_path / "storage")
    resource = Resource("safety_screen")
    context = ExecutionContext(GraphSchema({}), "test")
    SafetyScreen.create(config, storage, resource, context).train(TrainingData())
    screen = SafetyScreen.load(config, storage, resource, context)
    assert screen.classifier is not None
    assert _intent(screen, "my father is not waking up") == EMERGENCY
    assert _intent(screen, "can i reduce my tablets") == MEDICAL_ADVICE
    assert _intent(screen, "what is the cost") == "ask_question"
    # The screen only raises: a classifier's "other" never lowers an escalating intent.
    assert _intent(screen, "what is the cost", intent=MEDICAL_ADVICE) == MEDICAL_ADVICE


def test_rasa_screen_without_a_stored_classifier_keeps_its_patterns(tmp_path: Path) -> None:
    from rasa.engine.graph import ExecutionContext, GraphSchema
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource

    from bot.components.safety_screen import SafetyScreen

    (tmp_path / "storage").mkdir()
    storage = LocalModelStorage(tmp_path / "storage")
    context = ExecutionContext(GraphSchema({}), "test")
    screen = SafetyScreen.load({}, storage, Resource("never_trained"), context)
    assert screen.classifier is None
    assert _intent(screen, "i have crushing chest pain right now") == EMERGENCY
    assert _intent(screen, "what is the cost") == "ask_question"


def test_nlu_examples_keep_their_level_and_the_rest_is_other() -> None:
    """Contact details are learnt as ``other``: a phone number is no sugar reading."""
    from knowledge.safety_classifier import intent_examples

    pairs = [("my number is 98765 43210", "give_contact"), ("chest pain now", EMERGENCY)]
    pairs += [("i want to end my life", SELF_HARM), ("hi", "greet"), ("  ", "greet")]
    assert [e.label for e in intent_examples(pairs)] == ["other", EMERGENCY, SELF_HARM, "other"]
