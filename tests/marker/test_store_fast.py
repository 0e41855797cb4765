"""Big bulk inserts take SQLite's fast paths (indexes rebuilt once, CHECK constraints verified
in one statement after the rows) without losing what the schema guarantees: a row breaking a
CHECK constraint is refused with the constraint's name and nothing of the insert stays; the
indexes are back, identical, afterwards. Both engines (PostgreSQL uses COPY)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from inclusive_cities.store import models, transaction
from inclusive_cities.store.bulk import CHECK_AFTER, bulk_insert, plain_indexes_dropped
from tests.store_fixtures import city_with_blocks

ROWS = CHECK_AFTER + 500  # above the threshold: the checks run after the insert


@pytest.fixture
def one_unit(db_url: str):
    """A city with one block, one indicator and one period; returns (engine, ids)."""
    engine, ids = city_with_blocks(db_url, "CHK", ("11001-0007",))
    return engine, (ids["indicator"], ids["units"][0], ids["period"])


def _rows(ids: tuple[int, int, int], status: list[str], value: list[float | None]) -> dict:
    indicator, unit, period = ids
    count = len(status)
    return {
        "indicator_id": [indicator] * count,
        "unit_id": [unit] * count,
        "period_id": [period] * count,
        "sex": [f"g{i:05d}" for i in range(count)],  # one key per row
        "value": value,
        "n": [i % 7 for i in range(count)],
        "status": status,
        "source": ["censo 2018, lote 3"] * count,
    }


def _count(engine) -> int:
    with transaction(engine) as session:
        return int(session.scalar(select(func.count()).select_from(models.Observation)) or 0)


def test_a_row_breaking_a_check_refuses_the_whole_insert(one_unit):
    engine, ids = one_unit
    for bad_status, bad_value, constraint in [
        ("bogus", 1.0, "ck_observations_status"),
        ("computed", None, "ck_observations_value_present"),
    ]:
        status = ["computed"] * ROWS
        value: list[float | None] = [0.5 * i for i in range(ROWS)]
        status[ROWS - 3], value[ROWS - 3] = bad_status, bad_value  # one bad row near the end
        with pytest.raises(IntegrityError, match=constraint), transaction(engine) as session:
            rows = _rows(ids, status, value)
            bulk_insert(session, models.Observation.__table__, rows, rebuild_indexes=True)
        assert _count(engine) == 0
    with engine.connect() as connection:  # the checks are on again for later statements
        if connection.dialect.name == "sqlite":
            assert connection.exec_driver_sql("PRAGMA ignore_check_constraints").scalar() == 0


def test_a_big_insert_stores_every_row_and_keeps_the_indexes(one_unit):
    engine, ids = one_unit
    indexes = "SELECT name, sql FROM sqlite_master WHERE type = 'index' ORDER BY name"
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        before = connection.execute(text(indexes)).all() if sqlite else []
    status = ["suppressed" if i % 10 == 0 else "computed" for i in range(ROWS)]
    value = [None if i % 10 == 0 else 0.25 * i for i in range(ROWS)]
    rows = _rows(ids, status, value)
    # arrays are turned into Python values chunk by chunk (NaN and <NA> become NULL)
    rows["value"] = np.array([np.nan if v is None else v for v in value])
    rows["n"] = pd.array(rows["n"], dtype="Int64")
    rows["status"] = np.array(status, dtype=object)
    with transaction(engine) as session:
        table = models.Observation.__table__
        written = bulk_insert(session, table, rows, chunk=400, rebuild_indexes=True)
    assert written == ROWS
    with transaction(engine) as session:
        stored = session.execute(
            select(
                models.Observation.sex,
                models.Observation.value,
                models.Observation.n,
                models.Observation.status,
                models.Observation.nationality,
            )
        ).all()
    assert len(stored) == ROWS
    by_key = {row[0]: row[1:] for row in stored}
    # row 1234: computed, value 0.25 × 1234 = 308.5, n = 1234 mod 7 = 2, default nationality
    assert by_key["g01234"] == (308.5, 2, "computed", "_T")
    assert by_key["g01230"] == (None, 5, "suppressed", "_T")  # 1230 mod 7 = 5
    assert sum(1 for row in stored if row[3] == "suppressed") == (ROWS + 9) // 10
    if sqlite:
        with engine.connect() as connection:
            assert connection.execute(text(indexes)).all() == before


def test_replacing_most_rows_drops_the_plain_indexes_and_brings_them_back(one_unit):
    """Deleting the earlier rows and inserting new ones inside ``plain_indexes_dropped``:
    the new values are stored, the indexes are the same afterwards, and they stay when the
    change is small beside the table."""
    engine, ids = one_unit
    indexes = "SELECT name, sql FROM sqlite_master WHERE type = 'index' ORDER BY name"
    table = models.Observation.__table__
    status = ["computed"] * ROWS
    with transaction(engine) as session:
        bulk_insert(session, table, _rows(ids, status, [1.5 * i for i in range(ROWS)]))
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        before = connection.execute(text(indexes)).all() if sqlite else []
    # 1,500 rows out and 1,500 in, none staying: rebuilding pays
    with (
        transaction(engine) as session,
        plain_indexes_dropped(session, table, adding=ROWS, removing=ROWS) as dropped,
    ):
        assert dropped is sqlite
        if sqlite:
            mine = (
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'observations'"
            )
            inside = session.connection().execute(text(mine)).scalars().all()
            assert inside == ["sqlite_autoindex_observations_1"]  # the unique constraint's
        session.execute(text("DELETE FROM observations"))
        bulk_insert(session, table, _rows(ids, status, [2.0 * i for i in range(ROWS)]))
    with transaction(engine) as session:
        query = select(models.Observation.sex, models.Observation.value)
        stored = {sex: value for sex, value in session.execute(query)}
        # 10 rows changing beside 1,500 staying: the indexes stay
        with plain_indexes_dropped(session, table, adding=10) as dropped:
            assert dropped is False
    assert len(stored) == ROWS
    assert stored["g00321"] == 642.0  # 2.0 × 321, the new value
    if sqlite:
        with engine.connect() as connection:
            assert connection.execute(text(indexes)).all() == before


def test_indexes_dropped_first_in_a_transaction_come_back_on_rollback(one_unit):
    """Python's sqlite3 begins its transaction only before a DML statement: a DROP INDEX sent
    first used to commit at once, so a process killed before the end left the table without
    its indexes. The drop is now inside the transaction; a rollback (what a killed process
    gets) restores them, without the except-path that recreates them."""
    engine, _ids = one_unit
    indexes = "SELECT name FROM sqlite_master WHERE type = 'index' ORDER BY name"
    table = models.Observation.__table__
    with engine.connect() as connection:
        if connection.dialect.name != "sqlite":
            return  # PostgreSQL never drops them
        before = connection.execute(text(indexes)).scalars().all()
        connection.commit()
        drop = plain_indexes_dropped(connection, table, adding=ROWS)
        assert drop.__enter__() is True  # a first computation: nothing to delete beforehand
        connection.rollback()  # the process dies here: no __exit__, no recreation
    with engine.connect() as connection:
        assert connection.execute(text(indexes)).scalars().all() == before
        assert len(before) > 1
