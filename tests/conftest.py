"""Shared fixtures: databases on both engines, built fresh for each test.

``db_url`` runs a test twice: on an SQLite file and on a fresh database of a throwaway
PostgreSQL 15 cluster that the suite starts itself (marker ``postgres``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from inclusive_cities.i18n import use_language
from tests.postgres_cluster import ThrowawayPostgres


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[ThrowawayPostgres]:
    server = ThrowawayPostgres().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres_server: ThrowawayPostgres) -> str:
    return postgres_server.create_database()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'observatory.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL for an empty database, once per engine."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'observatory.db'}"
    server: ThrowawayPostgres = request.getfixturevalue("postgres_server")
    return server.create_database()


@pytest.fixture(autouse=True)
def english_by_default(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Tests read messages in English unless they ask for Spanish."""
    monkeypatch.setenv("INCLUSIVE_CITIES_LANG", "en")
    use_language("en")
    yield
    use_language("en")
