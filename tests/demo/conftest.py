"""One small demo city per test session: generating it takes well under a second."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest

from inclusive_cities.demo import GeneratedCity, generate_city

CENSUS_TEXT = {"COD_MANZANA": str, "ID_HOGAR": str, "ID_PERSONA": str}


@pytest.fixture(scope="session")
def small_city(tmp_path_factory: pytest.TempPathFactory) -> GeneratedCity:
    return generate_city(tmp_path_factory.mktemp("demo") / "city", size="small", seed=0)


@pytest.fixture(scope="session")
def households(small_city: GeneratedCity) -> pd.DataFrame:
    return pd.read_csv(small_city.files["households"], dtype=CENSUS_TEXT, keep_default_na=True)


@pytest.fixture(scope="session")
def persons(small_city: GeneratedCity) -> pd.DataFrame:
    return pd.read_csv(small_city.files["persons"], dtype=CENSUS_TEXT, keep_default_na=True)


def read_layer(path: Path, layer: str) -> gpd.GeoDataFrame:
    return pyogrio.read_dataframe(path, layer=layer)


@pytest.fixture(scope="session")
def boundaries(small_city: GeneratedCity) -> dict[str, gpd.GeoDataFrame]:
    return {
        layer: read_layer(small_city.files["boundaries"], layer)
        for layer in ("localidad", "barrio", "manzana")
    }
