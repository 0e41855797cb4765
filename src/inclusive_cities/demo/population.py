"""The demo city's people: block profiles, then households and persons in vectorised chunks.

One latent socio-economic index per block (higher near the centre and along a high-income
corridor, lower in informal settlements, on hillsides and in non-mitigable risk zones) drives
everything else, with household and person noise on top. Venezuelan households concentrate in
a few peripheral and central-rental barrios and are spread thinly elsewhere. Chunks of blocks
draw from their own seeded generator, so output is identical for a seed whatever the memory.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from inclusive_cities.demo.geography import Geography
from inclusive_cities.demo.sizes import SizeSpec

VENEZUELAN_TARGET = 0.12  # household share; the person share ends a little higher
STRATUM_SHARES = np.array([0.30, 0.34, 0.22, 0.08, 0.04, 0.02])
HOUSEHOLD_ID_DIGITS = 8

HOUSEHOLD_COLUMNS = (
    "COD_MANZANA",
    "ID_HOGAR",
    "H_PERSONAS",
    "H_DORMITORIOS",
    "V_PARED",
    "V_PISO",
    "V_ACUEDUCTO",
    "V_ALCANTARILLADO",
    "V_ENERGIA",
    "V_BASURA",
    "H_INTERNET",
    "H_TENENCIA",
    "H_ARRIENDO",
    "H_INGRESO",
    "V_ESTRATO",
)
PERSON_COLUMNS = (
    "COD_MANZANA",
    "ID_HOGAR",
    "ID_PERSONA",
    "P_SEXO",
    "P_EDAD",
    "P_NACIONALIDAD",
    "P_ANOS_ESTUDIO",
    "P_ASISTE",
    "P_SALUD",
    "P_TRABAJO",
    "P_INFORMAL",
    "P_DISCAP",
)


@dataclass
class BlockProfile:
    """Per-block socio-economic state: the latent index and what it implies."""

    ses: np.ndarray
    stratum: np.ndarray
    venezuelan: np.ndarray  # probability that a household is Venezuelan
    households: np.ndarray
    hotspot_barrios: np.ndarray


@dataclass
class Chunk:
    """One chunk of census rows, ready to write, and what it adds to the totals."""

    households: pa.Table
    persons: pa.Table
    persons_per_block: np.ndarray
    venezuelans: int
    income_total: int


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _smooth_field(rng: np.random.Generator, x: np.ndarray, y: np.ndarray, bumps: int) -> np.ndarray:
    """A spatially smooth random field: a sum of Gaussian bumps of random sign."""
    cx = rng.uniform(-1.1, 1.1, bumps)
    cy = rng.uniform(-1.1, 1.1, bumps)
    width = rng.uniform(0.12, 0.3, bumps)
    sign = rng.normal(0, 0.6, bumps)
    field = np.zeros_like(x)
    for k in range(bumps):
        field += sign[k] * np.exp(-((x - cx[k]) ** 2 + (y - cy[k]) ** 2) / width[k] ** 2)
    return field


def block_profile(geo: Geography, spec: SizeSpec, rng: np.random.Generator) -> BlockProfile:
    """Latent index, stratum, Venezuelan propensity and household count for every block."""
    px = (geo.block_x - geo.centre[0]) / geo.radius_m
    py = (geo.block_y - geo.centre[1]) / geo.radius_m
    r = np.hypot(px, py)
    centrality = np.exp(-((r / 0.45) ** 2))
    raw = (
        1.1 * centrality
        - 0.5 * geo.r_rel
        + 1.6 * geo.wedge
        - 1.4 * geo.informal
        - 0.5 * geo.slope
        - 0.45 * (geo.flood == 2)
        - 0.45 * (geo.landslide == 2)
        - 0.15 * ((geo.flood == 1) | (geo.landslide == 1))
        + _smooth_field(rng, px, py, 24)
        + rng.normal(0, 0.3, len(geo.barrio_codes))[geo.block_barrio]  # barrios differ
        + rng.normal(0, 0.15, r.size)
    )
    ses = (raw - raw.mean()) / raw.std()
    ranks = np.argsort(np.argsort(ses, kind="stable"), kind="stable") / max(ses.size - 1, 1)
    stratum = 1 + np.searchsorted(np.cumsum(STRATUM_SHARES)[:-1], ranks, side="right")
    stratum = np.where(geo.informal, np.minimum(stratum, 2), stratum)

    # Households: denser in the centre and in informal settlements, sparser in rich areas,
    # a dip in the commercial core, nobody in parks.
    density = (
        (28.0 + 70.0 * np.exp(-((r / 0.3) ** 2)))
        * np.where(geo.informal, 1.5, 1.0)
        * np.where(stratum >= 5, 0.6, 1.0)
        * np.where(r < 0.05, 0.5, 1.0)
    )
    expected = geo.block_area / 10_000.0 * density * (geo.park < 0)
    expected *= spec.persons / 3.2 / expected.sum()
    households = rng.poisson(expected)

    # Venezuelan propensity: thin everywhere, higher where poorer, very high in hotspots.
    n_barrios = len(geo.barrio_codes)
    counts = np.bincount(geo.block_barrio, minlength=n_barrios)
    barrio_informal = (
        np.bincount(geo.block_barrio, weights=geo.informal, minlength=n_barrios) / counts
    )
    barrio_r = np.bincount(geo.block_barrio, weights=geo.r_rel, minlength=n_barrios) / counts
    barrio_ses = np.bincount(geo.block_barrio, weights=ses, minlength=n_barrios) / counts
    n_hot = max(2, round(n_barrios * 0.05))
    weight = (0.2 + barrio_informal) * np.clip(barrio_r - 0.4, 0.01, None) * np.exp(-barrio_ses)
    hot = rng.choice(n_barrios, size=min(n_hot, n_barrios), replace=False, p=weight / weight.sum())
    central = np.flatnonzero((barrio_r < 0.3) & (barrio_ses < 0.5))
    if central.size:
        hot = np.unique(np.append(hot, central[np.argmin(barrio_r[central])]))
    hot_share = np.zeros(n_barrios)
    hot_share[hot] = rng.uniform(0.35, 0.55, hot.size)
    spread = 0.04 + 0.22 * _sigmoid(-1.5 * ses - 0.5) + 0.05 * geo.informal
    in_hot = hot_share[geo.block_barrio] > 0
    hot_hh = (households * in_hot * hot_share[geo.block_barrio]).sum()
    rest_hh = (households * ~in_hot * spread).sum()
    scale = max(VENEZUELAN_TARGET * households.sum() - hot_hh, 0.0) / max(rest_hh, 1e-9)
    venezuelan = np.where(in_hot, hot_share[geo.block_barrio], np.clip(spread * scale, 0, 0.6))
    return BlockProfile(ses, stratum.astype(np.int8), venezuelan, households, hot)


def _int_column(values: np.ndarray, missing: np.ndarray | None = None) -> pa.Array:
    return pa.array(values.astype(np.int64), mask=missing, type=pa.int64())


def _yes_no(flag: np.ndarray) -> np.ndarray:
    return np.where(flag, 1, 2)


def make_chunk(
    geo: Geography,
    profile: BlockProfile,
    blocks: np.ndarray,
    first_household: int,
    rng: np.random.Generator,
    block_codes: pa.Array,
) -> Chunk:
    """Households and persons of ``blocks`` (indices), numbered from ``first_household``."""
    n_hh_block = profile.households[blocks]
    hh_block = np.repeat(blocks, n_hh_block)
    nh = hh_block.size
    informal = geo.informal[hh_block]
    ses = profile.ses[hh_block] + rng.normal(0, 0.6, nh)
    ven = rng.random(nh) < profile.venezuelan[hh_block]
    other = ~ven & (rng.random(nh) < 0.006)
    head_age = np.where(ven, 18 + rng.gamma(3.0, 5.0, nh), 18 + rng.gamma(3.7, 7.5, nh))
    head_age = np.clip(np.round(head_age), 18, 98)
    # Heads aged 30-45 have children at home; older heads live alone or as couples more often.
    life_stage = 0.7 * np.exp(-(((head_age - 38) / 11) ** 2)) - 0.5 * (head_age >= 62)
    lam = np.clip(1.75 - 0.35 * ses + 0.6 * ven + 0.3 * informal + life_stage, 0.3, 5.0)
    size = np.clip(1 + rng.poisson(lam), 1, 10)

    stratum = profile.stratum[hh_block].astype(np.int64)
    shift = rng.random(nh)
    stratum = np.clip(stratum + (shift < 0.04) - (shift > 0.96), 1, 6)

    durable_walls = rng.random(nh) < _sigmoid(3.4 + 1.5 * ses - 2.6 * informal - 0.4 * ven)
    walls = np.where(
        durable_walls,
        rng.choice([1, 2, 3], nh, p=[0.76, 0.19, 0.05]),
        np.where(
            informal,
            rng.choice([4, 5, 6], nh, p=[0.3, 0.1, 0.6]),
            rng.choice([4, 5, 6], nh, p=[0.45, 0.3, 0.25]),
        ),
    )
    durable_floor = rng.random(nh) < _sigmoid(3.0 + 1.4 * ses - 2.2 * informal)
    floor = np.where(
        durable_floor, rng.choice([2, 3, 4, 5, 6], nh, p=[0.4, 0.4, 0.08, 0.07, 0.05]), 1
    )
    water = rng.random(nh) < _sigmoid(np.where(informal, 0.6, 4.2) + 0.5 * ses)
    sewer = rng.random(nh) < _sigmoid(np.where(informal, -0.4, 3.2) + 0.5 * ses)
    power = rng.random(nh) < _sigmoid(np.where(informal, 2.2, 5.2) + 0.4 * ses)
    refuse = rng.random(nh) < _sigmoid(np.where(informal, 0.9, 3.9) + 0.4 * ses)
    internet = rng.random(nh) < _sigmoid(0.7 + 1.3 * ses - 0.8 * ven - 0.8 * informal)

    u = rng.random(nh)
    p_other = np.where(ven, 0.10, np.where(informal, 0.25, 0.07))
    p_owner = np.where(ven, 0.06, _sigmoid(0.1 + 0.45 * ses)) * (1 - p_other)
    tenure = np.where(u < p_owner, 1, np.where(u < p_owner + p_other, 3, 2))

    income = np.exp(
        np.log(1_900_000) + 0.55 * ses + 0.3 * np.log(size) - 0.15 * ven + rng.normal(0, 0.45, nh)
    )
    income = np.round(income / 10_000) * 10_000
    income_missing = rng.random(nh) < np.where(stratum >= 5, 0.10, 0.04)
    rent = np.round(np.exp(np.log(420_000) + 0.5 * ses + rng.normal(0, 0.3, nh)) / 10_000) * 10_000
    rent_missing = (tenure != 2) | (rng.random(nh) < 0.03)
    bedrooms = np.clip(
        np.round(
            1.0 + 0.36 * size + 0.55 * ses - 0.25 * informal - 0.4 * ven + rng.normal(0, 0.6, nh)
        ),
        1,
        8,
    )
    bedrooms = np.where((informal | ven) & (rng.random(nh) < 0.02), 0, bedrooms)
    bedrooms_missing = rng.random(nh) < 0.003
    internet_code = np.where(rng.random(nh) < 0.005, 9, _yes_no(internet))

    hh_number = first_household + np.arange(nh)
    hh_id = pc.utf8_lpad(pc.cast(pa.array(hh_number), pa.string()), HOUSEHOLD_ID_DIGITS, "0")
    codes = block_codes.take(pa.array(hh_block))
    households = pa.table(
        {
            "COD_MANZANA": codes,
            "ID_HOGAR": hh_id,
            "H_PERSONAS": _int_column(size),
            "H_DORMITORIOS": _int_column(bedrooms, bedrooms_missing),
            "V_PARED": _int_column(walls),
            "V_PISO": _int_column(floor),
            "V_ACUEDUCTO": _int_column(_yes_no(water)),
            "V_ALCANTARILLADO": _int_column(_yes_no(sewer)),
            "V_ENERGIA": _int_column(_yes_no(power)),
            "V_BASURA": _int_column(_yes_no(refuse)),
            "H_INTERNET": _int_column(internet_code),
            "H_TENENCIA": _int_column(tenure),
            "H_ARRIENDO": _int_column(rent, rent_missing),
            "H_INGRESO": _int_column(income, income_missing),
            "V_ESTRATO": _int_column(stratum),
        }
    )

    persons, nationality = _persons(rng, size, head_age, ses, ven, other, informal, hh_id, codes)
    persons_per_block = np.bincount(hh_block, weights=size, minlength=len(geo.block_codes))
    return Chunk(
        households=households,
        persons=persons,
        persons_per_block=persons_per_block.astype(np.int64),
        venezuelans=int((nationality == 2).sum()),
        income_total=int(income[~income_missing].sum()),
    )


def _persons(
    rng: np.random.Generator,
    size: np.ndarray,
    head_age: np.ndarray,
    hh_ses: np.ndarray,
    hh_ven: np.ndarray,
    hh_other: np.ndarray,
    hh_informal: np.ndarray,
    hh_id: pa.Array,
    hh_codes: pa.Array,
) -> tuple[pa.Table, np.ndarray]:
    nh = size.size
    hh = np.repeat(np.arange(nh), size)
    n = hh.size
    starts = np.cumsum(size) - size
    pos = np.arange(n) - starts[hh]
    ven = hh_ven[hh]
    informal_block = hh_informal[hh]

    head_male = rng.random(nh) < np.where(hh_ven, 0.5, 0.58)
    has_spouse = (size >= 2) & (rng.random(nh) < 0.7)

    role = np.where(pos == 0, 0, np.where((pos == 1) & has_spouse[hh], 1, 2))  # head, spouse, other
    u = rng.random(n)
    relative = (role == 2) & (u < 0.16)
    h_age = head_age[hh]
    child_gap = 17 + rng.gamma(2.5, 3.2, n)
    child_age = h_age - child_gap
    young = child_age < 0
    child_age = np.where(young, np.floor(rng.random(n) * np.maximum(h_age - 15, 1)), child_age)
    parent_of_head = relative & (h_age < 55) & (rng.random(n) < 0.5)
    relative_age = np.where(
        parent_of_head, h_age + 22 + rng.gamma(2, 3, n), h_age + rng.normal(0, 9, n)
    )
    spouse_age = h_age + np.where(head_male[hh], -2.5, 2.5) + rng.normal(0, 4, n)
    age = np.where(
        role == 0,
        h_age,
        np.where(role == 1, spouse_age, np.where(relative, relative_age, child_age)),
    )
    age = np.clip(np.round(age), 0, 105).astype(np.int64)
    age = np.where(role == 1, np.maximum(age, 16), age)

    male = np.where(
        role == 0, head_male[hh], np.where(role == 1, ~head_male[hh], rng.random(n) < 0.5)
    )
    male = np.where(parent_of_head, rng.random(n) < 0.35, male)

    nationality = np.where(hh_ven[hh], 2, np.where(hh_other[hh], 3, 1))
    born_here = ven & (age < 6) & (rng.random(n) < 0.35)
    mixed = ~ven & ~hh_other[hh] & (age >= 18) & (rng.random(n) < 0.015)
    nationality = np.where(born_here, 1, np.where(mixed, 2, nationality))
    is_ven = nationality == 2

    ses = hh_ses[hh] + rng.normal(0, 0.4, n)
    adult_years = np.round(rng.normal(9.0 + 2.2 * ses - 0.05 * (age - 40) + 0.6 * is_ven, 3.0, n))
    adult_years = np.clip(adult_years, 0, 22)
    delay = (rng.random(n) < _sigmoid(-1.0 - 0.8 * ses + 0.7 * is_ven)) * rng.integers(1, 3, n)
    child_years = np.clip(age - 5 - delay, 0, None)
    years = np.where(
        age >= 18,
        np.minimum(adult_years, np.maximum(age - 5, 0)),
        np.minimum(child_years, adult_years + 6),
    )
    years_missing = age < 3

    p_attend = np.select(
        [age < 5, age <= 16, age <= 24, age <= 40],
        [
            _sigmoid(-0.3 + 0.5 * ses),
            _sigmoid(3.0 + 0.8 * ses - 1.6 * is_ven),
            _sigmoid(-0.6 + 0.9 * ses - 0.9 * is_ven),
            np.full(n, 0.05),
        ],
        default=0.01,
    )
    attends = rng.random(n) < p_attend

    insured = rng.random(n) < _sigmoid(2.6 + 0.6 * ses - 2.3 * is_ven - 0.3 * informal_block)
    insurance = np.where(rng.random(n) < 0.01, 9, _yes_no(insured))

    working_age = age >= 15
    p_inactive = (
        np.select(
            [attends & (age < 25), age >= 65, (age < 25), ~male],
            [np.full(n, 0.82), np.full(n, 0.72), np.full(n, 0.35), np.full(n, 0.36)],
            default=0.14,
        )
        - 0.06 * is_ven
    )
    inactive = rng.random(n) < p_inactive
    unemployed = ~inactive & (
        rng.random(n) < _sigmoid(-1.95 - 0.35 * ses + 0.3 * is_ven + 0.7 * (age < 25))
    )
    labour = np.where(inactive, 3, np.where(unemployed, 2, 1))
    employed = working_age & (labour == 1)
    informal = rng.random(n) < _sigmoid(
        0.9 - 1.0 * ses + 1.3 * is_ven + 0.6 * informal_block - 0.3 * ((age >= 30) & (age <= 55))
    )
    disability = rng.random(n) < 0.012 + 0.2 * _sigmoid((age - 78) / 7.0)

    person_id = pc.binary_join_element_wise(
        hh_id.take(pa.array(hh)), pc.utf8_lpad(pc.cast(pa.array(pos + 1), pa.string()), 2, "0"), ""
    )
    table = pa.table(
        {
            "COD_MANZANA": hh_codes.take(pa.array(hh)),
            "ID_HOGAR": hh_id.take(pa.array(hh)),
            "ID_PERSONA": person_id,
            "P_SEXO": _int_column(np.where(male, 1, 2)),
            "P_EDAD": _int_column(age),
            "P_NACIONALIDAD": _int_column(nationality),
            "P_ANOS_ESTUDIO": _int_column(years, years_missing),
            "P_ASISTE": _int_column(_yes_no(attends), years_missing),
            "P_SALUD": _int_column(insurance),
            "P_TRABAJO": _int_column(labour, ~working_age),
            "P_INFORMAL": _int_column(_yes_no(informal), ~employed),
            "P_DISCAP": _int_column(_yes_no(disability)),
        }
    )
    return table, nationality
