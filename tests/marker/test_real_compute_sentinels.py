"""``marker compute`` on a statistical office's table checks cells as ``import table`` does.

The table is shaped like Ecuador's parish census extracts: ``;``-separated, Latin-1, decimal
comma, Spanish headers with units in them, an undeclared 999 in a % column, a -999 declared
only in the data dictionary, a distance column with no unit in the spec holding 9999.
Expected scores are worked out by hand from the goalposts (score = 100·(x−L)/(U−L), or from
the top when lower is better).
"""

from __future__ import annotations

import re
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from inclusive_cities.cli import main

SPEC = """
code: parroquias
name: {es: Parroquias, en: Parishes}
tree:
  code: UIM
  name: {es: Marcador, en: Marker}
  children:
    - code: VIV
      name: {es: Vivienda, en: Housing}
      indicators:
        - {code: "Hacinamiento (%)", name: {es: Hacinamiento, en: Overcrowding},
           direction: lower_is_better, unit: "%",
           normalisation: {lower: 0, upper: 50, source: test}}
    - code: SER
      name: {es: Servicios, en: Services}
      indicators:
        - {code: "% hogares con internet", name: {es: Internet, en: Internet},
           direction: higher_is_better, unit: "%",
           normalisation: {lower: 0, upper: 100, source: test}}
    - code: SAL
      name: {es: Salud, en: Health}
      indicators:
        - {code: "Distancia a salud", name: {es: Distancia, en: Distance},
           direction: lower_is_better,
           normalisation: {lower: 500, upper: 3000, source: test}}
"""
TABLE = (
    "Código parroquia;Parroquia;Hacinamiento (%);% hogares con internet;Distancia a salud\n"
    "0050;Quito;10,5;80,0;1000\n"
    "0051;Alangasí;20,0;-999;1500\n"
    "0052;Amaguaña;999;40,0;2000\n"
    "0053;Atahualpa;25,0;60,0;9999\n"
)
DICTIONARY = "code,unit,missing\n% hogares con internet,porcentaje,-999\n"
ID = ["--id-column", "Código parroquia"]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("sentinels")
    paths = {
        "spec": folder / "spec.yaml",
        "data": folder / "censo.csv",
        "dict": folder / "diccionario.csv",
    }
    paths["spec"].write_text(SPEC, encoding="utf-8")
    paths["data"].write_text(TABLE, encoding="latin-1")
    paths["dict"].write_text(DICTIONARY, encoding="utf-8")
    return paths


def run(capsys: pytest.CaptureFixture[str], lang: str, *args: str) -> tuple[int, str, str]:
    try:
        main(["--lang", lang, "marker", "compute", *args])
        code = 0
    except SystemExit as stop:
        code = int(stop.code or 0)
    out, err = capsys.readouterr()
    return code, " ".join(out.split()), " ".join(err.split())


def test_undeclared_999_in_a_percent_column_is_refused(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before: 0052 scored V = 0 (999 % clipped into the goalposts), exit 0, coverage 1."""
    out = tmp_path / "s.csv"
    code, _out, err = run(capsys, "en", "--spec", str(files["spec"]), "--data",
                          str(files["data"]), "--out", str(out), *ID)  # fmt: skip
    assert code == 1 and not out.exists()
    assert "censo.csv, row 4, column 'Hacinamiento (%)', value '999'" in err
    assert "--missing 999" in err


def test_dictionary_codes_and_far_codes_become_missing(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--missing 999 and the dictionary's -999: both cells are missing, not 0 or 100; the
    distance column (no unit) holds 9999 far above 1000-2000: missing, with a warning."""
    out = tmp_path / "s.csv"
    code, stdout, err = run(capsys, "en", "--spec", str(files["spec"]), "--data",
                            str(files["data"]), "--out", str(out), *ID, "--missing", "999",
                            "--dictionary", str(files["dict"]))  # fmt: skip
    assert code == 0, err
    frame = pd.read_csv(out, dtype={"Código parroquia": str}).set_index("Código parroquia")
    # 0050: VIV (50-10.5)/50 = 79, SER 80, SAL (3000-1000)/2500 = 80
    assert frame.loc["0050", ["VIV", "SER", "SAL"]].tolist() == pytest.approx([79.0, 80.0, 80.0])
    assert pd.isna(frame.loc["0051", "SER"]) and frame.loc["0051", "SAL"] == pytest.approx(60.0)
    assert pd.isna(frame.loc["0052", "VIV"]) and frame.loc["0052", "SER"] == pytest.approx(40.0)
    assert pd.isna(frame.loc["0053", "SAL"]) and frame.loc["0053", "VIV"] == pytest.approx(50.0)
    assert frame["coverage"].tolist() == pytest.approx([1.0, 2 / 3, 2 / 3, 2 / 3])
    assert "censo.csv, rows 5, column 'Distancia a salud': 9999 is far outside" in stdout
    assert "(1000 to 2000), so it was scored as missing" in stdout
    assert "3 of 4 units have a partial index" in stdout


def test_spanish_output_reads_in_spanish(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Headers, level labels, area names and the sheet in Spanish; node codes stay codes.
    0050's index is (79 + 80 + 80)/3 = 79.67: "Sólido" (70-80 in UN-Habitat's levels)."""
    out = tmp_path / "s.xlsx"
    code, stdout, err = run(capsys, "es", "--spec", str(files["spec"]), "--data",
                            str(files["data"]), "--out", str(out), *ID, "--missing", "999",
                            "--dictionary", str(files["dict"]))  # fmt: skip
    assert code == 0, err
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == ["marcador"]
    rows = list(book["marcador"].iter_rows(values_only=True))
    assert rows[0] == (
        "Código parroquia", "UIM", "VIV", "SER", "SAL", "posición", "nivel",
        "cobertura (proporción de áreas con datos)", "áreas sin datos",
    )  # fmt: skip
    assert rows[1][1] == pytest.approx((79 + 80 + 80) / 3, abs=0.01)
    assert rows[1][6] == "Sólido"
    assert rows[2][8] == "Servicios"
    assert "3 de 4 unidades tienen un índice parcial" in stdout
    assert "Salud, Servicios, Vivienda" in stdout
    # the city score with a decimal comma, as Spanish writes it ("52,4", not "52.4")
    assert re.search(r"puntaje de la ciudad \d+,\d\.", " ".join(stdout.split())), stdout
