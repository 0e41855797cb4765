"""Write a synthetic demo city in the formats of docs/data-formats/demo-city.md.

The census CSVs are written chunk by chunk with Arrow, so memory stays bounded for the
5-million-person city and the bytes are identical for a seed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import geopandas as gpd
import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyogrio

from inclusive_cities.demo.errors import DemoError
from inclusive_cities.demo.facilities import place_facilities
from inclusive_cities.demo.geography import CRS, PARK_TYPES, Geography, build_geography
from inclusive_cities.demo.population import (
    HOUSEHOLD_COLUMNS,
    PERSON_COLUMNS,
    BlockProfile,
    block_profile,
    make_chunk,
)
from inclusive_cities.demo.sizes import size_spec
from inclusive_cities.i18n import gettext as _

CITY_NAME = "Ciudad Demo (sintética)"
CITY_CODE = "DEMO"
COUNTRY = "COL"
PERIOD = "2024"
GENERATOR_VERSION = "1"
FILES = {
    "readme": "README.txt",
    "boundaries": "boundaries.gpkg",
    "environment": "environment.gpkg",
    "facilities": "facilities.csv",
    "households": "census_households.csv",
    "persons": "census_persons.csv",
    "indicators": "indicators_neighbourhood.csv",
}

Progress = Callable[[str, float], None]


@dataclass(frozen=True)
class GeneratedCity:
    """What was written and the true totals, for round-trip checks after import."""

    directory: Path
    size: str
    seed: int
    name: str
    code: str
    files: dict[str, Path]
    localidades: int
    barrios: int
    blocks: int
    households: int
    persons: int
    venezuelans: int
    income_total: int
    households_by_block: dict[str, int] = field(repr=False)
    persons_by_block: dict[str, int] = field(repr=False)
    facilities_by_type: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def venezuelan_share(self) -> float:
        return self.venezuelans / self.persons if self.persons else 0.0

    @property
    def facilities(self) -> int:
        return sum(self.facilities_by_type.values())


def _rng(seed: int, stream: int, *more: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, stream, *more]))


def _prepare(out_dir: Path) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise DemoError(
            _(
                "Cannot write the demo city to {path}: it is a file, not a directory. "
                "Choose another --out."
            ).format(path=out_dir)
        )
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        for name in FILES.values():
            (out_dir / name).unlink(missing_ok=True)
    except OSError as error:
        raise DemoError(
            _("Cannot write the demo city to {path} ({reason}). Choose a writable --out.").format(
                path=out_dir, reason=error.strerror or error
            )
        ) from None


def generate_city(
    out_dir: str | Path, size: str = "medium", seed: int = 0, progress: Progress | None = None
) -> GeneratedCity:
    """Generate the synthetic demo city into ``out_dir`` and return what was written."""
    started = time.perf_counter()
    spec = size_spec(size)
    if seed < 0:
        message = _("The seed must be zero or a positive integer, not {seed}.")
        raise DemoError(message.format(seed=seed))
    out = Path(out_dir)
    _prepare(out)
    report = progress or (lambda _stage, _fraction: None)

    report(_("Laying out blocks, barrios and localidades"), 0.0)
    geo = build_geography(spec, _rng(seed, 1))
    _write_boundaries(geo, out / FILES["boundaries"])
    _write_environment(geo, out / FILES["environment"])
    report(_("Laying out blocks, barrios and localidades"), 0.15)

    profile = block_profile(geo, spec, _rng(seed, 2))
    persons_per_block, venezuelans, income_total = _write_census(
        geo, profile, spec.chunk_persons, out, seed, report
    )
    report(_("Placing facilities"), 0.95)
    facilities = place_facilities(geo, persons_per_block, profile.venezuelan, _rng(seed, 4))
    facilities.table.to_csv(out / FILES["facilities"], index=False, lineterminator="\n")
    _write_indicators(geo, profile, out / FILES["indicators"], _rng(seed, 5))

    city = GeneratedCity(
        directory=out,
        size=size,
        seed=seed,
        name=CITY_NAME,
        code=CITY_CODE,
        files={key: out / name for key, name in FILES.items()},
        localidades=len(geo.localidad_codes),
        barrios=len(geo.barrio_codes),
        blocks=len(geo.block_codes),
        households=int(profile.households.sum()),
        persons=int(persons_per_block.sum()),
        venezuelans=venezuelans,
        income_total=income_total,
        households_by_block=dict(zip(geo.block_codes, profile.households.tolist(), strict=True)),
        persons_by_block=dict(zip(geo.block_codes, persons_per_block.tolist(), strict=True)),
        facilities_by_type=facilities.counts,
        seconds=time.perf_counter() - started,
    )
    _write_readme(city, out / FILES["readme"])
    report(_("Done"), 1.0)
    return city


def _write_boundaries(geo: Geography, path: Path) -> None:
    levels = [
        (
            "localidad",
            geo.localidad_codes,
            geo.localidad_names,
            [""] * len(geo.localidad_codes),
            geo.localidad_geoms,
        ),
        (
            "barrio",
            geo.barrio_codes,
            geo.barrio_names,
            [geo.localidad_codes[k] for k in geo.barrio_localidad],
            geo.barrio_geoms,
        ),
        (
            "manzana",
            geo.block_codes,
            [f"Manzana {code[-4:]}" for code in geo.block_codes],
            [geo.barrio_codes[k] for k in geo.block_barrio],
            geo.block_geoms,
        ),
    ]
    for layer, codes, names, parents, geoms in levels:
        frame = gpd.GeoDataFrame(
            {"codigo": codes, "nombre": names, "codigo_padre": parents},
            geometry=gpd.GeoSeries(geoms, crs=CRS),
        )
        pyogrio.write_dataframe(frame, path, layer=layer, driver="GPKG", promote_to_multi=True)


def _write_environment(geo: Geography, path: Path) -> None:
    zones = gpd.GeoDataFrame(
        {
            "codigo": [f"ZR{i + 1:04d}" for i in range(len(geo.risk_zones))],
            "tipo": [zone.kind for zone in geo.risk_zones],
            "mitigable": [zone.mitigable for zone in geo.risk_zones],
        },
        geometry=gpd.GeoSeries([zone.geometry for zone in geo.risk_zones], crs=CRS),
    )
    parks = np.flatnonzero(geo.park >= 0)
    public = gpd.GeoDataFrame(
        {
            "codigo": [f"EP{i + 1:05d}" for i in range(parks.size)],
            "nombre": geo.park_names,
            "tipo": [PARK_TYPES[k] for k in geo.park[parks]],
        },
        geometry=gpd.GeoSeries(geo.block_geoms[parks], crs=CRS),
    )
    river = gpd.GeoDataFrame({"nombre": ["Río Demo"]}, geometry=gpd.GeoSeries([geo.river], crs=CRS))
    streets = gpd.GeoDataFrame(
        {"tipo": np.where(geo.street_main, "principal", "local")},
        geometry=gpd.GeoSeries(geo.street_geoms, crs=CRS),
    )
    for layer, frame in (
        ("zonas_riesgo", zones),
        ("espacio_publico", public),
        ("rio", river),
        ("vias", streets),
    ):
        pyogrio.write_dataframe(
            frame, path, layer=layer, driver="GPKG", promote_to_multi=layer != "vias"
        )


def _chunks(households: np.ndarray, target: int) -> list[np.ndarray]:
    """Consecutive block ranges of about ``target`` persons each (3.1 persons a household)."""
    expected = np.cumsum(households * 3.1)
    total = expected[-1] if expected.size else 0
    cuts = np.searchsorted(expected, np.arange(target, total, target))
    return [chunk for chunk in np.split(np.arange(households.size), cuts) if chunk.size]


def _open_csv(path: Path, columns: tuple[str, ...]) -> BinaryIO:
    handle = path.open("wb")
    handle.write((",".join(columns) + "\n").encode("utf-8"))
    return handle


def _write_census(
    geo: Geography,
    profile: BlockProfile,
    chunk_persons: int,
    out: Path,
    seed: int,
    report: Progress,
) -> tuple[np.ndarray, int, int]:
    # Arrow quotes header names whatever the style, so the header is written by hand.
    options = pacsv.WriteOptions(quoting_style="none", include_header=False)
    codes = pa.array(geo.block_codes, type=pa.string())
    chunks = _chunks(profile.households, chunk_persons)
    persons_per_block = np.zeros(len(geo.block_codes), dtype=np.int64)
    venezuelans = 0
    income_total = 0
    first_household = 1
    hh_schema = pa.schema(
        [
            (name, pa.string() if name in ("COD_MANZANA", "ID_HOGAR") else pa.int64())
            for name in HOUSEHOLD_COLUMNS
        ]
    )
    person_schema = pa.schema(
        [
            (name, pa.string() if name in ("COD_MANZANA", "ID_HOGAR", "ID_PERSONA") else pa.int64())
            for name in PERSON_COLUMNS
        ]
    )
    with (
        _open_csv(out / FILES["households"], HOUSEHOLD_COLUMNS) as hh_file,
        _open_csv(out / FILES["persons"], PERSON_COLUMNS) as p_file,
        pacsv.CSVWriter(hh_file, hh_schema, write_options=options) as hh_writer,
        pacsv.CSVWriter(p_file, person_schema, write_options=options) as p_writer,
    ):
        for index, blocks in enumerate(chunks):
            chunk = make_chunk(geo, profile, blocks, first_household, _rng(seed, 3, index), codes)
            hh_writer.write_table(chunk.households.cast(hh_schema))
            p_writer.write_table(chunk.persons.cast(person_schema))
            first_household += chunk.households.num_rows
            persons_per_block += chunk.persons_per_block
            venezuelans += chunk.venezuelans
            income_total += chunk.income_total
            stage = _("Writing census households and persons")
            report(stage, 0.15 + 0.8 * (index + 1) / len(chunks))
    return persons_per_block, venezuelans, income_total


def _spanish_number(values: np.ndarray, decimals: int) -> list[str]:
    return [f"{value:.{decimals}f}".replace(".", ",") for value in values]


def _write_indicators(
    geo: Geography, profile: BlockProfile, path: Path, rng: np.random.Generator
) -> None:
    """Crime rate and land-use mix per barrio: higher crime in the centre and poorer areas."""
    n = len(geo.barrio_codes)
    counts = np.bincount(geo.block_barrio, minlength=n)
    px = np.bincount(geo.block_barrio, weights=geo.block_x, minlength=n) / counts - geo.centre[0]
    py = np.bincount(geo.block_barrio, weights=geo.block_y, minlength=n) / counts - geo.centre[1]
    centrality = np.exp(-((np.hypot(px, py) / geo.radius_m / 0.35) ** 2))
    ses = np.bincount(geo.block_barrio, weights=profile.ses, minlength=n) / counts
    crime = np.exp(np.log(900) + 0.9 * centrality - 0.3 * ses + rng.normal(0, 0.35, n))
    mix = np.clip(0.18 + 0.6 * centrality + 0.05 * ses + rng.normal(0, 0.06, n), 0.02, 0.98)
    lines = [
        "codigo_barrio;periodo;tasa_delitos;mezcla_usos",
        "#adm3+code;#date+year;#indicator+crime_rate_per_100k;#indicator+land_use_mix",
    ]
    lines += [
        f"{code};{PERIOD};{rate};{share}"
        for code, rate, share in zip(
            geo.barrio_codes, _spanish_number(crime, 1), _spanish_number(mix, 3), strict=True
        )
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _write_readme(city: GeneratedCity, path: Path) -> None:
    files = "\n".join(f"  - {name}" for name in FILES.values())
    facilities = ", ".join(f"{kind}: {count}" for kind, count in city.facilities_by_type.items())
    text = f"""DATOS SINTÉTICOS DE DEMOSTRACIÓN / SYNTHETIC DEMO DATA
