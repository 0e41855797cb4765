"""The published small demo city: every attack recovers cells without control, none with it.

Builds the city as a user does (``demo generate --size small``, ``demo load``,
``indicators compute``, ``marker build``, ``publish --layers``; ``publish`` itself runs the
audit). The recovered counts are checked against the census persons file, counted here.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy.orm import Session

from inclusive_cities.cli import main
from inclusive_cities.disclosure import AuditReport, audit, control
from inclusive_cities.disclosure.attacks import (
    LP_INTERVAL,
    NORMALISED_INVERSE,
    PARENT_MINUS_CHILDREN,
    SHARE_TIMES_TOTAL,
    TOTAL_MINUS_PARTS,
)
from inclusive_cities.store import connect
from inclusive_cities.web.data import CACHE, MAP_CACHE

VENEZUELAN = 2  # P_NACIONALIDAD of the demo census


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    folder = tmp_path_factory.mktemp("demo")
    url = f"sqlite:///{folder / 'demo.db'}"
    CACHE.clear()
    MAP_CACHE.clear()
    base = ["-d", url, "--lang", "en"]
    main([*base, "demo", "generate", "--out", str(folder / "city"), "--size", "small"])
    main([*base, "demo", "load", str(folder / "city")])
    layers = str(folder / "city" / "environment.gpkg")
    main([*base, "indicators", "compute", "--city", "DEMO", "--period", "2024", "--layers", layers])
    main([*base, "marker", "build", "--city", "DEMO", "--period", "2024"])
    main([*base, "publish", "--city", "DEMO", "--layers"])
    return url, folder / "city"


def run_audit(url: str, enabled: bool) -> AuditReport:
    with control(enabled), Session(connect(url)) as session:
        return audit(session, "DEMO")


def test_published_demo_city_gives_nothing_back(demo: tuple[str, Path]) -> None:
    report = run_audit(demo[0], enabled=True)
    assert report.published_figures > 5000
    assert report.findings == []


def test_without_control_each_attack_recovers_census_counts(demo: tuple[str, Path]) -> None:
    report = run_audit(demo[0], enabled=False)
    counts = report.by_attack()
    for attack in (
        SHARE_TIMES_TOTAL,
        TOTAL_MINUS_PARTS,
        PARENT_MINUS_CHILDREN,
        NORMALISED_INVERSE,
        LP_INTERVAL,
    ):
        assert counts.get(attack, 0) > 0, attack
    persons = pd.read_csv(demo[1] / "census_persons.csv", dtype={"COD_MANZANA": str})
    venezuelans = (
        persons[persons["P_NACIONALIDAD"] == VENEZUELAN].groupby("COD_MANZANA").size().to_dict()
    )
    shares = [f for f in report.findings if f.attack == SHARE_TIMES_TOTAL]
    checked = 0
    for finding in shares:
        block = report.unit_codes[finding.key[1]]
        if finding.key[0] == "venezuelan_population" and block in venezuelans:
            assert round(finding.low) == venezuelans[block]
            checked += 1
    assert checked > 50
