"""Tiny cities built in code, and a way to prove that a failed import changed nothing."""

from __future__ import annotations

import csv
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
import shapely
from sqlalchemy import Engine, MetaData, select

from inclusive_cities.ingest import IngestError, LevelSpec, import_boundaries
from inclusive_cities.store import connect, init_database

UTM = "EPSG:32618"
X0, Y0 = 775_000.0, 873_000.0  # about 7.9°N, 72.5°W (the demo city's setting)

HOUSEHOLD_COLUMNS = [
    "COD_MANZANA",
    "ID_HOGAR",
    "H_PERSONAS",
    "H_DORMITORIOS",
    "V_PARED",
    "V_PISO",
    "V_ACUEDUCTO",
    "V_ALCANTARILLADO",
    "V_ENERGIA",
    "V_BASURA",
    "H_INTERNET",
    "H_TENENCIA",
    "H_ARRIENDO",
    "H_INGRESO",
    "V_ESTRATO",
]
PERSON_COLUMNS = [
    "COD_MANZANA",
    "ID_HOGAR",
    "ID_PERSONA",
    "P_SEXO",
    "P_EDAD",
    "P_NACIONALIDAD",
    "P_ANOS_ESTUDIO",
    "P_ASISTE",
    "P_SALUD",
    "P_TRABAJO",
    "P_INFORMAL",
    "P_DISCAP",
]


def square(x: float, y: float, size: float = 1000.0) -> shapely.Polygon:
    return shapely.box(X0 + x, Y0 + y, X0 + x + size, Y0 + y + size)


def write_levels(path: Path) -> Path:
    """localidad 01, 02 (2 km x 1 km each); barrio 01001, 01002, 02001 (1 km squares)."""
    localidades = gpd.GeoDataFrame(
        {"codigo": ["01", "02"], "nombre": ["Norte", "Sur"], "codigo_padre": ["", ""]},
        geometry=[
            shapely.box(X0, Y0, X0 + 2000, Y0 + 1000),
            shapely.box(X0, Y0 - 1000, X0 + 2000, Y0),
        ],
        crs=UTM,
    )
    barrios = gpd.GeoDataFrame(
        {
            "codigo": ["01001", "01002", "02001"],
            "nombre": ["A", "B", "C"],
            "codigo_padre": ["01", "01", "02"],
        },
        geometry=[square(0, 0), square(1000, 0), square(0, -1000)],
        crs=UTM,
    )
    localidades.to_file(path, layer="localidad", driver="GPKG")
    barrios.to_file(path, layer="barrio", driver="GPKG")
    return path


DEMO_LEVELS = [
    LevelSpec("localidad", layer="localidad", parent_column="codigo_padre"),
    LevelSpec("barrio", layer="barrio", parent_column="codigo_padre"),
]


def _copy_database(template: Path, url: str) -> Engine:
    """A fresh database made by copying a prepared one (migrations run once per session)."""
    target = Path(url.removeprefix("sqlite:///"))
    shutil.copy(template, target)
    return connect(url)


@pytest.fixture(scope="session")
def empty_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("templates") / "empty.db"
    init_database(f"sqlite:///{path}").dispose()
    return path


@pytest.fixture(scope="session")
def city_template(tmp_path_factory: pytest.TempPathFactory, empty_template: Path) -> Path:
    folder = tmp_path_factory.mktemp("city")
    path = folder / "city.db"
    shutil.copy(empty_template, path)
    engine = connect(f"sqlite:///{path}")
    import_boundaries(engine, write_levels(folder / "levels.gpkg"), DEMO_LEVELS, city="TST")
    engine.dispose()
    return path


@pytest.fixture
def engine(sqlite_url: str, empty_template: Path) -> Engine:
    return _copy_database(empty_template, sqlite_url)


@pytest.fixture
def city(sqlite_url: str, city_template: Path) -> Engine:
    """An observatory holding city TST with two levels (2 localidades, 3 barrios)."""
    return _copy_database(city_template, sqlite_url)


def snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table: equal snapshots mean nothing was written."""
    metadata = MetaData()
    metadata.reflect(engine)
    with engine.connect() as connection:
        return {
            name: sorted(
                (tuple(str(v) for v in row) for row in connection.execute(select(table))),
            )
            for name, table in metadata.tables.items()
        }


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) if folder.exists() else []


def assert_rejected(
    engine: Engine, call: Callable[[], Any], *fragments: str, data_dir: Path | None = None
) -> str:
    """The call fails with a message holding every fragment, and the store is untouched."""
    before = snapshot(engine)
    files_before = files_under(data_dir) if data_dir else []
    with pytest.raises(IngestError) as caught:
        call()
    message = str(caught.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    assert "\n" not in message
    assert snapshot(engine) == before
    if data_dir:
        assert files_under(data_dir) == files_before
    return message


def write_csv(
    path: Path,
    header: list[str],
    rows: list[list[object]],
    encoding: str = "utf-8",
    delimiter: str = ",",
) -> Path:
    with path.open("w", newline="", encoding=encoding) as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def household(unit: str, hid: str, **changes: object) -> list[object]:
    values = dict(
        zip(
            HOUSEHOLD_COLUMNS,
            [unit, hid, 3, 2, 1, 2, 1, 1, 1, 1, 1, 2, 400000, 1500000, 2],
            strict=True,
        )
    )
    values.update(changes)
    return [values[c] for c in HOUSEHOLD_COLUMNS]


def person(unit: str, hid: str, pid: str, **changes: object) -> list[object]:
    values = dict(zip(PERSON_COLUMNS, [unit, hid, pid, 2, 30, 1, 11, 2, 1, 1, 2, 2], strict=True))
    values.update(changes)
    return [values[c] for c in PERSON_COLUMNS]


def households_file(path: Path, rows: list[list[object]] | None = None) -> Path:
    rows = (
        rows
        if rows is not None
        else [
            household("01001", "H1"),
            household("01002", "H2", H_PERSONAS=1),
            household("02001", "H3", H_TENENCIA=1, H_ARRIENDO=""),
        ]
    )
    return write_csv(path, HOUSEHOLD_COLUMNS, rows)


def persons_file(path: Path, rows: list[list[object]] | None = None) -> Path:
    rows = (
        rows
        if rows is not None
        else [
            person("01001", "H1", "P1", P_EDAD=40),
            person("01001", "H1", "P2", P_EDAD=12, P_TRABAJO="", P_INFORMAL=""),
            person("01001", "H1", "P3", P_SEXO=1, P_EDAD=41, P_NACIONALIDAD=2),
            person("01002", "H2", "P4", P_EDAD=70, P_TRABAJO=3, P_INFORMAL=""),
            person("02001", "H3", "P5", P_SEXO=1, P_EDAD=25, P_SALUD=9),
        ]
    )
    return write_csv(path, PERSON_COLUMNS, rows)
