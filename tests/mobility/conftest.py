from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from inclusive_cities.mobility import harmonise, write_rounds


@pytest.fixture(scope="session")
def hfs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The three synthetic rounds as CSV (fast to read) with their mapping file."""
    out = tmp_path_factory.mktemp("hfs")
    write_rounds(out, seed=3, fmt="csv")
    return out


@pytest.fixture(scope="session")
def hfs(hfs_dir: Path) -> pd.DataFrame:
    return harmonise(hfs_dir / "mapping.yaml")
