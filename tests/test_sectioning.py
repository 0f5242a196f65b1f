"""Sectioning of the real articles."""

from __future__ import annotations

import dataclasses

from knowledge.sectioning import (
    MAX_PASSAGE_WORDS,
    is_heading,
    section_article,
    section_knowledge_base,
    split_sentences,
)
from knowledge.sources import KnowledgeBase


def test_every_article_yields_passages_of_bounded_size(kb: KnowledgeBase) -> None:
    passages = section_knowledge_base(kb)
    assert {p.doc for p in passages} == {a.slug for a in kb.articles}
    assert 40 <= len(passages) <= 80
    for p in passages:
        words = len(p.text.split())
        assert 5 <= words <= MAX_PASSAGE_WORDS + 40, (p.citation, words)


def test_passages_are_verbatim_lines_of_their_article(kb: KnowledgeBase) -> None:
    for article in kb.articles:
        lines = {ln.strip() for ln in article.text.splitlines()}
        for p in section_article(article, kb.boilerplate):
            for line in p.text.split("\n"):
                assert line in lines, (p.citation, line)


def test_boilerplate_is_dropped(kb: KnowledgeBase) -> None:
    texts = [p.text for p in section_knowledge_base(kb)]
    assert not any(line == "Menu" for t in texts for line in t.split("\n"))
    foot = kb.by_slug("exosomes-diabetic-foot-ulcers")
    assert foot.text.rstrip().endswith("Menu")  # the source still has it


def test_each_faq_question_is_its_own_passage(kb: KnowledgeBase) -> None:
    foot = section_article(kb.by_slug("exosomes-diabetic-foot-ulcers"), kb.boilerplate)
    faq = [p for p in foot if p.heading_path[:1] == ("Frequently Asked Questions",)]
    assert [p.section for p in faq] == [
        "Is Exosome Therapy Safe?",
        "How Much Does It Cost?",
        "How Many Sessions Are Typically Required?",
    ]
    assert all(p.kind == "faq" for p in faq)
    sessions = faq[2]
    assert "three to five treatments" in sessions.text
    assert sessions.citation == (
        "Exosome Therapy for Diabetic Foot Ulcers › How Many Sessions Are Typically Required?"
    )


def test_condition_sections_keep_their_heading_path(kb: KnowledgeBase) -> None:
    neuro = section_article(kb.by_slug("exosomes-diabetic-neuropathy"), kb.boilerplate)
    symptoms = [p for p in neuro if p.section == "Symptoms and Progression"]
    assert len(symptoms) == 1
    assert "- Tingling or burning sensations" in symptoms[0].text  # list kept with its lead-in
    foot = section_article(kb.by_slug("exosomes-diabetic-foot-ulcers"), kb.boilerplate)
    debridement = next(p for p in foot if p.section == "Topical Medications and Debridement")
    assert debridement.heading_path == (
        "Conventional Treatment Approaches and Their Limitations",
        "Topical Medications and Debridement",
    )


def test_editorial_headings_label_the_headless_faq(kb: KnowledgeBase) -> None:
    general = section_article(kb.by_slug("exosome-therapy-faq"), kb.boilerplate)
    sections = [p.section for p in general]
    assert "Does exosome therapy have side effects?" in sections
    side = next(p for p in general if p.section == "Does exosome therapy have side effects?")
    assert side.text.startswith("When applied under sterile conditions")


def test_ids_are_stable_and_unique(kb: KnowledgeBase) -> None:
    first = [p.id for p in section_knowledge_base(kb)]
    second = [p.id for p in section_knowledge_base(kb)]
    assert first == second
    assert len(set(first)) == len(first)


def test_an_edit_changes_only_the_ids_of_edited_passages(kb: KnowledgeBase) -> None:
    article = kb.by_slug("exosomes-diabetic-neuropathy")
    edited = dataclasses.replace(
        article, text=article.text.replace("Muscle weakness", "Muscle weakness or cramps")
    )
    before = {p.id for p in section_article(article)}
    after = {p.id for p in section_article(edited)}
    assert len(before - after) == 1
    assert len(before & after) == len(before) - 1


def test_heading_detection() -> None:
    assert is_heading("Frequently Asked Questions")
    assert is_heading("How Much Does It Cost?")
    assert not is_heading("The cost of exosome therapy varies depending on:")
    assert not is_heading("- Muscle weakness")
    assert not is_heading("Exosome therapy is safe.")


def test_sentences_split_on_sentence_ends_only() -> None:
    text = "Yes, it is safe. Dr. visits vary.\n• A list item"
    assert split_sentences(text) == ["Yes, it is safe.", "Dr. visits vary.", "• A list item"]
