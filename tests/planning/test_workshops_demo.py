"""The demo's two workshops load through the importer into a city that has the demo's
indicators, in the barrios the demo says (largest Venezuelan share; least public space)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from inclusive_cities.demo.workshops import (
    housing_workshop,
    load_demo_workshops,
    public_space_workshop,
)
from inclusive_cities.planning.workshops import find_workshop, list_solutions
from inclusive_cities.store import models, transaction
from tests.planning.workshop_city import CITY, build_city

# barrio -> (venezuelan_share, public_space_m2_per_inhab)
BARRIOS = {"0101": (12.0, 4.0), "0102": (31.0, 6.5), "0201": (8.0, 1.2)}


def test_demo_workshops_load_with_their_links(tmp_path: Path) -> None:
    engine = build_city(f"sqlite:///{tmp_path / 'observatory.db'}")
    demo = [housing_workshop("0101", "x"), public_space_workshop("0101", "x")]
    linked = {c for w in demo for item in (*w.nodes, *w.matrix) for c in item.indicators}
    with transaction(engine) as session:
        city_id = session.scalar(select(models.City.id).where(models.City.code == CITY))
        period = session.scalar(select(models.Period.id).where(models.Period.code == "2025"))
        known = set(session.scalars(select(models.Indicator.code)))
        areas = {c: a for w in demo for r in w.matrix for c in r.indicators for a in [r.area]}
        for code in sorted((linked | {"venezuelan_share", "public_space_m2_per_inhab"}) - known):
            session.add(
                models.Indicator(
                    code=code, name_es=code, name_en=code, area=areas.get(code, "EPUB")
                )
            )
        session.add(models.Indicator(code="other", name_es="o", name_en="o", area="GOV"))
        session.flush()
        ids = dict(session.execute(select(models.Indicator.code, models.Indicator.id)).all())
        units = dict(
            session.execute(
                select(models.SpatialUnit.code, models.SpatialUnit.id).where(
                    models.SpatialUnit.city_id == city_id
                )
            ).all()
        )
        for barrio, (share, space) in BARRIOS.items():
            for code, value in (("venezuelan_share", share), ("public_space_m2_per_inhab", space)):
                session.add(
                    models.Observation(
                        indicator_id=ids[code],
                        unit_id=units[barrio],
                        period_id=period,
                        value=value,
                        status="computed",
                    )
                )
    summaries = load_demo_workshops(engine, CITY, tmp_path / "talleres")
    assert [s.codes for s in summaries] == [["TALLER-2024-01"], ["TALLER-2024-02"]]
    assert sorted(p.name for p in (tmp_path / "talleres").iterdir()) == [
        "taller-2024-01.xlsx",
        "taller-2024-02.xlsx",
    ]
    with transaction(engine) as session:
        housing = find_workshop(session, CITY, "TALLER-2024-01")
        space = find_workshop(session, CITY, "TALLER-2024-02")
        solutions = list_solutions(session, CITY)
    assert housing.unit_code == "0102"  # 31 % Venezuelan, the largest share
    assert space.unit_code == "0201"  # 1.2 m² of public space per inhabitant, the least
    assert housing.title.endswith("La Colina") and space.title.endswith("El Prado")
    assert [n.kind for n in housing.nodes].count("central") == 1
    assert len(solutions) == 7 and {s.workshop_code for s in solutions} == {
        "TALLER-2024-01",
        "TALLER-2024-02",
    }
    assert housing.total_participants() == 48 and space.total_participants() == 38
