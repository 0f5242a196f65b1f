"""The knowledge base catalog and the configuration object."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from knowledge.config import ConfigError, Settings
from knowledge.sectioning import section_knowledge_base
from knowledge.sources import CONDITIONS, KnowledgeBase, SourceError, load_knowledge_base


def test_catalog_lists_the_five_articles_with_metadata(kb: KnowledgeBase) -> None:
    assert len(kb.articles) == 5
    assert {a.condition for a in kb.articles} == set(CONDITIONS)
    for article in kb.articles:
        assert article.title and article.slug and article.last_reviewed.year >= 2026
        assert len(article.text) > 1000


def test_articles_are_verbatim_copies_of_the_seeds(kb: KnowledgeBase) -> None:
    seeds = Path(__file__).resolve().parents[2] / "shared" / "seeds"
    if not seeds.is_dir():
        pytest.skip("shared/seeds is not beside this checkout")
    import yaml

    catalog = yaml.safe_load((Path("knowledge/sources/catalog.yml")).read_text())
    for entry in catalog["articles"]:
        seed = (seeds / entry["origin"]).read_text(encoding="utf-8")
        assert kb.by_slug(entry["slug"]).text == seed


def test_every_question_names_an_existing_passage(kb: KnowledgeBase) -> None:
    ids = {p.id for p in section_knowledge_base(kb)}
    assert kb.questions, "questions.yml is empty"
    assert set(kb.questions) <= ids
    assert sum(len(q) for q in kb.questions.values()) >= 5 * len(ids)


def _copy_sources(tmp_path: Path) -> Path:
    folder = tmp_path / "sources"
    shutil.copytree(Settings().sources_dir, folder)
    return folder


def test_missing_article_file_is_a_clear_error(tmp_path: Path) -> None:
    folder = _copy_sources(tmp_path)
    (folder / "exosomes-type-1-diabetes.txt").unlink()
    with pytest.raises(SourceError, match="exosomes-type-1-diabetes.txt not found"):
        load_knowledge_base(folder)


def test_unknown_condition_is_a_clear_error(tmp_path: Path) -> None:
    folder = _copy_sources(tmp_path)
    catalog = folder / "catalog.yml"
    catalog.write_text(catalog.read_text().replace("condition: neuropathy", "condition: gout"))
    with pytest.raises(SourceError, match="condition 'gout'"):
        load_knowledge_base(folder)


def test_malformed_catalog_is_a_clear_error(tmp_path: Path) -> None:
    folder = _copy_sources(tmp_path)
    (folder / "catalog.yml").write_text("articles: [unclosed")
    with pytest.raises(SourceError, match="not valid YAML"):
        load_knowledge_base(folder)


def test_settings_defaults_and_overrides() -> None:
    default = Settings.from_env({})
    assert default.answer_threshold == Settings.answer_threshold
    assert default.index_dir.name == "index"
    custom = Settings.from_env(
        {
            "FAQBOT_ANSWER_THRESHOLD": "0.5",
            "FAQBOT_TOP_K": "3",
            "FAQBOT_INDEX_DIR": "/srv/faq-index",
        }
    )
    assert custom.answer_threshold == 0.5
    assert custom.top_k == 3
    assert custom.index_dir == Path("/srv/faq-index")


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("FAQBOT_ANSWER_THRESHOLD", "high", "must be a number"),
        ("FAQBOT_ANSWER_THRESHOLD", "1.5", "between 0.0 and 1.0"),
        ("FAQBOT_TOP_K", "0", "between 1 and 50"),
        ("FAQBOT_TOP_K", "2.5", "whole number"),
    ],
)
def test_bad_settings_are_rejected(name: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.from_env({name: value})


def test_emergency_reply_defaults_match_the_configuration_defaults() -> None:
    import yaml

    domain = yaml.safe_load(Path("bot/domain.yml").read_text(encoding="utf-8"))
    slots = domain["slots"]
    assert slots["emergency_numbers"]["initial_value"] == Settings().emergency_numbers
    assert slots["crisis_lines"]["initial_value"] == Settings().crisis_lines


def test_handoff_and_notification_settings_are_read_and_checked() -> None:
    settings = Settings.from_env(
        {
            "DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/faqbot",
            "FAQBOT_SMTP_HOST": "mail.clinic.example",
            "FAQBOT_SMTP_TO": "desk@clinic.example, nurse@clinic.example",
            "FAQBOT_SMTP_STARTTLS": "yes",
            "FAQBOT_DISCLAIMER": "",
            "FAQBOT_PHONE_REGION": "gb",
        }
    )
    assert settings.database_url.startswith("postgresql://")
    assert settings.smtp_to == ("desk@clinic.example", "nurse@clinic.example")
    assert settings.smtp_starttls is True
    assert settings.disclaimer == "", "an empty FAQBOT_DISCLAIMER switches it off"
    assert settings.phone_region == "GB"
    assert Settings.from_env({}).database_url.startswith("sqlite:///")
    with pytest.raises(ConfigError, match="FAQBOT_SMTP_TO"):
        Settings.from_env({"FAQBOT_SMTP_HOST": "mail.clinic.example"})
    with pytest.raises(ConfigError, match="FAQBOT_SMTP_STARTTLS"):
        Settings.from_env({"FAQBOT_SMTP_STARTTLS": "maybe"})
    with pytest.raises(ConfigError, match="FAQBOT_WEBHOOK_URL"):
        Settings.from_env({"FAQBOT_WEBHOOK_URL": "ftp://x"})
