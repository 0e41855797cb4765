"""What a reader sees in Chromium: rank intervals among published units, and the city card's
count of units with a published index, in Spanish and English.

The city RKI of tests/disclosure/test_served_rank_intervals.py: six blocks whose every Monte
Carlo run keeps one order (U1 best ... U6), U2 and U4 withheld. Published ranks and intervals,
by hand: U1 1 (1–1), U3 2 (2–2), U5 3 (3–3), U6 4 (4–4). Before publish computes them the
pages show no interval and say why; after, never one that leaves out the rank beside it.
Screenshots go to test-artifacts/web/rank-intervals-*.png.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext

from inclusive_cities.disclosure.rank_intervals import store_city_rank_intervals
from inclusive_cities.store import init_database
from inclusive_cities.web import create_app
from tests.disclosure.test_served_rank_intervals import SMALL, VALUES, City, build
from tests.web.browser import browser_context, checked_page, shot
from tests.web.live import thread_server


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Iterator[City]:
    folder = tmp_path_factory.mktemp("data")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("INCLUSIVE_CITIES_DATA_DIR", str(folder))
        yield build(tmp_path_factory.mktemp("rki"), VALUES, SMALL)


@pytest.fixture(scope="module")
def server(city: City) -> Iterator[str]:
    with thread_server(create_app(city.url)) as base:
        yield base


@pytest.fixture(scope="module")
def context() -> Iterator[BrowserContext]:
    with browser_context() as context:
        yield context


def rank_cells(context: BrowserContext, url: str, name: str) -> tuple[list[str], str]:
    """The rank column of the rankings table (rank and interval) and the page's note."""
    with checked_page(context) as page:
        page.goto(url)
        cells = [
            c.strip()
            for c in page.locator("#rankings tbody tr td.num:first-child").all_inner_texts()
        ]
        note = page.locator("#interval-note").all_inner_texts()
        shot(page, name)
    return cells, " ".join(note)


def test_rankings_unit_and_city_pages_in_both_languages(
    context: BrowserContext, server: str, city: City, tmp_path: Path
) -> None:
    cells, note = rank_cells(
        context, server + "/cities/RKI/rankings?period=2024&lang=es", "rank-intervals-pending-es"
    )
    assert cells == ["1", "2", "3", "4", "—", "—"]  # no interval counting withheld blocks
    assert "2 de ellas reservadas por confidencialidad" in note
    store_city_rank_intervals(init_database(city.url), "RKI")
    for lang in ("es", "en"):
        cells, note = rank_cells(
            context,
            server + f"/cities/RKI/rankings?period=2024&lang={lang}",
            f"rank-intervals-rankings-{lang}",
        )
        assert cells == ["1 (1–1)", "2 (2–2)", "3 (3–3)", "4 (4–4)", "—", "—"]
        assert note == ""
    with checked_page(context) as page:
        page.goto(server + "/cities/RKI/units/U5?period=2024&lang=es")
        card = page.locator(".score-card").inner_text()
        shot(page, "rank-intervals-unit-es")
        page.goto(server + "/cities/RKI?period=2024&lang=en")
        figures = page.locator("dl.figures").inner_text()
        shot(page, "rank-intervals-city-en")
        page.goto(server + "/cities/RKI?period=2024&lang=es")
        cifras = page.locator("dl.figures").inner_text()
    assert "Posición 3 de 4 unidades" in card
    assert "posición entre 3 y 3 en el 90 %" in card
    assert "Spatial units with a published index\n4 of 6" in figures
    assert "Unidades espaciales con índice publicado\n4 de 6" in cifras
