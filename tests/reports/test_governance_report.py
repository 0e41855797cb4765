"""The migration-governance reading and report ("Evaluación de la gobernanza migratoria"):
scores, local against national, changes, the evidence beside each domain, HTML and PDF.

Expected values are worked out by hand in ``tests/reports/governance_city.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from inclusive_cities.cli import main
from inclusive_cities.i18n import use_language
from inclusive_cities.reports import ReportError
from inclusive_cities.reports import governance_report as gr
from inclusive_cities.store import init_database, models, transaction
from tests.reports.governance_city import EVIDENCE, EXPECTED, LEVELS, Governance, add_governance
from tests.web.conftest import City, build_city


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[City, Engine, Governance]]:
    folder = tmp_path_factory.mktemp("governance-report")
    city = build_city(f"sqlite:///{folder / 'gov.db'}")
    engine = init_database(city.url)
    governance = add_governance(engine, folder)
    yield city, engine, governance
    use_language("es")


def test_scores_comparison_and_changes(setup: tuple[City, Engine, Governance]) -> None:
    _city, engine, governance = setup
    view = gr.governance_view(engine, "TST", "es")
    assert view.local.info.id == governance.ids["TST-2024"]
    assert view.local.overall == pytest.approx(EXPECTED["TST-2024"]["overall"])
    assert view.national.overall == pytest.approx(EXPECTED["COL-2024"]["overall"])
    assert view.previous.overall == pytest.approx(EXPECTED["TST-2022"]["overall"])
    for domain in view.local.domains:
        assert domain.score == pytest.approx(EXPECTED["TST-2024"][domain.code])
    rows = {row["code"]: row for row in gr.question_rows(view, "es")}
    assert {code: row["status"] for code, row in rows.items()} == LEVELS
    assert (rows["R1"]["local"], rows["R1"]["national"], rows["R1"]["previous"]) == (
        "Sí",
        "Parcialmente",
        "No",
    )
    assert rows["R2"]["local"] == "3 / 4"
    assert rows["R1"]["evidence_text"] == "Decreto 123 de 2023"
    # 2022 -> 2024: RIGHTS 12.5 -> 87.5, WHOLE_GOV 0 -> 62.5, PARTNERS 100 -> 50
    changes = {d.code: d.status for d in view.changes.domains}
    assert changes == {"RIGHTS": "improved", "WHOLE_GOV": "improved", "PARTNERS": "worsened"}
    # the older assessment chosen by id has no previous one and compares with the same country
    older = gr.governance_view(engine, "TST", "es", governance.ids["TST-2022"])
    assert older.changes is None and older.local.overall == pytest.approx(37.5)
    with pytest.raises(ReportError, match=str(governance.ids["COL-2024"])):
        gr.governance_view(engine, "TST", "es", governance.ids["COL-2024"])


def test_evidence_comes_from_the_published_run_only(setup: tuple[City, Engine, Governance]) -> None:
    city, engine, _governance = setup
    view = gr.governance_view(engine, "TST", "en")
    assert view.evidence_source is not None
    assert view.evidence_source.run_id == city.run_2024  # not the newer unpublished draft
    found = {item.code: item.score for group in view.evidence for item in group.items}
    assert found == pytest.approx(EVIDENCE)
    names = {item.code: item.name for group in view.evidence for item in group.items}
    assert names["piped_water"] == "Piped water"
    partners = next(group for group in view.evidence if group.domain == "PARTNERS")
    assert partners.items == []


def test_radar_leaves_out_missing_scores() -> None:
    chart = gr.radar_chart(
        [("A", 50.0, 100.0), ("B", None, 20.0), ("C", 80.0, None), ("D", None, None)],
        ("city", "country"),
        "t",
    )
    assert chart is not None
    layers = chart.to_dict()["layer"]
    points = next(
        layer
        for layer in layers
        if layer["mark"]["type"] == "line" and "color" in layer["encoding"]
    )
    data = chart.to_dict()["datasets"][points["data"]["name"]]
    city = [p for p in data if p["series"] == "city"]
    country = [p for p in data if p["series"] == "country"]
    # three spokes (D has no score anywhere); the city has A and C, closed back to A
    assert [p["domain"] for p in city] == ["A", "C", "A"]
    assert [p["domain"] for p in country] == ["A", "B", "A"]
    # A sits on the top spoke: x = 0, y = score; C is on the third spoke of three (240°)
    assert city[0]["x"] == pytest.approx(0.0) and city[0]["y"] == pytest.approx(50.0)
    assert city[1]["x"] == pytest.approx(-80 * 3**0.5 / 2) and city[1]["y"] == pytest.approx(-40.0)
    assert gr.radar_chart([("A", 1.0, 1.0), ("B", 2.0, 2.0)], ("c", "n"), "t") is None


def test_only_web_addresses_become_links() -> None:
    assert gr.safe_link(" https://example.org/a ") == "https://example.org/a"
    assert gr.safe_link("HTTP://example.org") == "HTTP://example.org"
    for unsafe in ("javascript:alert(1)", "data:text/html,x", "//evil.example", "acta.pdf", ""):
        assert gr.safe_link(unsafe) is None


def test_report_html_in_both_languages(
    setup: tuple[City, Engine, Governance], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Python and the command line; the PDF is the same HTML laid out by WeasyPrint (the web
    test downloads it)."""
    city, engine, _governance = setup
    html = gr.render_governance_html(engine, "TST", "en")
    assert "Migration governance assessment" in html
    assert "Colombia" in html and "87.5" in html and "66.7" in html
    assert "data:image/png;base64," in html  # the radar, inline
    assert "javascript:" not in html
    out = tmp_path / "gobernanza.html"
    command = ["report", "governance", "--city", "TST", "--out", str(out)]
    main(["--lang", "es", "--database", city.url, *command])
    # rich wraps a long path anywhere, even inside a word: compare without the white space
    assert f"Seescribió{out}." in "".join(capsys.readouterr().out.split())
    page = out.read_text(encoding="utf-8")
    assert "Evaluación de la gobernanza migratoria" in page
    assert "Ciudad adelante" in page  # RIGHTS, city 87.5 against the country's 50
    assert "87,5" in page and "Colombia" in page
    assert "12,3" not in page  # the unpublished draft run's scores never show


