"""Faults found by probing the importers (issue 15, section 2), each reproduced first.

Bad input used to be accepted with exit 0 (NaN counts in Parquet, persons without
households, layer-less environment files, workbooks of formulas, the same file for another
period silently skipped) or to end in an unexpected error (a folder, a UTF-16 census, a
``--types`` YAML list). Each is now refused with one line that says what to do, or imported.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.compute
import pyarrow.parquet as pq
import pytest
from sqlalchemy import Engine, select

from inclusive_cities.ingest import import_census, import_layers, import_table, microdata_path
from inclusive_cities.ingest.tabular import read_text_table
from inclusive_cities.store import models, transaction
from tests.ingest.conftest import (
    HOUSEHOLD_COLUMNS,
    assert_rejected,
    households_file,
    persons_file,
)
from tests.ingest.test_cli import call
from tests.ingest.test_layers import batches, write_environment


def census(engine: Engine, path: Path, record: str, data: Path, period: str = "2024"):  # type: ignore[no-untyped-def]
    return import_census(engine, path, record=record, city="TST", period=period, data_dir=data)


@pytest.mark.parametrize(("column", "value"), [("H_INGRESO", np.nan), ("H_PERSONAS", np.inf)])
def test_nan_and_inf_counts_in_parquet_refused_like_csv(
    city: Engine, tmp_path: Path, column: str, value: float
) -> None:
    frame = pd.read_csv(households_file(tmp_path / "hh.csv"), dtype=str, keep_default_na=False)
    numbers = frame.astype({"H_INGRESO": float, "H_PERSONAS": float})
    numbers.loc[1, column] = value
    # from_pandas=False keeps NaN a floating-point NaN (pandas would write a null)
    table = pa.table({c: pa.array(numbers[c].tolist(), from_pandas=False) for c in numbers})
    assert pa.compute.is_nan(table[column]).to_pylist()[1] == bool(np.isnan(value))
    pq.write_table(table, tmp_path / "hh.parquet")
    assert_rejected(
        city,
        lambda: census(city, tmp_path / "hh.parquet", "households", tmp_path / "data"),
        "hh.parquet, record 2",
        f"column '{column}'",
        "not a number",
        data_dir=tmp_path / "data",
    )
    csv = tmp_path / "text.csv"
    text = frame.copy()
    text.loc[1, column] = "NaN" if np.isnan(value) else "inf"
    text.to_csv(csv, index=False)
    assert_rejected(
        city,
        lambda: census(city, csv, "households", tmp_path / "data"),
        "row 3",
        "not a number",
    )


def test_persons_need_the_periods_households(city: Engine, tmp_path: Path) -> None:
    data = tmp_path / "data"
    census(city, households_file(tmp_path / "hh.csv"), "households", data, period="2018")
    assert_rejected(
        city,
        lambda: census(city, persons_file(tmp_path / "p.csv"), "persons", data, period="2024"),
        "no census households for city TST, period 2024",
        "import the households file of that period first",
        data_dir=data,
    )


def test_same_census_file_for_another_period_is_imported(city: Engine, tmp_path: Path) -> None:
    data, source = tmp_path / "data", households_file(tmp_path / "hh.csv")
    first = census(city, source, "households", data, period="2018")
    second = census(city, source, "households", data, period="2024")
    again = census(city, source, "households", data, period="2024")
    assert (first.status, second.status, again.status) == ("imported", "imported", "unchanged")
    assert second.batch_id != first.batch_id and not second.replaced_batch_ids
    for period in ("2018", "2024"):
        assert len(pd.read_parquet(microdata_path(data, "TST", period, "households"))) == 3
    with transaction(city) as session:
        active = session.scalars(
            select(models.ImportBatch.id).where(
                models.ImportBatch.kind == "census_households",
                models.ImportBatch.status == "active",
            )
        ).all()
    assert sorted(active) == sorted([first.batch_id, second.batch_id])


def test_utf16_census_is_named(city: Engine, tmp_path: Path) -> None:
    text = households_file(tmp_path / "hh.csv").read_text(encoding="utf-8")
    path = tmp_path / "utf16.csv"
    path.write_text(text, encoding="utf-16")
    assert_rejected(
        city,
        lambda: census(city, path, "households", tmp_path / "data"),
        "utf16.csv is saved as UTF-16",
        "CSV UTF-8",
        data_dir=tmp_path / "data",
    )


def test_a_folder_given_as_the_file(city: Engine, tmp_path: Path) -> None:
    folder = tmp_path / "export.csv"
    folder.mkdir()
    for call_it in (
        lambda: census(city, folder, "households", tmp_path / "data"),
        lambda: import_table(city, folder, city="TST"),
        lambda: import_layers(city, folder, city="TST", data_dir=tmp_path / "data"),
    ):
        assert_rejected(city, call_it, "export.csv is a folder, not a file")


def test_workbook_of_formulas_without_values_refused(city: Engine, tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["unit_code", "period", "a"])
    sheet.append(["01001", "2024", "=2*3"])  # openpyxl saves formulas without their values
    sheet.append(["01002", "2024", "=B3/10"])
    book.save(tmp_path / "formulas.xlsx")
    assert_rejected(
        city,
        lambda: import_table(city, tmp_path / "formulas.xlsx", city="TST"),
        "formulas.xlsx:Sheet, cell C2: the formula =2*3 has no saved value",
        "save it",
    )
    sheet["C2"], sheet["C3"] = 6, 200.4  # values, as Excel or LibreOffice would store them
    book.save(tmp_path / "values.xlsx")
    assert [row[2] for row in read_text_table(tmp_path / "values.xlsx").rows] == ["6", "200.4"]


def test_layerless_or_empty_environment_files_keep_the_layers(city: Engine, tmp_path: Path) -> None:
    data = tmp_path / "data"
    kept = import_layers(city, write_environment(tmp_path / "env.gpkg"), city="TST", data_dir=data)
    empty = tmp_path / "empty.geojson"
    empty.write_text(json.dumps({"type": "FeatureCollection", "features": []}), encoding="utf-8")
    attributes = tmp_path / "table.gpkg"
    pd.DataFrame({"a": [1]}).pipe(gpd.GeoDataFrame).to_file(attributes, layer="tabla")
    no_rows = tmp_path / "no_rows.gpkg"
    gpd.GeoDataFrame({"tipo": []}, geometry=gpd.GeoSeries([], crs="EPSG:32618")).to_file(
        no_rows, layer="zonas_riesgo"
    )
    for path in (empty, attributes, no_rows):
        assert_rejected(
            city,
            lambda path=path: import_layers(city, path, city="TST", data_dir=data),
            f"{path.name} has no features in any vector layer",
            data_dir=data,
        )
    assert [(status, details["layers"]) for _f, status, details in batches(city)] == [
        ("active", ["zonas_riesgo", "vias"])
    ]
    assert kept.status == "imported"


def test_types_yaml_that_is_a_list(
    city: Engine, sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    types = tmp_path / "types.yaml"
    types.write_text("- health\n- school\n", encoding="utf-8")
    table = tmp_path / "f.csv"
    table.write_text("code,type,lat,lon\nF1,health,7.9,-72.5\n", encoding="utf-8")
    code, _out, err = call(
        capsys, "--database", sqlite_url, "--lang", "en", "import", "facilities", str(table),
        "--city", "TST", "--types", str(types),
    )  # fmt: skip
    line = " ".join(err.split())
    assert code == 1 and "Unexpected" not in line, err
    assert "types.yaml must be a YAML mapping with 'types' and 'map' sections" in line
    assert [c for c in HOUSEHOLD_COLUMNS if c in line] == []
