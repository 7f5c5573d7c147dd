"""Shared fixtures: isolated settings per test, a fake embedder, the sample corpus."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "sample"
DOC_2024 = "cppcc-2024-consultation-review.txt"
DOC_2023 = "cppcc-2023-consensus-review.txt"

# No test may reach the hub; the offline path is the one under test.
os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture
def settings(tmp_path):
    """Settings whose index and uploads live in a temp folder (models stay in the shared user cache)."""
    from rag.settings import Settings

    return Settings(index_dir=tmp_path / "vectorstore", uploads_dir=tmp_path / "uploads")


@pytest.fixture
def fake_embedder():
    from tests.fakes import FakeEmbedder

    return FakeEmbedder()


@pytest.fixture
def corpus(tmp_path) -> Path:
    """A writable copy of the sample corpus."""
    target = tmp_path / "corpus"
    shutil.copytree(SAMPLE, target)
    return target


@pytest.fixture(scope="session")
def sample_index(tmp_path_factory):
    """Settings for an index of the sample corpus built once with the real embedding model."""
    from rag.index.ingestion import ingest
    from rag.settings import Settings

    base = tmp_path_factory.mktemp("sample-index")
    settings = Settings(index_dir=base / "vectorstore", uploads_dir=base / "uploads", backend="extractive")
    ingest([SAMPLE], settings=settings)
    return settings
