"""`inclusive-cities indicators compute` on a tiny city in an SQLite observatory."""

from __future__ import annotations

from pathlib import Path

import pytest
import shapely
from sqlalchemy import func, select

from inclusive_cities.cli import main
from inclusive_cities.indicators import pipeline
from inclusive_cities.indicators.pipeline import compute_city
from inclusive_cities.store import init_database, models, transaction
from tests.indicators import city

OFFSET = (500_000, 870_000)  # near 7.9°N on UTM 18N's central meridian


def moved(frame):
    return frame.set_geometry(frame.translate(*OFFSET))


@pytest.fixture
def observatory(tmp_path: Path) -> tuple[str, Path]:
    return build(f"sqlite:///{tmp_path / 'observatory.db'}", tmp_path)


def build(url: str, tmp_path: Path) -> tuple[str, Path]:
    engine = init_database(url)
    persons, households = tmp_path / "persons.parquet", tmp_path / "households.parquet"
    city.frame(city.persons()).to_parquet(persons)
    city.frame(city.households()).to_parquet(households)
    blocks = moved(city.units()).to_crs("EPSG:4326")
    facilities = moved(city.facilities()).to_crs("EPSG:4326")
    layers = tmp_path / "environment.gpkg"
    for name, layer in city.layers().items():
        moved(layer).to_file(layers, layer=name, driver="GPKG")
    with transaction(engine) as session:
        town = models.City(code="TST", name="Test town", projected_crs="EPSG:32618")
        period = models.Period(code="2024")
        session.add_all([town, period])
        session.flush()
        batches = {}
        for kind, path in (("census_persons", persons), ("census_households", households)):
            batch = models.ImportBatch(
                kind=kind,
                file_name=path.name,
                sha256="0" * 64,
                city_id=town.id,
                period_id=period.id,
                details={"parquet": str(path)},
            )
            session.add(batch)
            session.flush()
            batches[kind] = batch.id
        barrio = models.UnitLevel(city_id=town.id, code="barrio", depth=0)
        manzana = models.UnitLevel(city_id=town.id, code="manzana", depth=1)
        session.add_all([barrio, manzana])
        session.flush()
        parents = {}
        for code in ("01", "02"):
            unit = models.SpatialUnit(city_id=town.id, level_id=barrio.id, code=code)
            session.add(unit)
            session.flush()
            parents[code] = unit.id
        for code, geometry in zip(blocks.index, blocks.geometry, strict=True):
            session.add(
                models.SpatialUnit(
                    city_id=town.id,
                    level_id=manzana.id,
                    code=code,
                    parent_id=parents[code[:2]],
                    geometry=shapely.to_wkb(geometry),
                )
            )
        for i, (kind, point) in enumerate(
            zip(facilities["type"], facilities.geometry, strict=True)
        ):
            session.add(
                models.Facility(
                    city_id=town.id, code=f"F{i}", type=kind, longitude=point.x, latitude=point.y
                )
            )
    return url, layers


def compute(url: str, *options: str) -> None:
    """``inclusive-cities indicators compute`` for the test town, period 2024."""
    main(
        ["--database", url, "indicators", "compute", "--city", "TST", "--period", "2024", *options]
    )


def observations(url: str) -> list[tuple]:
    engine = init_database(url)
    with transaction(engine) as session:
        return session.execute(
            select(
                models.Indicator.code,
                models.SpatialUnit.code,
                models.Observation.sex,
                models.Observation.age_group,
                models.Observation.nationality,
                models.Observation.value,
                models.Observation.n,
                models.Observation.status,
                models.Observation.source,
                models.Observation.batch_id,
            )
            .join(models.Indicator, models.Indicator.id == models.Observation.indicator_id)
            .join(models.SpatialUnit, models.SpatialUnit.id == models.Observation.unit_id)
        ).all()


def test_compute_writes_every_computable_indicator(db_url, tmp_path, capsys) -> None:
    url, layers = build(db_url, tmp_path)
    compute(url, "--layers", str(layers))
    out = capsys.readouterr().out
    assert (
        "Not computed: crime_rate_per_100k: it comes from an indicator table and none was "
        "imported." in out
    )
    assert (
        "Not computed: mig_regular_status: it is estimated from a refugee and migrant survey by "
        "'inclusive-cities survey layers', which has not been run." in out
    )
    rows = observations(url)
    codes = {row[0] for row in rows}
    assert len(codes) == 36  # 39 in the catalogue minus three table indicators
    totals = {(r[0], r[1]): r for r in rows if r[2:5] == ("_T", "_T", "_T")}
    households = city.households()
    for unit, member in (
        ("01001", lambda r: r["unit_code"] == "01001"),
        ("01", lambda r: r["unit_code"].startswith("01")),
    ):
        expected, n = city.household_reference("piped_water", [r for r in households if member(r)])
        row = totals[("piped_water", unit)]
        assert row[5] == pytest.approx(expected) and row[6] == n and row[7] == "computed"
        assert row[8].startswith("computed by inclusive-cities indicators from census_households")
    # distances survive the trip through WGS84 and back to UTM
    assert totals[("dist_health_m", "02002")][5] == pytest.approx(350.0, abs=0.05)
    # small groups are kept as suppressed rows, with their size
    suppressed = [r for r in rows if r[7] == "suppressed"]
    assert suppressed and all(
        r[5] is None and r[6] < 5 for r in suppressed if r[0] == "health_insurance"
    )


