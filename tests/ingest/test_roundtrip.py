"""Generate the small demo city, load it through the importers, get back what was generated."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import pyogrio
import pytest
from sqlalchemy import func, select

from inclusive_cities.demo.generate import GeneratedCity, generate_city
from inclusive_cities.demo.load import load_demo
from inclusive_cities.ingest import microdata_path
from inclusive_cities.store import init_database, models, transaction


@pytest.fixture(scope="module")
def demo_city(tmp_path_factory: pytest.TempPathFactory) -> GeneratedCity:
    return generate_city(tmp_path_factory.mktemp("demo"), size="small", seed=7)


def test_generate_import_counts_and_sums(
    demo_city: GeneratedCity, db_url: str, tmp_path: Path
) -> None:
    engine = init_database(db_url)
    data = tmp_path / "data"
    reports = load_demo(demo_city.directory, engine, data_dir=data)
    assert all(r.status == "imported" and r.rows_rejected == 0 for r in reports)
    with transaction(engine) as session:
        city = session.scalars(select(models.City)).one()
        assert city.is_synthetic and city.code == "DEMO" and city.projected_crs == "EPSG:32618"
        per_level = dict(
            session.execute(
                select(models.UnitLevel.code, func.count(models.SpatialUnit.id))
                .join(models.SpatialUnit, models.SpatialUnit.level_id == models.UnitLevel.id)
                .group_by(models.UnitLevel.code)
            ).all()
        )
        facilities = session.scalar(select(func.count()).select_from(models.Facility))
        observations = session.scalar(select(func.sum(models.Observation.value)))
    assert per_level == {
        "localidad": demo_city.localidades,
        "barrio": demo_city.barrios,
        "manzana": demo_city.blocks,
    }
    parks = len(
        pyogrio.read_dataframe(demo_city.directory / "environment.gpkg", layer="espacio_publico")
    )
    assert facilities == sum(demo_city.facilities_by_type.values()) + parks
    # indicator values summed straight from the file (Spanish decimals, HXL row skipped)
    with (demo_city.directory / "indicators_neighbourhood.csv").open(encoding="utf-8") as handle:
        rows = list(csv.reader(handle, delimiter=";"))[2:]
    expected = sum(float(v.replace(",", ".")) for row in rows for v in row[2:] if v)
    assert observations == pytest.approx(expected)
    con = duckdb.connect()
    persons = microdata_path(data, "DEMO", "2024", "persons")
    households = microdata_path(data, "DEMO", "2024", "households")
    assert con.execute(f"SELECT count(*) FROM '{persons}'").fetchone() == (demo_city.persons,)
    assert con.execute(f"SELECT count(*) FROM '{households}'").fetchone() == (demo_city.households,)
    assert con.execute(
        f"SELECT count(*) FROM '{persons}' WHERE nationality = 'venezuelan'"
    ).fetchone() == (demo_city.venezuelans,)
    assert con.execute(f"SELECT sum(monthly_income) FROM '{households}'").fetchone() == (
        pytest.approx(demo_city.income_total),
    )
    by_block = dict(
        con.execute(f"SELECT unit_code, count(*) FROM '{persons}' GROUP BY 1").fetchall()
    )
    assert by_block == {k: v for k, v in demo_city.persons_by_block.items() if v}
    again = load_demo(demo_city.directory, engine, data_dir=data)
    assert [r.status for r in again] == ["unchanged"] * len(reports)
