"""A tiny synthetic city written out in code, and plain-Python reference computations.

Four blocks in two barrios; ~160 persons and ~50 households drawn from a seeded
``random.Random`` so every category, age band and missing answer occurs. The reference
functions below recompute each indicator with loops over these records, independently
of the catalogue expressions and of Ibis.
"""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Callable

import geopandas as gpd
import pandas as pd
from shapely.geometry import LineString, Point, box

BLOCKS = {
    "01001": box(0, 0, 100, 100),
    "01002": box(100, 0, 200, 100),
    "02001": box(0, 200, 100, 300),
    "02002": box(1000, 1000, 1100, 1100),
}
BARRIO = {code: code[:2] for code in BLOCKS}
CRS = "EPSG:32618"


def households() -> list[dict]:
    rng = random.Random(11)
    rows = []
    for i in range(52):
        block = list(BLOCKS)[i % 4]
        tenure = rng.choice(["owner", "renter", "other", None])
        rows.append(
            {
                "household_id": f"H{i}",
                "unit_code": block,
                "persons": rng.randint(1, 7),
                "bedrooms": rng.randint(0, 3),
                "durable_walls": rng.choice([True, True, False, None]),
                "durable_floor": rng.choice([True, True, True, False]),
                "piped_water": rng.choice([True, False, None]),
                "sewerage": rng.choice([True, False]),
                "electricity": rng.choice([True, True, False]),
                "refuse_collection": rng.choice([True, False]),
                "internet": rng.choice([True, False, None]),
                "tenure": tenure,
                "monthly_rent": float(rng.randint(200, 900)) if tenure == "renter" else None,
                "monthly_income": float(rng.choice([0, 1000, 1500, 2500, 4000])),
                "stratum": rng.choice([1, 2, 2, 3, 4, None]),
            }
        )
    return rows


def persons() -> list[dict]:
    rng = random.Random(5)
    rows = []
    for i in range(164):
        block = list(BLOCKS)[(i * 7) % 4] if i % 9 else "01001"
        age = rng.randint(0, 80)
        adult = age >= 15
        status = rng.choice(["employed", "unemployed", "inactive"]) if adult else None
        rows.append(
            {
                "person_id": f"P{i}",
                "household_id": f"H{i % 52}",
                "unit_code": block,
                "sex": rng.choice(["female", "male"]),
                "age": age,
                "nationality": rng.choice(["host", "host", "venezuelan", "other_foreign"]),
                "years_schooling": rng.randint(0, 17) if age >= 5 else None,
                "attends_school": rng.choice([True, False]) if age < 30 else False,
                "health_insurance": rng.choice([True, True, False, None]),
                "labour_status": status,
                "informal": rng.choice([True, False]) if status == "employed" else None,
                "disability": rng.random() < 0.1,
            }
        )
    return rows


def frame(rows: list[dict]) -> pd.DataFrame:
    data = pd.DataFrame(rows)
    for column in data.columns:
        if data[column].map(lambda v: isinstance(v, bool)).any():
            data[column] = data[column].astype("boolean")
    return data


def units() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"code": list(BLOCKS)}, geometry=list(BLOCKS.values()), crs=CRS
    ).set_index("code")


def facilities() -> gpd.GeoDataFrame:
    rows = [
        ("health", 50, 50),
        ("health", 1050, 1400),
        ("education", 150, 50),
        ("library_culture", 600, 600),
        ("commerce", 50, 250),
        ("commerce", 80, 250),
        ("employment_service", 900, 900),
        ("transport", 10, 10),
        ("public_space", 300, 300),
    ]
    return gpd.GeoDataFrame(
        {"type": [r[0] for r in rows]},
        geometry=[Point(r[1], r[2]) for r in rows],
        crs=CRS,
    )


def layers() -> dict[str, gpd.GeoDataFrame]:
    return {
        "espacio_publico": gpd.GeoDataFrame(
            {"tipo": ["parque", "plaza", "zona_verde"]},
            geometry=[box(200, 0, 300, 100), box(0, 120, 40, 160), box(1200, 1000, 1300, 1050)],
            crs=CRS,
        ),
        "zonas_riesgo": gpd.GeoDataFrame(
            {"mitigable": ["no", "si"]},
            geometry=[box(0, 0, 25, 100), box(100, 0, 200, 100)],
            crs=CRS,
        ),
        "vias": gpd.GeoDataFrame(
            geometry=[
                LineString([(0, 50), (200, 50)]),
                LineString([(50, 0), (50, 300)]),
                LineString([(150, 0), (150, 100)]),
                LineString([(0, 250), (100, 250)]),
            ],
            crs=CRS,
        ),
    }


