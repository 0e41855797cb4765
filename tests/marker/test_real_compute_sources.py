"""The goalposts' sources of the built-in specs read in Spanish on the Spanish pages.

Before, /methodology in Spanish showed "SDG 11.1.1 sufficient living space …" from the spec
YAML. Every built-in source is now in the catalogue; a city's own spec keeps its own text.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from inclusive_cities.i18n import catalogue, use_language
from inclusive_cities.marker import builtin_specs, load_spec
from inclusive_cities.specview import marker_engine_specs
from inclusive_cities.store import init_database
from inclusive_cities.web import create_app


def _sources() -> set[str]:
    found: set[str] = set()
    for name in builtin_specs():
        spec = load_spec(name)
        for item in spec.indicators():
            source = getattr(spec.normalisation_for(item), "source", "")
            if source:
                found.add(source)
    return found


def test_every_builtin_goalpost_source_has_spanish() -> None:
    spanish = catalogue("es")
    sources = _sources()
    assert len(sources) > 30
    missing = sorted(s for s in sources if not spanish.get(s) or spanish[s] == s)
    assert missing == []
    # the SDG numbers and figures survive translation
    text = "SDG 11.1.1 sufficient living space (UN-Habitat: no more than 3 persons per room); "
    assert spanish[text + "target 0%. Upper bound 50% is a project choice."].startswith(
        "ODS 11.1.1 espacio vital suficiente"
    )


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    url = f"sqlite:///{Path(tmp_path_factory.mktemp('sources')) / 'm.db'}"
    init_database(url).dispose()
    with TestClient(create_app(url, specs=marker_engine_specs)) as test_client:
        yield test_client
    use_language("es")


def test_methodology_page_shows_sources_in_the_readers_language(client: TestClient) -> None:
    spanish = client.get("/methodology?spec=uim-basic&lang=es").text
    english = client.get("/methodology?spec=uim-basic&lang=en").text
    assert "ODS 6.1.1 acceso universal a agua potable segura; meta 100 %." in spanish
    assert "SDG 6.1.1 universal access to safe drinking water" not in spanish
    assert "SDG 6.1.1 universal access to safe drinking water; target 100%." in english
