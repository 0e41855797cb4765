"""`spatial segregation --data FILE`: a user's own counts, checked against hand formulas and
against PySAL's ``segregation`` called directly on the same units."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from inclusive_cities.cli import main

# six blocks (codes with leading zeros) and a seventh whose counts are hidden behind 999
CODES = ["0101", "0102", "0103", "0201", "0202", "0203"]
GROUP = np.array([12.0, 0.0, 4.5, 30.0, 2.0, 7.0])
TOTAL = np.array([40.0, 35.0, 20.0, 45.0, 50.0, 10.0])


def hand_dissimilarity(g: np.ndarray, t: np.ndarray) -> float:
    """Duncan's D: half the sum of |share of the group − share of the rest| over units."""
    rest = t - g
    return 0.5 * float(np.abs(g / g.sum() - rest / rest.sum()).sum())


def hand_gini(g: np.ndarray, t: np.ndarray) -> float:
    """Massey & Denton's Gini, every ordered pair of units written out."""
    p = g / t
    big_p = g.sum() / t.sum()
    pairs = sum(t[i] * t[j] * abs(p[i] - p[j]) for i in range(len(t)) for j in range(len(t)))
    return pairs / (2 * t.sum() ** 2 * big_p * (1 - big_p))


def es(number: float) -> str:
    """A number as a Spanish export writes it: 4,5."""
    return f"{number:g}".replace(".", ",")


def spanish_table(path, extra_rows: str = "") -> None:
    lines = ["cod_manzana;venezolanos;poblacion;colombianos"]
    for code, g, t in zip(CODES, GROUP, TOTAL, strict=True):
        lines.append(f"{code};{es(g)};{es(t)};{es(t - g)}")
    lines.append("0301;999;999;999")
    path.write_text("\n".join(lines) + "\n" + extra_rows, encoding="utf-8")


def run(capsys, *arguments: str) -> str:
    main(["--lang", "en", "spatial", "segregation", *arguments])
    return capsys.readouterr().out


def refused(capsys, *arguments: str, lang: str = "en") -> str:
    with pytest.raises(SystemExit) as stop:
        main(["--lang", lang, "spatial", "segregation", *arguments])
    assert stop.value.code == 1
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    return " ".join(err.split())


def test_a_spanish_table_with_a_missing_code(tmp_path, capsys) -> None:
    table = tmp_path / "manzanas.csv"
    spanish_table(table)
    out_file = tmp_path / "result.csv"
    out = run(
        capsys,
        *("--data", str(table), "--group", "venezolanos", "--total", "poblacion"),
        *("--decimal", ",", "--missing", "999", "--out", str(out_file)),
    )
    result = pd.read_csv(out_file).set_index("index")["value"]
    assert result["dissimilarity"] == pytest.approx(hand_dissimilarity(GROUP, TOTAL), abs=1e-12)
    assert result["gini"] == pytest.approx(hand_gini(GROUP, TOTAL), abs=1e-12)
    isolation = float((GROUP / GROUP.sum() * GROUP / TOTAL).sum())
    assert result["isolation"] == pytest.approx(isolation, abs=1e-12)
    assert "spatial_dissimilarity" not in result.index  # a table has no polygons
    assert "Left out 1 units with a missing-value code: 0301." in out
    assert "No spatial dissimilarity" in out
    assert "Read 6 units from manzanas.csv." in out


def test_groups_alone_give_the_total_and_multigroup_indices(tmp_path, capsys) -> None:
    table = tmp_path / "manzanas.csv"
    spanish_table(table)
    out_file = tmp_path / "result.csv"
    run(
        capsys,
        *("--data", str(table), "--group", "venezolanos", "--groups", "venezolanos"),
        *("--groups", "colombianos", "--decimal", ",", "--missing", "999"),
        *("--out", str(out_file)),
    )
    result = pd.read_csv(out_file).set_index("index")["value"]
    # the two groups add up to the population, so the total is the same
    assert result["dissimilarity"] == pytest.approx(hand_dissimilarity(GROUP, TOTAL), abs=1e-12)
    # with two groups, multigroup dissimilarity is the two-group D
    assert result["multi_dissimilarity"] == pytest.approx(
        hand_dissimilarity(GROUP, TOTAL), abs=1e-12
    )


