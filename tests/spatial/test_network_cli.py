"""`inclusive-cities indicators compute --network FILE` on the tiny city of tests/indicators."""

from __future__ import annotations

from pathlib import Path

import pytest

from inclusive_cities.cli import main
from tests.indicators.test_pipeline import OFFSET, build, observations
from tests.spatial.test_network import osm_xml, write_pbf

STEP = 50.0


def street_grid(path: Path, extent: float) -> Path:
    """An OSM file of a 50 m street grid over [0, extent]² of the tiny city (UTM 18N): one
    way per row and per column, crossing at shared nodes."""
    count = int(extent / STEP) + 1

    def ident(i: int, j: int) -> int:
        return 1 + i + count * j

    nodes = {
        ident(i, j): (OFFSET[0] + STEP * i, OFFSET[1] + STEP * j)
        for j in range(count)
        for i in range(count)
    }
    ways = [
        (10_000 + j, [ident(i, j) for i in range(count)], {"highway": "residential"})
        for j in range(count)
    ]
    ways += [
        (20_000 + i, [ident(i, j) for j in range(count)], {"highway": "living_street"})
        for i in range(count)
    ]
    path.write_text(osm_xml(nodes, ways))
    return path


def compute(url: str, network: str) -> None:
    main(
        [
            *("--database", url, "indicators", "compute", "--city", "TST", "--period", "2024"),
            *("--only", "dist_school_m", "--only", "dist_health_m", "--network", network),
        ]
    )


def test_compute_along_an_osm_extract(tmp_path, capsys) -> None:
    url, _layers = build(f"sqlite:///{tmp_path / 'o.db'}", tmp_path)
    osm = street_grid(tmp_path / "city.osm", 1500)
    compute(url, str(write_pbf(osm, tmp_path / "city.osm.pbf")))
    assert (
        "Indicators computed for TST, period 2024, levels manzana, barrio: 2."
        in capsys.readouterr().out
    )
    values = {(r[0], r[1]): r[5] for r in observations(url) if r[2:5] == ("_T", "_T", "_T")}
    # block centroids and facilities sit on grid nodes: Manhattan distances by hand
    # school at (150, 50); health at (50, 50) and (1050, 1400)
    expected = {
        ("dist_school_m", "01001"): 100.0,
        ("dist_school_m", "01002"): 0.0,
        ("dist_school_m", "02001"): 100.0 + 200.0,
        ("dist_school_m", "02002"): 900.0 + 1000.0,
        ("dist_health_m", "01001"): 0.0,
        ("dist_health_m", "01002"): 100.0,
        ("dist_health_m", "02001"): 200.0,
        ("dist_health_m", "02002"): 350.0,
    }
    # OSM keeps 7 decimals of a degree (about 1 cm): the shortest of the many equal
    # staircases from 02002 to the school gains up to a centimetre at each of its corners
    assert {key: values[key] for key in expected} == pytest.approx(expected, abs=0.25)


def test_osm_extract_that_does_not_cover_the_city_writes_nothing(tmp_path, capsys) -> None:
    url, _layers = build(f"sqlite:///{tmp_path / 'o.db'}", tmp_path)
    osm = street_grid(tmp_path / "centre.osm", 300)
    with pytest.raises(SystemExit) as stop:
        compute(url, str(osm))
    assert stop.value.code == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith(
        "Error: The street network does not cover the city: 1 of 4 units are more than 250 m "
        "from any street (first: unit '02002')"
    )
    assert "\n" not in err
    assert observations(url) == []


def test_network_neither_file_nor_layer(tmp_path, capsys) -> None:
    url, _layers = build(f"sqlite:///{tmp_path / 'o.db'}", tmp_path)
    with pytest.raises(SystemExit):
        compute(url, str(tmp_path / "nowhere.osm.pbf"))
    err = capsys.readouterr().err.strip()
    assert err.startswith("Error: --network '") and "is neither a file nor an environment" in err
    assert observations(url) == []
