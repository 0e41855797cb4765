"""The marker commands as users run them: files in, files out, one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from inclusive_cities.cli import main

EXECUTABLE = str(Path(sys.executable).with_name("inclusive-cities"))

SPEC = """
code: tiny
name: {es: Diminuto, en: Tiny}
tree:
  code: IDX
  name: {es: Índice, en: Index}
  children:
    - code: A
      name: {es: Área A, en: Area A}
      indicators:
        - {code: a1, name: {es: a1, en: a1}, direction: higher_is_better,
           normalisation: {lower: 0, upper: 100, source: test}}
        - {code: a2, name: {es: a2, en: a2}, direction: lower_is_better,
           normalisation: {lower: 0, upper: 50, source: test}}
    - code: B
      name: {es: Área B, en: Area B}
      indicators:
        - {code: b1, name: {es: b1, en: b1}, direction: higher_is_better,
           normalisation: {lower: 0, upper: 10, source: test}}
"""


def run(*args: str, lang: str = "en") -> subprocess.CompletedProcess[str]:
    """The real console script (slow to start: used once, for the full round trip)."""
    env = {**os.environ, "INCLUSIVE_CITIES_LANG": lang, "COLUMNS": "200"}
    return subprocess.run([EXECUTABLE, *args], capture_output=True, text=True, env=env, timeout=120)


@pytest.fixture
def cli(capsys):
    """Run the command in-process; returns (exit code, stdout, stderr)."""

    def invoke(*args: str, lang: str = "en") -> tuple[int, str, str]:
        try:
            main(["--lang", lang, *args])
            code = 0
        except SystemExit as stop:
            code = int(stop.code or 0)
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return invoke


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    spec = tmp_path / "tiny.yaml"
    spec.write_text(SPEC, encoding="utf-8")
    data = tmp_path / "units.csv"
    data.write_text(
        "unit_code,a1,a2,b1,pop\n007,50,10,5,100\n008,100,0,10,300\n009,0,50,,100\n",
        encoding="utf-8",
    )
    return {"spec": spec, "data": data, "dir": tmp_path}


def test_compute_round_trip_csv(files):
    out = files["dir"] / "out.csv"
    result = run(
        "marker",
        "compute",
        "--spec",
        str(files["spec"]),
        "--data",
        str(files["data"]),
        "--out",
        str(out),
        "--population-column",
        "pop",
    )
    assert result.returncode == 0, result.stderr
    frame = pd.read_csv(out, dtype={"unit_code": str})
    assert list(frame.columns) == [
        "unit_code",
        *["IDX", "A", "B", "rank", "level"],
        *["coverage", "missing_areas"],
    ]
    assert frame["unit_code"].tolist() == ["007", "008", "009"]
    # 009 has no B: its index stands on one area of two, and the file says so
    assert frame["coverage"].tolist() == [1.0, 1.0, 0.5]
    assert frame["missing_areas"].fillna("").tolist() == ["", "", "B"]
    # 007: A = (50 + 80)/2 = 65, B = 50, IDX = 57.5; 008: 100, 100, 100;
    # 009: A = (0 + 0)/2 = 0, B missing -> IDX = 0 (weights renormalised, coverage 1/2)
    np.testing.assert_allclose(frame["A"], [65, 100, 0])
    np.testing.assert_allclose(frame["IDX"], [57.5, 100, 0])
    assert frame["rank"].tolist() == [2, 1, 3]
    assert frame["level"].tolist() == ["moderately_weak", "very_solid", "very_weak"]
    city = (57.5 * 100 + 100 * 300 + 0 * 100) / 500
    assert f"city score {city:.1f}" in result.stdout


def test_compute_xlsx_in_process(files, capsys):
    xlsx = files["dir"] / "units.xlsx"
    pd.read_csv(files["data"], dtype={"unit_code": str}).to_excel(xlsx, index=False)
    out = files["dir"] / "out.xlsx"
    main(
        ["marker", "compute", "--spec", str(files["spec"]), "--data", str(xlsx), "--out", str(out)]
    )
    assert "Scored 3 units on tiny" in capsys.readouterr().out
    frame = pd.read_excel(out, dtype={"unit_code": str})
    assert frame["unit_code"].tolist() == ["007", "008", "009"]
    np.testing.assert_allclose(frame["B"].iloc[:2], [50, 100])


def test_compute_geopackage_with_boundaries(files, cli):
    import geopandas as gpd
    from shapely.geometry import box

    units = files["dir"] / "units.gpkg"
    gpd.GeoDataFrame(
        {"unit_code": ["007", "008", "009"]},
        geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1), box(2, 0, 3, 1)],
        crs="EPSG:4326",
    ).to_file(units, driver="GPKG")
    out = files["dir"] / "out.gpkg"
    code, _out, err = cli(
        "marker",
        "compute",
        "--spec",
        str(files["spec"]),
        "--data",
        str(files["data"]),
        "--out",
        str(out),
        "--units",
        str(units),
    )
    assert code == 0, err
    scored = gpd.read_file(out)
    assert sorted(scored["unit_code"]) == ["007", "008", "009"]
    assert scored.set_index("unit_code").loc["008", "IDX"] == pytest.approx(100)


@pytest.mark.parametrize(
    ("csv", "words"),
    [
        ("id,a1,a2,b1\nx,1,2,3\n", "there is no id column 'unit_code'"),
        ("unit_code,a1,a2,b1\nx,1,2,3\nx,4,5,6\n", "'x' appears more than once (rows 2 and 3)"),
        ("unit_code,a1,a2,b1\nx,1,2,3\ny,abc,5,6\n", "row 3, column 'a1': 'abc' is not a number"),
        ("unit_code,a1,a2\nx,1,2\n", "uses indicator 'b1' but the data has no such column"),
    ],
)
def test_bad_data_gives_one_line(files, cli, csv, words):
    data = files["dir"] / "bad.csv"
    data.write_text(csv, encoding="utf-8")
    code, _out, err = cli(
        "marker",
        "compute",
        "--spec",
        str(files["spec"]),
        "--data",
        str(data),
        "--out",
        str(files["dir"] / "o.csv"),
    )
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "bad.csv" in lines[0] and words in lines[0]
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        ("upper: 10,", "upper: 0,", "must differ"),
        (
            "name: {es: Área B, en: Area B}",
            "name: {es: B, en: B}\n      weight: 0",
            "greater than 0",
        ),
        ("code: b1", "code: a1", "used twice"),
        ("lower: 0, upper: 50,", "method: banana,", "unknown method 'banana'"),
    ],
)
def test_bad_spec_gives_one_line_with_line_number(files, cli, old, new, words):
    files["spec"].write_text(SPEC.replace(old, new, 1), encoding="utf-8")
    code, _out, err = cli(
        "marker",
        "compute",
        "--spec",
        str(files["spec"]),
        "--data",
        str(files["data"]),
        "--out",
        str(files["dir"] / "o.csv"),
    )
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert f"{files['spec']}:" in lines[0] and words in lines[0]


def test_specs_and_show(cli):
    code, out, _err = cli("marker", "specs")
    assert code == 0
    assert "uim-basic" in out and "uim-extended" in out
    code, out, err = cli("marker", "show", "uim-basic", lang="es")
    assert code == 0, err
    assert "Marcador de Inclusión Urbana" in out
    assert "V_CAL Calidad estructural y cualitativa de la vivienda" in out
    code, out, _err = cli("marker", "show", "uim-basic", "--no-indicators", lang="en")
    assert "V_CAL Structural and qualitative quality of the dwelling" in out
    assert "durable_housing" not in out
    code, _out, err = cli("marker", "show", "nope")
    assert code == 1 and "uim-basic" in err


def test_allow_missing_indicators(files, cli):
    data = files["dir"] / "partial.csv"
    data.write_text("unit_code,a1,a2\nx,50,10\ny,100,0\n", encoding="utf-8")
    out = files["dir"] / "partial_out.csv"
    code, _out, err = cli(
        "marker",
        "compute",
        "--spec",
        str(files["spec"]),
        "--data",
        str(data),
        "--out",
        str(out),
        "--allow-missing-indicators",
    )
    assert code == 0, err
    frame = pd.read_csv(out)
    assert frame["B"].isna().all()
    np.testing.assert_allclose(frame["IDX"], [65, 100])  # A alone (1 of 2 areas)


def test_spanish_csv_with_hxl_tags(files, cli):
    # semicolons, decimal commas, local column names tagged with HXL #indicator+CODE
    data = files["dir"] / "barrios.csv"
    data.write_text(
        "codigo;agua;hacinamiento;b1\n#adm3+code;#indicator+a1;#indicator+a2;\n"
        "007;50,5;10;5\n008;100;0;1,5\n",
        encoding="latin-1",
    )
    out = files["dir"] / "barrios_out.csv"
    code, _out, err = cli(
        "marker",
        "compute",
        "--spec",
        str(files["spec"]),
        "--data",
        str(data),
        "--out",
        str(out),
        "--id-column",
        "codigo",
    )
    assert code == 0, err
    frame = pd.read_csv(out, dtype={"codigo": str})
    assert frame["codigo"].tolist() == ["007", "008"]
    # 007: A = (50.5 + 80)/2 = 65.25; B = 50 -> IDX 57.625; 008: A 100, B 15 -> 57.5
    np.testing.assert_allclose(frame["A"], [65.25, 100])
    np.testing.assert_allclose(frame["IDX"], [57.625, 57.5])
    bad = files["dir"] / "bad_es.csv"
    bad.write_text("codigo;a1;a2;b1\n#adm3+code;;;\n007;50,5;x;5\n", encoding="utf-8")
    code, _out, err = cli(
        "marker",
        "compute",
        "--spec",
        str(files["spec"]),
        "--data",
        str(bad),
        "--out",
        str(out),
        "--id-column",
        "codigo",
    )
    assert code == 1
    assert "bad_es.csv, row 3, column 'a2': 'x' is not a number" in err