def test_the_first_column_keeps_its_leading_zeros_in_messages(tmp_path, capsys) -> None:
    table = tmp_path / "manzanas.csv"
    spanish_table(table, "0101;1;2;1\n")
    err = refused(
        capsys,
        *("--data", str(table), "--group", "venezolanos", "--total", "poblacion"),
        *("--decimal", ",", "--missing", "999"),
    )
    assert err == (
        "Error: manzanas.csv, row 9, column 'cod_manzana': unit code 0101 repeats row 2; "
        "give each unit one row."
    )


def blocks_gpkg(path) -> gpd.GeoDataFrame:
    """Six 100 m blocks in two rows of three (EPSG:32618), counts as reals."""
    frame = gpd.GeoDataFrame(
        {"codigo": CODES, "venezuelan": GROUP, "population": TOTAL},
        geometry=[
            box(x * 100.0, y * 100.0, x * 100.0 + 100, y * 100.0 + 100)
            for y in (0, 1)
            for x in (0, 1, 2)
        ],
        crs="EPSG:32618",
    )
    frame.to_file(path, layer="manzana", driver="GPKG")
    frame.iloc[:2].to_file(path, layer="localidad", driver="GPKG")
    return frame


def test_spatial_dissimilarity_from_a_geopackage(tmp_path, capsys) -> None:
    from libpysal.weights import Queen
    from segregation.singlegroup import Dissim, SpatialDissim

    path = tmp_path / "blocks.gpkg"
    frame = blocks_gpkg(path)
    out_file = tmp_path / "result.xlsx"
    out = run(
        capsys,
        *("--data", str(path), "--layer", "manzana", "--group", "venezuelan"),
        *("--total", "population", "--permutations", "19", "--out", str(out_file)),
    )
    got = pd.read_excel(out_file).set_index("index")
    w = Queen.from_dataframe(frame, use_index=False, silence_warnings=True)
    expected = SpatialDissim(frame, group_pop_var="venezuelan", total_pop_var="population", w=w)
    assert got.loc["spatial_dissimilarity", "value"] == pytest.approx(expected.statistic, abs=1e-12)
    # by hand: D minus the mean |pᵢ − pⱼ| over queen neighbours (binary weights)
    p = GROUP / TOTAL
    dense = w.sparse.toarray()
    by_hand = (
        hand_dissimilarity(GROUP, TOTAL) - (dense * np.abs(p[:, None] - p)).sum() / dense.sum()
    )
    assert got.loc["spatial_dissimilarity", "value"] == pytest.approx(by_hand, abs=1e-12)
    assert got.loc["dissimilarity", "value"] == pytest.approx(
        Dissim(frame, "venezuelan", "population").statistic, abs=1e-12
    )
    assert got.loc["gini", "value"] == pytest.approx(hand_gini(GROUP, TOTAL), abs=1e-12)
    assert got["p_value"].between(0, 1).all() and got["p_value"].notna().all()
    assert "No spatial dissimilarity" not in out


def test_a_geopackage_with_several_layers_needs_one(tmp_path, capsys) -> None:
    path = tmp_path / "blocks.gpkg"
    blocks_gpkg(path)
    err = refused(capsys, "--data", str(path), "--group", "venezuelan", "--total", "population")
    assert err == (
        "Error: blocks.gpkg has several layers (manzana, localidad): choose one with --layer."
    )


def test_a_group_column_that_does_not_exist(tmp_path, capsys) -> None:
    table = tmp_path / "manzanas.csv"
    spanish_table(table)
    err = refused(capsys, "--data", str(table), "--group", "venezuelan", "--total", "poblacion")
    assert err == (
        "Error: manzanas.csv has no column 'venezuelan': the columns are cod_manzana, "
        "venezolanos, poblacion, colombianos. Name an existing column (group counts with "
        "--group/--groups/--total, codes with --unit-column)."
    )


