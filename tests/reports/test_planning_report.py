"""The planner's printed outputs: the selection under a budget and a project's impact, as
PDF (Spanish, read back with pdftotext) and HTML (English), on the tiny planning city.

Expected figures are worked out by hand from the city's table (tests/web/planning_city.py):
at 1,000,000 the best choice is P1 + P4 (375 + 369 = 744 points, 1,000,000 spent) and the
simple rule reaches 692.5; the barrios of P7 (under way since 2022) rose 6 points more than
the comparison ones.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from inclusive_cities.i18n import use_language
from inclusive_cities.planning import Constraints
from inclusive_cities.planning.impact import measure_impact
from inclusive_cities.planning.selection import prioritise
from inclusive_cities.reports.planning_report import impact_report, selection_document
from inclusive_cities.reports.render import to_html
from inclusive_cities.store import connect, models
from tests.web.planning_city import PlanningCity, build_planning_city


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> PlanningCity:
    return build_planning_city(tmp_path_factory.mktemp("planning-report"))


@pytest.fixture(scope="module")
def engine(city: PlanningCity) -> Engine:
    return connect(city.url)


@pytest.fixture(scope="module")
def plan(engine: Engine, city: PlanningCity) -> Any:
    return prioritise(
        engine, "PLN", city.run_id, Constraints(budget=1_000_000), robust_replicates=8
    )


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def pdf_text(path: Path) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def test_selection_report_in_spanish(engine: Engine, plan: Any) -> None:
    """As HTML, the same document the PDF is laid out from (the web test downloads the PDF)."""
    use_language("es")
    text = squash(to_html(selection_document(engine, "PLN", plan, "es")))
    assert "Priorización de inversiones" in text and "Villa Plan" in text
    # key figures: 2 of 6 chosen, 1.000.000 spent; P1 and P4 both reach B1, counted once:
    # B1 (800 host, 200 Venezuelan) and B5 (300, 300) are 1.600 people (1.100 host, 500)
    assert "2 de 6" in text and "$ 1.000.000" in text
    assert "1.600" in text
    assert "1.100 de acogida · 500 refugiadas y migrantes" in text
    assert "744,0" in text and "692,5" in text  # benefit and the simple rule's
    assert "Mejoramiento de vivienda La Esperanza (P1)" in text
    assert "¿Qué tan segura es la elección?" in text
    use_language("en")


def test_selection_report_in_english_as_html(engine: Engine, plan: Any) -> None:
    use_language("en")
    html = squash(to_html(selection_document(engine, "PLN", plan, "en")))
    assert "Investment prioritisation" in html
    assert "1,100 host · 500 refugees and migrants" in html  # B1 and B5, each once
    assert "Centro de integración (P4)" in html
    # the gap between the exact and the simple choice, by hand: (744 - 692.5) / 744 = 6.9 %
    assert "6.9%" in html
    assert "data:image/png;base64," in html  # map and curve are inline images


def test_impact_report_recovers_the_change(
    engine: Engine, city: PlanningCity, tmp_path: Path
) -> None:
    use_language("es")
    with Session(engine) as session:
        run = session.get(models.MarkerRun, city.run_id)
        assert run is not None
        level_id = run.level_id
    result = measure_impact(engine, "PLN", "marker", project="P7", spec="pln-test", level="barrio")
    assert result.estimate == pytest.approx(6.0)
    out = tmp_path / "impacto.pdf"
    impact_report(
        engine,
        "PLN",
        result,
        out,
        language="es",
        project={"code": "P7", "name": "Centro de integración, primera fase"},
        units=result.tables["units"],
        level_id=level_id,
        periods=["2020", "2024"],
        start_period="2024",
    )
    text = squash(pdf_text(out))
    assert "Impacto: Centro de integración" in text
    assert "Significativo" in text
    assert "6,0" in text
    # the p-value as the page and the command print it: never "0,000"
    expected_p = (
        "p < 0,001" if result.p_value < 0.001 else f"p = {result.p_value:.3f}".replace(".", ",")
    )
    assert expected_p in text and "p = 0,000" not in text
    use_language("en")
