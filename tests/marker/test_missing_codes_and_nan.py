"""Real tables into ``marker compute``: a denominator shared by two indicators with an empty
cell, missing-value codes (--missing 999), R's NA_real_ and undeclared directions."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from inclusive_cities.cli import main
from inclusive_cities.marker import compute, load_spec
from inclusive_cities.marker.errors import MarkerSpecError
from inclusive_cities.marker.io import quiet_nan
from inclusive_cities.marker.normalise import normalise
from inclusive_cities.marker.spec import MinMax, parse_spec


def spec_from_dict(data: dict) -> object:
    return parse_spec(yaml.safe_dump(data, allow_unicode=True), "spec.yaml")


NA_REAL = struct.unpack("<d", struct.pack("<Q", 0x7FF00000000007A2))[0]
"""R's NA_real_: a NaN whose payload is 1954 (signalling: np.nanmin does not skip it)."""

SHARED = """
code: shared
name: {es: Compartido, en: Shared}
tree:
  code: IDX
  name: {es: Índice, en: Index}
  children:
    - code: A
      name: {es: Área A, en: Area A}
      indicators:
        - {code: unemployed, name: {es: parados, en: unemployed}, direction: lower_is_better,
           denominator: {column: persons, scale: 100},
           normalisation: {lower: 0, upper: 20, source: test}}
    - code: B
      name: {es: Área B, en: Area B}
      indicators:
        - {code: workers, name: {es: ocupados, en: workers}, direction: higher_is_better,
           denominator: {column: persons, scale: 100},
           normalisation: {lower: 0, upper: 80, source: test}}
"""


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]):
    def invoke(*args: str) -> tuple[int, str, str]:
        try:
            main(["--lang", "en", *args])
            code = 0
        except SystemExit as stop:
            code = int(stop.code or 0)
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return invoke


def test_shared_denominator_with_an_empty_cell(cli, tmp_path: Path) -> None:
    spec = tmp_path / "shared.yaml"
    spec.write_text(SHARED, encoding="utf-8")
    data = tmp_path / "blocks.csv"
    data.write_text(
        "unit_code,unemployed,workers,persons\n"
        "001,10,60,200\n"  # 5 % unemployed -> (20-5)/20 = 75; 30 % workers -> 30/80 = 37.5
        "002,4,,\n"  # no persons: both rates missing
        "003,999,40,100\n",  # 999 = no data; 40 % workers -> 50
        encoding="utf-8",
    )
    out = tmp_path / "scores.csv"
    code, _out, err = cli(
        "marker", "compute", "--spec", str(spec), "--data", str(data), "--out", str(out),
        "--missing", "999",
    )  # fmt: skip
    assert code == 0, err
    frame = pd.read_csv(out, dtype={"unit_code": str}).set_index("unit_code")
    score, workers = "A", "B"  # each area holds one indicator: its score is the indicator's
    assert frame.loc["001", score] == pytest.approx(75.0)
    assert frame.loc["001", workers] == pytest.approx(37.5)
    assert np.isnan(frame.loc["002", score]) and np.isnan(frame.loc["002", workers])
    assert np.isnan(frame.loc["003", score])  # 999 is no data, not 999 %
    assert frame.loc["003", workers] == pytest.approx(50.0)


def test_na_real_is_skipped_by_minmax() -> None:
    x = np.array([1.0, 2.0, NA_REAL, 3.0])
    assert np.nanmin(x) == 3.0  # the trap: NumPy does not skip a signalling NaN
    out = np.empty(4)
    normalise(MinMax(), x, None, True, 0.0, 100.0, out)
    assert out[[0, 1, 3]].tolist() == [0.0, 50.0, 100.0] and np.isnan(out[2])
    plain = quiet_nan(x)
    assert np.nanmin(plain) == 1.0 and np.isnan(plain[2])


def test_na_real_in_a_frame_gives_scores_and_no_constant_note() -> None:
    spec = spec_from_dict(
        {
            "code": "na",
            "name": {"es": "NA", "en": "NA"},
            "tree": {
                "code": "IDX",
                "name": {"es": "Índice", "en": "Index"},
                "indicators": [
                    {
                        "code": "x",
                        "name": {"es": "x", "en": "x"},
                        "direction": "higher_is_better",
                        "normalisation": "minmax",
                    }
                ],
            },
        }
    )
    data = pd.DataFrame({"unit_code": ["a", "b", "c", "d"], "x": [1.0, 2.0, NA_REAL, 3.0]})
    result = compute(spec, data)
    assert not any("same value" in note for note in result.notes)
    frame = result.to_frame("unit_code").set_index("unit_code")
    assert frame.loc[["a", "b", "d"], "IDX"].tolist() == [0.0, 50.0, 100.0]  # IDX = x alone


def test_a_spec_refuses_an_unknown_direction() -> None:
    with pytest.raises(MarkerSpecError, match=r"declare it .* in a data dictionary"):
        spec_from_dict(
            {
                "code": "u",
                "name": {"es": "U", "en": "U"},
                "tree": {
                    "code": "IDX",
                    "name": {"es": "Índice", "en": "Index"},
                    "indicators": [
                        {
                            "code": "indice_x",
                            "name": {"es": "x", "en": "x"},
                            "direction": "unknown",
                            "normalisation": "minmax",
                        }
                    ],
                },
            }
        )
    assert load_spec("uim-basic").indicator_codes  # the built-in specs still load
