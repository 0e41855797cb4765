"""Migration 0005 (neutral direction) up and down on both engines, with indicator rows in place."""

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


def test_0005_allows_neutral_and_downgrade_ranks_it_again(db_url: str) -> None:
    engine = init_database(db_url)
    assert current_revision(engine) == head_revision()
    with transaction(engine) as session:
        session.add_all(
            [
                _indicator("venezuelan_share", "neutral"),
                _indicator("overcrowding", "lower_is_better"),
                _indicator("durable_housing", "higher_is_better"),
            ]
        )

    downgrade(engine, "0004")
    assert current_revision(engine) == "0004"
    # neutral goes back to what the context figures were before 0005; the others are kept
    assert _directions(engine) == {
        "venezuelan_share": "higher_is_better",
        "overcrowding": "lower_is_better",
        "durable_housing": "higher_is_better",
    }
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.exec_driver_sql(
            "UPDATE indicators SET direction = 'neutral' WHERE code = 'overcrowding'"
        )

    upgrade(engine)
    assert current_revision(engine) == head_revision()
    with transaction(engine) as session:
        row = session.scalar(select(models.Indicator).where(models.Indicator.code == "households"))
        assert row is None
        session.add(_indicator("households", "neutral"))
    assert _directions(engine)["households"] == "neutral"


def test_direction_outside_the_three_is_refused(db_url: str) -> None:
    engine = init_database(db_url)
    with pytest.raises(IntegrityError), transaction(engine) as session:
        session.add(_indicator("x", "more_is_nicer"))