def test_recomputing_replaces_earlier_values(observatory) -> None:
    url, _layers = observatory
    arguments = [
        "--database",
        url,
        "indicators",
        "compute",
        "--city",
        "TST",
        "--period",
        "2024",
        "--only",
        "internet",
        "--only",
        "dist_school_m",
    ]
    main(arguments)
    first = sorted(observations(url), key=str)
    main(arguments)
    assert sorted(observations(url), key=str) == first
    assert {row[0] for row in first} == {"internet", "dist_school_m"}


def test_catalogue_with_unknown_column_writes_nothing(observatory, tmp_path, capsys) -> None:
    url, _layers = observatory
    bad = tmp_path / "mine.yaml"
    bad.write_text(
        "indicators:\n"
        "  car_ownership:\n"
        "    record: household\n"
        "    name: {es: Autos, en: Cars}\n"
        "    aggregation: share\n"
        "    numerator: cars > 0\n",
        encoding="utf-8",
    )
    with pytest.raises(SystemExit) as stop:
        compute(url, "--catalogue", str(bad))
    assert stop.value.code == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith(
        "Error: mine.yaml, indicator 'car_ownership', line 6, numerator: expression 'cars > 0' "
        "uses the "
        "unknown column 'cars': the known columns are bedrooms, durable_floor"
    )
    assert "\n" not in err
    engine = init_database(url)
    with transaction(engine) as session:
        assert session.scalar(select(func.count()).select_from(models.Observation)) == 0


def test_unknown_city_is_one_line(observatory, capsys) -> None:
    url, _layers = observatory
    with pytest.raises(SystemExit):
        main(["--database", url, "indicators", "compute", "--city", "ZZZ", "--period", "2024"])
    assert capsys.readouterr().err.strip() == (
        "Error: There is no city 'ZZZ' in the observatory (known: TST): import its boundaries "
        "first."
    )


def test_check_and_list(tmp_path, capsys) -> None:
    extra = tmp_path / "extra.yaml"
    extra.write_text(
        "indicators:\n"
        "  disability_share:\n"
        "    record: person\n"
        "    name: {es: Discapacidad, en: Disability}\n"
        "    aggregation: share\n"
        "    numerator: disability\n"
        "    denominator: not_null(disability)\n",
        encoding="utf-8",
    )
    main(["indicators", "check", str(extra)])
    # the 55 shipped entries (uim-basic, uim-extended, context figures) + the user's one
    assert "The catalogue is valid: 56 indicators." in capsys.readouterr().out
    main(["indicators", "list", "--json", "--catalogue", str(extra)])
    assert '"code": "disability_share"' in capsys.readouterr().out


def test_imported_table_indicators_are_kept_and_named(observatory, capsys) -> None:
    url, _layers = observatory
    engine = init_database(url)
    with transaction(engine) as session:
        batch = models.ImportBatch(kind="table", file_name="crime.csv", sha256="1" * 64)
        indicator = models.Indicator(code="crime_rate_per_100k", name_es="Delitos", name_en="Crime")
        # an indicator table names its columns by code only: the catalogue names it
        mix = models.Indicator(code="land_use_mix", name_es="land_use_mix", name_en="land_use_mix")
        survey = models.Indicator(code="mig_documentation", name_es="x", name_en="x")
        session.add_all([batch, indicator, mix, survey])
        session.flush()
        barrio = session.scalars(
            select(models.SpatialUnit).where(models.SpatialUnit.code == "01")
        ).one()
        period = session.scalars(select(models.Period)).one()
        for row, value, status in (
            (indicator, 812.0, "observed"),
            (mix, 0.4, "observed"),
            (survey, 61.5, "estimated"),
        ):
            session.add(
                models.Observation(
                    indicator_id=row.id,
                    unit_id=barrio.id,
                    period_id=period.id,
                    value=value,
                    status=status,
                    batch_id=batch.id,
                )
            )
        batch_id = batch.id
    compute(
        url,
        "--only",
        "crime_rate_per_100k",
        "--only",
        "land_use_mix",
        "--only",
        "internet",
        "--only",
        "mig_documentation",
    )
    out = capsys.readouterr().out
    assert f"Imported, kept as observed: crime_rate_per_100k (from import batch {batch_id})." in out
    assert f"Imported, kept as observed: mig_documentation (from import batch {batch_id})." in out
    with transaction(engine) as session:
        names = {
            row.code: (row.name_es, row.name_en, row.dimension)
            for row in session.scalars(select(models.Indicator))
        }
    assert names["crime_rate_per_100k"] == ("Delitos", "Crime", "EP_SEG")
    assert names["land_use_mix"] == (
        "Mezcla de usos del suelo (Shannon)",
        "Land-use mix (Shannon)",
        "EP_VIT",
    )
    kept = [r for r in observations(url) if r[0] == "crime_rate_per_100k"]
    assert kept == [
        ("crime_rate_per_100k", "01", "_T", "_T", "_T", 812.0, None, "observed", "", batch_id)
    ]