======================================================

ES: {city.name} ({city.code}) es una ciudad INVENTADA. Todos los datos de esta carpeta
(límites, censo, equipamientos, indicadores) son sintéticos, generados al azar por
inclusive-cities para demostraciones y pruebas. No describen ninguna ciudad ni persona real
y no deben usarse para decisiones.

EN: {city.name} ({city.code}) is an INVENTED city. Every file in this folder (boundaries,
census, facilities, indicators) is synthetic, randomly generated by inclusive-cities for
demonstrations and tests. It describes no real city or person and must not be used for
decisions.

Tamaño / size: {city.size}    Semilla / seed: {city.seed}
Versión del generador / generator version: {GENERATOR_VERSION}
País / country: {COUNTRY}    Periodo censal / census period: {PERIOD}    CRS: {CRS}
Localidades: {city.localidades}    Barrios: {city.barrios}    Manzanas / blocks: {city.blocks}
Hogares / households: {city.households}    Personas / persons: {city.persons}
Personas venezolanas / Venezuelan persons: {city.venezuelans} ({city.venezuelan_share:.1%})
Equipamientos / facilities: {facilities}

Archivos / files:
{files}

Formato / format: docs/data-formats/demo-city.md
Regenerar / regenerate:
  inclusive-cities demo generate --out DIR --size {city.size} --seed {city.seed}
"""
    path.write_text(text, encoding="utf-8")
