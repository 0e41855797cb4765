"""Beside the evidence, a linked node is called what it is in the marker: SAL is an area,
S_PRO ("Proximidad", like S_AMB "Exposición a factores ambientales") a dimension of it. The
governance page and report called every linked node "(área)".

City TST and its published run come from the web tests' fixture (areas VIV, SAL, … with
dimensions V_CAL, S_PRO, …); the framework is the report tests' ``gov-tiny`` with the
RIGHTS domain linked to SAL and S_PRO.
"""

from __future__ import annotations

from collections.abc import Iterator

import lxml.html
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from inclusive_cities.governance import import_assessment, load_framework
from inclusive_cities.reports import governance_report as gr
from inclusive_cities.store import init_database
from inclusive_cities.web import create_app
from tests.reports.governance_city import ANSWERS, FRAMEWORK, fill_template
from tests.web.conftest import City, build_city, specs

LINKS = "links: {areas: [SAL], indicators: [piped_water]}"


@pytest.fixture(scope="module")
def governed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[City, Engine]]:
    folder = tmp_path_factory.mktemp("evidence-kinds")
    city = build_city(f"sqlite:///{folder / 'gov.db'}")
    engine = init_database(city.url)
    assert LINKS in FRAMEWORK
    path = folder / "gov-tiny.yaml"
    path.write_text(
        FRAMEWORK.replace(LINKS, "links: {areas: [SAL, S_PRO], indicators: [piped_water]}"),
        encoding="utf-8",
    )
    framework = load_framework(path)
    book = fill_template(framework, "es", folder / "tst.xlsx", "2024-03-15", ANSWERS["TST-2024"])
    import_assessment(engine, book, framework=framework, city="TST")
    yield city, engine


def test_a_linked_dimension_is_not_called_an_area(governed: tuple[City, Engine]) -> None:
    _city, engine = governed
    view = gr.governance_view(engine, "TST", "es")
    rights = next(group for group in view.evidence if group.domain == "RIGHTS")
    assert {item.code: item.kind for item in rights.items} == {
        "SAL": "area",
        "S_PRO": "dimension",
        "piped_water": "indicator",
    }
    html = lxml.html.fromstring(gr.render_governance_html(engine, "TST", "es"))
    rows = [[c.text_content().strip() for c in row] for row in html.iter("tr")]
    kinds = {row[2]: row[3] for row in rows if len(row) == 5 and row[0].startswith("Derechos")}
    assert sorted(kinds.values()) == ["Dimensión", "Indicador", "Área"], rows


def test_the_page_says_dimension_in_both_languages(governed: tuple[City, Engine]) -> None:
    city, _engine = governed
    with TestClient(create_app(city.url, specs=specs)) as client:
        for lang, area, dimension, indicator in (
            ("es", "área", "dimensión", "indicador"),
            ("en", "area", "dimension", "indicator"),
        ):
            page = lxml.html.fromstring(client.get(f"/cities/TST/governance?lang={lang}").text)
            card = page.xpath("//div[@data-domain='RIGHTS']")[0]
            labels = {
                li.get("data-node"): li.xpath(".//span[@class='muted']")[0].text_content()
                for li in card.xpath(".//li[@data-node]")
            }
            assert labels == {
                "SAL": f"({area})",
                "S_PRO": f"({dimension})",
                "piped_water": f"({indicator})",
            }
