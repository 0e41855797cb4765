"""Migration-governance pages in a real browser (Debian's Chromium via Playwright) against
uvicorn: the city's page in Spanish and English (radar, local against national, changes,
beside the evidence), the library of good practices, the downloads, and the admin entry
(template download, upload through the importer's job, editing an answer).

Expected values are worked out by hand in ``tests/reports/governance_city.py``; screenshots
go to test-artifacts/web/ for people to look at.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from playwright.sync_api import Browser, Page, sync_playwright

from inclusive_cities.governance import load_framework
from inclusive_cities.i18n import use_language
from inclusive_cities.store import init_database, models, transaction
from inclusive_cities.web import auth, create_app
from tests.reports.governance_city import EVIDENCE, Governance, add_governance
from tests.web.conftest import City, build_city, specs
from tests.web.live import ROOT, live_server

ARTIFACTS = ROOT / "test-artifacts" / "web"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
EMAIL, PASSWORD = "analista@example.org", "una clave larga de prueba 2024"


@pytest.fixture(scope="module")
def governed(tmp_path_factory: pytest.TempPathFactory) -> tuple[City, Governance, Path]:
    folder = tmp_path_factory.mktemp("governance-web")
    city = build_city(f"sqlite:///{folder / 'gov.db'}")
    engine = init_database(city.url)
    governance = add_governance(engine, folder)
    with transaction(engine) as session:
        auth.create_user(session, EMAIL, "analyst", PASSWORD)
    return city, governance, folder


@pytest.fixture(scope="module")
def server(governed: tuple[City, Governance, Path]) -> Iterator[str]:
    with live_server(governed[0].url) as base:
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert errors == []


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def cells(page: Page, selector: str) -> list[str]:
    return [text.strip() for text in page.locator(selector).all_inner_texts()]


def test_city_page_in_spanish_then_english(page: Page, server: str) -> None:
    page.goto(server + "/cities/TST")
    page.click("text=Gobernanza migratoria")
    page.wait_for_selector("[data-spec-id='radar'][data-rendered='true'] svg")
    assert page.locator("html").get_attribute("lang") == "es"
    # overall: (87.5 + 62.5 + 50) / 3 = 66.7; Colombia (50 + 100 + 0) / 3 = 50; 2022: 37.5
    assert page.locator("#local-score").inner_text().startswith("66,7")
    assert page.locator("#national-score").inner_text().startswith("50,0")
    assert page.locator("#previous-score").inner_text().startswith("37,5")
    assert "Colombia" in page.locator(".gov-national h2").inner_text()
    rights = cells(page, "#domain-table tr[data-domain='RIGHTS'] td")
    assert rights == ["87,5", "50,0", "+37,5", "▲ Ciudad adelante", "Fortaleza"]
    whole = cells(page, "#domain-table tr[data-domain='WHOLE_GOV'] td")
    assert whole == ["62,5", "100,0", "-37,5", "▼ Ciudad atrás", "En avance"]
    # question by question: R1 Sí against Parcialmente (ahead), with its evidence
    r1 = cells(page, "tr[data-question='R1'] td")
    assert r1[1:4] == ["Sí", "Parcialmente", "▲ Ciudad adelante"]
    assert "Decreto 123 de 2023" in r1[4]
    page.click("details[data-domain='WHOLE_GOV'] summary")
    assert cells(page, "tr[data-question='W2'] td")[1:4] == ["Parcialmente", "Sí", "▼ Ciudad atrás"]
    # changes since 2022: PARTNERS 100 -> 50
    assert "▼ Empeoró" in page.locator("#change-table").inner_text()
    # beside the evidence: the published 2024 run, population-weighted (never the draft)
    evidence = page.locator("#evidence").inner_text()
    for code, value in EVIDENCE.items():
        shown = page.locator(f"#evidence li[data-node='{code}'] .area-score").inner_text()
        assert shown == f"{value:.1f}".replace(".", ",")
    assert "12,3" not in evidence
    assert "Ventanilla única de atención" in page.locator("#city-initiatives").inner_text()
    assert "Secretaría de Gobierno" not in page.content()  # the respondent's name is not public
    shot(page, "governance-01-city-es")

    page.click("#lang-switch")
    page.wait_for_selector("[data-spec-id='radar'][data-rendered='true'] svg")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("#local-score").inner_text().startswith("66.7")
    rights = cells(page, "#domain-table tr[data-domain='RIGHTS'] td")
    assert rights == ["87.5", "50.0", "+37.5", "▲ City ahead", "Strength"]
    assert "Piped water" in page.locator("#evidence").inner_text()
    assert "Migrants' rights" in page.locator("#domain-table").inner_text()
    shot(page, "governance-02-city-en")


def test_library_of_good_practices_and_initiatives(page: Page, server: str) -> None:
    page.goto(server + "/governance/practices?lang=es")
    assert cells(page, "#records > li h2") == [
        "Mesa migrante nacional",
        "Ventanilla única de atención",
    ]
    page.fill("#q", "VENTANILLA salud")
    page.click("#search-form button")
    assert cells(page, "#records > li h2") == ["Ventanilla única de atención"]
    assert page.locator("#result-count").inner_text() == "Se muestran 1 de 2."
    page.goto(server + "/governance/practices?lang=en&domain=PARTNERS")
    assert cells(page, "#records > li h2") == ["National migrant round table"]
    record = page.locator("#records > li").first.inner_text()
    assert "Partnerships" in record and "Colombia" in record
    assert page.locator("#records a", has_text="More information").count() == 0  # no link
    shot(page, "governance-03-library-en")
    page.select_option("#domain", "")
    page.select_option("#country", "COL")
    page.fill("#q", "nothing like this")
    page.click("#search-form button")
    assert page.locator("#no-records").is_visible()
    page.goto(server + "/governance/initiatives?lang=es")
    assert cells(page, "#records > li h2") == ["Plan de vivienda"]
    shot(page, "governance-04-initiatives-es")


def _pdf_text(path: Path) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def test_downloads_report_and_workbook(page: Page, server: str, tmp_path: Path) -> None:
    page.goto(server + "/cities/TST/governance?lang=en")
    with page.expect_download() as info:
        page.click("#xlsx")
    workbook = tmp_path / info.value.suggested_filename
    info.value.save_as(workbook)
    assert workbook.name == "governance-assessment-TST-2024-03-15-en.xlsx"
    values = [
        cell
        for sheet in load_workbook(workbook, read_only=True).worksheets
        for row in sheet.iter_rows(values_only=True)
        for cell in row
    ]
    assert 87.5 in values and 62.5 in values
    assert "Secretaría de Gobierno" not in values  # who answered stays in the admin area
    page.click("#report-html")
    assert page.locator("h1.cover-title").inner_text() == "Migration governance assessment"
    assert "City ahead" in page.locator("#domains").inner_text()
    page.goto(server + "/cities/TST/governance?lang=es")
    # the report job's page downloads the file once made (issue #20)
    with page.expect_download(timeout=180_000) as info:
        page.click("#report-pdf")
    pdf = tmp_path / "report.pdf"
    info.value.save_as(pdf)
    assert info.value.suggested_filename == "evaluacion-gobernanza-TST-es.pdf"
    text = " ".join(_pdf_text(pdf).split())
    assert "Evaluación de la gobernanza migratoria" in text
    assert "Ciudad adelante" in text and "66,7" in text and "Colombia" in text


def test_admin_refuses_strangers_and_bad_answers(governed: tuple[City, Governance, Path]) -> None:
    """No login, no change; a wrong answer is one line saying what to choose and changes
    nothing (checked without a browser)."""
    from inclusive_cities.governance import GovernanceError, assessment_result, set_answer

    city, governance, _folder = governed
    engine = init_database(city.url)
    number = governance.ids["TST-2024"]
    with TestClient(create_app(city.url, specs=specs)) as client:
        assert client.get("/admin/governance", follow_redirects=False).headers["location"] == (
            "/admin/login"
        )
        upload = client.post(
            "/admin/governance/uploads",
            data={"place": "city:TST"},
            files={"file": ("a.xlsx", b"x")},
            headers={"accept": "application/json"},
        )
        assert upload.status_code == 401
        answer = client.post(
            f"/admin/governance/assessments/{number}/answers",
            data={"question": "W1", "answer": "no"},
            headers={"accept": "application/json"},
        )
        assert answer.status_code == 401
        assert client.get("/governance/template.xlsx?framework=nope").status_code == 404
        with transaction(engine) as session:
            session.add(models.City(code="NEW", name="Villa Nueva", country="PER"))
        empty = client.get("/cities/NEW/governance?lang=en")
        assert empty.status_code == 200
        assert "Villa Nueva has no migration-governance assessment yet" in empty.text
        assert client.get("/cities/NOPE/governance").status_code == 404
    with pytest.raises(
        GovernanceError, match=r"question R2: '7' is not an answer to R2.*from 0 to 4"
    ):
        set_answer(engine, number, "R2", "7")
    with pytest.raises(GovernanceError, match="R1 requires evidence for the answer 'partly'"):
        set_answer(engine, number, "R1", "partly", evidence_text=" ")
    with pytest.raises(GovernanceError, match="'javascript:alert\\(1\\)' is not a web link"):
        set_answer(engine, number, "P2", "no", evidence_link="javascript:alert(1)")
    with pytest.raises(GovernanceError, match="no question 'Z9'"):
        set_answer(engine, number, "Z9", "yes")
    assert assessment_result(engine, number).overall == pytest.approx(200 / 3)  # unchanged
    use_language("es")


def _fill_demo_template(path: Path) -> None:
    """Answer every question of the shipped framework 'partly' (a scale at its middle): every
    domain then scores 50, and so does the whole assessment."""
    framework = load_framework("mgi-demo")
    book = load_workbook(path)
    book.worksheets[0]["B3"] = "2025-01-10"
    book.worksheets[0]["B4"] = "Oficina de Migración"
    for row in book.worksheets[1].iter_rows(min_row=2):
        question = framework.question(str(row[0].value))
        if question.scale is not None:
            row[6].value = (question.scale.min + question.scale.max) / 2
        else:
            row[6].value = "parcialmente"
        row[7].value = "Acta del comité"
    book.save(path)


def test_admin_edits_an_answer_then_uploads_the_shipped_template(
    page: Page, server: str, governed: tuple[City, Governance, Path], tmp_path: Path
) -> None:
    _city, governance, _folder = governed
    page.goto(server + "/admin/governance?lang=es")
    page.fill("#email", EMAIL)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.click("#governance-admin")
    assert page.locator("#assessments tbody tr").count() == 3
    assert "Secretaría de Gobierno" in page.locator("#assessments").inner_text()
    # correct W2 of the 2024 assessment: partly -> yes; WHOLE_GOV (1 + 3 * 1) / 4 = 100,
    # overall (87.5 + 100 + 50) / 3 = 79.2, and the city is now level with Colombia there
    page.click(f"#assessments tr[data-id='{governance.ids['TST-2024']}'] >> text=Editar respuestas")
    page.select_option("#a-W2", "yes")
    page.click("#q-W2 button")
    assert page.locator("#saved").inner_text() == "Respuesta W2 guardada."
    shot(page, "governance-05-admin-edit-es")
    page.goto(server + "/cities/TST/governance?lang=es")
    assert page.locator("#local-score").inner_text().startswith("79,2")
    whole = cells(page, "#domain-table tr[data-domain='WHOLE_GOV'] td")
    assert whole[:4] == ["100,0", "100,0", "0,0", "= Igual"]

    page.goto(server + "/admin/governance?lang=es")
    with page.expect_download() as info:
        page.click("#template-es")
    template = tmp_path / info.value.suggested_filename
    info.value.save_as(template)
    _fill_demo_template(template)
    page.select_option("#gov-place", "city:TST")
    page.set_input_files("#gov-file", str(template))
    page.click("#governance-upload button")
    # the job page reloads itself every 2 s until the import has ended, well or not
    page.wait_for_selector("#job-status.notice, #job-status.error-message", timeout=120000)
    assert "notice" in (page.get_attribute("#job-status", "class") or ""), page.inner_text(
        "#job-status"
    )
    summary = page.locator("#job-summary").inner_text()
    assert "evaluación de Ciudad Prueba (local) guardada" in summary
    assert "Página pública: /cities/TST/governance" in summary
    # every one of the shipped framework's questions answered 'partly' or mid-scale: 50
    assert "puntaje general 50,0" in summary
    shot(page, "governance-06-admin-job-es")
    page.goto(server + "/cities/TST/governance?lang=es")
    assert page.locator("#local-score").inner_text().startswith("50,0")
    assert page.locator("#assessment option").count() == 3
    # no earlier assessment answered the shipped framework: nothing to compare with
    assert page.locator("#changes").count() == 0
    shot(page, "governance-07-city-after-upload-es")


def test_spanish_page_has_no_english_labels(governed: tuple[City, Governance, Path]) -> None:
    """Issue #19: the assessment list showed the template's title ("SYNTHETIC DEMO DATA") and
    the comparison read "COL (nacional)"; now the date with the level, and the country's name
    (checked without a browser)."""
    import re

    from sqlalchemy import update

    city, governance, _folder = governed
    engine = init_database(city.url)
    with transaction(engine) as session:
        session.execute(
            update(models.GovernanceAssessment)
            .where(models.GovernanceAssessment.id == governance.ids["TST-2024"])
            .values(title="SYNTHETIC DEMO DATA")
        )
    try:
        with TestClient(create_app(city.url, specs=specs)) as client:
            html = client.get("/cities/TST/governance?lang=es").text
    finally:
        with transaction(engine) as session:
            session.execute(
                update(models.GovernanceAssessment)
                .where(models.GovernanceAssessment.id == governance.ids["TST-2024"])
                .values(title="")
            )
    select = html.split('<select id="assessment"', 1)[1].split("</select>", 1)[0]
    options = [text.strip() for text in re.findall(r"<option[^>]*>([^<]*)</option>", select)]
    # the admin test may have added a later one: every option is a date and the level
    # dates as a Spanish reader writes them, never ISO inside the page (trial #4 F5)
    assert options[-2:] == ["15/3/2024 · local", "30/6/2022 · local"]
    assert all(re.fullmatch(r"\d{1,2}/\d{1,2}/\d{4} · local", text) for text in options)
    assert "2024-03-15" not in html.split("<main", 1)[-1].replace('value="', "")
    assert "SYNTHETIC" not in html
    assert "Colombia (nacional)" in html and "COL (nacional)" not in html
