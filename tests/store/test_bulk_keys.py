"""Foreign keys checked once per distinct value (``keys_checked_by_value``, used by
``indicators compute``): a row pointing at a unit or batch that does not exist is still
refused with SQLite's own error and nothing of the transaction stays; good rows are stored;
afterwards the connection checks foreign keys row by row again. Both engines (PostgreSQL
keeps its own checks and COPY)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from inclusive_cities.store import models, transaction
from inclusive_cities.store.bulk import bulk_insert, keys_checked_by_value
from tests.store_fixtures import city_with_blocks

ROWS = 1_500
FK = r"(?i)foreign key"  # SQLite: FOREIGN KEY constraint failed; PostgreSQL: ... foreign key ...


@pytest.fixture
def two_units(db_url: str):
    """A city with two blocks, one indicator, one period; returns (engine, ids)."""
    return city_with_blocks(db_url, "FKC", ("11001-0007", "11001-0999"))


def _rows(ids: dict, unit_ids: list[int], batch_ids: list[int | None]) -> dict:
    count = len(unit_ids)
    return {
        "indicator_id": [ids["indicator"]] * count,
        "unit_id": unit_ids,
        "period_id": [ids["period"]] * count,
        "sex": [f"g{i:05d}" for i in range(count)],  # one key per row
        "value": [0.25 * i for i in range(count)],
        "n": [i % 11 for i in range(count)],
        "status": ["computed"] * count,
        "source": ["censo 2018"] * count,
        "batch_id": batch_ids,
    }


def _stored(engine) -> int:
    with transaction(engine) as session:
        return int(session.scalar(select(func.count()).select_from(models.Observation)) or 0)


def test_a_row_without_its_parent_refuses_the_whole_transaction(two_units):
    engine, ids = two_units
    first, second = ids["units"]
    missing_unit = max(ids["units"]) + 40  # no such spatial unit
    units = [first, second] * (ROWS // 2)
    units[ROWS - 2] = missing_unit  # one bad row near the end
    with pytest.raises(IntegrityError, match=FK), keys_checked_by_value(engine) as s:
        s.add(models.Indicator(code="otra", name_es="Otra", name_en="Other"))
        bulk_insert(s, models.Observation.__table__, _rows(ids, units, [None] * ROWS))
    assert _stored(engine) == 0
    with transaction(engine) as session:  # the indicator added before the insert is gone too
        assert session.scalar(select(func.count()).select_from(models.Indicator)) == 1
    # a batch id that no import batch has (the only nullable key): refused as well
    batches: list[int | None] = [None] * ROWS
    batches[7] = 999
    with pytest.raises(IntegrityError, match=FK), keys_checked_by_value(engine) as s:
        bulk_insert(s, models.Observation.__table__, _rows(ids, [first] * ROWS, batches))
    assert _stored(engine) == 0


def test_good_rows_are_stored_and_row_checks_come_back(two_units):
    engine, ids = two_units
    first, second = ids["units"]
    with keys_checked_by_value(engine) as session:
        bulk_insert(
            session,
            models.Observation.__table__,
            _rows(ids, [first, second] * (ROWS // 2), [None] * ROWS),
        )
    assert _stored(engine) == ROWS
    with engine.connect() as connection:  # every pooled connection checks keys per row again
        if connection.dialect.name == "sqlite":
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    # and a plain insert of a row without its unit fails at once, as SQLite itself does
    with pytest.raises(IntegrityError, match=FK), transaction(engine) as session:
        bulk_insert(
            session,
            models.Observation.__table__,
            _rows(ids, [max(ids["units"]) + 40], [None]),
        )
    assert _stored(engine) == ROWS
