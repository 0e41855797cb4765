"""Bulk writes (executemany on SQLite, COPY on PostgreSQL) store exactly what row-by-row
ORM inserts stored, and ``marker build`` stores exactly the engine's result, on both engines."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from inclusive_cities.marker import load_spec
from inclusive_cities.marker.build import build_run
from inclusive_cities.store import init_database, models, transaction
from inclusive_cities.store.bulk import bulk_insert, python_column

from .test_cli import SPEC

# real-shaped values: a missing value, a suppressed cell, a huge and a tiny value, accents
OBSERVED = [
    # sex, age_group, nationality, value, n, status, source
    ("_T", "_T", "_T", 12.5, 40, "computed", "censo 2018, lote 3"),
    ("F", "_T", "_T", None, 3, "suppressed", "censo 2018, lote 3"),
    ("M", "15-29", "venezuelan", 1.0e12, None, "computed", "encuesta — ronda 2"),
    ("_T", "_T", "host", 1.0e-9, 0, "computed", ""),
    ("_T", "30-44", "other_foreign", -0.0, 12, "computed", "Bogotá D.C."),
]


@pytest.fixture
def small_city(db_url: str):
    """City BLK: 12 blocks, indicators a1, a2, b1 (b1 missing in block 07), population."""
    engine = init_database(db_url)
    with transaction(engine) as session:
        city = models.City(code="BLK", name="Blocks", is_synthetic=True)
        session.add(city)
        session.flush()
        level = models.UnitLevel(city_id=city.id, code="manzana", depth=0)
        periods = [models.Period(code="2020"), models.Period(code="2021")]
        session.add_all([level, *periods])
        session.flush()
        units = [
            models.SpatialUnit(city_id=city.id, level_id=level.id, code=f"{i:02d}")
            for i in range(1, 13)
        ]
        indicators = [
            models.Indicator(code=code, name_es=code, name_en=code)
            for code in ("a1", "a2", "b1", "population")
        ]
        session.add_all([*units, *indicators])
        session.flush()
        ids = {i.code: i.id for i in indicators}
        for k, unit in enumerate(units):
            values = {"a1": 7.0 * k % 100, "a2": 100 - 9.0 * k % 100, "b1": 3.0 * k % 20}
            values["population"] = 50.0 + 10 * k
            if unit.code == "07":
                del values["b1"]
            for code, value in values.items():
                session.add(
                    models.Observation(
                        indicator_id=ids[code],
                        unit_id=unit.id,
                        period_id=periods[0].id,
                        value=value,
                    )
                )
    return engine


def _observations(engine, period: str) -> list[tuple]:
    with transaction(engine) as session:
        rows = session.execute(
            select(
                models.Observation.indicator_id,
                models.Observation.unit_id,
                models.Observation.sex,
                models.Observation.age_group,
                models.Observation.nationality,
                models.Observation.value,
                models.Observation.n,
                models.Observation.status,
                models.Observation.source,
                models.Observation.batch_id,
            )
            .join(models.Period, models.Period.id == models.Observation.period_id)
            .where(models.Period.code == period)
            .order_by(models.Observation.sex, models.Observation.age_group)
        ).all()
    return [tuple(row) for row in rows]


def test_bulk_insert_stores_what_orm_objects_stored(small_city):
    engine = small_city
    with transaction(engine) as session:
        first, second = session.scalars(select(models.Period).order_by(models.Period.code)).all()
        indicator = session.scalar(select(models.Indicator).where(models.Indicator.code == "a1"))
        unit = session.scalar(select(models.SpatialUnit).where(models.SpatialUnit.code == "03"))
        # before: one ORM object per row (period 2021 is empty; 2020 has other indicators)
        for sex, age, nationality, value, n, status, source in OBSERVED:
            session.add(
                models.Observation(
                    indicator_id=indicator.id,
                    unit_id=unit.id,
                    period_id=second.id,
                    sex=sex,
                    age_group=age,
                    nationality=nationality,
                    value=value,
                    n=n,
                    status=status,
                    source=source,
                )
            )
        session.flush()
        session.execute(
            models.Observation.__table__.delete().where(
                models.Observation.period_id == first.id,
                models.Observation.indicator_id == indicator.id,
                models.Observation.unit_id == unit.id,
            )
        )
        # now: the same rows, column-wise from NumPy/pandas, through the bulk path
        frame = pd.DataFrame(OBSERVED, columns=["sex", "age", "nat", "value", "n", "status", "src"])
        written = bulk_insert(
            session,
            models.Observation.__table__,
            {
                "indicator_id": python_column(np.full(len(frame), indicator.id, dtype=np.int64)),
                "unit_id": python_column(np.full(len(frame), unit.id, dtype=np.int64)),
                "period_id": [first.id] * len(frame),
                "sex": python_column(frame["sex"]),
                "age_group": python_column(frame["age"]),
                "nationality": python_column(frame["nat"]),
                "value": python_column(frame["value"].to_numpy(dtype=float)),  # None -> NaN
                "n": python_column(pd.array(frame["n"], dtype="Int64")),
                "status": python_column(frame["status"].to_numpy()),
                "source": python_column(frame["src"]),
                "batch_id": [None] * len(frame),
            },
        )
    assert written == len(OBSERVED)
    bulk, orm = _observations(engine, "2020"), _observations(engine, "2021")
    bulk = [row for row in bulk if row[0] == indicator.id and row[1] == unit.id]
    assert bulk == orm
    assert [type(row[5]) for row in bulk] == [type(row[5]) for row in orm]
    values = {row[2:5]: row[5] for row in bulk}
    assert values[("F", "_T", "_T")] is None  # a NaN is stored as NULL, never as a number
    assert values[("M", "15-29", "venezuelan")] == 1.0e12
    assert values[("_T", "_T", "host")] == 1.0e-9


def test_a_failed_bulk_insert_leaves_nothing(small_city):
    engine = small_city
    with transaction(engine) as session:
        before = session.scalar(select(func.max(models.Observation.id)))
        ids = (
            session.scalar(select(models.Indicator.id).limit(1)),
            session.scalar(select(models.SpatialUnit.id).limit(1)),
        )
        period = session.scalar(select(models.Period.id).where(models.Period.code == "2021"))
    row = {  # sex, age group and nationality take the model's default '_T'
        "indicator_id": [ids[0], ids[0]],
        "unit_id": [ids[1], ids[1]],
        "period_id": [period, period],
        "value": [1.0, 2.0],
        "status": ["computed", "computed"],
    }
    with pytest.raises(IntegrityError, match=r"(?i)unique"), transaction(engine) as session:
        bulk_insert(session, models.Observation.__table__, row)  # the same key twice
    with transaction(engine) as session:
        last = session.scalar(select(func.max(models.Observation.id)))
        assert last == before
        in_2021 = select(models.Observation).where(models.Observation.period_id == period)
        assert session.scalar(in_2021) is None


def test_marker_build_stores_the_engine_result_exactly(small_city, tmp_path):
    engine = small_city
    spec_file = tmp_path / "tiny.yaml"
    spec_file.write_text(SPEC, encoding="utf-8")
    spec = load_spec(spec_file)
    summary = build_run(engine, "BLK", "2020", spec)
    result = summary.result
    with transaction(engine) as session:
        stored = session.execute(
            select(
                models.SpatialUnit.code,
                models.MarkerScore.node_code,
                models.MarkerScore.score,
                models.MarkerScore.level,
                models.MarkerScore.rank,
                models.MarkerScore.coverage,
                models.MarkerScore.imputed,
                models.MarkerScore.run_id,
            ).join(models.SpatialUnit, models.SpatialUnit.id == models.MarkerScore.unit_id)
        ).all()
    assert len(stored) == summary.scores_written == 12 * (len(spec.node_codes) + 3)
    assert {row[7] for row in stored} == {summary.run_id}
    got = {(row[0], row[1]): row[2:7] for row in stored}
    # expected straight from the engine's frames, one unit and node at a time
    for code in spec.node_codes:
        for unit in result.ids:
            score = result.scores.loc[unit, code]
            if np.isnan(score):
                assert got[(unit, code)][:4] == (None, None, None, None)
                continue
            assert got[(unit, code)][0] == score  # the same double, not a rounded one
            assert got[(unit, code)][1] == result.levels.loc[unit, code]
            assert got[(unit, code)][2] == int(result.ranks.loc[unit, code])
            assert got[(unit, code)][3] == result.coverage.loc[unit, code]
    for code in spec.indicator_codes:
        for unit in result.ids:
            value = result.normalised.loc[unit, code]
            present = not np.isnan(value)
            assert got[(unit, code)][0] == (value if present else None)
            assert got[(unit, code)][3] == (1.0 if present else 0.0)
            assert got[(unit, code)][4] is bool(result.imputed.loc[unit, code])
    assert got[("07", "b1")][0] is None  # block 07 has no b1: no score, not a zero
    assert got[("07", "IDX")][3] == pytest.approx(0.5)


def test_the_run_keeps_the_weights_the_data_chose(small_city, tmp_path):
    """A spec whose index weights its areas by optimisation: the run stores those weights."""
    spec_file = tmp_path / "tiny.yaml"
    spec_file.write_text(
        SPEC.replace("  code: IDX\n", "  code: IDX\n  weighting: optimised\n"), encoding="utf-8"
    )
    spec = load_spec(spec_file)
    assert spec.tree.weighting is not None and spec.tree.weighting.method == "optimised"
    summary = build_run(small_city, "BLK", "2020", spec)
    chosen = summary.result.derived_weights
    assert set(chosen) == {"A", "B"} and sum(chosen.values()) == pytest.approx(1.0)
    with transaction(small_city) as session:
        run = session.get(models.MarkerRun, summary.run_id)
        assert run.parameters["derived_weights"] == pytest.approx(chosen)
        index = dict(
            session.execute(
                select(models.SpatialUnit.code, models.MarkerScore.score)
                .join(models.SpatialUnit, models.SpatialUnit.id == models.MarkerScore.unit_id)
                .where(models.MarkerScore.node_code == "IDX")
            ).all()
        )
    scores = summary.result.scores
    by_hand = (scores["A"] * chosen["A"] + scores["B"] * chosen["B"]).loc["01"]
    assert index["01"] == pytest.approx(by_hand)


def test_uncertainty_varies_the_weights_the_data_chose(small_city, tmp_path):
    spec_file = tmp_path / "tiny.yaml"
    spec_file.write_text(
        SPEC.replace("  code: IDX\n", "  code: IDX\n  weighting: optimised\n"), encoding="utf-8"
    )
    spec = load_spec(spec_file)
    summary = build_run(small_city, "BLK", "2020", spec, uncertainty_replicates=16, seed=3)
    frozen = spec.with_weights_fixed(summary.result.derived_weights)
    assert frozen.data_weighted_nodes() == []
    assert [frozen.find(c).weight for c in ("A", "B")] == [
        summary.result.derived_weights[c] for c in ("A", "B")
    ]
    with transaction(small_city) as session:
        run = session.get(models.MarkerRun, summary.run_id)
        intervals = run.parameters["rank_intervals"]
    assert set(intervals) == set(summary.result.ids)
    for unit, (low, high) in intervals.items():
        assert 1 <= low <= high <= 12, unit
    # PCA can give a component a negative weight: the Monte Carlo cannot vary it, and says so
    from inclusive_cities.marker import MarkerError
    from inclusive_cities.marker.build import _uncertainty_spec

    with pytest.raises(MarkerError, match=r"gave B the weight -0\.3000"):
        _uncertainty_spec(spec, {"A": 0.9, "B": -0.3})


def test_the_web_shows_the_weights_the_run_used(small_city, tmp_path):
    """The methodology page reads a run's recipe: its weights are the ones the data chose."""
    from inclusive_cities.web.data import stored_spec

    spec_file = tmp_path / "tiny.yaml"
    spec_file.write_text(
        SPEC.replace("  code: IDX\n", "  code: IDX\n  weighting: optimised\n"), encoding="utf-8"
    )
    summary = build_run(small_city, "BLK", "2020", load_spec(spec_file))
    with transaction(small_city) as session:
        view = stored_spec(session.get(models.MarkerRun, summary.run_id))
    assert view is not None
    chosen = summary.result.derived_weights
    assert view.node("A").weight == pytest.approx(chosen["A"])
    assert view.node("B").weight == pytest.approx(chosen["B"])
    assert view.node("a1").weight == 1.0  # fixed weights stay the spec's
