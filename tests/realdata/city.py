"""A small city shaped like a real one's published block data (SYNTHETIC, built in code).

What real files look like, and what the demo never had:
- one level only (blocks, ``cod_manzana`` with leading zeros), boundaries in EPSG:4326;
- 14 raw UIM indicators under the city's own column names, shares in 0-100, distances to
  schools, health and services in **metres**;
- missing values coded ``999`` (shares) and ``-999`` / ``9999`` (distances);
- a column that repeats each community's total population on every block (``pob_comuna``);
- one block (``0007``) with its whole housing area missing.

The values follow simple formulas of the block's position so that tests can compute what the
marker should say by hand.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import shapely

ROWS, COLS = 5, 8  # 40 blocks
SIZE = 0.002  # degrees, about 220 m near the equator
ORIGIN = (-78.52, -0.23)  # Quito-like coordinates
PARTIAL_BLOCK = "0007"
HOUSING = ("hacinamiento", "tenencia_propia", "nbi_vivienda", "nbi_servicios", "internet")
# column -> (name_es, name_en, unit, direction, min, max, missing codes)
DICTIONARY: dict[str, tuple[str, str, str, str, float, float | None, str]] = {
    "desempleo": ("Tasa de desempleo", "Unemployment rate", "%", "lower_is_better", 0, 100, "999"),
    "ocupacion": ("Tasa de ocupación", "Employment rate", "%", "higher_is_better", 0, 100, "999"),
    "hacinamiento": (
        "Hogares en hacinamiento",
        "Overcrowded households",
        "%",
        "lower_is_better",
        0,
        100,
        "999",
    ),
    "tenencia_propia": (
        "Vivienda propia",
        "Owner-occupied dwellings",
        "%",
        "higher_is_better",
        0,
        100,
        "999",
    ),
    "nbi_vivienda": ("NBI vivienda", "UBN dwelling", "%", "lower_is_better", 0, 100, "999"),
    "nbi_servicios": ("NBI servicios", "UBN services", "%", "lower_is_better", 0, 100, "999"),
    "nbi_hacinamiento": (
        "NBI hacinamiento",
        "UBN overcrowding",
        "%",
        "lower_is_better",
        0,
        100,
        "999",
    ),
    "nbi_escolar": ("NBI asistencia escolar", "UBN school", "%", "lower_is_better", 0, 100, "999"),
    "nbi_dependencia": (
        "NBI dependencia económica",
        "UBN dependency",
        "%",
        "lower_is_better",
        0,
        100,
        "999",
    ),
    "internet": (
        "Hogares con internet",
        "Households with internet",
        "%",
        "higher_is_better",
        0,
        100,
        "999",
    ),
    "computador": (
        "Hogares con computador",
        "Households with a computer",
        "%",
        "higher_is_better",
        0,
        100,
        "999",
    ),
    "dist_escuela_m": (
        "Distancia a la escuela",
        "Distance to school",
        "m",
        "lower_is_better",
        0,
        None,
        "-999;9999",
    ),
    "dist_servicios_m": (
        "Distancia a servicios",
        "Distance to services",
        "m",
        "lower_is_better",
        0,
        None,
        "-999;9999",
    ),
}
# the distance to health is a catalogue code: it must take the catalogue's meaning
CATALOGUE_COLUMN = "dist_health_m"


@dataclass(frozen=True)
class RealShapedCity:
    boundaries: Path
    table: Path
    dictionary: Path
    codes: list[str]
    values: dict[str, dict[str, float | None]]  # column -> block -> value (None = missing)


def block_code(index: int) -> str:
    return f"{index + 1:04d}"


def _value(column: str, index: int) -> float:
    """A plausible value that varies smoothly over the grid (so ranks are predictable)."""
    row, col = divmod(index, COLS)
    gradient = (row * COLS + col) / (ROWS * COLS - 1)  # 0 (first block) .. 1 (last block)
    if column.endswith("_m"):
        return round(150 + 1650 * gradient, 1)  # metres: worse towards the last block
    if column in ("ocupacion", "tenencia_propia", "internet", "computador"):
        return round(80 - 50 * gradient, 1)  # good at the first block
    return round(5 + 40 * gradient, 1)  # bad shares grow towards the last block


def build(folder: Path) -> RealShapedCity:
    """Write boundaries.gpkg, bloques.csv and diccionario.csv into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    codes = [block_code(i) for i in range(ROWS * COLS)]
    geometries = []
    for i in range(ROWS * COLS):
        row, col = divmod(i, COLS)
        x, y = ORIGIN[0] + col * SIZE, ORIGIN[1] + row * SIZE
        geometries.append(shapely.box(x, y, x + SIZE, y + SIZE))
    frame = gpd.GeoDataFrame({"cod_manzana": codes}, geometry=geometries, crs="EPSG:4326")
    boundaries = folder / "manzanas.gpkg"
    frame.to_file(boundaries, driver="GPKG", layer="manzanas")

    columns = [*DICTIONARY, CATALOGUE_COLUMN]
    values: dict[str, dict[str, float | None]] = {c: {} for c in columns}
    rows: list[list[object]] = []
    for i, code in enumerate(codes):
        community = i // 10  # four communities of ten blocks
        record: list[object] = [code, 120 + (i * 7) % 60, 1000 * (community + 2)]
        for column in columns:
            value: float | None = _value(column, i)
            raw: object = value
            housing_gap = code == PARTIAL_BLOCK and column in HOUSING
            if housing_gap or (i % 9 == 4 and column == "desempleo"):
                value, raw = None, 999
            elif i % 11 == 3 and column == "dist_escuela_m":
                value, raw = None, -999
            elif i % 13 == 5 and column == "dist_servicios_m":
                value, raw = None, 9999
            values[column][code] = value
            record.append(raw)
        rows.append(record)
    table = folder / "bloques.csv"
    with table.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["cod_manzana", "poblacion", "pob_comuna", *columns])
        writer.writerows(rows)

    dictionary = folder / "diccionario.csv"
    with dictionary.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["code", "name_es", "name_en", "unit", "direction", "min", "max", "missing"]
        )
        for code, (es, en, unit, direction, low, high, missing) in DICTIONARY.items():
            writer.writerow(
                [code, es, en, unit, direction, low, "" if high is None else high, missing]
            )
        writer.writerow(["poblacion", "Población", "Population", "personas", "neutral", 0, "", ""])
        writer.writerow(
            [
                "pob_comuna",
                "Población de la comuna",
                "Community population",
                "personas",
                "neutral",
                0,
                "",
                "",
            ]
        )
    return RealShapedCity(boundaries, table, dictionary, codes, values)