def test_bad_counts_are_refused_with_file_row_column_and_value(tmp_path, capsys) -> None:
    table = tmp_path / "manzanas.csv"
    table.write_text("codigo,g,t\n0101,3,10\n0102,-2,10\n", encoding="utf-8")
    err = refused(capsys, "--data", str(table), "--group", "g", "--total", "t")
    assert err == (
        "Error: manzanas.csv, row 3, column 'g': -2 is a negative count; a count is 0 or more "
        "(if -2 marks a missing value, declare it with --missing -2)."
    )
    table.write_text("codigo,g,t\n0101,3,10\n0102,12,10\n", encoding="utf-8")
    err = refused(capsys, "--data", str(table), "--group", "g", "--total", "t")
    assert err == (
        "Error: manzanas.csv, row 3, column 'g': 12 exceeds the total 10 of column 't'; the "
        "group must be part of the total: check --group and --total."
    )
    # an undeclared 999 is named as a likely missing-value code
    table.write_text("codigo,g,t\n0101,3,10\n0102,999,10\n", encoding="utf-8")
    err = refused(capsys, "--data", str(table), "--group", "g", "--total", "t")
    assert err.endswith(
        "check --group and --total, or declare a missing-value code with --missing."
    )
    table.write_text("codigo,g,t\n0101,3,10\n0102,,10\n", encoding="utf-8")
    err = refused(capsys, "--data", str(table), "--group", "g", "--total", "t")
    assert err.startswith("Error: manzanas.csv, row 3, column 'g': the count is empty;")
    table.write_text('codigo,g,t\n0101,3,10\n0102,"1,5",10\n', encoding="utf-8")
    err = refused(capsys, "--data", str(table), "--group", "g", "--total", "t")
    assert err == (
        "Error: manzanas.csv, row 3, column 'g': '1,5' is not a number. It looks like a "
        "decimal comma: add --decimal ,."
    )


def test_errors_speak_spanish(tmp_path, capsys) -> None:
    table = tmp_path / "manzanas.csv"
    table.write_text("codigo,g,t\n0101,3,10\n0102,-2,10\n", encoding="utf-8")
    err = refused(capsys, "--data", str(table), "--group", "g", "--total", "t", lang="es")
    assert "manzanas.csv" in err and "fila 3" in err and "'g'" in err and "-2" in err
    assert "negative count" not in err


def test_data_and_city_are_exclusive_and_a_total_is_needed(tmp_path, capsys) -> None:
    table = tmp_path / "manzanas.csv"
    spanish_table(table)
    err = refused(capsys, "--data", str(table), "--city", "X", "--group", "venezolanos")
    assert "not both" in err
    err = refused(capsys, "--data", str(table), "--group", "venezolanos")
    assert err == (
        "Error: --group venezolanos needs the units' population: give --total COLUMN, or "
        "every group with --groups so that the total is their sum."
    )


def test_a_workbook_keeps_its_numbers_whatever_the_decimal_mark(tmp_path, capsys) -> None:
    """Numeric cells of an XLSX are numbers: 4.5 stays 4.5 even with --decimal , (a
    Spanish analyst's habit), and text codes keep their leading zeros."""
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "manzanas"
    sheet.append(["codigo", "venezolanos", "poblacion"])
    for code, g, t in zip(CODES, GROUP, TOTAL, strict=True):
        sheet.append([code, g, t])
    path = tmp_path / "manzanas.xlsx"
    book.save(path)
    out_file = tmp_path / "result.csv"
    out = run(
        capsys,
        *("--data", str(path), "--group", "venezolanos", "--total", "poblacion"),
        *("--decimal", ",", "--out", str(out_file)),
    )
    result = pd.read_csv(out_file).set_index("index")["value"]
    assert result["gini"] == pytest.approx(hand_gini(GROUP, TOTAL), abs=1e-12)
    assert result["dissimilarity"] == pytest.approx(hand_dissimilarity(GROUP, TOTAL), abs=1e-12)
    assert "Read 6 units from manzanas.xlsx:manzanas." in out


def test_a_table_placed_on_a_boundaries_file(tmp_path, capsys) -> None:
    """Census counts in a CSV, blocks in a GeoPackage: matched by code, spatial indices."""
    from libpysal.weights import Queen
    from segregation.singlegroup import SpatialDissim

    table = tmp_path / "manzanas.csv"
    spanish_table(table)
    path = tmp_path / "blocks.gpkg"
    frame = blocks_gpkg(path)
    # the boundaries hold more blocks than the table counts: they are ignored
    extra = frame.iloc[:1].assign(codigo="0999").set_geometry([box(900, 900, 1000, 1000)])
    gpd.GeoDataFrame(pd.concat([frame, extra]), crs=frame.crs).to_file(
        path, layer="manzana", driver="GPKG"
    )
    out_file = tmp_path / "result.csv"
    run(
        capsys,
        *("--data", str(table), "--boundaries", str(path), "--layer", "manzana"),
        *("--boundaries-code", "codigo", "--group", "venezolanos", "--total", "poblacion"),
        *("--decimal", ",", "--missing", "999", "--out", str(out_file)),
    )
    got = pd.read_csv(out_file).set_index("index")["value"]
    w = Queen.from_dataframe(frame, use_index=False, silence_warnings=True)
    expected = SpatialDissim(frame, group_pop_var="venezuelan", total_pop_var="population", w=w)
    assert got["spatial_dissimilarity"] == pytest.approx(expected.statistic, abs=1e-12)
    assert got["gini"] == pytest.approx(hand_gini(GROUP, TOTAL), abs=1e-12)


