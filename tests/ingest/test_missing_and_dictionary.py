"""A small city shaped like real published block data: missing-value codes (999, -999, 9999),
distances in metres, one level only, a column repeating a community total on every block,
odd columns nobody declared. What goes in must keep its meaning, and codes never become
values."""

from __future__ import annotations

import csv
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from sqlalchemy import Engine, func, select

from inclusive_cities.cli import main
from inclusive_cities.i18n import use_language
from inclusive_cities.indicators.catalogue import load_catalogue
from inclusive_cities.ingest import (
    IngestError,
    LevelSpec,
    import_boundaries,
    import_table,
    microdata_path,
)
from inclusive_cities.ingest.dictionary import looks_like_code, read_dictionary
from inclusive_cities.store import models, transaction
from tests.ingest.conftest import (
    UTM,
    X0,
    Y0,
    assert_rejected,
    household,
    households_file,
)

BLOCKS = [f"05001{n:05d}" for n in range(1, 31)]
"""30 blocks of 100 m × 100 m (0.01 km² each, 0.3 km² in all), codes with leading zeros."""
COMMUNITY = {code: i // 10 for i, code in enumerate(BLOCKS)}
COMMUNITY_TOTALS = (4523, 3987, 5110)
"""Each community's population, as the published table repeats it on each of its blocks."""


@pytest.fixture
def blocks(engine: Engine, tmp_path: Path) -> Engine:
    """City RSC with one level only (manzana): 30 blocks in a 6 × 5 grid."""
    frame = gpd.GeoDataFrame(
        {"codigo": BLOCKS, "nombre": [f"Manzana {i}" for i in range(1, 31)]},
        geometry=[
            shapely.box(
                X0 + 100 * (i % 6),
                Y0 + 100 * (i // 6),
                X0 + 100 * (i % 6 + 1),
                Y0 + 100 * (i // 6 + 1),
            )
            for i in range(30)
        ],
        crs=UTM,
    )
    path = tmp_path / "manzanas.gpkg"
    frame.to_file(path, layer="manzana", driver="GPKG")
    import_boundaries(engine, path, [LevelSpec("manzana", layer="manzana")], city="RSC")
    return engine


def block_rows(**overrides: dict[int, object]) -> list[dict[str, object]]:
    """One row per block; ``overrides`` maps a column to {block index: cell}."""
    rows = []
    for i, code in enumerate(BLOCKS):
        row: dict[str, object] = {
            "cod_manzana": code,
            "unemployment_rate": f"{2 + i * 0.5:.1f}",
            "dist_health_m": str(100 + 40 * i),
            "dist_salud_privada": str(300 + 10 * i),
            "indice_x": str(10 + i),
            "pob_comunidad": str(COMMUNITY_TOTALS[COMMUNITY[code]]),
            "poblacion": str(120 + 7 * i),
        }
        for column, cells in overrides.items():
            if i in cells:
                row[column] = cells[i]
        rows.append(row)
    return rows


def write_table(path: Path, rows: list[dict[str, object]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_dictionary(path: Path) -> Path:
    path.write_text(
        "code,name_es,name_en,unit,direction,min,max,missing\n"
        "dist_salud_privada,Distancia a salud privada,Distance to private health care,m,"
        "lower_is_better,0,5000,9999\n",
        encoding="utf-8",
    )
    return path


def stored(engine: Engine, indicator: str) -> dict[str, float]:
    with transaction(engine) as session:
        rows = session.execute(
            select(models.SpatialUnit.code, models.Observation.value)
            .join(models.SpatialUnit, models.SpatialUnit.id == models.Observation.unit_id)
            .join(models.Indicator, models.Indicator.id == models.Observation.indicator_id)
            .where(models.Indicator.code == indicator)
        ).all()
    return dict(rows)


def indicator_row(engine: Engine, code: str) -> tuple[str, str, str, str]:
    with transaction(engine) as session:
        row = session.scalars(select(models.Indicator).where(models.Indicator.code == code)).one()
        return row.name_es, row.name_en, row.unit, row.direction


# -- item 1: missing-value codes ----------------------------------------------------------


def test_missing_codes_are_left_empty_and_never_stored(blocks: Engine, tmp_path: Path) -> None:
    path = write_table(
        tmp_path / "manzanas.csv",
        block_rows(unemployment_rate={0: "999", 4: "999"}, dist_health_m={7: "-999"}),
    )
    report = import_table(blocks, path, city="RSC", period="2018", missing=(999, -999))
    assert report.details["missing_cells"] == 3
    unemployment = stored(blocks, "unemployment_rate")
    assert BLOCKS[0] not in unemployment and BLOCKS[4] not in unemployment
    assert unemployment[BLOCKS[1]] == 2.5 and len(unemployment) == 28
    distance = stored(blocks, "dist_health_m")
    assert BLOCKS[7] not in distance and distance[BLOCKS[8]] == 100 + 40 * 8
    with transaction(blocks) as session:
        assert session.scalar(select(func.max(models.Observation.value))) == 5110.0
        # block 0's 2.0 was a 999: the smallest stored value is block 1's 2.5
        assert session.scalar(select(func.min(models.Observation.value))) == 2.5
        codes = select(func.count()).where(models.Observation.value.in_([999.0, -999.0]))
        assert session.scalar(codes) == 0


def test_share_of_999_is_refused_with_a_missing_hint(blocks: Engine, tmp_path: Path) -> None:
    path = write_table(tmp_path / "manzanas.csv", block_rows(unemployment_rate={3: "999"}))
    message = assert_rejected(
        blocks,
        lambda: import_table(blocks, path, city="RSC", period="2018"),
        "manzanas.csv",
        "row 5",
        "column 'unemployment_rate'",
        "value '999'",
        "between 0 and 100",
        "--missing 999",
    )
    assert message.count("--missing 999") == 1


def test_negative_distance_is_refused_without_a_code_hint(blocks: Engine, tmp_path: Path) -> None:
    path = write_table(tmp_path / "manzanas.csv", block_rows(dist_health_m={2: "-40"}))
    message = assert_rejected(
        blocks,
        lambda: import_table(blocks, path, city="RSC", period="2018"),
        "row 4",
        "column 'dist_health_m'",
        "value '-40'",
        "dist_health_m (m) must be at least 0",
    )
    assert "--missing -40" not in message


def test_dictionary_range_and_its_own_missing_code(blocks: Engine, tmp_path: Path) -> None:
    dictionary = write_dictionary(tmp_path / "dict.csv")
    path = write_table(
        tmp_path / "manzanas.csv", block_rows(dist_salud_privada={1: "9999", 2: "7000"})
    )
    assert_rejected(
        blocks,
        lambda: import_table(blocks, path, city="RSC", period="2018", dictionary=dictionary),
        "row 4",
        "column 'dist_salud_privada'",
        "value '7000'",
        "between 0 and 5000",
    )
    fixed = write_table(tmp_path / "fixed.csv", block_rows(dist_salud_privada={1: "9999"}))
    report = import_table(blocks, fixed, city="RSC", period="2018", dictionary=dictionary)
    assert report.details["missing_cells"] == 1
    values = stored(blocks, "dist_salud_privada")
    assert BLOCKS[1] not in values and values[BLOCKS[2]] == 320.0


def test_code_looks_like_a_code_only_far_outside_the_values() -> None:
    shares = [2.0, 10.5, 35.0]
    assert looks_like_code(999, shares) and looks_like_code(-999, shares)
    assert not looks_like_code(99, [80.0, 95.0, 99.0])  # a share of 99 % is a share
    assert not looks_like_code(1000, shares)  # not a 9…9 code
    assert looks_like_code(9999, [120.0, 2400.0])


# -- item 2: meaning of imported indicators ----------------------------------------------


def test_indicators_keep_catalogue_dictionary_or_unknown_meaning(
    blocks: Engine, tmp_path: Path
) -> None:
    dictionary = write_dictionary(tmp_path / "dict.csv")
    path = write_table(tmp_path / "manzanas.csv", block_rows())
    import_table(blocks, path, city="RSC", period="2018", dictionary=dictionary)
    catalogue = load_catalogue()
    for code in ("unemployment_rate", "dist_health_m"):
        entry = catalogue[code]
        assert indicator_row(blocks, code) == (
            entry.name_es,
            entry.name_en,
            entry.unit,
            entry.direction,
        )
    assert indicator_row(blocks, "dist_health_m")[2:] == ("m", "lower_is_better")
    assert indicator_row(blocks, "dist_salud_privada") == (
        "Distancia a salud privada",
        "Distance to private health care",
        "m",
        "lower_is_better",
    )
    assert indicator_row(blocks, "indice_x") == ("indice_x", "indice_x", "", "unknown")


def test_yaml_dictionary_declares_a_stored_unknown_column(blocks: Engine, tmp_path: Path) -> None:
    path = write_table(tmp_path / "manzanas.csv", block_rows())
    import_table(blocks, path, city="RSC", period="2018")
    assert indicator_row(blocks, "indice_x")[3] == "unknown"
    dictionary = tmp_path / "dict.yaml"
    dictionary.write_text(
        "indice_x:\n  name_es: Índice X\n  name_en: X index\n  unit: '0-100'\n"
        "  direction: higher_is_better\n  missing: [999, -999]\n",
        encoding="utf-8",
    )
    assert read_dictionary(dictionary)["indice_x"].missing == (999.0, -999.0)
    # the same file read with a dictionary is a different import, not "already imported"
    report = import_table(blocks, path, city="RSC", period="2018", dictionary=dictionary)
    assert report.status == "imported"
    assert indicator_row(blocks, "indice_x") == ("Índice X", "X index", "0-100", "higher_is_better")


def test_bad_dictionary_is_refused_naming_the_row(blocks: Engine, tmp_path: Path) -> None:
    dictionary = tmp_path / "dict.csv"
    dictionary.write_text("code,direction\nindice_x,more_is_nicer\n", encoding="utf-8")
    path = write_table(tmp_path / "manzanas.csv", block_rows())
    assert_rejected(
        blocks,
        lambda: import_table(blocks, path, city="RSC", period="2018", dictionary=dictionary),
        "dict.csv, row 2, code indice_x",
        "more_is_nicer",
    )


def test_undeclared_column_with_a_code_is_flagged_and_reimport_with_missing_replaces(
    blocks: Engine, tmp_path: Path
) -> None:
    path = write_table(tmp_path / "manzanas.csv", block_rows(indice_x={5: "999", 6: "999"}))
    report = import_table(blocks, path, city="RSC", period="2018")
    warnings = [str(w) for w in report.warnings if w.column == "indice_x"]
    assert len(warnings) == 1
    assert "2 cells hold 999" in warnings[0] and "(10 to 39)" in warnings[0]
    assert "--missing 999" in warnings[0]
    assert stored(blocks, "indice_x")[BLOCKS[5]] == 999.0
    again = import_table(blocks, path, city="RSC", period="2018", missing=(999,))
    assert again.status == "imported" and again.replaced_batch_ids == [report.batch_id]
    values = stored(blocks, "indice_x")
    assert BLOCKS[5] not in values and BLOCKS[6] not in values and len(values) == 28


# -- item 8: context figures ----------------------------------------------------------------


def test_repeated_community_total_and_impossible_density_are_warned(
    blocks: Engine, tmp_path: Path
) -> None:
    path = write_table(tmp_path / "manzanas.csv", block_rows())
    use_language("en")
    report = import_table(blocks, path, city="RSC", period="2018")
    by_column: dict[str, list[str]] = {}
    for warning in report.warnings:
        by_column.setdefault(warning.column, []).append(warning.reason)
    # genuine block populations (120, 127 … 323: all different) raise nothing
    assert "poblacion" not in by_column
    repeated, density = by_column["pob_comunidad"]
    # three values, each on its 10 blocks: the smallest of the equally shared ones is named
    assert repeated.startswith("10 of 30 units (period 2018) share the value 3987")
    assert "2 other values are each repeated on 5 or more units" in repeated
    # 10 × (4523 + 3987 + 5110) = 136,200 people on 30 × 0.01 km² = 0.3 km²: 454,000 per km²
    assert "add up to 136,200 people" in density and "on 0.3 km²" in density
    assert "454,000 per km²" in density
    assert stored(blocks, "pob_comunidad")[BLOCKS[0]] == 4523.0  # imported all the same


def test_shares_with_many_equal_values_are_not_repeated_totals(
    blocks: Engine, tmp_path: Path
) -> None:
    path = write_table(
        tmp_path / "manzanas.csv",
        block_rows(
            unemployment_rate={i: "0" for i in range(20)}, indice_x={i: "50" for i in range(20)}
        ),
    )
    report = import_table(blocks, path, city="RSC", period="2018")
    assert {w.column for w in report.warnings} == {"pob_comunidad"}


# -- item 11: reject file, unit codes and levels ---------------------------------------------


def test_reject_file_has_one_line_per_bad_row_naming_the_unit_column(
    blocks: Engine, tmp_path: Path
) -> None:
    rows = block_rows(unemployment_rate={2: "abc"}, dist_health_m={2: "-5"})
    rows[4]["cod_manzana"] = "0500199999"
    path = write_table(tmp_path / "manzanas.csv", rows)
    use_language("en")
    report = import_table(blocks, path, city="RSC", period="2018", accept_valid=True)
    assert (report.rows_read, report.rows_accepted, report.rows_rejected) == (30, 28, 2)
    with Path(report.reject_path or "").open(encoding="utf-8") as handle:
        rejects = list(csv.DictReader(handle))
    assert [r["_position"] for r in rejects] == ["row 4", "row 6"]
    assert rejects[0]["_column"] == "dist_health_m | unemployment_rate"
    assert rejects[0]["_value"] == "-5 | abc"
    assert "column 'dist_health_m'" in rejects[0]["_reason"]
    assert "column 'unemployment_rate': not a number" in rejects[0]["_reason"]
    assert rejects[0]["cod_manzana"] == BLOCKS[2]
    assert (rejects[1]["_column"], rejects[1]["_value"]) == ("cod_manzana", "0500199999")
    assert rejects[1]["_reason"].startswith("unit code not found in city RSC")


def test_level_that_does_not_exist_is_one_line_naming_the_levels(
    blocks: Engine, tmp_path: Path
) -> None:
    path = write_table(tmp_path / "manzanas.csv", block_rows())
    assert_rejected(
        blocks,
        lambda: import_table(blocks, path, city="RSC", period="2018", level="barrio"),
        "city RSC has no level 'barrio' (levels: manzana)",
    )


def test_no_code_matching_is_one_line_not_one_per_cell(blocks: Engine, tmp_path: Path) -> None:
    rows = block_rows()
    for row in rows:
        row["cod_manzana"] = "X" + str(row["cod_manzana"])
    path = write_table(tmp_path / "manzanas.csv", rows)
    message = assert_rejected(
        blocks,
        lambda: import_table(blocks, path, city="RSC", period="2018"),
        "none of the 30 unit codes in column 'cod_manzana'",
        "X0500100001",
        "(levels: manzana)",
    )
    assert "not found" not in message


# -- the CLI, as a user runs it ---------------------------------------------------------------


def test_cli_import_table_with_missing_and_dictionary_in_spanish(
    blocks: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dictionary = write_dictionary(tmp_path / "dict.csv")
    path = write_table(
        tmp_path / "manzanas.csv",
        block_rows(unemployment_rate={0: "999"}, dist_health_m={1: "-999"}),
    )
    url = str(blocks.url)
    args = ["--database", url, "--lang", "es", "import", "table", str(path), "--city", "RSC"]
    args += ["--period", "2018", "--missing", "999", "--missing", "-999"]
    args += ["--dictionary", str(dictionary)]
    try:
        main(args)
        code = 0
    except SystemExit as stop:
        code = int(stop.code or 0)
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "2 celdas tenían un código de valor faltante y quedaron vacías" in out
    assert "10 de 30 unidades (periodo 2018) comparten el valor 3987" in out
    assert "136.200 personas" in out
    assert indicator_row(blocks, "dist_salud_privada")[3] == "lower_is_better"
    assert BLOCKS[0] not in stored(blocks, "unemployment_rate")
    bad = ["--database", url, "--lang", "en", "import", "table", str(path), "--city", "RSC"]
    with pytest.raises(SystemExit):
        main([*bad, "--period", "2018", "--missing", "n/a"])
    err = capsys.readouterr().err  # a text code (n/a, NS/NR) is a code: 999 is still undeclared
    assert "is not a number" not in err and "declare it with --missing 999" in err


def test_unknown_level_message_is_an_ingest_error(blocks: Engine, tmp_path: Path) -> None:
    path = write_table(tmp_path / "manzanas.csv", block_rows())
    with pytest.raises(IngestError, match="levels: manzana"):
        import_table(blocks, path, city="RSC", period="2018", level="localidad")


def test_cli_import_census_with_missing_codes(
    city: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [
        household("01001", "H1", H_INGRESO=999),
        household("01002", "H2", H_INGRESO="999.0"),  # as Stata exports a float code
        household("02001", "H3", H_INGRESO=1_200_000),
    ]
    path = households_file(tmp_path / "hh.csv", rows)
    args = ["--database", str(city.url), "--lang", "en", "import", "census", str(path)]
    args += ["--record", "households", "--city", "TST", "--period", "2024"]
    args += ["--data-dir", str(tmp_path / "data"), "--missing", "999"]
    try:
        main(args)
        code = 0
    except SystemExit as stop:
        code = int(stop.code or 0)
    assert code == 0, capsys.readouterr().err
    frame = pd.read_parquet(microdata_path(tmp_path / "data", "TST", "2024", "households"))
    income = dict(zip(frame.household_id, frame.monthly_income, strict=True))
    assert pd.isna(income["H1"]) and pd.isna(income["H2"]) and income["H3"] == 1_200_000


def test_dictionary_may_name_a_column_as_the_file_does(blocks: Engine, tmp_path: Path) -> None:
    """--column renames 'Dist. salud (m)' to an indicator code; the dictionary still finds it
    by the file's own header."""
    rows = [
        {"cod_manzana": code, "Dist. salud (m)": "9999" if i == 0 else str(200 + i)}
        for i, code in enumerate(BLOCKS)
    ]
    path = write_table(tmp_path / "manzanas.csv", rows)
    dictionary = tmp_path / "dict.csv"
    dictionary.write_text(
        "code,name_es,unit,direction,missing\nDist. salud (m),Distancia a salud,m,"
        "lower_is_better,9999\n",
        encoding="utf-8",
    )
    report = import_table(
        blocks,
        path,
        city="RSC",
        period="2018",
        indicator_columns={"Dist. salud (m)": "dist_salud"},
        dictionary=dictionary,
    )
    assert report.details["missing_cells"] == 1
    assert indicator_row(blocks, "dist_salud") == (
        "Distancia a salud",
        "Distancia a salud",
        "m",
        "lower_is_better",
    )
    assert BLOCKS[0] not in stored(blocks, "dist_salud")


def test_dictionary_cannot_turn_a_catalogue_direction_round(blocks: Engine, tmp_path: Path) -> None:
    dictionary = tmp_path / "dict.csv"
    dictionary.write_text(
        "code,direction,max\ndist_health_m,higher_is_better,3000\n", encoding="utf-8"
    )
    path = write_table(tmp_path / "manzanas.csv", block_rows())
    use_language("en")
    report = import_table(blocks, path, city="RSC", period="2018", dictionary=dictionary)
    said = [w.reason for w in report.warnings if w.column == "dist_health_m"]
    assert said == [
        "dist_health_m is a catalogue indicator (lower_is_better): the dictionary's direction "
        "is not used; give the column another code (--column) if it measures something else."
    ]
    assert indicator_row(blocks, "dist_health_m")[3] == "lower_is_better"
    # the dictionary's max still applies to a catalogue code: 100 + 40 × 29 = 1260 ≤ 3000
    too_far = write_table(tmp_path / "far.csv", block_rows(dist_health_m={0: "3500"}))
    assert_rejected(
        blocks,
        lambda: import_table(blocks, too_far, city="RSC", period="2018", dictionary=dictionary),
        "value '3500'",
        "dist_health_m (m) must be between 0 and 3000",
    )


def test_a_rate_out_of_range_names_its_unit_in_the_readers_language(
    blocks: Engine, tmp_path: Path
) -> None:
    """The unit in the message is the one pages show ("por 100.000 hab."), not the
    catalogue's code ("per 100k")."""
    rows = block_rows()
    for i, row in enumerate(rows):
        row["crime_rate_per_100k"] = "-12" if i == 3 else str(40 + i)
    path = write_table(tmp_path / "manzanas.csv", rows)
    use_language("es")
    message = assert_rejected(
        blocks,
        lambda: import_table(blocks, path, city="RSC", period="2018"),
        "crime_rate_per_100k",
        "'-12'",
        "(por 100.000 hab.)",
    )
    assert "per 100k" not in message


def test_a_name_used_as_code_spelled_with_accents_is_named_as_the_city_writes_it(
    engine: Engine, tmp_path: Path
) -> None:
    """Trial #3 F9: Quito's parroquias are keyed by name; 'Zámbiza' in the table against
    'Zambiza' in the boundaries was refused with no hint of what the city calls it."""
    names = ["Zambiza", "Cumbayá", "Nayón"]
    frame = gpd.GeoDataFrame(
        {"parroquia": names},
        geometry=[shapely.box(X0 + 1000 * i, Y0, X0 + 1000 * (i + 1), Y0 + 1000) for i in range(3)],
        crs=UTM,
    )
    boundaries = tmp_path / "parroquias.gpkg"
    frame.to_file(boundaries, layer="parroquia", driver="GPKG")
    import_boundaries(
        engine,
        boundaries,
        [LevelSpec("parroquia", layer="parroquia", code_column="parroquia")],
        city="UIO",
    )
    table = tmp_path / "poblacion.csv"
    table.write_text("parroquia,poblacion\nZámbiza,4500\nCumbayá,31000\nNayón,15600\n")
    assert_rejected(
        engine,
        lambda: import_table(engine, table, city="UIO", period="2010", unit_column="parroquia"),
        "row 2",
        "'Zámbiza'",
        "The city writes it 'Zambiza'",
    )
    shouting = tmp_path / "mayusculas.csv"
    shouting.write_text("parroquia,poblacion\nZAMBIZA,4500\nCUMBAYÁ,31000\n")
    assert_rejected(
        engine,
        lambda: import_table(engine, shouting, city="UIO", period="2010", unit_column="parroquia"),
        "none of the 2 unit codes",
        "The city writes it 'Cumbayá'",
    )
