"""The UIM city report and the fact sheets (one page per neighbourhood)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from inclusive_cities import reports
from tests.reports.conftest import BARRIOS, build_city
from tests.reports.test_profile import pdf_pages, squash


def test_factsheets_one_page_per_unit(city_engine: Engine, tmp_path: Path) -> None:
    result = reports.factsheets(city_engine, "TST", "2024", tmp_path / "fichas.pdf", language="es")
    pages = pdf_pages(result.pdf)
    assert len(pages) == 1 + len(BARRIOS)  # the cover, then one page each
    for page, (code, (name, _parent, score, *_rest)) in zip(
        pages[1:], BARRIOS.items(), strict=True
    ):
        text = squash(page)
        assert name in text and f"{score:.1f}".replace(".", ",") in text and code in text
    # the unit's area scores next to the city mean: VIV of B1 = 70, mean of VIV = 49.2
    assert "70,0 49,2 20,8" in squash(pages[1])


def test_marker_report(city_engine: Engine, tmp_path: Path) -> None:
    result = reports.marker_report(city_engine, "TST", "2024", tmp_path / "uim.pdf", language="en")
    text = squash(" ".join(pdf_pages(result.pdf)))
    assert "Urban Inclusion Marker: city report" in text
    assert "The city scores 52.3 out of 100" in text
    assert "1 La Esperanza (B1) 72.4 Solid" in text
    assert result.annex is not None and result.annex.exists()


def test_marker_report_without_run(tmp_path: Path) -> None:
    engine = build_city(f"sqlite:///{tmp_path / 'db.sqlite'}", with_marker=False, synthetic=False)
    html = reports.render_marker_html(engine, "TST", "2024", language="en")
    assert "has not been computed for Villa Prueba in period 2024" in html
    assert "SYNTHETIC DEMO DATA" not in html


def test_city_means_are_population_weighted(tmp_path: Path) -> None:
    population = {"B1": 100, "B2": 100, "B3": 100, "B4": 100, "B5": 100, "B6": 500}
    engine = build_city(f"sqlite:///{tmp_path / 'db.sqlite'}", population=population)
    html = reports.render_factsheets_html(engine, "TST", "2024", language="en", units=["B1"])
    # VIV: (70 + 60 + 52 + 45 + 35) * 100 + 33 * 500 = 42,700 over 1,000 persons = 42.7
    assert "<td class='num'>42.7</td>" in html
    assert "<td class='num'>49.2</td>" not in html  # the unweighted mean
