"""Tiny stores built in code for the bulk-write tests (``store.bulk`` under ``marker build``
and ``indicators compute``): one city, one block level, one indicator, one period."""

from __future__ import annotations

from typing import Any

from inclusive_cities.store import init_database, models, transaction


def city_with_blocks(db_url: str, city_code: str, block_codes: tuple[str, ...]) -> tuple[Any, dict]:
    """An empty store with the given blocks; returns (engine, ids) where ids holds
    ``indicator``, ``period`` and ``units`` (the blocks' ids, in the given order)."""
    engine = init_database(db_url)
    with transaction(engine) as session:
        city = models.City(code=city_code, name="Checks", is_synthetic=True)
        session.add(city)
        session.flush()
        level = models.UnitLevel(city_id=city.id, code="manzana", depth=0)
        period = models.Period(code="2018")
        indicator = models.Indicator(code="tasa", name_es="Tasa", name_en="Rate")
        session.add_all([level, period, indicator])
        session.flush()
        units = [
            models.SpatialUnit(city_id=city.id, level_id=level.id, code=code)
            for code in block_codes
        ]
        session.add_all(units)
        session.flush()
        ids = {"indicator": indicator.id, "period": period.id, "units": [u.id for u in units]}
    return engine, ids
