from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from inclusive_cities.mobility import harmonise, summarise, write_rounds


@pytest.fixture(scope="session")
def hfs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The three synthetic rounds as CSV (fast to read) with their mapping file."""
    out = tmp_path_factory.mktemp("hfs")
    write_rounds(out, seed=3, fmt="csv")
    return out


@pytest.fixture(scope="session")
def hfs(hfs_dir: Path) -> pd.DataFrame:
    return harmonise(hfs_dir / "mapping.yaml")


@pytest.fixture(scope="session")
def summary(hfs: pd.DataFrame) -> pd.DataFrame:
    """Every figure of the three rounds (computed once: about a second)."""
    return summarise(hfs)
