"""People look like a Latin American city's: correlations have the intended signs.

Thresholds are loose on purpose (about 6,000 households): they catch a sign or a pattern
that is lost, not a decimal that moved.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from inclusive_cities.demo import GeneratedCity


def _block_distance(small_city: GeneratedCity) -> pd.Series:
    blocks = pyogrio.read_dataframe(small_city.files["boundaries"], layer="manzana")
    centre = shapely.union_all(blocks.geometry.values).centroid
    relative = blocks.geometry.centroid.distance(centre)
    return pd.Series((relative / relative.max()).values, index=blocks["codigo"])


def test_stratum_goes_with_durable_walls_income_and_space(households: pd.DataFrame) -> None:
    durable = households["V_PARED"] <= 3
    assert np.corrcoef(households["V_ESTRATO"], durable)[0, 1] > 0.1
    income = households.dropna(subset=["H_INGRESO"])
    assert np.corrcoef(income["V_ESTRATO"], np.log1p(income["H_INGRESO"]))[0, 1] > 0.3
    rooms = households.dropna(subset=["H_DORMITORIOS"])
    crowded = rooms["H_PERSONAS"] / rooms["H_DORMITORIOS"].replace(0, 0.5) >= 3
    by_stratum = crowded.groupby(rooms["V_ESTRATO"]).mean()
    assert by_stratum[1] > 2 * by_stratum[3]
    internet = households["H_INTERNET"] == 1
    assert (
        internet[households["V_ESTRATO"] >= 4].mean()
        > internet[households["V_ESTRATO"] == 1].mean()
    )


def test_strata_are_spread_like_a_colombian_city(households: pd.DataFrame) -> None:
    shares = households["V_ESTRATO"].value_counts(normalize=True)
    assert shares[1] + shares[2] > 0.5
    assert shares[5] + shares[6] < 0.1
    assert set(shares.index) == {1, 2, 3, 4, 5, 6}


def test_venezuelans_are_a_tenth_to_a_fifth_younger_and_less_protected(
    small_city: GeneratedCity, persons: pd.DataFrame
) -> None:
    assert 0.10 <= small_city.venezuelan_share <= 0.20
    venezuelan = persons["P_NACIONALIDAD"] == 2
    host = persons["P_NACIONALIDAD"] == 1
    assert persons.loc[venezuelan, "P_EDAD"].mean() < persons.loc[host, "P_EDAD"].mean() - 5
    insured = persons["P_SALUD"] == 1
    assert insured[venezuelan].mean() < insured[host].mean() - 0.2
    employed = persons["P_TRABAJO"] == 1
    informal = persons["P_INFORMAL"] == 1
    assert informal[venezuelan & employed].mean() > informal[host & employed].mean() + 0.1


def test_venezuelans_concentrate_at_the_edge_and_in_some_blocks(
    small_city: GeneratedCity, persons: pd.DataFrame
) -> None:
    distance = _block_distance(small_city)
    per_block = persons.groupby("COD_MANZANA")["P_NACIONALIDAD"].agg(
        venezuelan=lambda codes: (codes == 2).sum(), total="size"
    )
    outer = distance.reindex(per_block.index) > 0.6
    share_outer = per_block["venezuelan"][outer].sum() / per_block["total"][outer].sum()
    share_inner = per_block["venezuelan"][~outer].sum() / per_block["total"][~outer].sum()
    assert share_outer > share_inner
    block_share = per_block["venezuelan"] / per_block["total"]
    # Concentrated in some places, present thinly in most.
    assert block_share.quantile(0.95) > 2.5 * small_city.venezuelan_share
    assert (block_share > 0).mean() > 0.6


def test_the_periphery_is_poorer(small_city: GeneratedCity, households: pd.DataFrame) -> None:
    distance = _block_distance(small_city).reindex(households["COD_MANZANA"]).values
    outer = distance > 0.7
    inner = distance < 0.3
    assert households["V_ESTRATO"][outer].mean() < households["V_ESTRATO"][inner].mean()
    sewer = households["V_ALCANTARILLADO"] == 1
    assert sewer[outer].mean() < sewer[inner].mean()


def test_informal_settlements_are_poorer_and_more_crowded(
    small_city: GeneratedCity, households: pd.DataFrame
) -> None:
    barrios = pyogrio.read_dataframe(small_city.files["boundaries"], layer="barrio")
    settlement_codes = set(barrios.loc[barrios["nombre"].str.startswith("Asentamiento"), "codigo"])
    assert settlement_codes
    in_settlement = households["COD_MANZANA"].str[:5].isin(settlement_codes)
    durable = households["V_PARED"] <= 3
    assert durable[in_settlement].mean() < durable[~in_settlement].mean() - 0.2
    size = households["H_PERSONAS"]
    assert size[in_settlement].mean() > size[~in_settlement].mean()
    blocks = pyogrio.read_dataframe(small_city.files["boundaries"], layer="manzana")
    settled = blocks["codigo_padre"].isin(settlement_codes)
    assert blocks.geometry.area[settled].median() < 0.8 * blocks.geometry.area[~settled].median()


def test_informal_settlements_hold_more_venezuelans(
    small_city: GeneratedCity, persons: pd.DataFrame
) -> None:
    barrios = pyogrio.read_dataframe(small_city.files["boundaries"], layer="barrio")
    settlement_codes = set(barrios.loc[barrios["nombre"].str.startswith("Asentamiento"), "codigo"])
    in_settlement = persons["COD_MANZANA"].str[:5].isin(settlement_codes)
    venezuelan = persons["P_NACIONALIDAD"] == 2
    assert venezuelan[in_settlement].mean() > 1.3 * venezuelan[~in_settlement].mean()


def test_age_sex_pyramid_is_plausible(persons: pd.DataFrame) -> None:
    age = persons["P_EDAD"]
    assert 0.15 < (age < 15).mean() < 0.32
    assert 0.04 < (age >= 65).mean() < 0.15
    assert 0.46 < (persons["P_SEXO"] == 1).mean() < 0.52
    groups = pd.cut(age, [0, 15, 30, 45, 60, 75, 120], right=False).value_counts(sort=False)
    assert groups.iloc[-1] < groups.iloc[-2] < groups.iloc[-3]  # fewer at every older group
    households_sizes = persons.groupby("ID_HOGAR").size()
    assert 2.6 < households_sizes.mean() < 3.6


def test_schooling_employment_and_attendance(persons: pd.DataFrame) -> None:
    school_age = persons["P_EDAD"].between(5, 16)
    assert 0.8 < (persons.loc[school_age, "P_ASISTE"] == 1).mean() < 0.98
    adults = persons[persons["P_EDAD"] >= 25]
    assert 6 < adults["P_ANOS_ESTUDIO"].mean() < 12
    active = persons["P_TRABAJO"].isin([1, 2])
    unemployment = (persons["P_TRABAJO"] == 2).sum() / active.sum()
    assert 0.06 < unemployment < 0.25
    employed = persons["P_TRABAJO"] == 1
    assert 0.45 < (persons.loc[employed, "P_INFORMAL"] == 1).mean() < 0.85


def test_the_centre_is_better_served(small_city: GeneratedCity) -> None:
    facilities = pd.read_csv(small_city.files["facilities"])
    assert facilities.groupby("tipo").size().to_dict() == small_city.facilities_by_type
    blocks = pyogrio.read_dataframe(small_city.files["boundaries"], layer="manzana")
    lon_lat = shapely.points(facilities["lon"], facilities["lat"])
    located = gpd.GeoSeries(lon_lat, crs="EPSG:4326").to_crs("EPSG:32618")
    city = shapely.union_all(blocks.geometry.values)
    assert shapely.contains(city, located.values).mean() > 0.99
    centre = city.centroid
    block_distance = blocks.geometry.centroid.distance(centre)
    radius = block_distance.max()
    inner_area = blocks.geometry.area[block_distance < 0.4 * radius].sum()
    outer_area = blocks.geometry.area[block_distance >= 0.4 * radius].sum()
    near = located.distance(centre) < 0.4 * radius
    assert near.sum() / inner_area > 2 * (~near).sum() / outer_area
