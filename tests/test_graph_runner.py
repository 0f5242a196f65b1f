"""The Rasa server's graph runner gives what Rasa's dask runner gives, on the trained model."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Type

import pytest
from rasa.core.channels.channel import UserMessage
from rasa.engine import loader
from rasa.engine.constants import PLACEHOLDER_MESSAGE, PLACEHOLDER_TRACKER
from rasa.engine.exceptions import GraphRunError
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.rasa_patches.graph_runner import SequentialGraphRunner

MODEL = Path(__file__).resolve().parent.parent / "models" / "faqbot.tar.gz"
TEXTS = [
    "hello",
    "what are exosomes",
    "does it help with kidney disease?",
    "should I stop my insulin before the injection",
    "I have crushing chest pain",
    "can I talk to a person",
    "asdf qwer",
]


@pytest.fixture(scope="module")
def runners(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Any]:
    if not MODEL.is_file():
        pytest.skip("no trained model: run 'make train' (make test does)")
    loaded: Dict[str, Any] = {}
    runner_class: Type[DaskGraphRunner]
    for name, runner_class in (("dask", DaskGraphRunner), ("ours", SequentialGraphRunner)):
        folder = tmp_path_factory.mktemp(name)
        loaded["metadata"], loaded[name] = loader.load_predict_graph_runner(
            folder, MODEL, LocalModelStorage, runner_class
        )
    return loaded


def _tracker(text: str) -> DialogueStateTracker:
    tracker = DialogueStateTracker("test", [])
    tracker.update(ActionExecuted("action_listen"))
    tracker.update(UserUttered(text, intent={"name": "ask_question", "confidence": 1.0}))
    return tracker


@pytest.mark.parametrize("text", TEXTS)
def test_same_parse_and_same_next_action_as_dask(runners: Dict[str, Any], text: str) -> None:
    metadata = runners["metadata"]
    parsed, predicted = {}, {}
    for name in ("dask", "ours"):
        nlu = runners[name].run(
            inputs={PLACEHOLDER_MESSAGE: [UserMessage(text)], PLACEHOLDER_TRACKER: _tracker("")},
            targets=[metadata.nlu_target],
        )
        parsed[name] = nlu[metadata.nlu_target][0].as_dict(only_output_properties=True)
        core = runners[name].run(
            inputs={PLACEHOLDER_TRACKER: _tracker(text)}, targets=[metadata.core_target]
        )
        prediction = core[metadata.core_target]
        predicted[name] = (prediction.policy_name, list(prediction.probabilities))
    assert parsed["ours"] == parsed["dask"]
    assert parsed["ours"]["intent"]["name"]
    assert predicted["ours"] == predicted["dask"]


def test_an_input_named_like_a_node_is_refused(runners: Dict[str, Any]) -> None:
    metadata = runners["metadata"]
    with pytest.raises(GraphRunError, match="clashes with a node name"):
        runners["ours"].run(inputs={"x": metadata.nlu_target}, targets=[metadata.nlu_target])
