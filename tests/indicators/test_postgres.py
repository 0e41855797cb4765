"""The same catalogue expressions on PostgreSQL (the scale-out path) give DuckDB's values."""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
import pytest

from inclusive_cities.indicators import Inputs, Level, compute, load_catalogue
from tests.indicators import city
from tests.indicators.test_engine import relaxed

pytestmark = pytest.mark.postgres


def test_postgres_and_duckdb_agree(postgres_url: str) -> None:
    persons, households = city.frame(city.persons()), city.frame(city.households())
    pg = ibis.connect(postgres_url)
    pg.create_table("census_persons", persons)
    pg.create_table("census_households", households)
    catalogue = relaxed(load_catalogue())
    levels = [Level("barrio", city.BARRIO)]

    def run(persons_table, households_table) -> pd.DataFrame:
        outcome = compute(
            Inputs(persons=persons_table, households=households_table, levels=levels),
            catalogue,
        )
        keys = ["indicator", "level", "unit_code", "sex", "age_group", "nationality"]
        return outcome.values.sort_values(keys).reset_index(drop=True)

    on_postgres = run(pg.table("census_persons"), pg.table("census_households"))
    on_duckdb = run(ibis.memtable(persons), ibis.memtable(households))
    assert len(on_postgres) == len(on_duckdb) > 300
    context = {"population", "venezuelan_population", "venezuelan_share", "households"}
    expected = set(city.PERSON_CODES) | set(city.HOUSEHOLD_CODES) | context
    assert set(on_postgres["indicator"]) == expected
    for column in ("indicator", "level", "unit_code", "sex", "age_group", "nationality"):
        assert on_postgres[column].tolist() == on_duckdb[column].tolist()
    assert np.allclose(on_postgres["n"], on_duckdb["n"])
    assert np.allclose(on_postgres["value"], on_duckdb["value"], equal_nan=True)
    # and both equal the plain-Python reference (rent burden: a median recomputed per barrio)
    expected, _n = city.household_reference(
        "rent_burden", [r for r in city.households() if r["unit_code"].startswith("02")]
    )
    got = on_postgres[
        (on_postgres.indicator == "rent_burden")
        & (on_postgres.level == "barrio")
        & (on_postgres.unit_code == "02")
    ]["value"]
    assert got.iloc[0] == pytest.approx(expected)