def test_codes_that_lost_their_leading_zeros_are_named(tmp_path, capsys) -> None:
    table = tmp_path / "manzanas.csv"
    spanish_table(table)
    path = tmp_path / "blocks.gpkg"
    frame = blocks_gpkg(path)
    frame.assign(codigo=frame["codigo"].astype(int)).to_file(path, layer="manzana", driver="GPKG")
    err = refused(
        capsys,
        *("--data", str(table), "--boundaries", str(path), "--layer", "manzana"),
        *("--boundaries-code", "codigo", "--group", "venezolanos", "--total", "poblacion"),
        *("--decimal", ",", "--missing", "999"),
    )
    assert err == (
        "Error: manzanas.csv, row 2: unit 0101 has no polygon in blocks.gpkg (column 'codigo'); "
        "check the codes and the layer. It has 101: one of the files lost the codes' leading "
        "zeros."
    )


def test_file_options_without_a_file_are_refused(capsys) -> None:
    err = refused(capsys, "--city", "DEMO", "--period", "2024", "--total", "poblacion")
    assert err == "Error: Options for your own counts need --data FILE: --total."


def test_distance_band_adds_the_spatial_multigroup_indices(tmp_path, capsys) -> None:
    from segregation.multigroup import MultiDissim

    path = tmp_path / "blocks.gpkg"
    frame = blocks_gpkg(path).assign(rest=TOTAL - GROUP)
    frame.to_file(path, layer="manzana", driver="GPKG")
    out_file = tmp_path / "result.csv"
    run(
        capsys,
        *("--data", str(path), "--layer", "manzana", "--groups", "venezuelan"),
        *("--groups", "rest", "--distance", "150", "--out", str(out_file)),
    )
    got = pd.read_csv(out_file).set_index("index")["value"]
    expected = MultiDissim(frame, groups=["venezuelan", "rest"], distance=150.0).statistic
    assert got["spatial_multi_dissimilarity"] == pytest.approx(expected, abs=1e-12)
    # 150 m around 100 m blocks smooths the city: less segregated than block by block
    assert got["spatial_multi_dissimilarity"] < got["multi_dissimilarity"]


def test_a_truncated_row_is_refused_not_padded(tmp_path, capsys) -> None:
    table = tmp_path / "manzanas.csv"
    table.write_text("codigo,g,t\n0101,3,10\n0102,4\n", encoding="utf-8")
    err = refused(capsys, "--data", str(table), "--group", "g", "--total", "t")
    assert err == (
        "Error: manzanas.csv, row 3: 2 fields where the header has 3; the file may be truncated "
        "or use another delimiter."
    )


def test_the_observatory_census_also_gets_gini_and_spatial_dissimilarity(tmp_path, capsys):
    """The stored census path: blocks 01001 and 01002 touch, the other two touch nothing."""
    from tests.indicators import city
    from tests.indicators.test_pipeline import build

    url, _layers = build(f"sqlite:///{tmp_path / 'o.db'}", tmp_path)
    out_file = tmp_path / "result.csv"
    place = ("--city", "TST", "--period", "2024")
    main(
        [
            "--lang",
            "en",
            "--database",
            url,
            "spatial",
            "segregation",
            *place,
            "--out",
            str(out_file),
        ]
    )
    codes = list(city.BLOCKS)
    g, t = np.zeros(len(codes)), np.zeros(len(codes))
    for row in city.persons():
        t[codes.index(row["unit_code"])] += 1
        g[codes.index(row["unit_code"])] += row["nationality"] == "venezuelan"
    got = pd.read_csv(out_file).set_index("index")["value"]
    assert got["gini"] == pytest.approx(hand_gini(g, t), abs=1e-12)
    p = g / t
    # queen neighbours: the pair (01001, 01002), counted both ways
    expected = hand_dissimilarity(g, t) - abs(p[0] - p[1])
    assert got["spatial_dissimilarity"] == pytest.approx(expected, abs=1e-12)
