"""Fixtures: R survey's api samples with their design columns rebuilt as R stores them."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

DATA = Path(__file__).with_name("data")
STRAT_PW = {"E": 44.2099990844727, "M": 20.3600006103516, "H": 15.1000003814697}
STRAT_FPC = {"E": 4421, "M": 1018, "H": 755}


@pytest.fixture(scope="session")
def apistrat() -> pd.DataFrame:
    data = pd.read_csv(DATA / "apistrat.csv")
    data["pw"] = data["stype"].map(STRAT_PW)
    data["fpc"] = data["stype"].map(STRAT_FPC)
    return data


@pytest.fixture(scope="session")
def apiclus1() -> pd.DataFrame:
    data = pd.read_csv(DATA / "apiclus1.csv")
    data["pw"] = 33.846996307373
    data["fpc"] = 757
    return data
