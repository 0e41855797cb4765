"""The demo survey's export is written as plain values (openpyxl write-only, issue #21):
read back, every sheet is the frame that was written."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from inclusive_cities.surveys.demo_survey import write_values


def test_values_read_back_as_written(tmp_path: Path) -> None:
    households = pd.DataFrame(
        {
            "start": ["2024-03-01T09:15:00", "2024-03-02T10:00:00", None],
            "codigo_manzana": ["01004", "01005", "01006"],  # leading zeros stay text
            "peso": [12.5, np.nan, 7.25],
            "hogar/ingreso": [850000, 0, 1200000],
        }
    )
    persons = pd.DataFrame({"_parent_index": [1, 1, 3], "sexo": ["F", "M", pd.NA]})
    out = write_values(tmp_path / "data.xlsx", {"hogares": households, "miembros": persons})
    read = pd.read_excel(out, sheet_name=None, engine="calamine", dtype={"codigo_manzana": str})
    assert list(read) == ["hogares", "miembros"]
    back = read["hogares"]
    assert back["start"].tolist()[:2] == ["2024-03-01T09:15:00", "2024-03-02T10:00:00"]
    assert pd.isna(back["start"].iloc[2])
    assert back["codigo_manzana"].tolist() == ["01004", "01005", "01006"]
    assert back["peso"].iloc[0] == 12.5 and pd.isna(back["peso"].iloc[1])
    assert back["hogar/ingreso"].tolist() == [850000, 0, 1200000]
    assert read["miembros"]["_parent_index"].tolist() == [1, 1, 3]
    assert read["miembros"]["sexo"].iloc[:2].tolist() == ["F", "M"]
    assert pd.isna(read["miembros"]["sexo"].iloc[2])
