"""Boundaries made by others keep their makers' terms on every download (ODbL is not CC BY)."""

from __future__ import annotations

import io
from pathlib import Path

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select

from inclusive_cities.cli import main
from inclusive_cities.ingest.boundaries import boundary_terms
from inclusive_cities.store import connect, models, transaction
from tests.ingest.test_boundaries import QUITO
from tests.web.conftest import City

OSM = "© OpenStreetMap contributors"


def _run(*arguments: str) -> None:
    try:
        main(list(arguments))
    except SystemExit as stop:
        assert stop.code in (None, 0), arguments


def test_import_boundaries_records_their_attribution_and_licence(tmp_path: Path) -> None:
    """The real Quito parroquias (OpenStreetMap geometry, SOURCE.md): the import keeps who made
    them and under which licence; a re-import that declares nothing replaces them."""
    url = f"sqlite:///{tmp_path / 'q.db'}"
    common = ["-d", url, "--quiet", "import", "boundaries", str(QUITO), "--city", "UIO"]
    level = ["--level", "parroquia", "--code-column", "parroquia", "--country", "ECU"]
    _run("-d", url, "--quiet", "init")
    _run(*common, *level, "--attribution", OSM, "--licence", "ODbL-1.0", "--accept-valid")
    engine = connect(url)
    with transaction(engine) as session:
        city = session.scalar(select(models.City.id).where(models.City.code == "UIO"))
        assert city is not None
        assert boundary_terms(session, city) == [f"{OSM} — ODbL-1.0"]
    # an attribution alone is not a licence (trial F10: "Datos Abiertos Quito" read as one)
    other = f"sqlite:///{tmp_path / 'o.db'}"
    _run("-d", other, "--quiet", "init")
    quito = ("--attribution", "Datos Abiertos Quito", "--accept-valid")
    _run("-d", other, *common[2:], *level, *quito)
    with transaction(connect(other)) as session:
        city = session.scalar(select(models.City.id).where(models.City.code == "UIO"))
        assert city is not None
        assert boundary_terms(session, city) == ["Datos Abiertos Quito — licence not declared"]


def test_a_download_names_the_boundaries_licence_beside_the_figures(
    fresh_city: City, fresh_client: TestClient
) -> None:
    engine = connect(fresh_city.url)
    with transaction(engine) as session:
        city = session.scalar(select(models.City).where(models.City.code == "TST"))
        assert city is not None
        session.add(
            models.ImportBatch(
                kind="boundaries",
                file_name="parroquias.geojson",
                sha256="0" * 64,
                city_id=city.id,
                details={"scope": ["level:manzana"], "attribution": OSM, "licence": "ODbL-1.0"},
            )
        )
    book = load_workbook(io.BytesIO(fresh_client.get("/downloads/tst-uim-test-2024.xlsx").content))
    meta = {row[0].value: row[1].value for row in book["metadatos"].iter_rows(min_row=2)}
    assert meta["Licencia"] == f"CC BY 4.0 (cifras); límites: {OSM} — ODbL-1.0"
    english = fresh_client.get("/downloads/tst-uim-test-2024.xlsx", params={"lang": "en"})
    book = load_workbook(io.BytesIO(english.content))
    meta = {row[0].value: row[1].value for row in book["metadata"].iter_rows(min_row=2)}
    assert meta["Licence"] == f"CC BY 4.0 (figures); boundaries: {OSM} — ODbL-1.0"


def test_figures_imported_under_their_makers_licence_say_so_on_downloads(tmp_path: Path) -> None:
    """Trial #3 F9: INEC's census figures were labelled with the observatory's default
    'CC BY 4.0 (cifras)' because `import table` had no way to declare their licence."""
    import pyogrio

    from inclusive_cities.web import create_app

    url = f"sqlite:///{tmp_path / 'q.db'}"
    _run("-d", url, "--quiet", "init")
    _run(
        "-d",
        url,
        "--quiet",
        "import",
        "boundaries",
        str(QUITO),
        "--city",
        "UIO",
        "--level",
        "parroquia",
        "--code-column",
        "parroquia",
        "--country",
        "ECU",
        "--attribution",
        OSM,
        "--licence",
        "ODbL-1.0",
        "--accept-valid",
    )
    names = sorted(pyogrio.read_dataframe(QUITO, read_geometry=False)["parroquia"].dropna())[:3]
    table = tmp_path / "poblacion.csv"
    table.write_text(
        "parroquia,poblacion_total\n" + "".join(f"{n},{1000 + i}\n" for i, n in enumerate(names)),
        encoding="utf-8",
    )
    _run(
        "-d",
        url,
        "--quiet",
        "import",
        "table",
        str(table),
        "--city",
        "UIO",
        "--period",
        "2010",
        "--unit-column",
        "parroquia",
        "--source",
        "INEC, censo 2010",
        "--licence",
        "INEC: uso libre citando la fuente",
    )
    _run("-d", url, "--quiet", "publish", "--city", "UIO", "--period", "2010", "--layers")
    with TestClient(create_app(url)) as client:
        listing = client.get("/ogc/collections", params={"f": "json"}).json()
        layer = next(c["id"] for c in listing["collections"] if "poblacion" in c["id"])
        book = load_workbook(io.BytesIO(client.get(f"/downloads/{layer}.xlsx").content))
    meta = {row[0].value: row[1].value for row in book["metadatos"].iter_rows(min_row=2)}
    assert meta["Licencia"] == (
        f"INEC, censo 2010 — INEC: uso libre citando la fuente (cifras); límites: {OSM} — ODbL-1.0"
    )
