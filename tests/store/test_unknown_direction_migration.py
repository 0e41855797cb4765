"""Migration 0006 (unknown direction) up and down, with indicator rows in place."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from inclusive_cities.store import (
    current_revision,
    downgrade,
    head_revision,
    init_database,
    models,
    transaction,
    upgrade,
)


def _indicator(code: str, direction: str) -> models.Indicator:
    return models.Indicator(code=code, name_es=code, name_en=code, direction=direction)


def _directions(engine) -> dict[str, str]:
    with transaction(engine) as session:
        rows = session.execute(select(models.Indicator.code, models.Indicator.direction))
        return {code: direction for code, direction in rows}


def test_0006_allows_unknown_and_downgrade_writes_it_back(db_url: str) -> None:
    engine = init_database(db_url)
    assert current_revision(engine) == head_revision()
    with transaction(engine) as session:
        session.add_all(
            [
                _indicator("dist_health_m", "unknown"),
                _indicator("population", "neutral"),
                _indicator("overcrowding", "lower_is_better"),
            ]
        )

    downgrade(engine, "0005")
    assert current_revision(engine) == "0005"
    # unknown goes back to the value imported columns had before 0006; the others are kept
    assert _directions(engine) == {
        "dist_health_m": "higher_is_better",
        "population": "neutral",
        "overcrowding": "lower_is_better",
    }
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.exec_driver_sql(
            "UPDATE indicators SET direction = 'unknown' WHERE code = 'overcrowding'"
        )

    upgrade(engine)
    assert current_revision(engine) == head_revision()
    with transaction(engine) as session:
        session.add(_indicator("odd_column", "unknown"))
    assert _directions(engine)["odd_column"] == "unknown"


def test_direction_outside_the_four_is_refused(db_url: str) -> None:
    engine = init_database(db_url)
    with pytest.raises(IntegrityError), transaction(engine) as session:
        session.add(_indicator("x", "more_is_nicer"))
