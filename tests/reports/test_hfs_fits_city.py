"""A survey estimate larger than the city it describes is flagged, never printed as a stock.

The small demo once reported 87,698 refugees and migrants for a city of 19,541 people.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from inclusive_cities import reports
from tests.reports.conftest import BARRIOS, build_city


@pytest.mark.parametrize("language", ["es", "en"])
def test_a_stock_above_the_census_population_is_flagged(
    tmp_path: Path, hfs_rounds: pd.DataFrame, language: str
) -> None:
    population = {code: 1000.0 for code in BARRIOS}  # 6,000 people in all
    engine = build_city(f"sqlite:///{tmp_path / 'db.sqlite'}", population=population)
    result = reports.profile(
        engine,
        "TST",
        "2024",
        tmp_path / "perfil.html",
        language=language,
        hfs=hfs_rounds,
        annex=False,
    )
    assert result.html is not None
    text = result.html.read_text(encoding="utf-8")
    latest = hfs_rounds[(hfs_rounds["round"] == "R3") & (hfs_rounds["city"] == "TST")]
    weighted = float((latest["weight"] * latest["household_size"]).sum())
    assert weighted > 6000  # the rounds describe a far larger city than this one
    expected = {"es": "6.000 personas que el censo", "en": "6,000 people the census counts"}
    assert expected[language] in text
    figures = result.figures if hasattr(result, "figures") else {}
    assert "hfs.stock_persons" not in figures


def test_a_stock_below_the_census_population_is_reported(
    tmp_path: Path, hfs_rounds: pd.DataFrame
) -> None:
    population = {code: 100_000.0 for code in BARRIOS}
    engine = build_city(f"sqlite:///{tmp_path / 'db.sqlite'}", population=population)
    result = reports.profile(
        engine,
        "TST",
        "2024",
        tmp_path / "perfil.html",
        language="en",
        hfs=hfs_rounds,
        annex=False,
    )
    assert result.html is not None
    text = result.html.read_text(encoding="utf-8")
    assert "the survey estimates" in text
    assert "people the census counts" not in text
