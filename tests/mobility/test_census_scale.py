"""Generated survey rounds fit the city they describe (issue: an HFS ten times the city).

The small demo city has 19,541 people; before the fix its generated rounds estimated 87,698
refugees and migrants, because every round expanded to a fixed 24,000 households.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from inclusive_cities.cli import main
from inclusive_cities.mobility import (
    MobilityError,
    census_migrants,
    generate_rounds,
    harmonise,
    summarise,
)
from inclusive_cities.store import init_database, models, transaction

BLOCKS = {"L1": [310.0, 290.0], "L2": [400.0, 150.0]}  # Venezuelan residents per block


def _city(url: str) -> None:
    """City DEMO: two localities holding two blocks each, with the census count at both levels."""
    engine = init_database(url)
    with transaction(engine) as session:
        city = models.City(code="DEMO", name="Demo")
        period = models.Period(code="2024")
        indicator = models.Indicator(
            code="venezuelan_population",
            name_es="Población venezolana",
            name_en="Venezuelan population",
            direction="neutral",
        )
        session.add_all([city, period, indicator])
        session.flush()
        top = models.UnitLevel(city_id=city.id, code="localidad", depth=0)
        low = models.UnitLevel(city_id=city.id, code="manzana", depth=1)
        session.add_all([top, low])
        session.flush()
        for code, blocks in BLOCKS.items():
            parent = models.SpatialUnit(city_id=city.id, level_id=top.id, code=code)
            session.add(parent)
            session.flush()
            session.add(
                models.Observation(
                    indicator_id=indicator.id,
                    unit_id=parent.id,
                    period_id=period.id,
                    value=sum(blocks),
                )
            )
            for i, value in enumerate(blocks):
                block = models.SpatialUnit(
                    city_id=city.id, level_id=low.id, code=f"{code}-{i}", parent_id=parent.id
                )
                session.add(block)
                session.flush()
                session.add(
                    models.Observation(
                        indicator_id=indicator.id,
                        unit_id=block.id,
                        period_id=period.id,
                        value=value,
                    )
                )


def test_the_census_count_is_the_coarsest_levels_sum(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'o.db'}"
    _city(url)
    from inclusive_cities.store import connect

    assert census_migrants(connect(url), "DEMO", "2024") == 310 + 290 + 400 + 150
    with pytest.raises(MobilityError, match="indicators compute"):
        census_migrants(connect(url), "DEMO", "2020")


def _stock(rounds_dir: Path) -> float:
    summary = summarise(harmonise(rounds_dir / "mapping.yaml"), geographies=["DEMO"])
    row = summary[(summary["topic"] == "stock_persons") & (summary["round"] == "R1")]
    return float(row["estimate"].iloc[0])


def test_generated_rounds_estimate_the_citys_census_count(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'o.db'}"
    _city(url)
    census = 1150.0
    main(
        [
            "--database",
            url,
            "mobility",
            "generate",
            "--out",
            str(tmp_path / "hfs"),
            "--format",
            "csv",
            "--city",
            "DEMO",
            "--period",
            "2024",
        ]
    )
    stock = _stock(tmp_path / "hfs")
    # weights carry ±20 % noise per household and sizes vary: the estimate is within 15 %
    assert abs(stock - census) / census < 0.15
    # without the census, the fixed default size is far larger than this city
    main_default = tmp_path / "default"
    from inclusive_cities.mobility import write_rounds

    write_rounds(main_default, fmt="csv")
    assert _stock(main_default) > 20 * census


def test_only_known_cities_can_be_scaled() -> None:
    with pytest.raises(MobilityError, match="NOWHERE"):
        generate_rounds(0, {"NOWHERE": 100.0})


def test_city_and_period_go_together(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as done:
        main(["mobility", "generate", "--out", str(tmp_path), "--city", "DEMO"])
    assert done.value.code == 1
