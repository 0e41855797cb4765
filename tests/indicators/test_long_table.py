"""The long table's string columns as categoricals (``compute(..., categorical=True)``, what
the store's writer takes, #21): the same rows as the strings, and the categories sorted as
``pd.Categorical`` of the strings sorts them (the writer orders its rows, hence the ids, by
their codes)."""

from __future__ import annotations

from pathlib import Path

import ibis
import numpy as np
import pandas as pd

from inclusive_cities.i18n import use_language
from inclusive_cities.indicators import Inputs, Level, compute, load_catalogue
from inclusive_cities.indicators.engine import _column
from tests.indicators import city
from tests.indicators.test_engine import relaxed


def test_column_codes_point_at_sorted_distinct_strings() -> None:
    # a unit code repeated in two pieces (two levels), accents and case, one repeated label
    manzanas = np.array(["01001", "Ñuble", "01002", "área"], dtype=object)
    barrios = np.array(["01", "Zona", "01001", "Área"], dtype=object)
    pieces = [manzanas, "_T", barrios, manzanas, "_T"]
    lengths = [4, 3, 4, 4, 2]
    expected = []
    for piece, length in zip(pieces, lengths, strict=True):
        expected += [piece] * length if isinstance(piece, str) else list(piece)
    found = _column(pieces, lengths, categorical=True)
    assert found.tolist() == expected
    assert list(found.cat.categories) == sorted(set(expected))
    assert found.cat.categories.tolist() == pd.Categorical(expected).categories.tolist()
    # the strings the engine gives by default are the same
    assert _column(pieces, lengths).tolist() == expected


def test_categorical_values_are_the_string_values(tmp_path: Path) -> None:
    use_language("en")
    city.frame(city.persons()).to_parquet(tmp_path / "persons.parquet")
    city.frame(city.households()).to_parquet(tmp_path / "households.parquet")
    con = ibis.duckdb.connect()
    inputs = Inputs(
        persons=con.read_parquet(tmp_path / "persons.parquet"),
        households=con.read_parquet(tmp_path / "households.parquet"),
        units=city.units(),
        base_level="manzana",
        levels=[Level("barrio", city.BARRIO)],
        facilities=city.facilities(),
        layers=city.layers(),
    )
    catalogue = relaxed(load_catalogue())
    parts: list[pd.DataFrame] = []
    plain = compute(inputs, catalogue).values
    coded = compute(inputs, catalogue, on_values=lambda v, _c: parts.append(v), categorical=True)
    values = coded.values
    assert len(parts) == 3  # persons, households, spatial: each handed over categorical
    keys = ["indicator", "level", "unit_code", "sex", "age_group", "nationality"]
    for name in keys:
        assert isinstance(values[name].dtype, pd.CategoricalDtype), name
        for frame in (values, *parts):
            categories = frame[name].cat.categories.tolist()
            assert categories == sorted(categories), name  # unused ones would do no harm
            assert set(frame[name].astype(object)) <= set(categories), name

    def rows(frame: pd.DataFrame) -> pd.DataFrame:
        """The rows as strings and numbers, in one order: the engine's threads hand over their
        parts in the order they finish, so two runs may list the same rows differently."""
        out = frame[[*keys, "value", "n"]].astype({k: object for k in keys})
        return out.sort_values([*keys, "value", "n"], kind="stable").reset_index(drop=True)

    pd.testing.assert_frame_equal(rows(values), rows(plain))
