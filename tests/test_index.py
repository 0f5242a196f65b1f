"""Building, saving, loading and invalidating the knowledge index."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest

from knowledge import answerability_training
from knowledge.answerability import RECORD_FILE
from knowledge.config import Settings
from knowledge.embedding import Embedder
from knowledge.index import MANIFEST, PASSAGES, IndexNotReady, build_index, load_index, staleness


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Settings:
    root = tmp_path_factory.mktemp("kb")
    shutil.copytree(Settings().sources_dir, root / "sources")
    settings = dataclasses.replace(
        Settings(), sources_dir=root / "sources", index_dir=root / "index"
    )
    messages: list = []
    build_index(settings, embedder, progress=messages.append)
    assert any("passages" in m for m in messages)
    assert staleness(settings) == "answerability.npz is missing"
    answerability_training.build(settings, embedder, progress=messages.append)
    assert any("fold 5/5" in m for m in messages)  # the build shows its progress
    return settings


def test_an_index_with_its_judge_is_up_to_date(built: Settings) -> None:
    assert staleness(built) is None


def test_a_judge_trained_for_another_index_is_stale(built: Settings, tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    shutil.copytree(built.index_dir, index_dir)
    record = json.loads((index_dir / RECORD_FILE).read_text())
    record["index_built_at"] = "2020-01-01T00:00:00+00:00"
    (index_dir / RECORD_FILE).write_text(json.dumps(record))
    moved = dataclasses.replace(built, index_dir=index_dir)
    assert staleness(moved) == "answerability.npz was trained for another index"
    record["version"] = "0"
    (index_dir / RECORD_FILE).write_text(json.dumps(record))
    assert staleness(moved) == "the answerability judge changed"


def test_fresh_index_has_a_complete_manifest(built: Settings) -> None:
    assert staleness(built) is None
    manifest = json.loads((built.index_dir / MANIFEST).read_text())
    assert manifest["model_name"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert manifest["passage_count"] == len(load_index(built.index_dir).passages)
    assert set(manifest["sources"]) >= {"exosomes-diabetic-foot-ulcers", "_questions"}


def test_loaded_vectors_are_normalised(built: Settings) -> None:
    index = load_index(built.index_dir)
    assert index.dense.ntotal == len(index.passages)
    vector = index.dense.reconstruct(0)
    assert abs(float((vector**2).sum()) - 1.0) < 1e-4
    assert len(index.questions) == len(index.question_vectors) > 0


def test_changed_source_makes_the_index_stale(built: Settings, tmp_path: Path) -> None:
    sources = tmp_path / "sources"
    shutil.copytree(built.sources_dir, sources)
    article = sources / "exosomes-diabetic-nephropathy.txt"
    article.write_text(article.read_text() + "\nA new paragraph about kidneys.\n")
    changed = dataclasses.replace(built, sources_dir=sources)
    assert staleness(changed) == "sources changed"


def test_changed_model_makes_the_index_stale(built: Settings, tmp_path: Path) -> None:
    manifest = json.loads((built.index_dir / MANIFEST).read_text())
    index_dir = tmp_path / "index"
    shutil.copytree(built.index_dir, index_dir)
    manifest["model_fingerprint"] = "another-model"
    (index_dir / MANIFEST).write_text(json.dumps(manifest))
    assert staleness(dataclasses.replace(built, index_dir=index_dir)) == "model_fingerprint changed"


def test_missing_index_is_stale_and_not_loadable(tmp_path: Path) -> None:
    settings = dataclasses.replace(Settings(), index_dir=tmp_path / "none")
    assert "no index" in (staleness(settings) or "")
    with pytest.raises(IndexNotReady, match="make index"):
        load_index(settings.index_dir)


def test_inconsistent_index_is_refused(built: Settings, tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    shutil.copytree(built.index_dir, index_dir)
    payload = json.loads((index_dir / PASSAGES).read_text())
    payload["passages"] = payload["passages"][:-1]
    (index_dir / PASSAGES).write_text(json.dumps(payload))
    with pytest.raises(IndexNotReady, match="inconsistent"):
        load_index(index_dir)
