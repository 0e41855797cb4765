"""Census microdata → block indicators: our Ibis/DuckDB pipeline vs pandas vs hand SQL.

Generates a synthetic census (persons and households as Parquet, NumPy-drawn, the shape of
the large demo city: ≈5M persons, 30,000 blocks) unless ``--persons`` says otherwise, then
times, each in a fresh process so that peak memory is its own:

- ours: every person and household indicator of the shipped catalogue at block level
  (``microdata_parts`` → one Ibis aggregation per record type, executed by DuckDB), then
  values from parts (``finish``);
- pandas: the same parts with ``read_parquet`` + boolean columns + ``groupby`` (what an
  analyst would write), values from parts with the same ``finish``;
- SQL floor: the same aggregates written by hand as one DuckDB query per record type.

Results are checked equal before timing is reported. Usage:
    .venv/bin/python benchmarks/bench_indicators.py [--persons 5000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import functools
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

PERSON_CODES = (
    "health_insurance",
    "school_attendance_5_16",
    "entropy_nationality",
    "entropy_age",
    "years_schooling_25plus",
    "schooling_gender_gap_years",
    "employment_rate",
    "unemployment_rate",
    "informal_employment",
    "neet_youth",
)
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


def _bools(rng: np.random.Generator, n: int, p: float, missing: float = 0.02) -> pa.Array:
    values = rng.random(n) < p
    mask = rng.random(n) < missing
    return pa.array(values, mask=mask)


def _categories(
    rng: np.random.Generator,
    n: int,
    labels: list[str],
    p: list[float],
    mask: np.ndarray | None = None,
) -> pa.Array:
    index = rng.choice(len(labels), size=n, p=p).astype("int32")
    return pa.DictionaryArray.from_arrays(pa.array(index, mask=mask), pa.array(labels))


def generate(folder: Path, persons: int, seed: int = 0) -> tuple[Path, Path]:
    rng = np.random.default_rng(seed)
    blocks = max(persons // 165, 10)
    codes = pa.array(
        [f"{1 + i // 8000:02d}{(i // 40) % 200:03d}{i % 10000:04d}" for i in range(blocks)]
    )
    households = max(persons * 10 // 32, 1)
    h_block = np.sort(rng.integers(0, blocks, households)).astype("int32")
    tenure_mask = rng.random(households) < 0.01
    tenure = rng.choice(3, households, p=[0.5, 0.4, 0.1])
    rent = np.where(tenure == 1, rng.integers(200_000, 1_500_000, households), 0).astype("float64")
    h_table = pa.table(
        {
            "household_id": pa.array(np.arange(households).astype("int64")).cast(pa.string()),
            "unit_code": pa.DictionaryArray.from_arrays(pa.array(h_block), codes),
            "persons": pa.array(rng.integers(1, 9, households).astype("int32")),
            "bedrooms": pa.array(rng.integers(0, 4, households).astype("int32")),
            "durable_walls": _bools(rng, households, 0.85),
            "durable_floor": _bools(rng, households, 0.9),
            "piped_water": _bools(rng, households, 0.9),
            "sewerage": _bools(rng, households, 0.8),
            "electricity": _bools(rng, households, 0.97),
            "refuse_collection": _bools(rng, households, 0.88),
            "internet": _bools(rng, households, 0.6),
            "tenure": pa.DictionaryArray.from_arrays(
                pa.array(tenure.astype("int32"), mask=tenure_mask),
                pa.array(["owner", "renter", "other"]),
            ),
            "monthly_rent": pa.array(rent, mask=tenure != 1),
            "monthly_income": pa.array(rng.integers(0, 8_000_000, households).astype("float64")),
            "stratum": pa.array(
                rng.integers(1, 7, households).astype("int32"), mask=rng.random(households) < 0.02
            ),
        }
    )
    household_of = np.sort(rng.integers(0, households, persons))
    age = rng.integers(0, 95, persons).astype("int32")
    adult = age >= 15
    status = rng.choice(3, persons, p=[0.55, 0.1, 0.35])
    employed = adult & (status == 0)
    p_table = pa.table(
        {
            "person_id": pa.array(np.arange(persons).astype("int64")).cast(pa.string()),
            "household_id": pa.array(household_of.astype("int64")).cast(pa.string()),
            "unit_code": pa.DictionaryArray.from_arrays(pa.array(h_block[household_of]), codes),
            "sex": _categories(rng, persons, ["female", "male"], [0.52, 0.48]),
            "age": pa.array(age),
            "nationality": _categories(
                rng, persons, ["host", "venezuelan", "other_foreign"], [0.8, 0.17, 0.03]
            ),
            "years_schooling": pa.array(
                np.minimum(rng.integers(0, 18, persons), np.maximum(age - 5, 0)).astype("int32")
            ),
            "attends_school": pa.array(rng.random(persons) < np.where(age < 18, 0.9, 0.1)),
            "health_insurance": _bools(rng, persons, 0.85),
            "labour_status": pa.DictionaryArray.from_arrays(
                pa.array(status.astype("int32"), mask=~adult),
                pa.array(["employed", "unemployed", "inactive"]),
            ),
            "informal": pa.array(rng.random(persons) < 0.55, mask=~employed),
            "disability": _bools(rng, persons, 0.06),
        }
    )
    person_path, household_path = (
        folder / "census_persons.parquet",
        folder / "census_households.parquet",
    )
    write_like_importer(p_table, "persons", person_path)
    write_like_importer(h_table, "households", household_path)
    return person_path, household_path


def write_like_importer(table: pa.Table, record: str, path: Path) -> None:
    """Write exactly the layout ``import_census`` writes: its column order and types, its
    COPY statement (plain text, BIGINT, zstd, DuckDB's row groups), rows in block order."""
    import duckdb

    from inclusive_cities.ingest.census import canonical_schema, ident, write_canonical

    con = duckdb.connect()
    con.execute("SET enable_progress_bar_print = false")
    con.register("synthetic", table)
    columns = ", ".join(
        f"CAST({ident(name)} AS {kind}) AS {ident(name)}" for name, kind in canonical_schema(record)
    )
    write_canonical(con, f"SELECT {columns} FROM synthetic", path, sha="synthetic", record=record)
    con.close()


# --- the three implementations ----------------------------------------------------------


@functools.cache
def specs(record: str):
    from inclusive_cities.indicators import load_catalogue

    catalogue = load_catalogue()
    codes = PERSON_CODES if record == "person" else HOUSEHOLD_CODES
    return [catalogue[c] for c in codes]


def finish_all(parts, record: str):
    import pandas as pd

    from inclusive_cities.indicators import finish

    parts = parts.sort_values("unit_code").reset_index(drop=True)
    out = {"unit_code": parts["unit_code"].astype(str).to_numpy()}
    for spec in specs(record):
        out[spec.code] = finish(parts, spec)["value"].to_numpy()
    return pd.DataFrame(out)


def run_ours(persons: Path, households: Path) -> dict:
    import ibis

    from inclusive_cities.indicators import microdata_parts

    con = ibis.duckdb.connect()
    out = {}
    for record, path in (("person", persons), ("household", households)):
        table = con.read_parquet(str(path))
        parts = microdata_parts(table, specs(record)).execute()
        out[record] = finish_all(parts, record)
    return out


PERSON_COLUMNS = [
    "unit_code",
    "sex",
    "age",
    "nationality",
    "years_schooling",
    "attends_school",
    "health_insurance",
    "labour_status",
    "informal",
]
HOUSEHOLD_COLUMNS = [
    "unit_code",
    "persons",
    "bedrooms",
    "durable_walls",
    "durable_floor",
    "piped_water",
    "sewerage",
    "electricity",
    "refuse_collection",
    "internet",
    "tenure",
    "monthly_rent",
    "monthly_income",
    "stratum",
]


def run_pandas(persons: Path, households: Path) -> dict:
    import pandas as pd

    # only the columns the indicators use, as an analyst would read a 5M-row file
    p = pd.read_parquet(persons, columns=PERSON_COLUMNS)
    h = pd.read_parquet(households, columns=HOUSEHOLD_COLUMNS)
    out = {}
    g = pd.DataFrame({"unit_code": p["unit_code"]})
    age, status = p["age"], p["labour_status"]
    female, male = p["sex"] == "female", p["sex"] == "male"
    ins = p["health_insurance"]
    g["health_insurance__den"] = ins.notna()
    g["health_insurance__num"] = ins.fillna(False).astype(bool)
    school = age.between(5, 16) & p["attends_school"].notna()
    g["school_attendance_5_16__den"] = school
    g["school_attendance_5_16__num"] = school & p["attends_school"].fillna(False).astype(bool)
    for i, label in enumerate(["host", "venezuelan", "other_foreign"]):
        g[f"entropy_nationality__g{i}"] = p["nationality"] == label
    for i, (lo, hi) in enumerate([(0, 14), (15, 24), (25, 64), (65, 200)]):
        g[f"entropy_age__g{i}"] = age.between(lo, hi)
    adult = (age >= 25) & p["years_schooling"].notna()
    years = p["years_schooling"].astype("float64")
    g["years_schooling_25plus__num"] = years.where(adult, 0.0)
    g["years_schooling_25plus__den"] = adult
    g["schooling_gender_gap_years__a_sum"] = years.where(adult & female, 0.0)
    g["schooling_gender_gap_years__a_n"] = adult & female
    g["schooling_gender_gap_years__b_sum"] = years.where(adult & male, 0.0)
    g["schooling_gender_gap_years__b_n"] = adult & male
    working_age = age.between(15, 64)
    g["employment_rate__den"] = working_age
    g["employment_rate__num"] = working_age & (status == "employed")
    active = status.isin(["employed", "unemployed"])
    g["unemployment_rate__den"] = active
    g["unemployment_rate__num"] = active & (status == "unemployed")
    informal = (status == "employed") & p["informal"].notna()
    g["informal_employment__den"] = informal
    g["informal_employment__num"] = informal & p["informal"].fillna(False).astype(bool)
    youth = age.between(15, 24) & status.notna() & p["attends_school"].notna()
    g["neet_youth__den"] = youth
    g["neet_youth__num"] = (
        youth & (status != "employed") & ~p["attends_school"].fillna(True).astype(bool)
    )
    out["person"] = finish_all(g.groupby("unit_code", sort=False).sum().reset_index(), "person")
    k = pd.DataFrame({"unit_code": h["unit_code"]})
    both = h["durable_walls"].notna() & h["durable_floor"].notna()
    k["durable_housing__den"] = both
    k["durable_housing__num"] = (
        both
        & h["durable_walls"].fillna(False).astype(bool)
        & h["durable_floor"].fillna(False).astype(bool)
    )
    crowd = h["persons"].notna() & h["bedrooms"].notna()
    k["overcrowding__den"] = crowd
    k["overcrowding__num"] = crowd & (h["persons"] >= 3 * h["bedrooms"])
    for name in ("piped_water", "sewerage", "electricity", "refuse_collection", "internet"):
        k[f"{name}__den"] = h[name].notna()
        k[f"{name}__num"] = h[name].fillna(False).astype(bool)
    tenure = h["tenure"]
    k["home_ownership__den"] = tenure.notna()
    k["home_ownership__num"] = tenure == "owner"
    for i in range(6):
        k[f"entropy_stratum__g{i}"] = h["stratum"] == i + 1
    sums = k.groupby("unit_code", sort=False).sum()
    renters = (tenure == "renter") & (h["monthly_rent"] >= 0) & (h["monthly_income"] > 0)
    ratio = (100 * h["monthly_rent"] / h["monthly_income"])[renters]
    grouped = ratio.groupby(k["unit_code"][renters], sort=False)
    sums["rent_burden__median"] = grouped.median()
    sums["rent_burden__den"] = grouped.size()
    sums[["rent_burden__den"]] = sums[["rent_burden__den"]].fillna(0)
    out["household"] = finish_all(sums.reset_index(), "household")
    return out


# The floor is written the way that is fastest in DuckDB for conditional aggregates:
# ``count(CASE WHEN c THEN 1 END)`` / ``sum(CASE WHEN c THEN x END)`` rather than
# ``FILTER (WHERE c)`` (same values; about a quarter less CPU, see benchmarks/README.md).
PERSON_SQL = """
SELECT unit_code,
  count(CASE WHEN health_insurance THEN 1 END) AS health_insurance__num,
  count(health_insurance) AS health_insurance__den,
  count(CASE WHEN age BETWEEN 5 AND 16 AND attends_school THEN 1 END)
    AS school_attendance_5_16__num,
  count(CASE WHEN age BETWEEN 5 AND 16 THEN attends_school END) AS school_attendance_5_16__den,
  count(CASE WHEN nationality = 'host' THEN 1 END) AS entropy_nationality__g0,
  count(CASE WHEN nationality = 'venezuelan' THEN 1 END) AS entropy_nationality__g1,
  count(CASE WHEN nationality = 'other_foreign' THEN 1 END) AS entropy_nationality__g2,
  count(CASE WHEN age <= 14 THEN 1 END) AS entropy_age__g0,
  count(CASE WHEN age BETWEEN 15 AND 24 THEN 1 END) AS entropy_age__g1,
  count(CASE WHEN age BETWEEN 25 AND 64 THEN 1 END) AS entropy_age__g2,
  count(CASE WHEN age >= 65 THEN 1 END) AS entropy_age__g3,
  sum(CASE WHEN age >= 25 THEN years_schooling END) AS years_schooling_25plus__num,
  count(CASE WHEN age >= 25 THEN years_schooling END) AS years_schooling_25plus__den,
  sum(CASE WHEN age >= 25 AND sex = 'female' THEN years_schooling END)
    AS schooling_gender_gap_years__a_sum,
  count(CASE WHEN age >= 25 AND sex = 'female' THEN years_schooling END)
    AS schooling_gender_gap_years__a_n,
  sum(CASE WHEN age >= 25 AND sex = 'male' THEN years_schooling END)
    AS schooling_gender_gap_years__b_sum,
  count(CASE WHEN age >= 25 AND sex = 'male' THEN years_schooling END)
    AS schooling_gender_gap_years__b_n,
  count(CASE WHEN age BETWEEN 15 AND 64 AND labour_status = 'employed' THEN 1 END)
    AS employment_rate__num,
  count(CASE WHEN age BETWEEN 15 AND 64 THEN 1 END) AS employment_rate__den,
  count(CASE WHEN labour_status = 'unemployed' THEN 1 END) AS unemployment_rate__num,
  count(CASE WHEN labour_status IN ('employed', 'unemployed') THEN 1 END)
    AS unemployment_rate__den,
  count(CASE WHEN labour_status = 'employed' AND informal THEN 1 END)
    AS informal_employment__num,
  count(CASE WHEN labour_status = 'employed' THEN informal END) AS informal_employment__den,
  count(CASE WHEN age BETWEEN 15 AND 24 AND labour_status <> 'employed' AND NOT attends_school
             THEN 1 END) AS neet_youth__num,
  count(CASE WHEN age BETWEEN 15 AND 24 AND labour_status IS NOT NULL THEN attends_school END)
    AS neet_youth__den
FROM read_parquet('{path}') GROUP BY unit_code
"""
HOUSEHOLD_SQL = """
SELECT unit_code,
  count(CASE WHEN durable_walls AND durable_floor THEN 1 END) AS durable_housing__num,
  count(CASE WHEN durable_walls IS NOT NULL THEN durable_floor END) AS durable_housing__den,
  count(CASE WHEN persons >= 3 * bedrooms THEN 1 END) AS overcrowding__num,
  count(persons + bedrooms) AS overcrowding__den,
  {services}
  count(CASE WHEN tenure = 'owner' THEN 1 END) AS home_ownership__num,
  count(tenure) AS home_ownership__den,
  median(CASE WHEN tenure = 'renter' AND monthly_rent >= 0 AND monthly_income > 0
              THEN 100 * monthly_rent / monthly_income END) AS rent_burden__median,
  count(CASE WHEN tenure = 'renter' AND monthly_rent >= 0 AND monthly_income > 0 THEN 1 END)
    AS rent_burden__den,
  {strata}
FROM read_parquet('{path}') GROUP BY unit_code
"""


def run_sql(persons: Path, households: Path) -> dict:
    import duckdb

    con = duckdb.connect()
    services = "\n  ".join(
        f"count(CASE WHEN {n} THEN 1 END) AS {n}__num, count({n}) AS {n}__den,"
        for n in ("piped_water", "sewerage", "electricity", "refuse_collection", "internet")
    )
    strata = ",\n  ".join(
        f"count(CASE WHEN stratum = {i + 1} THEN 1 END) AS entropy_stratum__g{i}" for i in range(6)
    )
    person_parts = con.sql(PERSON_SQL.format(path=persons)).df()
    household_parts = con.sql(
        HOUSEHOLD_SQL.format(path=households, services=services, strata=strata)
    ).df()
    return {
        "person": finish_all(person_parts, "person"),
        "household": finish_all(household_parts, "household"),
    }


RUNNERS = {"ours": run_ours, "pandas": run_pandas, "sql": run_sql}


def peak_rss_mb() -> float:
    """This process's own peak RSS. ``ru_maxrss`` is not used: Linux carries it over from the
    parent across fork + exec, so every child reported the parent's peak (the generator's)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(name: str, persons: Path, households: Path, check: Path | None) -> None:
    # imports and the catalogue are loaded before the clock starts, for every implementation
    import duckdb  # noqa: F401
    import ibis
    import ibis.backends.duckdb  # noqa: F401  (ibis imports its backends lazily)
    import pandas  # noqa: F401
    import pyarrow.parquet  # noqa: F401  (pandas imports its Parquet engine lazily)

    import inclusive_cities.indicators  # noqa: F401

    specs("person"), specs("household")
    start, cpu = time.perf_counter(), time.process_time()
    result = RUNNERS[name](persons, households)
    seconds, cpu_s = time.perf_counter() - start, time.process_time() - cpu
    peak_mb = peak_rss_mb()
    if check is not None:
        for record, frame in result.items():
            frame.to_parquet(check.with_name(f"{check.stem}_{name}_{record}.parquet"))
    print(json.dumps({"seconds": seconds, "cpu_s": cpu_s, "peak_mb": peak_mb}))


def compare(check: Path) -> None:
    import numpy as np
    import pandas as pd

    for record in ("person", "household"):
        frames = {
            name: pd.read_parquet(check.with_name(f"{check.stem}_{name}_{record}.parquet"))
            for name in RUNNERS
        }
        base = frames["sql"]
        for name, frame in frames.items():
            assert frame["unit_code"].tolist() == base["unit_code"].tolist(), name
            for column in base.columns[1:]:
                assert np.allclose(frame[column], base[column], equal_nan=True, rtol=1e-9), (
                    name,
                    column,
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=5_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", choices=list(RUNNERS))
    parser.add_argument("--data", type=Path)
    parser.add_argument("--check", type=Path)
    args = parser.parse_args()
    if args.child:
        child(
            args.child,
            args.data / "census_persons.parquet",
            args.data / "census_households.parquet",
            args.check,
        )
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        start = time.perf_counter()
        generate(folder, args.persons)
        print(f"generated {args.persons:,} persons in {time.perf_counter() - start:.1f} s")
        check = folder / "check.parquet"
        results: dict[str, list[dict]] = {name: [] for name in RUNNERS}
        for i in range(args.repeat):
            for name in RUNNERS:
                command = [sys.executable, __file__, "--child", name, "--data", str(folder)]
                if i == 0:
                    command += ["--check", str(check)]
                out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
                results[name].append(json.loads(out.strip().splitlines()[-1]))
                print(
                    f"run {i + 1} {name:7} {results[name][-1]['seconds']:6.2f} s "
                    f"(CPU {results[name][-1]['cpu_s']:.2f} s)",
                    flush=True,
                )
        compare(check)
        print("results identical across the three implementations")
        medians = {n: statistics.median(r["seconds"] for r in runs) for n, runs in results.items()}
        peaks = {n: max(r["peak_mb"] for r in runs) for n, runs in results.items()}
        print(f"{'':8} {'median s':>9} {'peak MB':>8}")
        for name in RUNNERS:
            print(f"{name:8} {medians[name]:9.2f} {peaks[name]:8.0f}")
        print(f"pandas / ours = {medians['pandas'] / medians['ours']:.1f}x (target >= 5x)")
        print(f"ours / SQL floor = {medians['ours'] / medians['sql']:.2f}x (target <= 1.5x)")


if __name__ == "__main__":
    main()
