"""A deterministic fuzz run of bad input through every importer, from the command line.

Over 200 kinds of bad file (truncated, wrong encodings, binary junk, huge numbers, NaN and
infinities, empty and duplicate columns, formulas, wrong types, codes that match nothing,
zip bombs, empty layers, broken designs…) go through ``import boundaries|census|table|
facilities|layers`` and ``survey import`` in-process, each against one initialised store
per importer. Every run must end with exit 1 and one translated line that is not
"Unexpected error" — or with exit 0 when the input is in fact valid — and a refused run must
leave the store (the row count of every table) and the data folder (its file list) exactly
as they were. The counts are printed at the end (``pytest -s``) and asserted to be 0.
"""

from __future__ import annotations

import gzip
import json
import random
import shutil
import sqlite3
import zipfile
from collections import Counter
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import shapely
from pyproj import Transformer
from sqlalchemy import Engine, MetaData, func, select

from inclusive_cities.cli import main
from inclusive_cities.ingest import import_boundaries, import_census
from inclusive_cities.store import connect, init_database
from inclusive_cities.surveys.demo_survey import generate_demo_survey
from tests.ingest.conftest import (
    DEMO_LEVELS,
    UTM,
    X0,
    Y0,
    households_file,
    persons_file,
    square,
    write_levels,
)
from tests.ingest.test_layers import write_environment
from tests.ingest.test_zip_bomb import bomb
from tests.surveys.helpers import tiny_boundaries, tiny_store

SEED = 15
REJECT, VALID, EITHER = "reject", "valid", "either"


@dataclass
class Case:
    importer: str
    kind: str
    args: list[str]
    expect: str = REJECT


class Store:
    """One initialised store (database + data folder) that every case of an importer uses."""

    def __init__(self, folder: Path, build: Callable[[str, Path], None]) -> None:
        folder.mkdir(parents=True)
        self.db, self.data = folder / "store.db", folder / "data"
        self.url = f"sqlite:///{self.db}"
        build(self.url, self.data)
        self.saved_db, self.saved_data = folder / "saved.db", folder / "saved-data"
        with (
            closing(sqlite3.connect(self.db)) as live,
            closing(sqlite3.connect(self.saved_db)) as saved,
        ):
            live.backup(saved)
        if self.data.exists():
            shutil.copytree(self.data, self.saved_data, symlinks=True)
        self.engine: Engine = connect(self.url)
        self.tables = MetaData()
        self.tables.reflect(self.engine)

    def snapshot(self) -> tuple[dict[str, int], list[str]]:
        with self.engine.connect() as connection:
            counts = {
                name: int(connection.execute(select(func.count()).select_from(table)).scalar_one())
                for name, table in self.tables.tables.items()
            }
        files = (
            sorted(str(p.relative_to(self.data)) for p in self.data.rglob("*"))
            if self.data.exists()
            else []
        )
        return counts, files

    def restore(self) -> None:
        """After a valid import: back to the saved state for the next case."""
        # through SQLite's backup API: a plain copy would leave the newer pages of the
        # write-ahead log in force for the connections still open
        with (
            closing(sqlite3.connect(self.saved_db)) as saved,
            closing(sqlite3.connect(self.db)) as live,
        ):
            saved.backup(live)
        shutil.rmtree(self.data, ignore_errors=True)
        if self.saved_data.exists():
            shutil.copytree(self.saved_data, self.data, symlinks=True)


# --- building blocks -----------------------------------------------------------------------


def lat_lon(x: float, y: float) -> tuple[float, float]:
    lon, lat = Transformer.from_crs(UTM, "EPSG:4326", always_xy=True).transform(x, y)
    return round(lat, 6), round(lon, 6)


