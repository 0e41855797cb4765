"""``plan create|import|export|show|publish|report`` and ``plan proposals|designs`` as users run
them (the console entry point in this process), the report read back in both languages, and
the same plan stored on PostgreSQL."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from inclusive_cities.cli import main
from inclusive_cities.planning.designs import add_photo, read_photo, save_design
from inclusive_cities.planning.plan_io import import_plan
from inclusive_cities.planning.proposals import import_proposals, list_proposals
from inclusive_cities.planning.territorial_plan import create_plan, load_plan, set_published
from inclusive_cities.store import connect
from inclusive_cities.web import create_app
from tests.planning.test_territorial_plan import HEADERS_ES, ROWS_ES, tiny_png, write_xlsx
from tests.web.conftest import build_city, specs


@dataclass
class Outcome:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Callable[..., Outcome]:
    def invoke(*args: str) -> Outcome:
        capsys.readouterr()
        try:
            main(list(args))
            code = 0
        except SystemExit as stop:
            code = int(stop.code or 0)
        captured = capsys.readouterr()
        return Outcome(code, captured.out, captured.err)

    return invoke


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("plan-cli")
    url = f"sqlite:///{folder / 'o.db'}"
    build_city(url)
    return url


def test_a_planner_builds_publishes_and_reports_a_plan(
    run: Callable[..., Outcome], url: str, tmp_path: Path
) -> None:
    db = ("--database", url, "--quiet")
    created = run(*db, "--lang", "es", "plan", "create", "--city", "TST", "--period", "2026-2029",
                  "--code", "PIT", "--name", "Plan barrial")  # fmt: skip
    assert created.returncode == 0, created.stderr
    assert "Plan PIT de TST para 2026-2029: 0 proyectos." in created.stdout
    workbook = write_xlsx(tmp_path / "plan.xlsx", HEADERS_ES, ROWS_ES, "Proyectos")
    imported = run(*db, "--lang", "en", "plan", "import", str(workbook), "--city", "TST",
                   "--plan", "PIT")  # fmt: skip
    assert imported.returncode == 0 and "Imported 3 projects into plan PIT." in imported.stdout
    bad = write_xlsx(tmp_path / "malo.xlsx", HEADERS_ES, [[*ROWS_ES[0][:4], "-5"]], "Proyectos")
    failed = run(*db, "--lang", "es", "plan", "import", str(bad), "--city", "TST", "--plan", "PIT")
    assert failed.returncode == 1
    assert failed.stderr.strip().count("\n") == 0
    assert "malo.xlsx, fila 2, columna 'Costo': '-5' no es un costo" in failed.stderr
    proposals = write_xlsx(
        tmp_path / "propuestas.xlsx",
        ["Código", "Barrio", "Título", "Apoyos", "Resultado", "Proyecto"],
        [["PV-1", "01001", "Parque para niños", 240, "adoptada", "P01"],
         ["PV-2", "01002", "Mural", 4, "pendiente", None]],
        "Propuestas",
    )  # fmt: skip
    assert run(*db, "plan", "proposals", "import", str(proposals), "--city", "TST").returncode == 0
    listed = run(*db, "--lang", "es", "plan", "proposals", "list", "--city", "TST")
    assert "menos de 10" in listed.stdout and " 4 " not in listed.stdout
    photo = tmp_path / "antes.png"
    photo.write_bytes(tiny_png())
    designed = run(*db, "plan", "designs", "add", "--city", "TST", "--code", "DP-1", "--name",
                   "Parque", "--plan", "PIT", "--project", "P01", "--polygon",
                   "POLYGON ((-72.497 7.903, -72.493 7.903, -72.493 7.907, -72.497 7.903))",
                   "--option", "A=Juegos: zona infantil", "--option", "B=Huerta: comunitaria",
                   "--chosen", "B")  # fmt: skip
    assert designed.returncode == 0, designed.stderr
    stored = run(*db, "plan", "designs", "photo", str(photo), "--city", "TST", "--design", "DP-1",
                 "--stage", "before")  # fmt: skip
    assert stored.returncode == 0, stored.stderr
    published = run(*db, "--lang", "en", "plan", "publish", "--city", "TST", "--plan", "PIT")
    assert "plan-tst-pit" in published.stdout
    out = tmp_path / "plan.gpkg"
    exported = run(*db, "plan", "export", "--city", "TST", "--plan", "PIT", "--out", str(out))
    assert exported.returncode == 0, exported.stderr
    assert out.stat().st_size > 0

    html_en = tmp_path / "plan-en.html"
    written = run(*db, "plan", "report", "--city", "TST", "--plan", "PIT", "--lang", "en",
                  "--out", str(html_en))  # fmt: skip
    assert written.returncode == 0, written.stderr
    english = html_en.read_text()
    assert "Territorial Intervention Plan" in english
    # the plan's total (1 200 000 + 800 000 + 500 000) as each language writes it
    assert "2,500,000" in english and "Parque para niños" in english
    assert "fewer than 10" in english and "T1:S-02" in english
    assert "data:image/png;base64," in english  # map, timeline and the design's photo
    pdf = tmp_path / "plan.pdf"
    written = run(*db, "plan", "report", "--city", "TST", "--plan", "PIT", "--lang", "es", "--out",
                  str(pdf))  # fmt: skip
    assert written.returncode == 0, written.stderr
    text = subprocess.run(
        ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "Plan de Intervención Territorial" in text and "2.500.000" in text
    assert "Propuestas barriales" in text and "Cronograma" in text


@pytest.mark.postgres
def test_the_same_plan_on_postgresql(postgres_url: str, tmp_path: Path) -> None:
    build_city(postgres_url)
    engine = connect(postgres_url)
    create_plan(engine, "TST", "2026-2029", code="PIT")
    path = write_xlsx(tmp_path / "plan.xlsx", HEADERS_ES, ROWS_ES, "Proyectos")
    assert import_plan(engine, "TST", "PIT", path) == 3
    plan = load_plan(engine, "TST", "PIT")
    assert plan.info.cost == 2_500_000 and plan.info.done == 1
    proposals = write_xlsx(
        tmp_path / "p.xlsx",
        ["code", "neighbourhood", "title", "supporters", "outcome", "reason"],
        [["PV-1", "02001", "Cancha", 35, "not adopted", "Sin predio"]],
        "proposals",
    )
    assert import_proposals(engine, "TST", proposals) == 1
    assert list_proposals(engine, "TST")["outcome"].tolist() == ["not_adopted"]
    save_design(engine, "TST", {"code": "DP", "plan": "PIT", "item": "P01", "options": []})
    png = tiny_png()
    photo = add_photo(engine, "TST", "DP", png, stage="after", file_name="despues.png")
    assert read_photo(engine, photo) == (png, "image/png", "despues.png")
    set_published(engine, "TST", "PIT")
    with TestClient(create_app(postgres_url, specs=specs)) as client:
        body = client.get("/ogc/collections/plan-tst-pit/items").json()
    assert sorted(f["id"] for f in body["features"]) == ["P01", "P02"]  # P03 has no site
