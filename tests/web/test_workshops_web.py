"""Workshop and territorial plan pages without a browser (FastAPI's TestClient on a real
SQLite store): what the public sees, what it must not see, and the staff forms.

The city is ``tests/web/workshop_city.py``; expected figures are worked out there by hand.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
from fastapi.testclient import TestClient

from inclusive_cities.i18n import use_language
from inclusive_cities.store import connect
from inclusive_cities.web import create_app
from inclusive_cities.web.data import CACHE
from tests.web.conftest import specs
from tests.web.planning_city import BARRIOS, EMAIL, NAMES, PASSWORD
from tests.web.reports import fetch_report
from tests.web.workshop_city import (
    B1_A1,
    CITY_A1,
    GAP,
    GAP_HALF,
    MATRIX,
    PLAN,
    TOTAL_PEOPLE,
    TREE,
    WORKSHOP,
    WorkshopCity,
    build_workshop_city,
    fill_template,
)


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> WorkshopCity:
    from inclusive_cities.planning.workshop_import import import_workshop

    built = build_workshop_city(tmp_path_factory.mktemp("workshops"))
    filled = fill_template(built.template, built.folder / "taller-esperanza.xlsx")
    engine = connect(built.url)
    import_workshop(engine, filled, "PLN")
    engine.dispose()
    return built


@pytest.fixture(scope="module")
def client(city: WorkshopCity) -> Iterator[TestClient]:
    # the web's caches are keyed by fingerprints of one store (a server serves one); other
    # modules' test cities in this process may share those fingerprints
    CACHE.clear()
    with TestClient(create_app(city.url, specs=specs)) as client:
        yield client
    use_language("es")


@pytest.fixture(scope="module")
def staff(city: WorkshopCity) -> Iterator[tuple[TestClient, str]]:
    """A second client logged in through the real login form, with its CSRF token."""
    CACHE.clear()
    with TestClient(create_app(city.url, specs=specs)) as client:
        answer = client.post("/admin/login", data={"email": EMAIL, "password": PASSWORD})
        assert answer.status_code == 200, answer.text[-500:]
        page = client.get("/admin/cities/PLN/workshops").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert token is not None
        yield client, token.group(1)
    use_language("es")


def number_es(value: float, digits: int = 1) -> str:
    """A number as the Spanish pages write it (decimal comma)."""
    return f"{value:.{digits}f}".replace(".", ",")


def test_workshop_page_draws_the_tree_and_puts_evidence_beside_the_matrix(
    client: TestClient,
) -> None:
    page = client.get(f"/cities/PLN/workshops/{WORKSHOP}")
    assert page.status_code == 200
    html = page.text
    assert 'lang="es"' in html and "Árbol de problemas" in html
    # the drawing: one box per node of the tree, one edge per node that hangs from another
    svg = html[html.index("<svg") : html.index("</svg>")]
    for code, _kind, _parent, text, *_links in TREE:
        assert f'id="node-{code}"' in svg
        assert text.split()[0] in svg
    assert svg.count('class="edge"') == sum(1 for node in TREE if node[2])
    # the matrix: one table per thematic area, named as the marker names them
    assert '<h3 id="area-A">Vivienda</h3>' in html and '<h3 id="area-B">Salud</h3>' in html
    for code, *_rest in MATRIX:
        assert f'data-code="{code}"' in html
    # D-01 (a1 in La Esperanza) beside the city: 20 against the mean of the six barrios,
    # and refugees and migrants 12 against hosts 25 (gap -13, 95 % CI ± 1.96 × 2.5)
    row = html[html.index('<tr class="row-demand" data-code="D-01">') :]
    row = row[: row.index("</tr>")]
    assert f"La Esperanza: {number_es(B1_A1)} % · toda la ciudad: {number_es(CITY_A1)} %" in row
    assert f"Personas refugiadas y migrantes menos comunidad de acogida: {number_es(GAP)} %" in row
    assert f"(IC 95 % de {number_es(GAP - GAP_HALF)} a {number_es(GAP + GAP_HALF)})" in row
    # S-01 is answered by P7 of the published plan; S-02 by nothing yet
    solution = html[html.index('<tr class="row-solution" data-code="S-01">') :]
    assert "/cities/PLN/plan/projects/P7" in solution[: solution.index("</tr>")]


def test_participants_only_through_disclosure_control(client: TestClient) -> None:
    """43 people; by role 37 residents and 6 leaders: 6 is under 10 and 37 would give it back
    from the total, so both are withheld; every other count is 10 or more."""
    html = client.get(f"/cities/PLN/workshops/{WORKSHOP}").text
    table = html[html.index('id="participants"') :]
    table = table[: table.index("</dl>")]
    assert f'<dd id="participants-total">{TOTAL_PEOPLE}</dd>' in html
    for shown in ("Mujeres: 26", "Hombres: 17", "18-29: 20", "30-44: 23"):
        assert shown in table
    # roles typed in English ("resident", "leader") read in the page's language (finding 16)
    assert "residente: reservado" in table and "líder comunitario: reservado" in table
    assert ": 6<" not in table and ": 37<" not in table and "43" not in table


def test_workshop_pages_in_english_and_the_list(client: TestClient) -> None:
    english = client.get(f"/cities/PLN/workshops/{WORKSHOP}?lang=en").text
    assert 'lang="en"' in english and "Systematisation matrix" in english
    assert "Refugees and migrants minus host population" in english
    listing = client.get("/cities/PLN/workshops?lang=es").text
    assert "Taller de vivienda y salud en La Esperanza" in listing
    assert "14/3/2025" in listing and f"{NAMES['B1']} (B1)" in listing
    assert "Árbol de problemas: 6 ideas · Matriz: 7 filas · Soluciones: 2" in listing
    assert client.get("/cities/PLN/workshops/NOPE").status_code == 404


def test_workshop_downloads(client: TestClient) -> None:
    pdf = fetch_report(client, f"/cities/PLN/workshops/{WORKSHOP}/record.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    xlsx = client.get(f"/cities/PLN/workshops/{WORKSHOP}/record.xlsx?lang=en")
    assert xlsx.status_code == 200
    assert openpyxl.load_workbook(io.BytesIO(xlsx.content)).sheetnames
    template = client.get("/workshops/template.xlsx?lang=es")
    sheets = openpyxl.load_workbook(io.BytesIO(template.content)).sheetnames
    assert sheets == ["Taller", "Árbol de problemas", "Matriz"]
    assert client.get(f"/cities/PLN/workshops/{WORKSHOP}/record.doc").status_code == 404


def test_plan_page(client: TestClient) -> None:
    html = client.get("/cities/PLN/plan").text
    assert "Plan de intervención territorial Villa Plan" in html
    assert '<dd id="fig-projects">1</dd>' in html
    assert '<dd id="fig-budget">$ 350.000</dd>' in html  # P7's cost in planning_city.py
    assert '<dd id="fig-progress">1 de 1</dd>' in html
    open_table = html[html.index('id="open-solutions"') :]
    open_table = open_table[: open_table.index("</table>")]
    assert 'data-code="S-02"' in open_table and 'data-code="S-01"' not in open_table
    assert 'data-code="P7"' in html and "1/6/2022 – 31/12/2026" in html
    config = html[html.index('id="plan-config">') :]
    assert '"code": "P7"' in config and '"status": "under_way"' in config
    for link in ("report.pdf", "report.html", "plan.xlsx", "plan.gpkg"):
        assert f"/cities/PLN/plan/{PLAN}/{link}" in html


def test_project_page_evidence_origins_priority_and_impact(client: TestClient) -> None:
    html = client.get("/cities/PLN/plan/projects/P7").text
    # impact: planning_city.py builds a difference in differences of 6 points for P7
    assert '<p class="big" id="impact-estimate">+6,0 puntos</p>' in html
    # its neighbourhoods' marker: the mean of B1 (25) and B5 (20); the benefit is for staff
    assert "Marcador de sus barrios: 22,5 de 100" in html
    assert 'id="priority-benefit"' not in html
    origins = html[html.index('id="origins"') :]
    assert "S-01" in origins and "Mejoramiento de vivienda y conexiones de agua" in origins
    assert "Agua potable en todas las casas" in origins  # the demand that proposed it
    evidence = html[html.index('id="project-evidence"') :]
    evidence = evidence[: evidence.index("</table>")]
    assert f'<td class="num">{number_es(B1_A1)}</td>' in evidence
    assert f"{number_es(GAP)} %" in evidence
    # the site map opens on P7's barrios B1 (0.01° square at 74.10°W, 4.60°N) and B5 (the
    # square diagonally up and right of it)
    found = re.search(r'id="plan-config">(.*?)</script>', html, re.S)
    assert found is not None
    config = json.loads(found.group(1))
    assert config["fit"] == pytest.approx([-74.1, 4.6, -74.08, 4.62])
    assert client.get("/cities/PLN/plan/projects/NOPE").status_code == 404


def test_plan_downloads(client: TestClient, tmp_path: Path) -> None:
    import pyogrio

    gpkg = client.get(f"/cities/PLN/plan/{PLAN}/plan.gpkg?lang=en")
    assert gpkg.status_code == 200
    (tmp_path / "plan.gpkg").write_bytes(gpkg.content)
    frame = pyogrio.read_dataframe(tmp_path / "plan.gpkg")
    assert list(frame["code"]) == ["P7"]
    xlsx = client.get(f"/cities/PLN/plan/{PLAN}/plan.xlsx")
    assert openpyxl.load_workbook(io.BytesIO(xlsx.content)).sheetnames
    html = client.get(f"/cities/PLN/plan/{PLAN}/report.html?lang=en")
    assert html.status_code == 200 and "Villa Plan" in html.text
    assert client.get(f"/cities/PLN/plan/{PLAN}/other.txt").status_code == 404


def test_staff_pages_refuse_strangers(client: TestClient) -> None:
    for path in ("/admin/cities/PLN/workshops", f"/admin/cities/PLN/plan/{PLAN}"):
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"] == "/admin/login"
    answer = client.post(
        f"/admin/cities/PLN/workshops/{WORKSHOP}/nodes",
        data={"node": "C9", "kind": "cause", "text": "x"},
        headers={"accept": "application/json"},
    )
    assert answer.status_code == 401


def test_staff_correct_a_workshop_and_the_plan(
    staff: tuple[TestClient, str], client: TestClient
) -> None:
    browser, token = staff
    # priority for staff: effect 0.3 × (B1: 1,000 people × need 0.75 + B5: 600 × 0.80) = 369
    staff_page = browser.get("/cities/PLN/plan/projects/P7").text
    assert '<dd id="priority-benefit">369</dd>' in staff_page
    base = f"/admin/cities/PLN/workshops/{WORKSHOP}"
    forged = browser.post(
        base + "/nodes",
        data={"node": "C9", "kind": "cause", "text": "x", "csrf_token": "wrong"},
        headers={"accept": "application/json"},
    )
    assert forged.status_code == 403
    added = browser.post(
        base + "/nodes",
        data={
            "node": "C4",
            "kind": "cause",
            "parent": "C3",
            "text": "Horarios de atención",
            "csrf_token": token,
        },
    )
    assert added.status_code == 200 and "Se guardó la idea C4." in added.text
    assert 'id="node-C4"' in client.get(f"/cities/PLN/workshops/{WORKSHOP}").text
    bad = browser.post(
        base + "/nodes",
        data={"node": "C5", "kind": "cause", "parent": "ZZ", "text": "x", "csrf_token": token},
    )
    assert bad.status_code == 400 and 'id="edit-error"' in bad.text
    assert "ZZ" in bad.text
    gone = browser.post(base + "/nodes/C4/delete", data={"csrf_token": token})
    assert "Se borró la idea C4." in gone.text
    row = browser.post(
        base + "/rows",
        data={
            "row_code": "S-03",
            "area": "A",
            "kind": "solution",
            "text": "Mural con la historia del barrio",
            "csrf_token": token,
        },
    )
    assert "Se guardó la fila S-03." in row.text
    plan = client.get("/cities/PLN/plan").text
    assert 'data-code="S-03"' in plan[plan.index('id="open-solutions"') :]
    # a bad upload is one line and changes nothing
    upload = browser.post(
        "/admin/cities/PLN/workshops/upload",
        data={"csrf_token": token},
        files={"file": ("notas.txt", b"hola", "text/plain")},
    )
    assert upload.status_code == 400 and "notas.txt" in upload.text
    # the plan: adopt candidate P2, record a proposal it answers, then draft hides it
    added_project = browser.post(
        f"/admin/cities/PLN/plan/{PLAN}/add-project",
        data={"project": "P2", "status": "approved", "csrf_token": token},
    )
    assert "Se agregó el proyecto P2 al plan." in added_project.text
    proposal = browser.post(
        f"/admin/cities/PLN/plan/{PLAN}/proposals",
        data={
            "code": "PV-01",
            "title": "Parque para Los Pinos",
            "unit_code": "B5",
            "supporters": "140",
            "outcome": "adopted",
            "item": "P2",
            "csrf_token": token,
        },
    )
    assert "Se guardó la propuesta PV-01." in proposal.text
    public = client.get("/cities/PLN/plan").text
    assert '<dd id="fig-projects">2</dd>' in public and "Parque para Los Pinos" in public
    browser.post(
        f"/admin/cities/PLN/plan/{PLAN}/publish", data={"published": "0", "csrf_token": token}
    )
    assert 'id="no-plan"' in client.get("/cities/PLN/plan").text
    assert client.get(f"/cities/PLN/plan/{PLAN}/plan.xlsx").status_code == 404
    assert "Borrador" in browser.get("/cities/PLN/plan").text
    browser.post(
        f"/admin/cities/PLN/plan/{PLAN}/publish", data={"published": "1", "csrf_token": token}
    )
    assert 'id="no-plan"' not in client.get("/cities/PLN/plan").text


def test_project_sited_by_a_point_with_a_participatory_design(
    city: WorkshopCity, client: TestClient
) -> None:
    """A project imported with only a point (no unit codes) is placed in the barrio that holds
    it (B3, the third square of the first row: 4.60-4.61°N, 74.08-74.07°W, marker (60 + 70) /
    2 = 65); its participatory design shows the options, the chosen one and the photos."""
    import shapely
    from PIL import Image

    from inclusive_cities.planning.designs import add_photo, save_design
    from inclusive_cities.planning.territorial_plan import save_item

    engine = connect(city.url)
    save_item(
        engine,
        "PLN",
        PLAN,
        {
            "code": "PQ-1",
            "name": "Parque El Progreso",
            "type": "public_space",
            "status": "proposed",
            "cost": 90000,
            "geometry": shapely.Point(-74.075, 4.605),
        },
    )
    save_design(
        engine,
        "PLN",
        {
            "code": "DP-1",
            "name": "Parque El Progreso",
            "plan": PLAN,
            "item": "PQ-1",
            "geometry": shapely.box(-74.078, 4.603, -74.072, 4.607),
            "workshop_codes": [WORKSHOP],
            "options": [
                {"code": "A", "title": "Cancha y juegos"},
                {"code": "B", "title": "Huerta y bancas", "description": "Sombra"},
            ],
            "chosen_option": "B",
        },
    )
    buffer = io.BytesIO()
    Image.new("RGB", (8, 6), (30, 120, 60)).save(buffer, format="PNG")
    photo_id = add_photo(
        engine,
        "PLN",
        "DP-1",
        buffer.getvalue(),
        stage="before",
        caption="El lote hoy",
        file_name="antes.png",
    )
    engine.dispose()
    html = client.get("/cities/PLN/plan/projects/PQ-1?lang=es").text
    facts = html[html.index('id="project-facts"') :]
    assert "El Progreso" in facts[: facts.index("</dl>")]
    assert "Marcador de sus barrios: 65,0 de 100" in html
    design = html[html.index('data-code="DP-1"') :]
    assert '<li class="chosen"><strong>Huerta y bancas</strong>' in design
    assert f'src="/cities/PLN/plan/photos/{photo_id}"' in design and "El lote hoy" in design
    photo = client.get(f"/cities/PLN/plan/photos/{photo_id}")
    assert photo.headers["content-type"] == "image/png"
    assert photo.content == buffer.getvalue()
    assert client.get(f"/cities/PLN/plan/photos/{photo_id + 1}").status_code == 404


def test_staff_start_a_workshop_by_hand_and_upload_the_plan_back(
    staff: tuple[TestClient, str], client: TestClient
) -> None:
    browser, token = staff
    created = browser.post(
        "/admin/cities/PLN/workshops",
        data={
            "code": "TALLER-02",
            "title": "Taller de empleo",
            "held_on": "2025-05-02",
            "csrf_token": token,
        },
    )
    assert created.status_code == 200 and "Editar el taller TALLER-02" in created.text
    fields = browser.post(
        "/admin/cities/PLN/workshops/TALLER-02",
        data={
            "title": "Taller de empleo en Los Pinos",
            "held_on": "2025-05-02",
            "unit_code": "B5",
            "areas": ["B"],
            "facilitators": "Marta Ruiz",
            "csrf_token": token,
        },
    )
    assert "Se guardó el taller." in fields.text
    listing = client.get("/cities/PLN/workshops?lang=es").text
    assert "Taller de empleo en Los Pinos" in listing and "2/5/2025" in listing
    again = browser.post(
        "/admin/cities/PLN/workshops",
        data={"code": "TALLER-02", "csrf_token": token},
    )
    assert again.status_code == 400 and "Ya existe un taller TALLER-02" in again.text
    # the plan's own GeoPackage goes back in unchanged: same projects, same budget
    gpkg = client.get(f"/cities/PLN/plan/{PLAN}/plan.gpkg").content
    before = client.get(f"/cities/PLN/plan?plan={PLAN}&lang=es").text
    budget = re.search(r'<dd id="fig-budget">([^<]+)</dd>', before)
    upload = browser.post(
        f"/admin/cities/PLN/plan/{PLAN}/upload",
        data={"what": "projects", "csrf_token": token},
        files={"file": ("plan.gpkg", gpkg, "application/geopackage+sqlite3")},
    )
    assert upload.status_code == 200 and "plan.gpkg importado" in upload.text
    after = client.get(f"/cities/PLN/plan?plan={PLAN}&lang=es").text
    assert budget is not None and f'<dd id="fig-budget">{budget.group(1)}</dd>' in after


def test_fix_round_disclosure_roles_codes_statuses_and_area_evidence(
    city: WorkshopCity, client: TestClient
) -> None:
    """Findings of the demo walk-through: a proposal's 7 supporters are published as "fewer
    than 10" (the report's rule, docs/disclosure.md); a ``programme`` account may not open the
    staff pages; a solution is named with its workshop; one word per status; a project aimed
    at an area shows the evidence of that area's indicators."""
    from inclusive_cities.planning.proposals import save_proposal
    from inclusive_cities.planning.territorial_plan import add_project
    from inclusive_cities.store import transaction
    from inclusive_cities.web import auth

    engine = connect(city.url)
    for code, title, supporters in (
        ("PV-07", "Mural contra la xenofobia", "7"),
        ("PV-12", "Cancha de microfútbol", "12"),
    ):
        save_proposal(
            engine,
            "PLN",
            {"code": code, "title": title, "unit_code": "B2", "supporters": supporters},
        )
    # P3 (barrio B2) aims at area B (Health), whose only indicator is b1 (planning_city.py)
    add_project(engine, "PLN", PLAN, "P3", status="done", targets=["B"])
    with transaction(engine) as session:
        auth.create_user(session, "programa@example.org", "programme", PASSWORD)
    engine.dispose()

    for path in ("/cities/PLN/plan?lang=es", "/cities/PLN/plan/proposals?lang=es"):
        html = client.get(path).text
        row = html[html.index('data-code="PV-07"') :]
        row = row[: row.index("</tr>")]
        assert '<td class="num">menos de 10</td>' in row and ">7<" not in row
        row = html[html.index('data-code="PV-12"') :]
        assert '<td class="num">12</td>' in row[: row.index("</tr>")]

    plan = client.get("/cities/PLN/plan?lang=es").text
    assert f"{WORKSHOP} · S-01" in plan  # P7's solution, in the projects table
    open_table = plan[plan.index('id="open-solutions"') :]
    assert f"{WORKSHOP} · S-02" in open_table[: open_table.index("</table>")]
    assert "Ejecutado" in plan and "Listo" not in plan

    project = client.get("/cities/PLN/plan/projects/P3?lang=es").text
    evidence = project[project.index('id="project-evidence"') :]
    evidence = evidence[: evidence.index("</table>")]
    b2_b1 = BARRIOS["B2"][2]  # b1 in San José: 50
    city_b1 = sum(b[2] for b in BARRIOS.values()) / len(BARRIOS)  # plain mean: 51.7
    assert 'data-indicator="b1"' in evidence and "San José" in evidence
    assert f'<td class="num">{number_es(b2_b1)}</td>' in evidence
    assert f'<td class="num">{number_es(city_b1)}</td>' in evidence

    with TestClient(create_app(city.url, specs=specs)) as programme:
        login = programme.post(
            "/admin/login", data={"email": "programa@example.org", "password": PASSWORD}
        )
        assert login.status_code == 200
        index = programme.get("/admin", follow_redirects=False)
        assert index.status_code == 303 and index.headers["location"] == "/admin/programme"
        for path in (
            "/admin/cities/PLN/workshops",
            f"/admin/cities/PLN/workshops/{WORKSHOP}",
            "/admin/cities/PLN/plan",
            f"/admin/cities/PLN/plan/{PLAN}",
        ):
            assert programme.get(path, follow_redirects=False).status_code == 403, path
        public = programme.get("/cities/PLN/plan?lang=es").text
        assert 'id="edit-project"' not in public and "/admin/cities/PLN/plan" not in public
    use_language("es")
