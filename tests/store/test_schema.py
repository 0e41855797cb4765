"""The schema: migrations up and down, constraints, and engine settings, on both engines."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from inclusive_cities.store import (
    connect,
    current_revision,
    downgrade,
    head_revision,
    init_database,
    models,
    summary,
    table_names,
    transaction,
)

EXPECTED_TABLES = {
    "cities",
    "unit_levels",
    "spatial_units",
    "periods",
    "indicators",
    "observations",
    "facilities",
    "import_batches",
    "marker_runs",
    "marker_scores",
}


def test_upgrade_from_empty_to_head_and_back(db_url: str) -> None:
    engine = init_database(db_url)
    assert current_revision(engine) == head_revision()
    assert table_names(engine) >= EXPECTED_TABLES

    downgrade(engine, "base")
    assert current_revision(engine) is None
    assert table_names(engine) - {"alembic_version"} == set()

    init_database(db_url)
    assert table_names(engine) >= EXPECTED_TABLES


def test_init_twice_is_harmless(db_url: str) -> None:
    init_database(db_url)
    engine = init_database(db_url)
    assert current_revision(engine) == head_revision()


def test_migrations_match_the_models(db_url: str) -> None:
    """Autogenerate finds nothing to do: the models and the migrations agree."""
    engine = init_database(db_url)
    with engine.connect() as connection:
        differences = compare_metadata(
            MigrationContext.configure(connection, opts={"compare_type": True}),
            models.Base.metadata,
        )
    assert differences == []


def _city_with_unit(session, code: str = "0101") -> models.SpatialUnit:
    city = models.City(code="DEMO", name="Demo")
    session.add(city)
    session.flush()
    level = models.UnitLevel(city_id=city.id, code="block", depth=0)
    session.add(level)
    session.flush()
    unit = models.SpatialUnit(city_id=city.id, level_id=level.id, code=code)
    session.add(unit)
    session.flush()
    return unit


def test_unit_codes_keep_leading_zeros(db_url: str) -> None:
    engine = init_database(db_url)
    with transaction(engine) as session:
        _city_with_unit(session, code="007")
    with transaction(engine) as session:
        assert session.query(models.SpatialUnit.code).scalar() == "007"


def test_duplicate_observation_is_refused(db_url: str) -> None:
    engine = init_database(db_url)
    with transaction(engine) as session:
        unit = _city_with_unit(session)
        indicator = models.Indicator(code="piped_water", name_es="Acueducto", name_en="Piped water")
        period = models.Period(code="2024")
        session.add_all([indicator, period])
        session.flush()
        ids = {"indicator_id": indicator.id, "unit_id": unit.id, "period_id": period.id}
    with transaction(engine) as session:
        session.add(models.Observation(**ids, value=90.0))
    with pytest.raises(IntegrityError), transaction(engine) as session:
        session.add(models.Observation(**ids, value=91.0))
    # a disaggregated value for the same unit is a different observation
    with transaction(engine) as session:
        session.add(models.Observation(**ids, sex="female", value=92.0))
    assert summary(engine).counts["observations"] == 2


@pytest.mark.parametrize(
    "bad",
    [
        {"status": "guessed", "value": 1.0},
        {"status": "observed", "value": None},
        {"status": "estimated", "value": 1.0, "standard_error": -0.1},
        {"status": "estimated", "value": 1.0, "n": -3},
    ],
)
def test_observation_checks(db_url: str, bad: dict[str, object]) -> None:
    engine = init_database(db_url)
    with transaction(engine) as session:
        unit = _city_with_unit(session)
        indicator = models.Indicator(code="x", name_es="x", name_en="x")
        period = models.Period(code="2024")
        session.add_all([indicator, period])
        session.flush()
        ids = {"indicator_id": indicator.id, "unit_id": unit.id, "period_id": period.id}
    with pytest.raises(IntegrityError), transaction(engine) as session:
        session.add(models.Observation(**ids, **bad))
    assert summary(engine).counts["observations"] == 0


def test_suppressed_observation_may_have_no_value(db_url: str) -> None:
    engine = init_database(db_url)
    with transaction(engine) as session:
        unit = _city_with_unit(session)
        indicator = models.Indicator(code="x", name_es="x", name_en="x")
        period = models.Period(code="2024")
        session.add_all([indicator, period])
        session.flush()
        session.add(
            models.Observation(
                indicator_id=indicator.id,
                unit_id=unit.id,
                period_id=period.id,
                status="suppressed",
                n=3,
            )
        )
    assert summary(engine).counts["observations"] == 1


def test_foreign_keys_are_enforced(db_url: str) -> None:
    engine = init_database(db_url)
    with pytest.raises(IntegrityError), transaction(engine) as session:
        session.add(models.SpatialUnit(city_id=999, level_id=999, code="1"))


def test_deleting_a_city_cascades_to_its_units(db_url: str) -> None:
    engine = init_database(db_url)
    with transaction(engine) as session:
        _city_with_unit(session)
    with transaction(engine) as session:
        session.execute(text("DELETE FROM cities"))
    counts = summary(engine).counts
    assert (counts["cities"], counts["unit_levels"], counts["spatial_units"]) == (0, 0, 0)


def test_sqlite_uses_wal_and_foreign_keys(sqlite_url: str) -> None:
    engine = init_database(sqlite_url)
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_failed_transaction_leaves_nothing(db_url: str) -> None:
    engine = init_database(db_url)
    with pytest.raises(IntegrityError), transaction(engine) as session:
        session.add(models.City(code="A", name="A"))
        session.flush()
        session.add(models.City(code="A", name="duplicate"))
        session.flush()
    assert summary(engine).counts["cities"] == 0


def test_connect_refuses_a_missing_sqlite_file(tmp_path) -> None:
    from inclusive_cities.errors import StoreError

    with pytest.raises(StoreError, match=r"no observatory database at .*missing\.db"):
        connect(f"sqlite:///{tmp_path / 'missing.db'}")
    assert not (tmp_path / "missing.db").exists()
