"""A facilitator and a planner in a real browser (Chromium via Playwright) against uvicorn: log
in, upload the workshop template filled in with openpyxl, see the tree drawn and the matrix
beside the evidence, add a project to the plan, see it on the map and download the plan
report; Spanish and English. One server and one browser for the whole module.

Screenshots go to test-artifacts/web/ for people to look at.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from tests.web.live import ROOT, live_server
from tests.web.planning_city import EMAIL, PASSWORD
from tests.web.workshop_city import (
    B1_A1,
    CITY_A1,
    MATRIX,
    PLAN,
    TREE,
    WORKSHOP,
    WorkshopCity,
    build_workshop_city,
    fill_template,
)

ARTIFACTS = ROOT / "test-artifacts" / "web"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> WorkshopCity:
    return build_workshop_city(tmp_path_factory.mktemp("workshops-browser"))


@pytest.fixture(scope="module")
def server(city: WorkshopCity) -> Iterator[str]:
    # no basemap: its tiles live on the internet, which this machine cannot reach, and the
    # failing requests held the plan map's first render past the timeout
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("INCLUSIVE_CITIES_BASEMAP_URL", "none")
        with live_server(city.url) as base:
            yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def context(browser: Browser) -> Iterator[BrowserContext]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    yield context
    context.close()


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    page.close()
    assert errors == []


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_facilitator_uploads_a_workshop_and_sees_it_beside_the_evidence(
    page: Page, server: str, city: WorkshopCity
) -> None:
    filled = fill_template(city.template, city.folder / "taller-la-esperanza.xlsx")
    page.goto(server + "/admin/login")
    page.fill("#email", EMAIL)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(server + "/admin")
    page.goto(server + "/admin/cities/PLN/workshops")
    assert page.locator("html").get_attribute("lang") == "es"
    # every staff card holds its text: nothing wider than the box (demo walk-through)
    for card in ("#workshop-upload", "#workshop-new"):
        overflow = page.evaluate(
            f"(e => e.scrollWidth - e.clientWidth)(document.querySelector('{card}'))"
        )
        assert overflow <= 1, card
    page.set_input_files("#workshop-file", str(filled))
    page.click("#workshop-upload button[type=submit]")
    page.wait_for_url(f"{server}/admin/cities/PLN/workshops/{WORKSHOP}?imported=1")
    assert page.locator("#edit-message").inner_text() == "Se importó el taller."
    assert page.locator("#nodes-table tbody tr").count() == len(TREE)
    assert page.locator("#rows-table tbody tr").count() == len(MATRIX)
    shot(page, "workshops-01-edit-es")

    page.click("#view-public")
    page.wait_for_url(f"{server}/cities/PLN/workshops/{WORKSHOP}")
    tree = page.locator("#problem-tree svg")
    assert tree.locator(".node").count() == len(TREE)
    assert tree.locator(".edge").count() == sum(1 for node in TREE if node[2])
    # effects above the central problem, causes below it (SVG y grows downwards)
    centre = tree.locator("#node-PC").bounding_box()
    effect = tree.locator("#node-E1").bounding_box()
    cause = tree.locator("#node-C1").bounding_box()
    assert centre and effect and cause and effect["y"] < centre["y"] < cause["y"]
    assert page.locator("table.matrix").count() == 2
    evidence = page.locator('tr[data-code="D-01"] .ev[data-indicator="a1"]')
    # B1's a1 (20) against the plain mean of the six barrios (53.3): tests/web/workshop_city.py
    assert evidence.locator(".ev-text").inner_text() == (
        f"La Esperanza: {B1_A1:.1f} % · toda la ciudad: {CITY_A1:.1f} %".replace(".", ",")
    )
    assert evidence.locator(".ev-bar").count() == 2
    assert page.locator("#participants-total").inner_text() == "43"
    shot(page, "workshops-02-workshop-es")


def test_planner_adds_a_project_and_downloads_the_report(page: Page, server: str) -> None:
    page.goto(f"{server}/admin/cities/PLN/plan/{PLAN}")
    page.select_option("#candidate", "P2")
    page.click("#add-candidate button[type=submit]")
    page.wait_for_selector("#plan-message")
    assert page.locator("#plan-message").inner_text() == "Se agregó el proyecto P2 al plan."
    assert page.locator('#admin-items tr[data-code="P2"]').count() == 1
    shot(page, "workshops-03-plan-admin-es")

    page.click("#view-plan")
    page.wait_for_url(f"{server}/cities/PLN/plan?plan={PLAN}")
    page.wait_for_selector("body[data-map-ready='true']")
    on_map = page.evaluate(
        "window.planMap.querySourceFeatures('projects').map(f => f.properties.code)"
    )
    assert set(on_map) == {"P2", "P7"}
    assert page.locator("#fig-projects").inner_text() == "2"
    # P7 costs 350,000 and P2 300,000 (tests/web/planning_city.py)
    assert page.locator("#fig-budget").inner_text() == "$ 650.000"
    assert page.locator("#timeline .tl-row").count() == 1  # P2 has no dates yet
    assert page.locator('#open-solutions tr[data-code="S-02"]').count() == 1
    shot(page, "workshops-04-plan-es")

    # the report job's page downloads the file once made (issue #20)
    with page.expect_download(timeout=180_000) as info:
        page.click("#report-pdf")
    path = Path(info.value.path())
    assert path.read_bytes().startswith(b"%PDF")
    text = subprocess.run(
        ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "Plan de intervención territorial Villa Plan" in " ".join(text.split())
    assert page.locator("#report-status strong").inner_text() == "El informe está listo."
    page.click("#report-back")  # the job's page links back to the page that asked
    page.wait_for_url(f"{server}/cities/PLN/plan?plan={PLAN}")

    page.click('#plan-projects a[href$="/P7"]')
    page.wait_for_url(server + "/cities/PLN/plan/projects/P7")
    page.wait_for_selector("body[data-map-ready='true']")
    assert page.locator("#impact-estimate").inner_text() == "+6,0 puntos"
    assert page.locator("#priority-benefit").inner_text() == "369"
    shot(page, "workshops-05-project-es")


def test_both_languages(page: Page, server: str) -> None:
    page.goto(f"{server}/cities/PLN/workshops/{WORKSHOP}")
    assert page.locator("#tree-title").inner_text() == "Árbol de problemas"
    page.click("#lang-switch")
    page.wait_for_selector("html[lang='en']")
    assert page.locator("#tree-title").inner_text() == "Problem tree"
    assert page.locator("#matrix-title").inner_text() == "Systematisation matrix"
    shot(page, "workshops-06-workshop-en")
    page.goto(f"{server}/cities/PLN/plan")
    assert page.locator("#timeline-title").inner_text() == "Timeline"
    page.wait_for_selector("body[data-map-ready='true']")
    shot(page, "workshops-07-plan-en")
    page.click("#lang-switch")
    page.wait_for_selector("html[lang='es']")
    assert page.locator("#timeline-title").inner_text() == "Cronograma"