def base_texts(folder: Path) -> dict[str, tuple[str, str, str]]:
    """Valid CSV text per tabular importer, with its numeric column and its code column."""
    lat, lon = lat_lon(X0 + 500, Y0 + 500)
    lat2, lon2 = lat_lon(X0 + 1500, Y0 + 500)
    return {
        "census_households": (
            households_file(folder / "base_hh.csv").read_text(encoding="utf-8"),
            "H_PERSONAS",
            "COD_MANZANA",
        ),
        "census_persons": (
            persons_file(folder / "base_p.csv").read_text(encoding="utf-8"),
            "P_EDAD",
            "COD_MANZANA",
        ),
        "table": (
            "unit_code,period,tasa\n01001,2024,1.5\n01002,2024,2\n02001,2024,3\n",
            "tasa",
            "unit_code",
        ),
        "facilities": (
            "id,nombre,tipo,lat,lon,capacidad\n"
            f"F1,Centro Norte,centro_salud,{lat},{lon},10\n"
            f"F2,Colegio Sur,colegio,{lat2},{lon2},300\n",
            "lat",
            "tipo",
        ),
    }


def set_cell(text: str, column: str, value: str, row: int = 1) -> str:
    lines = text.splitlines()
    header = lines[0].split(",")
    cells = lines[row].split(",")
    cells[header.index(column)] = value
    lines[row] = ",".join(cells)
    return "\n".join(lines) + "\n"


def drop_column(text: str, column: str) -> str:
    rows = [line.split(",") for line in text.splitlines()]
    index = rows[0].index(column)
    return "\n".join(",".join(c for i, c in enumerate(r) if i != index) for r in rows) + "\n"


def junk(size: int, chance: random.Random) -> bytes:
    return bytes(chance.randrange(256) for _ in range(size))


def text_mutations(
    text: str, number: str, code: str, chance: random.Random, importer: str
) -> list[tuple[str, bytes, str]]:
    """(kind, file bytes, expectation) for one valid CSV."""
    header, first_row = text.splitlines()[0], text.splitlines()[1]
    cut = len(header) + 1 + len(first_row) // 2
    is_census = importer.startswith("census")
    comma_table = text.replace(",", ";")
    loose = EITHER if importer == "table" else REJECT
    return [
        ("binary junk", junk(512, chance), REJECT),
        ("binary junk after the header", (header + "\n").encode() + junk(400, chance), REJECT),
        ("header only", (header + "\n").encode(), REJECT),
        ("BOM only", b"\xef\xbb\xbf", REJECT),
        ("blank lines only", b"\n \n\t\n", REJECT),
        ("UTF-16", text.encode("utf-16"), REJECT if is_census else VALID),
        ("NUL bytes", text.encode()[:cut] + b"\x00\x00" + text.encode()[cut:], REJECT),
        ("truncated mid-row", text.encode()[:cut], REJECT),
        ("unterminated quote", (text + '"01001,2024\n').encode(), REJECT),
        ("NaN", set_cell(text, number, "NaN").encode(), REJECT),
        ("inf", set_cell(text, number, "inf").encode(), REJECT),
        ("-inf", set_cell(text, number, "-inf").encode(), REJECT),
        ("overflow 1e309", set_cell(text, number, "1e309").encode(), REJECT),
        # an indicator the catalogue does not know has no range: 1e30 is a number
        ("huge number", set_cell(text, number, "9" * 30).encode(), loose),
        ("text for a number", set_cell(text, number, "abc").encode(), REJECT),
        ("formula for a number", set_cell(text, number, "=1+1").encode(), REJECT),
        ("empty code", set_cell(text, code, "").encode(), REJECT),
        (
            "formula code",
            set_cell(text, code, '=HYPERLINK("http://x")').encode(),
            REJECT,
        ),
        ("code matching nothing", set_cell(text, code, "99999").encode(), REJECT),
        ("missing column", drop_column(text, code).encode(), REJECT),
        (
            "duplicate header",
            text.replace(header, header.replace(number, code), 1).encode(),
            REJECT,
        ),
        (
            "empty header cell",
            text.replace(header, header.replace(number, ""), 1).encode(),
            REJECT,
        ),
        ("decimal comma", set_cell(text, number, '"1,5"').encode(), REJECT),
        (
            "negative",
            set_cell(text, number, "-5").encode(),
            EITHER if importer == "table" else REJECT,
        ),
        (
            "sentinel -999",
            set_cell(text, number, "-999").encode(),
            EITHER if importer == "table" else REJECT,
        ),
        ("row with extra fields", (text + text.splitlines()[1] + ",x,y\n").encode(), EITHER),
        ("duplicated row", (text + text.splitlines()[1] + "\n").encode(), REJECT),
        ("gzip with a .csv name", gzip.compress(text.encode()), REJECT),
        ("zip with a .csv name", _zip_bytes(text), REJECT),
        ("only separators", (header + "\n" + "," * header.count(",") + "\n").encode(), REJECT),
        ("CRLF line ends", text.replace("\n", "\r\n").encode(), VALID),
        ("semicolons", comma_table.encode(), EITHER),
        # the table importer reads every other column as an indicator: a text one is refused
        ("extra column", _extra_column(text).encode(), loose if importer == "table" else VALID),
        ("UTF-8 BOM", b"\xef\xbb\xbf" + text.encode(), VALID),
        ("Latin-1", _latin1(text), loose if importer == "table" else VALID),
        ("a megabyte cell", set_cell(text, code, "x" * 1_000_000).encode(), REJECT),
    ]


