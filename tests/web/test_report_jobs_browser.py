"""A planner asks for a PDF report in a real browser (Chromium via Playwright, uvicorn, SQLite):
the link's job page says "Preparando el informe…", then the browser downloads the PDF; the
same in English; and a report that cannot be made shows one translated line, not a traceback.
One server (uvicorn in a thread of the test process) and one browser for the module;
screenshots go to test-artifacts/web/.

The figure checked in the PDFs is the plan's total cost, by hand from tests/web/planning_city.py:
P7 (350,000, under way) + P2 (300,000, adopted here) = 650,000. The failing report is the
governance report of an assessment the store does not hold (a stale or mistyped link): the
real job runs and stops with the report's own error.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from inclusive_cities.planning.territorial_plan import add_project
from inclusive_cities.store import connect, models, transaction
from inclusive_cities.web import create_app
from tests.reports.governance_city import add_governance
from tests.web.browser import browser_context, checked_page, shot
from tests.web.conftest import specs
from tests.web.live import thread_server
from tests.web.planning_city import PROJECTS, STARTED
from tests.web.workshop_city import PLAN, build_workshop_city

COSTS = {row[0]: row[3] for row in PROJECTS + STARTED}
TOTAL = COSTS["P7"] + COSTS["P2"]  # 650,000
MISSING = 987654
"""An assessment id the store does not hold."""
STATUS_PAGE = re.compile(r"/reports/\d+\?lang=(es|en)$")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("report-jobs-browser")
    city = build_workshop_city(folder)
    engine = connect(city.url)
    add_project(engine, "PLN", PLAN, "P2", status="approved")
    with transaction(engine) as session:
        session.add(models.City(code="TST", name="Ciudad Prueba", country="COL"))
    add_governance(engine, folder)
    engine.dispose()
    # no basemap: its tiles live on the internet, which this machine cannot reach
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("INCLUSIVE_CITIES_BASEMAP_URL", "none")
        # in a thread of this process: a child process spent ~3 s of CPU (15 s on a loaded
        # machine) importing the app again; the report jobs run in its threads either way
        with thread_server(create_app(city.url, specs=specs)) as base:
            yield base


@pytest.fixture(scope="module")
def context() -> Iterator[BrowserContext]:
    with browser_context() as context:
        yield context


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    with checked_page(context) as page:
        yield page


def pdf_text(path: Path) -> str:
    out = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True)
    return " ".join(out.stdout.split())


def download_report(page: Page, link: str, preparing: str, ready: str, name: str) -> Path:
    """Click a report link: the job's page says it is being prepared, then the browser
    downloads the file by itself and the page says it is ready."""
    with page.expect_download(timeout=120_000) as info:
        page.click(link)
        page.wait_for_url(STATUS_PAGE)
        expect(page.locator("#report-status strong")).to_have_text(preparing)
        expect(page.locator("#report-progress")).to_be_visible()
        shot(page, f"{name}-preparing")
    download = info.value
    path = Path(download.path())
    expect(page.locator("#report-status strong")).to_have_text(ready)
    # the ready page names the file the browser saved, with its size
    assert page.locator("#report-file-name").inner_text().startswith(download.suggested_filename)
    shot(page, f"{name}-ready")
    assert path.read_bytes()[:4] == b"%PDF"
    return path


def test_a_planner_downloads_the_plan_report_in_spanish_then_english(
    page: Page, server: str
) -> None:
    # the link is all this test needs: no waiting for the map to draw
    page.goto(f"{server}/cities/PLN/plan?plan={PLAN}", wait_until="domcontentloaded")
    assert page.locator("html").get_attribute("lang") == "es"
    link = page.locator("#report-pdf")
    assert link.inner_text() == "Informe del plan (PDF)"
    path = download_report(
        page, "#report-pdf", "Preparando el informe…", "El informe está listo.", "report-job-01-es"
    )
    assert page.locator("h1").inner_text() == "Informe del plan territorial"
    assert page.locator("#report-file-name").inner_text().startswith("plan-pln-pit-2024-es.pdf")
    text = pdf_text(path)
    assert "Plan de intervención territorial Villa Plan" in text
    assert f"2 proyectos con un costo total de {TOTAL:,}".replace(",", ".") in text  # 650.000
    page.click("#report-back")  # back to the plan's page, which asked for it
    page.wait_for_url(f"{server}/cities/PLN/plan?plan={PLAN}")

    page.click("#lang-switch")
    page.wait_for_selector("html[lang='en']")
    assert page.locator("#report-pdf").inner_text() == "Plan report (PDF)"
    path = download_report(
        page, "#report-pdf", "Preparing the report…", "The report is ready.", "report-job-02-en"
    )
    assert page.locator("h1").inner_text() == "Territorial plan report"
    text = pdf_text(path)
    assert "Territorial Intervention Plan" in text
    assert f"2 projects costing {TOTAL:,} in total" in text  # 650,000
    # the language switch on the made report's page: Spanish words, no second download of
    # the English file (the page says which language it is in)
    downloads: list[object] = []
    page.on("download", lambda download: downloads.append(download))
    page.click("#lang-switch")
    page.wait_for_selector("html[lang='es']")
    assert page.locator("#report-language").inner_text() == (
        "Este informe está en inglés. Para tenerlo en otro idioma, pídalo de nuevo desde su "
        "página en ese idioma."
    )
    assert page.locator('meta[http-equiv="refresh"]').count() == 0 and downloads == []
    shot(page, "report-job-02-en-file-es-page")


def test_a_report_that_cannot_be_made_says_why_in_one_translated_line(
    page: Page, server: str
) -> None:
    for lang, failed, reason in (
        (
            "es",
            "No se pudo preparar el informe.",
            f"La evaluación {MISSING} no es una evaluación local de Ciudad Prueba.",
        ),
        (
            "en",
            "The report could not be prepared.",
            f"Assessment {MISSING} is not a local assessment of Ciudad Prueba.",
        ),
    ):
        page.goto(f"{server}/cities/TST/governance/report.pdf?assessment={MISSING}&lang={lang}")
        page.wait_for_url(STATUS_PAGE)
        expect(page.locator("#report-status strong")).to_have_text(failed, timeout=60_000)
        assert page.locator("#report-reason").inner_text() == reason
        status = page.locator("#report-status").inner_text()
        assert "Traceback" not in status and "Error" not in status and "\n" not in status.strip()
        assert page.locator("#report-progress").count() == 0  # it stopped refreshing
        # a bookmark has no page to go back to: the way out is the city's page
        assert page.locator("#report-back").get_attribute("href") == f"/cities/TST?lang={lang}"
        shot(page, f"report-job-03-failed-{lang}")