def test_a_city_without_assessment_says_what_to_do(
    setup: tuple[City, Engine, Governance], tmp_path: Path
) -> None:
    _city, engine, _governance = setup
    with transaction(engine) as session:
        session.add(models.City(code="NEW", name="Nueva", country="PER"))
    view = gr.governance_view(engine, "NEW", "es")
    assert view.local is None and view.evidence == []
    with pytest.raises(ReportError, match=r"governance import FILE --city NEW"):
        gr.governance_report(engine, "NEW", tmp_path / "x.html", language="en")
    with pytest.raises(ReportError, match=r"x\.docx"):
        gr.governance_report(engine, "TST", tmp_path / "x.docx")
    with pytest.raises(ReportError, match="ZZZ"):
        gr.governance_view(engine, "ZZZ", "es")


@pytest.mark.postgres
def test_the_same_reading_on_postgresql(postgres_url: str, tmp_path: Path) -> None:
    city = build_city(postgres_url)
    engine = init_database(postgres_url)
    add_governance(engine, tmp_path)
    view = gr.governance_view(engine, "TST", "en")
    assert view.local.overall == pytest.approx(EXPECTED["TST-2024"]["overall"])
    assert view.national.overall == pytest.approx(EXPECTED["COL-2024"]["overall"])
    assert {row["code"]: row["status"] for row in gr.question_rows(view, "en")} == LEVELS
    assert view.evidence_source is not None and view.evidence_source.run_id == city.run_2024
    found = {item.code: item.score for group in view.evidence for item in group.items}
    assert found == pytest.approx(EVIDENCE)
