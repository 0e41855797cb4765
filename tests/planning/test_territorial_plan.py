"""Territorial intervention plans, proposals and participatory designs: stored, checked,
imported and exported through real files (XLSX, GeoPackage), values worked out by hand."""

from __future__ import annotations

import struct
import zlib
from datetime import date
from pathlib import Path

import geopandas as gpd
import openpyxl
import pandas as pd
import pytest
import shapely
from sqlalchemy import Engine, select

from inclusive_cities.planning.designs import add_photo, list_designs, read_photo, save_design
from inclusive_cities.planning.plan_io import export_plan, import_plan, write_template
from inclusive_cities.planning.proposals import import_proposals, list_proposals, save_proposal
from inclusive_cities.planning.territorial_plan import (
    PlanError,
    add_project,
    budget_by,
    count_items,
    create_plan,
    delete_item,
    list_plans,
    load_plan,
    save_item,
    unanswered_solutions,
)
from inclusive_cities.store import connect, models, transaction
from inclusive_cities.store.workshop_models import Workshop, WorkshopMatrixRow
from tests.web.conftest import build_city

HEADERS_ES = [
    "Código",
    "Nombre",
    "Tipo",
    "Estado",
    "Costo",
    "Fuente de financiación",
    "Fecha inicio",
    "Fecha fin",
    "Unidades",
    "Objetivos",
    "Soluciones",
    "Longitud",
    "Latitud",
    "Columna rara",
]
HEADERS_TEMPLATE_CANONICAL = [
    "code",
    "project_code",
    "name",
    "type",
    "description",
    "status",
    "cost",
    "funding_source",
    "start_date",
    "end_date",
    "unit_codes",
    "targets",
    "solution_codes",
    "longitude",
    "latitude",
]
"""The template's columns, in its order (what each header means, whatever its language)."""
ROWS_ES = [
    [
        "P01",
        "Parque La Esperanza",
        "Espacio público",
        "Aprobado",
        "1.200.000",
        "Alcaldía",
        "2026-02-01",
        "2026-11-30",
        "01001",
        "EPUB",
        "S-01",
        -72.495,
        7.905,
        999,
    ],
    [
        "P02",
        "Mejoramiento de vivienda",
        "vivienda",
        "ejecutado",
        800000,
        "BID",
        "2025-01-15",
        "2025-12-20",
        "01002; 01003",
        "VIV; SAL",
        "T1:S-02",
        -72.485,
        7.905,
        -999,
    ],
    [
        "P03",
        "Centro de atención",
        "centro",
        "propuesto",
        "500000",
        "ACNUR",
        None,
        None,
        "02001",
        "",
        "",
        None,
        None,
        None,
    ],
]


def write_xlsx(path: Path, headers: list[str], rows: list[list[object]], sheet: str) -> Path:
    workbook = openpyxl.Workbook()
    ws = workbook.active
    assert ws is not None
    ws.title = sheet
    ws.append(headers)
    for row in rows:
        ws.append(row)
    workbook.save(path)
    return path