def _zip_bytes(text: str) -> bytes:
    import io

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("data.csv", text)
    return buffer.getvalue()


def _extra_column(text: str) -> str:
    lines = text.splitlines()
    return "\n".join([lines[0] + ",NOTA"] + [line + ",ok" for line in lines[1:]]) + "\n"


def _latin1(text: str) -> bytes:
    lines = text.splitlines()
    return ("\n".join([lines[0] + ",NOTA"] + [line + ",añil" for line in lines[1:]]) + "\n").encode(
        "latin-1"
    )


def workbook_cases(
    folder: Path, text: str, importer: str, big: Path
) -> list[tuple[str, Path, str]]:
    """XLSX variants of a valid table."""
    rows = [line.split(",") for line in text.splitlines()]
    made = []

    def book(name: str, edit: Callable[[openpyxl.Workbook], None] | None = None) -> Path:
        work = openpyxl.Workbook()
        sheet = work.active
        assert sheet is not None
        for row in rows:
            sheet.append([_cell(v) for v in row])
        if edit:
            edit(work)
        path = folder / f"{importer}-{name}.xlsx"
        work.save(path)
        return path

    valid = book("valid")
    made.append(("xlsx valid", valid, VALID))
    made.append(("xlsx formulas without values", book("formulas", _formulas), REJECT))
    made.append(
        ("xlsx merged header", book("merged", lambda w: w.active.merge_cells("A1:B1")), REJECT)
    )  # type: ignore[union-attr]
    made.append(("xlsx empty sheet", book("empty", lambda w: w.active.delete_rows(1, 100)), REJECT))  # type: ignore[union-attr]
    truncated = folder / f"{importer}-truncated.xlsx"
    truncated.write_bytes(valid.read_bytes()[: valid.stat().st_size // 2])
    made.append(("xlsx truncated", truncated, REJECT))
    hollow = folder / f"{importer}-hollow.xlsx"
    with zipfile.ZipFile(hollow, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
    made.append(("xlsx without a workbook", hollow, REJECT))
    broken = folder / f"{importer}-broken.xlsx"
    with zipfile.ZipFile(valid) as source, zipfile.ZipFile(broken, "w") as out:
        for entry in source.infolist():
            data = source.read(entry)
            if entry.filename == "xl/worksheets/sheet1.xml":
                data = data[: len(data) // 2]
            out.writestr(entry, data)
    made.append(("xlsx malformed sheet XML", broken, REJECT))
    rows_bomb = bomb(folder / f"{importer}-rows.xlsx", 1, dimension="A1:C2000000")
    made.append(("xlsx declaring 2 million rows", rows_bomb, REJECT))
    made.append(("xlsx zip bomb", big, REJECT))
    csv_named = folder / f"{importer}-text.xlsx"
    csv_named.write_text(text, encoding="utf-8")
    made.append(("CSV text with an .xlsx name", csv_named, REJECT))
    return made


def _cell(value: str) -> object:
    try:
        return float(value) if "." in value and not value.startswith("0") else value
    except ValueError:
        return value


def _formulas(work: openpyxl.Workbook) -> None:
    sheet = work.active
    assert sheet is not None
    for row in range(2, sheet.max_row + 1):
        sheet.cell(row=row, column=sheet.max_column, value=f"=1+{row}")


# --- the cases of each importer -----------------------------------------------------------


def tabular_cases(folder: Path, chance: random.Random, big: Path) -> list[Case]:
    cases = []
    for importer, (text, number, code) in base_texts(folder).items():
        options = {
            "census_households": ["census", "--record", "households", "--period", "2024"],
            "census_persons": ["census", "--record", "persons", "--period", "2024"],
            "table": ["table"],
            "facilities": ["facilities"],
        }[importer]
        store = "census" if importer.startswith("census") else "city"
        for kind, content, expect in text_mutations(text, number, code, chance, importer):
            path = folder / f"{importer}-{len(cases)}.csv"
            path.write_bytes(content)
            cases.append(
                Case(store, f"{importer}: {kind}", [*options[:1], str(path), *options[1:]], expect)
            )
        if importer in ("table", "facilities"):
            for kind, path, expect in workbook_cases(folder, text, importer, big):
                cases.append(Case(store, f"{importer}: {kind}", [*options, str(path)], expect))
        folder_as_file = folder / f"{importer}-folder.csv"
        folder_as_file.mkdir()
        cases.append(
            Case(store, f"{importer}: a folder", [*options[:1], str(folder_as_file), *options[1:]])
        )
        missing = folder / f"{importer}-missing.csv"
        cases.append(
            Case(store, f"{importer}: no such file", [*options[:1], str(missing), *options[1:]])
        )
    census = ["census", "--record", "households", "--period", "2024"]
    cases += [
        Case(
            "census",
            "census: empty --period",
            [*census[:-1], "", str(folder / "census_households-0.csv")],
        ),
        Case(
            "census",
            "census: --period 20x4",
            [*census[:-1], "20x4", str(folder / "census_households-0.csv")],
        ),
        Case(
            "census",
            "census: --period ../x",
            [*census[:-1], "../x", str(folder / "census_households-0.csv")],
        ),
        Case(
            "census",
            "census: unknown record",
            [
                "census",
                "--record",
                "dwellings",
                "--period",
                "2024",
                str(folder / "census_households-0.csv"),
            ],
        ),
        Case(
            "census",
            "census: unknown profile",
            [*census, "--profile", "nope", str(folder / "census_households-0.csv")],
        ),
    ]
    cases += parquet_cases(folder, chance)
    cases += types_cases(folder, base_texts(folder)["facilities"][0])
    return cases


def parquet_cases(folder: Path, chance: random.Random) -> list[Case]:
    cases = []
    for record, base in (("households", "base_hh.csv"), ("persons", "base_p.csv")):
        frame = pd.read_csv(folder / base, dtype=str, keep_default_na=False)
        number = "H_PERSONAS" if record == "households" else "P_EDAD"
        args = ["census", "--record", record, "--period", "2024"]
        write = _parquet_writer(folder, record)

        numbers = frame.astype({number: float})
        for label, value in (
            ("NaN", float("nan")),
            ("inf", float("inf")),
            ("-inf", float("-inf")),
            ("1e300", 1e300),
        ):
            numbers.loc[1, number] = value
            table = pa.table({c: pa.array(numbers[c].tolist(), from_pandas=False) for c in numbers})
            cases.append(
                Case(
                    "census",
                    f"parquet {record}: {label}",
                    [args[0], str(write(label, table)), *args[1:]],
                )
            )
        valid = write("valid", pa.Table.from_pandas(frame, preserve_index=False))
        truncated = folder / f"{record}-truncated.parquet"
        truncated.write_bytes(valid.read_bytes()[: valid.stat().st_size // 2])
        cases.append(
            Case("census", f"parquet {record}: truncated", [args[0], str(truncated), *args[1:]])
        )
        empty = write("empty", pa.Table.from_pandas(frame.iloc[0:0], preserve_index=False))
        cases.append(Case("census", f"parquet {record}: no rows", [args[0], str(empty), *args[1:]]))
        listed = frame.copy()
        nested = pa.Table.from_pandas(listed, preserve_index=False).set_column(
            0, frame.columns[0], pa.array([[1, 2]] * len(frame))
        )
        cases.append(
            Case(
                "census",
                f"parquet {record}: list column",
                [args[0], str(write("nested", nested)), *args[1:]],
            )
        )
        other = "base_p.csv" if record == "households" else "base_hh.csv"
        wrong = write(
            "other",
            pa.Table.from_pandas(pd.read_csv(folder / other, dtype=str), preserve_index=False),
        )
        cases.append(
            Case(
                "census",
                f"parquet {record}: the other record's file",
                [args[0], str(wrong), *args[1:]],
            )
        )
        for suffix in (".parquet", ".dta", ".sav"):
            path = folder / f"{record}-junk{suffix}"
            path.write_bytes(junk(2048, chance))
            cases.append(
                Case("census", f"{suffix} {record}: junk", [args[0], str(path), *args[1:]])
            )
        cases.append(
            Case("census", f"parquet {record}: valid", [args[0], str(valid), *args[1:]], VALID)
        )
    return cases


def _parquet_writer(folder: Path, record: str) -> Callable[[str, pa.Table], Path]:
    def write(name: str, table: pa.Table) -> Path:
        path = folder / f"{record}-{name}.parquet"
        pq.write_table(table, path)
        return path

    return write


def types_cases(folder: Path, facilities: str) -> list[Case]:
    source = folder / "facilities-types-base.csv"
    source.write_text(facilities, encoding="utf-8")
    cases = []
    for kind, content in (
        ("a list", b"- health\n- school\n"),
        ("binary", b"\x89PNG\r\n\x1a\n\x00\xff\xfe"),
        ("invalid YAML", b"map: [a\n  b: c\n"),
        ("maps to an unknown type", b"map:\n  centro_salud: shelter\n"),
        ("types a list", b"types: [a, b]\n"),
        ("a number", b"42\n"),
    ):
        path = folder / f"types-{len(cases)}.yaml"
        path.write_bytes(content)
        cases.append(
            Case(
                "city",
                f"facilities --types: {kind}",
                ["facilities", str(source), "--types", str(path)],
            )
        )
    return cases


def vector_cases(folder: Path, chance: random.Random) -> list[Case]:
    levels = ["--level", "localidad", "--level", "barrio", "--parent-column", "codigo_padre"]
    geojson_layer = ["--level", "barrio"]
    made: list[tuple[str, Path, list[str], str]] = []

    def put(name: str, content: bytes) -> Path:
        path = folder / name
        path.write_bytes(content)
        return path

    def features(items: list[dict], crs: bool = True) -> bytes:
        collection: dict = {"type": "FeatureCollection", "features": items}
        if crs:
            collection["crs"] = {
                "type": "name",
                "properties": {"name": "urn:ogc:def:crs:EPSG::32618"},
            }
        return json.dumps(collection).encode()

    def polygon(code: str, geometry: object, parent: str = "") -> dict:
        return {
            "type": "Feature",
            "properties": {"codigo": code, "nombre": code, "codigo_padre": parent},
            "geometry": geometry,
        }

    good = write_levels(folder / "good.gpkg")
    box = shapely.geometry.mapping(square(0, 0))
    made += [
        ("junk .gpkg", put("junk.gpkg", junk(4096, chance)), levels, REJECT),
        ("truncated gpkg", put("cut.gpkg", good.read_bytes()[:8192]), levels, REJECT),
        ("empty FeatureCollection", put("empty.geojson", features([])), geojson_layer, REJECT),
        (
            "invalid JSON",
            put("bad.geojson", b'{"type": "FeatureCollection", "features": [}'),
            geojson_layer,
            REJECT,
        ),
        (
            "null geometries",
            put("null.geojson", features([polygon("01001", None)])),
            geojson_layer,
            REJECT,
        ),
        (
            "points for units",
            put(
                "points.geojson",
                features([polygon("01001", {"type": "Point", "coordinates": [X0, Y0]})]),
            ),
            geojson_layer,
            REJECT,
        ),
        (
            "huge coordinates",
            put(
                "huge.geojson",
                features(
                    [
                        polygon(
                            "01001",
                            {
                                "type": "Polygon",
                                "coordinates": [
                                    [[1e20, 1e20], [1e21, 1e20], [1e21, 1e21], [1e20, 1e20]]
                                ],
                            },
                        )
                    ]
                ),
            ),
            geojson_layer,
            REJECT,
        ),
        (
            "NaN coordinates",
            put(
                "nan.geojson",
                features([polygon("01001", box)]).replace(str(X0).encode(), b"NaN", 1),
            ),
            geojson_layer,
            REJECT,
        ),
        (
            "duplicate codes",
            put(
                "dups.geojson",
                features(
                    [
                        polygon("01001", box),
                        polygon("01001", shapely.geometry.mapping(square(1000, 0))),
                    ]
                ),
            ),
            geojson_layer,
            REJECT,
        ),
        (
            "no code column",
            put(
                "nocode.geojson",
                json.dumps(
                    {
                        "type": "FeatureCollection",
                        "features": [{"type": "Feature", "properties": {"x": 1}, "geometry": box}],
                    }
                ).encode(),
            ),
            geojson_layer,
            REJECT,
        ),
        ("a folder", _folder(folder / "folder.gpkg"), levels, REJECT),
        ("zero bytes", put("zero.gpkg", b""), levels, REJECT),
        ("no such layer", good, ["--level", "manzana"], REJECT),
        (
            "latitude above 90",
            put(
                "wgs.geojson",
                json.dumps(
                    {
                        "type": "FeatureCollection",
                        "features": [
                            polygon(
                                "01001",
                                {
                                    "type": "Polygon",
                                    "coordinates": [
                                        [[-72.5, 95.0], [-72.4, 95.0], [-72.4, 95.1], [-72.5, 95.0]]
                                    ],
                                },
                            )
                        ],
                    }
                ).encode(),
            ),
            geojson_layer,
            REJECT,
        ),
        ("CSV with a .gpkg name", put("csv.gpkg", b"codigo,nombre\n01001,A\n"), levels, REJECT),
    ]
    cases = [
        Case("boundaries", f"boundaries: {k}", ["boundaries", str(p), *a], e) for k, p, a, e in made
    ]
    cases.append(
        Case(
            "boundaries",
            "boundaries: --city ../x",
            ["boundaries", str(good), *levels, "--city", "../x"],
        )
    )
    env = write_environment(folder / "env.gpkg")
    attributes = folder / "attributes.gpkg"
    pd.DataFrame({"a": [1]}).pipe(gpd.GeoDataFrame).to_file(attributes, layer="tabla")
    no_rows = folder / "no_rows.gpkg"
    gpd.GeoDataFrame({"tipo": []}, geometry=gpd.GeoSeries([], crs=UTM)).to_file(
        no_rows, layer="vias"
    )
    layers = [
        ("junk", put("layers-junk.gpkg", junk(4096, chance))),
        ("truncated", put("layers-cut.gpkg", env.read_bytes()[:8192])),
        ("empty FeatureCollection", put("layers-empty.geojson", features([]))),
        ("attribute table only", attributes),
        ("layer without features", no_rows),
        ("invalid JSON", put("layers-bad.geojson", b"{")),
        ("a folder", _folder(folder / "layers-folder.gpkg")),
        ("zero bytes", put("layers-zero.gpkg", b"")),
        ("no CRS", put("layers-nocrs.geojson", features([polygon("z", box)], crs=False))),
        ("CSV with a .gpkg name", put("layers-csv.gpkg", b"a,b\n1,2\n")),
    ]
    cases += [Case("layers", f"layers: {k}", ["layers", str(p)]) for k, p in layers]
    cases.append(Case("layers", "layers: valid", ["layers", str(env)], VALID))
    cases.append(Case("boundaries", "boundaries: valid", ["boundaries", str(good), *levels], VALID))
    return cases


def _folder(path: Path) -> Path:
    path.mkdir()
    return path


def survey_cases(folder: Path, chance: random.Random, big: Path) -> list[Case]:
    survey = generate_demo_survey(
        tiny_boundaries(folder / "b.gpkg"), folder / "s", households=40, take=8
    )
    form, data, design = str(survey.form), str(survey.data), str(survey.design)
    cases = []

    def put(name: str, content: bytes) -> str:
        path = folder / name
        path.write_bytes(content)
        return str(path)

    designs = [
        ("design is a list", b"- weight\n- strata\n"),
        ("design is binary", b"\x89PNG\r\n\x1a\n\x00\xff\xfe\x00"),
        ("design is invalid YAML", b"weight: peso\nstrata: [estrato\npsu: upm\n"),
        ("design min_n -1", Path(design).read_bytes() + b"\nmin_n: -1\n"),
        ("design min_n text", Path(design).read_bytes() + b"\nmin_n: many\n"),
        (
            "design weight column missing",
            Path(design).read_bytes().replace(b"weight: ", b"weight: no_such_", 1),
        ),
        ("design unknown key", Path(design).read_bytes() + b"\nweigth: peso\n"),
        ("design lonely_psu unknown", Path(design).read_bytes() + b"\nlonely_psu: sometimes\n"),
    ]
    for kind, content in designs:
        cases.append(
            Case(
                "survey",
                f"survey: {kind}",
                ["import", form, data, "--design", put(f"d{len(cases)}.yaml", content)],
            )
        )
    cut = Path(data).read_bytes()
    files = [
        ("data junk", form, put("data-junk.xlsx", junk(4096, chance))),
        ("data truncated", form, put("data-cut.xlsx", cut[: len(cut) // 2])),
        ("data zip bomb", form, str(big)),
        ("form zip bomb", str(big), data),
        ("form missing", str(folder / "nope.xlsx"), data),
        ("form a folder", str(_folder(folder / "form-folder.xlsx")), data),
        ("data missing", form, str(folder / "nope-data.xlsx")),
        ("form junk", put("form-junk.xlsx", junk(4096, chance)), data),
        ("data of another form", form, str(_table_book(folder / "other.xlsx"))),
        ("data folder of junk CSV", form, _junk_csv_folder(folder / "csvs", chance)),
    ]
    for kind, form_path, data_path in files:
        cases.append(
            Case("survey", f"survey: {kind}", ["import", form_path, data_path, "--design", design])
        )
    for option, value in (
        ("--period", "20x4"),
        ("--period", ""),
        ("--period", "../../x"),
        ("--survey", "../x"),
        ("--city", "A B"),
    ):
        cases.append(
            Case(
                "survey",
                f"survey: {option} {value!r}",
                ["import", form, data, "--design", design, option, value],
            )
        )
    cases.append(Case("survey", "survey: valid", ["import", form, data, "--design", design], VALID))
    return cases


def _table_book(path: Path) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["a", "b"])
    sheet.append([1, 2])
    book.save(path)
    return path


def _junk_csv_folder(path: Path, chance: random.Random) -> str:
    path.mkdir()
    (path / "main.csv").write_bytes(junk(1024, chance))
    return str(path)


# --- the run -------------------------------------------------------------------------------


def _city(url: str, data: Path) -> None:
    engine = init_database(url)
    import_boundaries(engine, write_levels(data.parent / "levels.gpkg"), DEMO_LEVELS, city="TST")
    engine.dispose()


def _census(url: str, data: Path) -> None:
    _city(url, data)
    engine = connect(url)
    source = households_file(data.parent / "hh.csv")
    import_census(engine, source, record="households", city="TST", period="2024", data_dir=data)
    engine.dispose()


def _survey(url: str, data: Path) -> None:
    tiny_store(url, tiny_boundaries(data.parent / "boundaries.gpkg")).dispose()


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        main(argv)
        code = 0
    except SystemExit as stop:
        code = int(stop.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_two_hundred_kinds_of_bad_input(
    tmp_path_factory: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    chance = random.Random(SEED)
    root = tmp_path_factory.mktemp("fuzz")
    inputs = root / "inputs"
    inputs.mkdir()
    big = bomb(inputs / "bomb.xlsx", 210)
    stores = {
        "city": Store(root / "city", _city),
        "census": Store(root / "census", _census),
        "boundaries": Store(root / "boundaries", _city),
        "layers": Store(root / "layers", _city),
        "survey": Store(root / "survey", _survey),
    }
    cases = tabular_cases(inputs, chance, big)
    cases += vector_cases(inputs, chance)
    cases += survey_cases(inputs, chance, big)
    tally: Counter[str] = Counter()
    failures: list[str] = []
    for case in cases:
        store = stores[case.importer]
        before = store.snapshot()
        command = ["survey", *case.args] if case.importer == "survey" else ["import", *case.args]
        city = "DEMO" if case.importer == "survey" else "TST"
        where = [] if "--city" in case.args else ["--city", city]
        if case.importer == "survey" and "--period" not in case.args:
            where += ["--period", "2024"]
        if case.importer in ("census", "layers", "survey"):
            where += ["--data-dir", str(store.data)]
        argv = ["--database", store.url, "--lang", "en", *command, *where]
        code, out, err = run(argv, capsys)
        line = " ".join(err.split())
        after = store.snapshot()
        tally["kinds"] += 1
        if "Unexpected error" in err or "Traceback" in err + out:
            tally["unexpected errors"] += 1
            failures.append(f"{case.kind}: unexpected error: {line[:300]}")
        elif code not in (0, 1) or (code == 0 and case.expect == REJECT):
            failures.append(f"{case.kind}: exit {code} (expected {case.expect}): {line[:200]}")
        elif code == 1 and case.expect == VALID:
            failures.append(f"{case.kind}: valid input refused: {line[:300]}")
        elif code == 1 and (not line.startswith("Error: ") or err.strip().count("\n")):
            failures.append(f"{case.kind}: not one line: {err[:300]!r}")
        if code == 1:
            tally["refused"] += 1
            if after != before:
                tally["partial writes"] += 1
                changed = {k: (v, after[0][k]) for k, v in before[0].items() if after[0][k] != v}
                changed_files = set(before[1]) ^ set(after[1])
                failures.append(f"{case.kind}: refused but changed {changed} {changed_files}")
        else:
            tally["imported"] += 1
            store.restore()
    print(f"\nfuzz: {dict(tally)}")
    for failure in failures:
        print(" -", failure)
    assert tally["kinds"] >= 200
    assert tally["unexpected errors"] == 0 and tally["partial writes"] == 0
    assert failures == []
