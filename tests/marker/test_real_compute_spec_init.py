"""``marker spec init`` on a raw census extract, no dictionary, then the command it prints.

The table has an id column whose name holds a space, a name and a notes column (text), one
"NS/NR" cell in each of two numeric columns, and an undeclared 999 among shares of 10-30.
Before: both NS/NR columns vanished with only a YAML comment, 999 became the upper goalpost
(so every real value scored near one end), and the printed command broke in a shell.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import pandas as pd
import pytest
import yaml

from inclusive_cities.cli import main

TABLE = (
    "Código parroquia;Parroquia;Internet (%);Desempleo (%);Hacinamiento;Observaciones\n"
    "0050;Quito;80,0;10,0;10,0;revisar\n"
    "0051;Alangasí;NS/NR;12,0;20,0;\n"
    "0052;Amaguaña;40,0;NS/NR;999;dato provisional\n"
    "0053;Atahualpa;60,0;8,0;30,0;\n"
)


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        main(["--lang", "en", *args])
        code = 0
    except SystemExit as stop:
        code = int(stop.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def _indicators(node: dict) -> dict[str, dict]:
    found = {i["code"]: i for i in node.get("indicators") or []}
    for child in node.get("children") or []:
        found.update(_indicators(child))
    return found


def test_spec_init_keeps_ns_nr_columns_and_leaves_999_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("censo parroquias.csv").write_text(TABLE, encoding="latin-1")
    code, out, err = cli(capsys, "marker", "spec", "init", "--data", "censo parroquias.csv",
                         "--id-column", "Código parroquia", "--out", "mi spec.yaml")  # fmt: skip
    assert code == 0, err
    said = " ".join(out.split())
    assert "Left out: Observaciones (not numeric)." in said
    assert "Left out: Parroquia (not numeric)." in said
    assert "Internet (%): text cells 'NS/NR' read as missing; the column is kept." in said
    assert "Hacinamiento: 999 is far outside the other values" in said
    text = Path("mi spec.yaml").read_text(encoding="utf-8")
    indicators = _indicators(yaml.safe_load(text)["tree"])
    assert set(indicators) == {"Internet (%)", "Desempleo (%)", "Hacinamiento"}
    goalposts = {c: (i["normalisation"]["lower"], i["normalisation"]["upper"])
                 for c, i in indicators.items()}  # fmt: skip
    assert goalposts == {"Internet (%)": (40, 60 + 20), "Desempleo (%)": (8, 12),
                         "Hacinamiento": (10, 30)}  # fmt: skip
    command = said.split("Then score with: ", 1)[1].strip()
    words = shlex.split(command)
    assert words[words.index("--id-column") + 1] == "Código parroquia"
    assert words[words.index("--spec") + 1] == "mi spec.yaml"
    assert {words[i + 1] for i, w in enumerate(words) if w == "--missing"} == {"999", "NS/NR"}
    # the user finishes the spec (directions; the unsorted node is scored as its own area)
    Path("mi spec.yaml").write_text(
        text.replace("direction: unknown", "direction: higher_is_better"), encoding="utf-8"
    )
    assert words[:3] == ["inclusive-cities", "marker", "compute"]
    code, out, err = cli(capsys, *words[1:])
    assert code == 0, err
    frame = pd.read_csv("scores.csv", dtype={"Código parroquia": str})
    frame = frame.set_index("Código parroquia")
    # Hacinamiento higher is better here: (x - 10)/(30 - 10): 0052's 999 is missing, not 100
    assert frame.loc["0051", "UNSORTED"] == pytest.approx(((12 - 8) / 4 * 100 + 50) / 2)
    # 0052: only internet (40 -> 0) is a value; NS/NR and 999 are missing, never 999 -> 100,
    # and one indicator of three is too few for the node to have a score
    assert pd.isna(frame.loc["0052", "UNSORTED"])
    assert frame.loc["0053", "UNSORTED"] == pytest.approx((50 + 0 + 100) / 3)
