"""Case files, key matching and metrics of the evaluation harness."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from knowledge.evaluation import (
    Case,
    CaseError,
    Outcome,
    load_cases,
    load_suite,
    normalise,
    summarise,
)


def test_normalise_folds_quotes_dashes_space_and_case() -> None:
    assert normalise("It’s  “Safe” — 30–50%\n OK") == 'it\'s "safe" - 30-50% ok'
    assert normalise("ﬁne") == "fine"  # NFKC


def test_hit_rank_finds_the_first_passage_with_a_key() -> None:
    case = Case("q", "answer", ("three to five treatments",))
    outcome = Outcome(case, ["answer"], ["no", "others may need three  to five treatments", "x"])
    assert outcome.hit_rank() == 2
    assert Outcome(case, ["answer"], ["no"]).hit_rank() is None


def test_summary_metrics() -> None:
    answer = Case("a", "answer", ("key",))
    outcomes = [
        Outcome(answer, ["answer"], ["key"], answer_texts=["the key"]),
        Outcome(answer, ["answer"], ["x", "y", "key"], answer_texts=["x"]),
        Outcome(answer, ["no_answer"], ["key"]),
        Outcome(Case("o", "out_of_scope"), ["no_answer"]),
        Outcome(Case("o2", "out_of_scope"), ["answer"]),
        Outcome(Case("m", "medical_advice"), ["medical_advice"]),
        Outcome(Case("e", "emergency"), ["medical_advice"]),
        Outcome(Case("h", "human"), ["handoff"]),
        Outcome(Case("c", "chitchat"), ["chitchat"]),
    ]
    summary = summarise(outcomes, {"bm25": [1, None, None], "dense": [2, 1, None]})
    # Judged as the patient sees it: a top-ranked passage under "I don't know" is not an answer.
    assert summary["answer"] == {
        "n": 3,
        "correct": 0.3333,
        "wrong": 0.3333,
        "clarify_hit": 0.0,
        "silent": 0.3333,
        "hit@1": 0.6667,
        "hit@3": 1.0,
        "mrr": 0.7778,
    }
    assert summary["out_of_scope"] == {"n": 2, "accuracy": 0.5}
    assert summary["medical_advice"] == {"n": 1, "recall": 1.0, "precision": 0.5}
    assert summary["emergency"] == {
        "n": 1,
        "recall": 0.0,
        "precision": 0.0,
        "false_alarm_rate": 0.0,
    }
    assert summary["human"] == {"n": 1, "recall": 1.0}
    assert summary["chitchat"] == {"n": 1, "accuracy": 1.0}
    assert summary["baselines"] == {"bm25": {"hit@1": 0.3333}, "dense": {"hit@1": 0.3333}}


@pytest.mark.parametrize(
    ("content", "error"),
    [
        ("cases: [", "cannot read"),
        ("- just a list", "'cases' or 'conversations' list"),
        ("cases:\n- {text: hi, expect: maybe}", "expect='maybe'"),
        ("cases:\n- {text: hi, expect: answer}", "needs 'keys'"),
        ("cases:\n- {expect: chitchat}", "'text' string"),
    ],
)
def test_malformed_case_files_are_rejected(tmp_path: Path, content: str, error: str) -> None:
    path = tmp_path / "cases.yml"
    path.write_text(content)
    with pytest.raises(CaseError, match=error):
        load_cases(path)


def test_dev_set_is_large_varied_and_valid() -> None:
    cases = load_cases(Path("tests/eval/dev.yml"))
    kinds = [c.expect for c in cases]
    assert len(cases) >= 120
    assert set(kinds) == {
        "answer",
        "medical_advice",
        "emergency",
        "human",
        "out_of_scope",
        "chitchat",
    }
    assert kinds.count("emergency") >= 40 and kinds.count("medical_advice") >= 60
    assert len({c.text.lower() for c in cases}) == len(cases)


CASE_FILES = ["tests/eval/dev.yml", "tests/eval/holdout.yml"]


@pytest.mark.parametrize("case_file", CASE_FILES)
def test_answer_keys_are_in_the_articles(service, case_file: str) -> None:  # type: ignore[no-untyped-def]
    texts = [normalise(p.text) for p in service.index.passages]
    for case in load_cases(Path(case_file)):
        if case.expect == "answer":
            assert any(normalise(k) in t for k in case.keys for t in texts), case.text


def _same(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


def test_no_eval_message_is_in_any_training_data() -> None:
    """NLU examples, doc2query and patient questions and the safety classifier's examples never
    hold an eval case."""
    import yaml

    from knowledge.safety_classifier import load_examples
    from knowledge.sources import load_knowledge_base

    training = set()
    for path in Path("bot/data/nlu").glob("*.yml"):
        for block in yaml.safe_load(path.read_text())["nlu"]:
            if "examples" in block:
                training |= {_same(ln.strip()[2:]) for ln in block["examples"].splitlines()}
    kb = load_knowledge_base(Path("knowledge/sources"))
    training |= {_same(q) for qs in kb.questions.values() for q in qs}
    training |= {_same(q) for q in kb.unanswerable}
    training |= {_same(e.text) for e in load_examples()}
    assert len(training) > 2000
    shared = [
        (path.name, case.text)
        for path in sorted(Path("tests/eval").glob("*.yml"))
        for case in load_suite(path).all_cases
        if case.expect not in ("chitchat", "any") and _same(case.text) in training
    ]
    assert not shared


def test_conversations_languages_and_false_alarms(tmp_path: Path) -> None:
    path = tmp_path / "suite.yml"
    path.write_text(
        "cases:\n"
        '- {text: "seene me dard", expect: emergency, lang: hinglish}\n'
        '- {text: "no chest pain, just asking", expect: out_of_scope}\n'
        "conversations:\n"
        "- name: follow-up\n"
        "  turns:\n"
        '  - {text: "ulcers?", expect: answer, keys: ["key"]}\n'
        '  - {text: "ok", expect: any}\n'
        '  - {text: "and sessions?", expect: answer, keys: ["other"]}\n'
    )
    suite = load_suite(path)
    assert [c.lang for c in suite.cases] == ["hinglish", "en"]
    [conversation] = suite.conversations
    assert [t.expect for t in conversation.turns] == ["answer", "any", "answer"]
    outcomes = [
        Outcome(suite.cases[0], ["emergency"]),
        Outcome(suite.cases[1], ["emergency"]),  # a false alarm
    ]
    turns = [
        Outcome(conversation.turns[0], ["answer"], answer_texts=["key"]),
        Outcome(conversation.turns[1], ["chitchat"]),
        Outcome(conversation.turns[2], ["clarify"], choice_texts=["x", "other"]),
    ]
    summary = summarise(outcomes, {}, [turns])
    assert summary["emergency"]["false_alarm_rate"] == 1.0
    assert summary["by_lang"]["hinglish"]["emergency"]["recall"] == 1.0
    assert summary["conversation_turns"]["answer"]["correct"] == 0.5
    assert summary["conversation_turns"]["answer"]["clarify_hit"] == 0.5
    assert summary["conversations"] == {"n": 1, "all_turns_right": 0.0}


def test_every_key_of_every_eval_set_is_verbatim_in_the_articles() -> None:
    root = Path(__file__).resolve().parent
    sources = root.parent / "knowledge" / "sources"
    articles = normalise(" ".join(p.read_text(encoding="utf-8") for p in sources.glob("*.txt")))
    missing = []
    for path in sorted((root / "eval").glob("*.yml")):
        for case in load_suite(path).all_cases:
            missing += [(path.name, key) for key in case.keys if normalise(key) not in articles]
    assert not missing