# --- plain-Python references ---------------------------------------------------------------


def share(
    rows: list[dict], universe: Callable[[dict], bool], hit: Callable[[dict], bool]
) -> tuple[float, int]:
    pool = [r for r in rows if universe(r)]
    return (100.0 * sum(1 for r in pool if hit(r)) / len(pool) if pool else math.nan), len(pool)


def known(*names: str) -> Callable[[dict], bool]:
    return lambda r: all(r[n] is not None for n in names)


def household_reference(code: str, rows: list[dict]) -> tuple[float, int]:
    if code == "durable_housing":
        return share(
            rows,
            known("durable_walls", "durable_floor"),
            lambda r: r["durable_walls"] and r["durable_floor"],
        )
    if code == "overcrowding":
        return share(
            rows,
            known("persons", "bedrooms"),
            lambda r: r["bedrooms"] == 0 or r["persons"] / r["bedrooms"] >= 3,
        )
    if code in ("piped_water", "sewerage", "electricity", "refuse_collection", "internet"):
        return share(rows, known(code), lambda r: r[code])
    if code == "home_ownership":
        return share(rows, known("tenure"), lambda r: r["tenure"] == "owner")
    if code == "rent_burden":
        ratios = [
            100 * r["monthly_rent"] / r["monthly_income"]
            for r in rows
            if r["tenure"] == "renter" and r["monthly_income"]
        ]
        return (statistics.median(ratios) if ratios else math.nan), len(ratios)
    if code == "entropy_stratum":
        counts = [sum(1 for r in rows if r["stratum"] == s) for s in range(1, 7)]
        return entropy(counts, 6), sum(counts)
    raise KeyError(code)


def entropy(counts: list[int], k: int) -> float:
    total = sum(counts)
    if total == 0:
        return math.nan
    return -sum(c / total * math.log(c / total) for c in counts if c) / math.log(k)


def mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else math.nan


def person_reference(code: str, rows: list[dict]) -> tuple[float, int]:
    if code == "health_insurance":
        return share(rows, known("health_insurance"), lambda r: r["health_insurance"])
    if code == "school_attendance_5_16":
        return share(rows, lambda r: 5 <= r["age"] <= 16, lambda r: r["attends_school"])
    if code == "employment_rate":
        return share(
            rows, lambda r: 15 <= r["age"] <= 64, lambda r: r["labour_status"] == "employed"
        )
    if code == "unemployment_rate":
        return share(
            rows,
            lambda r: r["labour_status"] in ("employed", "unemployed"),
            lambda r: r["labour_status"] == "unemployed",
        )
    if code == "informal_employment":
        return share(rows, lambda r: r["labour_status"] == "employed", lambda r: r["informal"])
    if code == "neet_youth":
        return share(
            rows,
            lambda r: 15 <= r["age"] <= 24,
            lambda r: r["labour_status"] != "employed" and not r["attends_school"],
        )
    if code == "years_schooling_25plus":
        values = [r["years_schooling"] for r in rows if r["age"] >= 25]
        return mean(values), len(values)
    if code == "schooling_gender_gap_years":
        women = [r["years_schooling"] for r in rows if r["age"] >= 25 and r["sex"] == "female"]
        men = [r["years_schooling"] for r in rows if r["age"] >= 25 and r["sex"] == "male"]
        gap = abs(mean(women) - mean(men)) if women and men else math.nan
        return gap, len(women) + len(men)
    if code == "entropy_nationality":
        counts = [
            sum(1 for r in rows if r["nationality"] == n)
            for n in ("host", "venezuelan", "other_foreign")
        ]
        return entropy(counts, 3), sum(counts)
    if code == "entropy_age":
        bands = [(0, 14), (15, 24), (25, 64), (65, 200)]
        counts = [sum(1 for r in rows if lo <= r["age"] <= hi) for lo, hi in bands]
        return entropy(counts, 4), sum(counts)
    raise KeyError(code)


HOUSEHOLD_CODES = (
    "durable_housing",
    "overcrowding",
    "piped_water",
    "sewerage",
    "electricity",
    "refuse_collection",
    "internet",
    "home_ownership",
    "rent_burden",
    "entropy_stratum",
)
PERSON_CODES = (
    "health_insurance",
    "school_attendance_5_16",
    "employment_rate",
    "unemployment_rate",
    "informal_employment",
    "neet_youth",
    "years_schooling_25plus",
    "schooling_gender_gap_years",
    "entropy_nationality",
    "entropy_age",
)