def tiny_png() -> bytes:
    """A real 1×1 PNG built byte by byte (signature, IHDR, IDAT, IEND)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    folder = tmp_path_factory.mktemp("plan")
    url = f"sqlite:///{folder / 'o.db'}"
    build_city(url)
    engine = connect(url)
    with transaction(engine) as session:
        city = session.scalar(select(models.City).where(models.City.code == "TST"))
        assert city is not None
        workshop = Workshop(city_id=city.id, code="T1", title="Taller barrio 01")
        session.add(workshop)
        session.flush()
        for i, (code, text) in enumerate(
            [("S-01", "Recuperar el parque"), ("S-02", "Mejorar techos"), ("S-03", "Huerta")]
        ):
            session.add(
                WorkshopMatrixRow(
                    workshop_id=workshop.id,
                    code=code,
                    area="EPUB",
                    kind="solution",
                    position=i,
                    text=text,
                )
            )
        session.add(
            models.PlanningProject(
                city_id=city.id,
                code="CAND-9",
                name="Biblioteca comunitaria",
                type="services",
                cost=300000.0,
                funder="Gobernación",
                targets=["EDU"],
                unit_codes=["02002"],
                longitude=-72.475,
                latitude=7.915,
                geometry=shapely.to_wkb(shapely.Point(-72.475, 7.915)),
            )
        )
    create_plan(engine, "TST", "2026-2029", code="PIT", name="Plan de prueba")
    return engine


def test_import_xlsx_with_spanish_headers_and_budget(engine: Engine, tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "plan.xlsx", HEADERS_ES, ROWS_ES, "Proyectos")
    assert import_plan(engine, "TST", "PIT", path) == 3
    assert import_plan(engine, "TST", "PIT", path) == 3  # re-import: same plan
    plan = load_plan(engine, "TST", "PIT")
    items = plan.items.set_index("code")
    assert list(items.index) == ["P01", "P02", "P03"]
    assert items.loc["P01", "cost"] == 1_200_000.0
    assert items.loc["P01", "type"] == "public_space" and items.loc["P01", "status"] == "approved"
    assert items.loc["P02", "status"] == "done"
    assert items.loc["P02", "unit_codes"] == ["01002", "01003"]
    assert items.loc["P02", "end_date"] == date(2025, 12, 20)
    assert items.loc["P03", "geometry"] is None
    assert items.loc["P01", "geometry"].equals(shapely.Point(-72.495, 7.905))
    assert plan.info.items == 3 and plan.info.cost == 2_500_000.0 and plan.info.done == 1
    by_status = budget_by(plan.items, "status").set_index("key")
    assert list(by_status.index) == ["proposed", "approved", "done"]
    assert by_status.loc["approved", "share"] == pytest.approx(1.2 / 2.5)
    # P02's 800 000 split over VIV and SAL; P03 has no target
    by_target = budget_by(plan.items, "target").set_index("key")
    assert by_target.loc["VIV", "cost"] == 400_000 and by_target.loc["EPUB", "cost"] == 1_200_000
    assert by_target["cost"].sum() == 2_500_000
    unanswered = unanswered_solutions(engine, "TST", "PIT")
    assert list(unanswered["code"]) == ["S-03"]
    assert count_items(engine, "TST", status="done") == 1
    assert count_items(engine, "TST", status="done", ended_by=date(2025, 6, 30)) == 0
    assert count_items(engine, "TST", status=None, plan="PIT") == 3


def test_bad_rows_name_file_row_column_and_value(engine: Engine, tmp_path: Path) -> None:
    before = load_plan(engine, "TST", "PIT").items
    bad = [list(r) for r in ROWS_ES]
    bad[2][3] = "casi listo"
    path = write_xlsx(tmp_path / "malo.xlsx", HEADERS_ES, bad, "Proyectos")
    with pytest.raises(
        PlanError, match=r"malo\.xlsx, row 4, column 'Estado': 'casi listo'.*proposed, approved"
    ):
        import_plan(engine, "TST", "PIT", path)
    bad = [list(r) for r in ROWS_ES]
    bad[0][8] = "99999"
    bad[1][4] = "cien"  # the first bad row stops the import before the store is touched
    path = write_xlsx(tmp_path / "malo2.xlsx", HEADERS_ES, bad, "Proyectos")
    with pytest.raises(PlanError, match=r"row 3, column 'Costo': 'cien'"):
        import_plan(engine, "TST", "PIT", path)
    bad[1][4] = 10
    path = write_xlsx(tmp_path / "malo3.xlsx", HEADERS_ES, bad, "Proyectos")
    with pytest.raises(PlanError, match=r"row 2, column 'Unidades': '99999'"):
        import_plan(engine, "TST", "PIT", path)
    after = load_plan(engine, "TST", "PIT").items
    assert after["cost"].tolist() == before["cost"].tolist()
    with pytest.raises(PlanError, match="end_date"):
        save_item(
            engine,
            "TST",
            "PIT",
            {"code": "X", "type": "economic", "start_date": "2026-05-01", "end_date": "2026-01-01"},
        )


def test_gpkg_and_xlsx_round_trip(engine: Engine, tmp_path: Path) -> None:
    plan = load_plan(engine, "TST", "PIT")
    gpkg = export_plan(engine, "TST", "PIT", tmp_path / "plan.gpkg", language="en")
    frame = gpd.read_file(gpkg, layer="projects")
    assert frame.crs.to_epsg() == 4326
    assert sorted(frame["code"]) == ["P01", "P02", "P03"]
    assert frame.set_index("code").loc["P02", "solution_codes"] == "T1:S-02"
    create_plan(engine, "TST", "2030-2033", code="COPY")
    assert import_plan(engine, "TST", "COPY", gpkg) == 3
    copy = load_plan(engine, "TST", "COPY").items
    for column in ("code", "cost", "status", "type", "start_date", "unit_codes", "targets"):
        assert copy[column].tolist() == plan.items[column].tolist()
    xlsx = export_plan(engine, "TST", "PIT", tmp_path / "plan.xlsx", language="es")
    sheets = openpyxl.load_workbook(xlsx).sheetnames
    assert sheets[0] == "proyectos" and len(sheets) == 3
    assert import_plan(engine, "TST", "COPY", xlsx, replace=True) == 3
    again = load_plan(engine, "TST", "COPY").items
    assert again["geometry"].iloc[0].equals(plan.items["geometry"].iloc[0])
    assert [p.code for p in list_plans(engine, "TST")] == ["COPY", "PIT"]


def test_candidate_project_adopted_then_removed(engine: Engine) -> None:
    code = add_project(engine, "TST", "PIT", "CAND-9", status="approved", start_date="2027-01-10")
    item = load_plan(engine, "TST", "PIT").items.set_index("code").loc[code]
    assert item["name"] == "Biblioteca comunitaria" and item["funding_source"] == "Gobernación"
    assert item["project_code"] == "CAND-9" and item["cost"] == 300000.0
    assert item["start_date"] == date(2027, 1, 10)
    with pytest.raises(PlanError, match="NOPE"):
        add_project(engine, "TST", "PIT", "NOPE")
    delete_item(engine, "TST", "PIT", code)
    assert code not in set(load_plan(engine, "TST", "PIT").items["code"])


def test_proposals_and_what_became_of_them(engine: Engine, tmp_path: Path) -> None:
    headers = ["Código", "Barrio", "Título", "Apoyos", "Resultado", "Motivo", "Plan", "Proyecto"]
    rows = [
        ["PV-1", "01001", "Parque para niños", 240, "Adoptada", "", "PIT", "P01"],
        ["PV-2", "02001", "Cancha sintética", "35", "No adoptada", "Sin predio público", "", ""],
        ["PV-3", "01002", "Ruta de bus nocturna", None, "pendiente", "", "", ""],
    ]
    path = write_xlsx(tmp_path / "propuestas.xlsx", headers, rows, "Propuestas")
    assert import_proposals(engine, "TST", path) == 3
    assert import_proposals(engine, "TST", path) == 3
    table = list_proposals(engine, "TST").set_index("code")
    assert list(table.index) == ["PV-1", "PV-2", "PV-3"]
    assert table.loc["PV-1", "plan"] == "PIT" and table.loc["PV-1", "item"] == "P01"
    assert table.loc["PV-3", "supporters"] == 0
    rows[1][5] = ""
    bad = write_xlsx(tmp_path / "p2.xlsx", headers, rows, "Propuestas")
    with pytest.raises(PlanError, match=r"p2\.xlsx, row 3, column 'Motivo'"):
        import_proposals(engine, "TST", bad)
    with pytest.raises(PlanError, match="item"):
        save_proposal(engine, "TST", {"code": "PV-9", "title": "x", "outcome": "adopted"})


def test_design_with_checked_photos(engine: Engine, tmp_path: Path) -> None:
    space = shapely.box(-72.497, 7.903, -72.493, 7.907)
    save_design(
        engine,
        "TST",
        {
            "code": "DP-1",
            "name": "Parque La Esperanza",
            "plan": "PIT",
            "item": "P01",
            "geometry": space.wkt,
            "workshop_codes": ["T1"],
            "options": [
                {"code": "A", "title": "Juegos", "description": "Zona de juegos"},
                {"code": "B", "title": "Huerta", "description": "Huerta comunitaria"},
            ],
            "chosen_option": "B",
        },
    )
    png = tiny_png()
    photo = tmp_path / "antes.png"
    photo.write_bytes(png)
    first = add_photo(engine, "TST", "DP-1", photo, stage="before", caption="Lote vacío")
    assert add_photo(engine, "TST", "DP-1", photo, stage="before") == first
    content, media, name = read_photo(engine, first)
    assert content == png and media == "image/png" and name == "antes.png"
    fake = tmp_path / "despues.jpg"
    fake.write_bytes(b"GIF89a not a jpeg")
    with pytest.raises(PlanError, match=r"despues\.jpg is not a JPEG, PNG or WebP"):
        add_photo(engine, "TST", "DP-1", fake, stage="after")
    big = tmp_path / "grande.jpg"
    big.write_bytes(b"\xff\xd8\xff" + b"0" * (5 * 1024 * 1024))
    with pytest.raises(PlanError, match="at most 5 MB"):
        add_photo(engine, "TST", "DP-1", big, stage="after")
    with pytest.raises(PlanError, match="'C'"):
        save_design(
            engine, "TST", {"code": "DP-2", "options": [{"code": "A"}], "chosen_option": "C"}
        )
    with pytest.raises(PlanError, match="no workshop 'T9'"):
        save_design(engine, "TST", {"code": "DP-3", "workshop_codes": ["T1", "T9"]})
    (design,) = list_designs(engine, "TST", plan="PIT")
    assert design.item == "P01" and design.chosen_option == "B"
    assert design.geometry is not None and design.geometry.equals(space)
    assert [(p.stage, p.size_bytes) for p in design.photos] == [("before", len(png))]


@pytest.mark.parametrize("language", ["es", "en"])
def test_the_shipped_template_filled_imports(engine: Engine, tmp_path: Path, language: str) -> None:
    template = write_template(tmp_path / f"plantilla-{language}.xlsx", language)
    workbook = openpyxl.load_workbook(template)
    projects, proposals = workbook.worksheets[0], workbook.worksheets[1]
    project_headers = [c.value for c in projects[1]]
    proposal_headers = [c.value for c in proposals[1]]
    project = {"code": "T-1", "type": "economic", "cost": 999, "status": "approved",
               "start_date": "2027-02-01", "unit_codes": "02001", "longitude": -72.48,
               "latitude": 7.915}  # fmt: skip
    spanish = dict(zip(HEADERS_TEMPLATE_CANONICAL, project_headers, strict=True))
    projects.append([project.get(c, "") for c in spanish])
    proposal = ["PV-T", "02001", "Feria", "", "", "", 12, "adopted", "", "TPL", "T-1"]
    proposals.append(proposal)
    workbook.save(template)
    create_plan(engine, "TST", "2027", code="TPL")
    assert import_plan(engine, "TST", "TPL", template) == 1
    item = load_plan(engine, "TST", "TPL").items.iloc[0]
    assert item["cost"] == 999 and item["geometry"].equals(shapely.Point(-72.48, 7.915))
    assert import_proposals(engine, "TST", template) == 1
    stored = list_proposals(engine, "TST").set_index("code").loc["PV-T"]
    assert stored["item"] == "T-1" and stored["supporters"] == 12
    assert len(proposal_headers) == len(proposal)


def test_gpkg_in_metres_is_read_in_longitude_latitude(engine: Engine, tmp_path: Path) -> None:
    park = shapely.box(-72.497, 7.903, -72.493, 7.907)
    frame = gpd.GeoDataFrame(
        {"codigo": ["G1", "G2"], "tipo": ["espacio_publico", "centro"], "costo": [10.0, -999.0]},
        geometry=[park, shapely.Point(-72.475, 7.915)],
        crs="EPSG:4326",
    ).to_crs("EPSG:32618")  # UTM 18N: metres, as a planner's GIS saves it
    path = tmp_path / "sitios.gpkg"
    frame.iloc[:1].to_file(path, layer="sitios", driver="GPKG")
    create_plan(engine, "TST", "2031", code="GPK")
    assert import_plan(engine, "TST", "GPK", path) == 1
    site = load_plan(engine, "TST", "GPK").items["geometry"].iloc[0]
    assert site.geom_type == "Polygon"
    assert site.bounds == pytest.approx(park.bounds, abs=1e-7)
    bad = tmp_path / "malo.gpkg"
    frame.to_file(bad, layer="sitios", driver="GPKG")
    with pytest.raises(PlanError, match=r"malo\.gpkg, row 2, column 'costo': '-999"):
        import_plan(engine, "TST", "GPK", bad)


def test_budget_by_area_counts_indicator_targets_under_their_area() -> None:
    """Finding 8: an indicator target is budgeted under its marker area, not beside it."""
    items = pd.DataFrame(
        {
            "targets": [["crime_rate_per_100k"], ["EPUB", "public_space_m2_per_inhab"], []],
            "cost": [100.0, 60.0, 40.0],
        }
    )
    items.attrs["target_areas"] = {
        "crime_rate_per_100k": "SEG",
        "public_space_m2_per_inhab": "EPUB",
        "V_CAL": "VIV",
    }
    table = budget_by(items, "target").set_index("key")
    # the second project targets one area twice over: all its 60 go to EPUB, none split off
    assert table["cost"].to_dict() == {"SEG": 100.0, "EPUB": 60.0, "": 40.0}
    assert table.loc["EPUB", "share"] == pytest.approx(60 / 200)


def test_status_words_follow_the_language() -> None:
    """Finding 15: the error lists the statuses as a Spanish-speaking planner writes them."""
    from inclusive_cities.i18n import use_language
    from inclusive_cities.planning.territorial_plan import clean_item

    previous = use_language("es")
    try:
        with pytest.raises(PlanError, match="propuesto, aprobado, en_ejecucion, ejecutado"):
            clean_item({"code": "P1", "type": "housing", "status": "casi listo"})
        item = clean_item({"code": "P1", "type": "housing", "status": "en_ejecucion"})
        assert item["status"] == "under_way"
    finally:
        use_language(previous)


def test_a_spanish_export_reads_in_spanish_and_imports_back(engine: Engine, tmp_path: Path) -> None:
    """A planner opening plan.xlsx in Excel reads 'Espacio público' and 'En ejecución', not the
    codes; the budget sheets have Spanish headers; the same file imports back unchanged."""
    plan = load_plan(engine, "TST", "PIT").items
    xlsx = export_plan(engine, "TST", "PIT", tmp_path / "plan.xlsx", language="es")
    projects = pd.read_excel(xlsx, sheet_name="proyectos", engine="openpyxl")
    spanish = {
        "public_space": "Espacio público",
        "housing": "Vivienda",
        "services": "Servicios",
        "centre": "Centro",
        "economic": "Económico",
        "social_cohesion": "Cohesión social",
    }
    statuses = {
        "proposed": "Propuesto",
        "approved": "Aprobado",
        "under_way": "En ejecución",
        "done": "Ejecutado",
    }
    by_code = plan.set_index("code")
    for row in projects.itertuples():
        assert row.tipo == spanish[by_code.loc[row.codigo, "type"]]
        assert row.estado == statuses[by_code.loc[row.codigo, "status"]]
    budget = pd.read_excel(xlsx, sheet_name="presupuesto por estado", engine="openpyxl")
    assert list(budget.columns) == ["Estado", "Proyectos", "Costo", "Participación"]
    expected = plan.groupby("status")["cost"].sum()
    for row in budget.itertuples():
        code = next(k for k, v in statuses.items() if v == row.Estado)
        assert row.Costo == pytest.approx(expected[code])
    by_type = pd.read_excel(xlsx, sheet_name="presupuesto por tipo", engine="openpyxl")
    assert set(by_type["Tipo"]) == {spanish[t] for t in plan["type"]}
    create_plan(engine, "TST", "2030-2033", code="COPY")
    assert import_plan(engine, "TST", "COPY", xlsx) == len(plan)
    copy = load_plan(engine, "TST", "COPY").items.set_index("code")
    assert copy["type"].to_dict() == by_code["type"].to_dict()
    assert copy["status"].to_dict() == by_code["status"].to_dict()
    english = export_plan(engine, "TST", "PIT", tmp_path / "plan-en.xlsx", language="en")
    assert set(pd.read_excel(english, sheet_name="projects", engine="openpyxl")["status"]) <= {
        "Proposed",
        "Approved",
        "Under way",
        "Executed",
    }
    create_plan(engine, "TST", "2034-2037", code="COPY2")
    import_plan(engine, "TST", "COPY2", english)
    again = load_plan(engine, "TST", "COPY2").items.set_index("code")
    assert again["status"].to_dict() == by_code["status"].to_dict()