def test_survey_layer_indicators_name_their_survey(observatory, capsys) -> None:
    url, _layers = observatory
    engine = init_database(url)
    with transaction(engine) as session:
        survey = models.Indicator(code="mig_documentation", name_es="x", name_en="x")
        session.add(survey)
        session.flush()
        barrio = session.scalars(
            select(models.SpatialUnit).where(models.SpatialUnit.code == "01")
        ).one()
        period = session.scalars(select(models.Period)).one()
        # what 'survey layers' writes: an estimate without an import batch
        session.add(
            models.Observation(
                indicator_id=survey.id,
                unit_id=barrio.id,
                period_id=period.id,
                value=61.5,
                status="estimated",
                source="survey:encuesta_x",
            )
        )
    compute(url, "--only", "mig_documentation", "--only", "internet")
    out = capsys.readouterr().out
    assert (
        "Imported, kept as observed: mig_documentation (from the survey layers of 'encuesta_x')."
        in out
    )
    assert "batch None" not in out


def test_network_not_covering_the_city_writes_nothing(observatory, capsys) -> None:
    url, layers = observatory
    with pytest.raises(SystemExit) as stop:
        compute(url, "--layers", str(layers), "--network", "vias")
    assert stop.value.code == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("Error: The street network does not cover the city: 1 of 4 units")
    assert "\n" not in err
    assert observations(url) == []


def test_a_coarser_base_level_is_computed_from_the_blocks(observatory) -> None:
    """The census is coded by block: --level barrio writes barrio values only, the same as
    a full run gives at that level, and says nothing about unknown unit codes."""
    url, _layers = observatory
    report = compute_city(
        init_database(url), "TST", "2024", level="barrio", codes=["piped_water", "internet"]
    )
    assert report.levels == ["barrio"] and report.unknown_units == 0
    rows = observations(url)
    assert {row[1] for row in rows} == {"01", "02"}  # no block was written
    barrio = {(r[0], r[1]): r[5] for r in rows if r[2:5] == ("_T", "_T", "_T")}
    households = city.households()
    for unit in ("01", "02"):
        part = [r for r in households if r["unit_code"].startswith(unit)]
        expected, _n = city.household_reference("piped_water", part)
        assert barrio[("piped_water", unit)] == pytest.approx(expected)


def test_a_run_failing_after_the_census_keeps_the_earlier_values(observatory, capsys) -> None:
    """The census values are stored while the spatial indicators compute; when one of those
    fails (a street network that does not cover the city), the run's transaction is rolled
    back: the values of the earlier run stay, each one as it was."""
    url, layers = observatory
    compute(url, "--layers", str(layers))
    first = sorted(observations(url), key=str)
    assert {"internet", "dist_school_m"} <= {row[0] for row in first}
    with pytest.raises(SystemExit) as stop:
        compute(url, "--layers", str(layers), "--network", "vias")
    assert stop.value.code == 1
    assert "does not cover the city" in capsys.readouterr().err
    assert sorted(observations(url), key=str) == first


def test_storing_after_the_engine_stores_the_same_values(observatory, monkeypatch) -> None:
    """Without the writer thread (values stored on the caller's thread after the engine),
    a re-run replaces the values with the same ones the threaded run stored."""
    url, layers = observatory
    compute(url, "--layers", str(layers))
    threaded = sorted(observations(url), key=str)
    monkeypatch.setattr(pipeline, "WRITE_ON_A_THREAD", False)
    compute(url, "--layers", str(layers))
    assert sorted(observations(url), key=str) == threaded
    assert len(threaded) > 100
