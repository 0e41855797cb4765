"""``marker build``: a run stored from the observatory's observations, on SQLite."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from inclusive_cities.cli import main
from inclusive_cities.marker import MarkerError, load_spec
from inclusive_cities.marker.build import build_run
from inclusive_cities.store import init_database, models, transaction

from .test_cli import SPEC


@pytest.fixture
def tiny_city(tmp_path: Path):
    """City TNY, level 'block' with three blocks, period 2020, indicators a1, a2, b1, pop."""
    url = f"sqlite:///{tmp_path / 'obs.db'}"
    engine = init_database(url)
    with transaction(engine) as session:
        city = models.City(code="TNY", name="Tiny", is_synthetic=True)
        session.add(city)
        session.flush()
        level = models.UnitLevel(city_id=city.id, code="block", depth=1)
        coarse = models.UnitLevel(city_id=city.id, code="barrio", depth=0)
        period = models.Period(code="2020")
        session.add_all([level, coarse, period])
        session.flush()
        units = {
            code: models.SpatialUnit(city_id=city.id, level_id=level.id, code=code)
            for code in ("b1", "b2", "b3")
        }
        session.add_all(units.values())
        indicators = {
            code: models.Indicator(code=code, name_es=code, name_en=code)
            for code in ("a1", "a2", "b1", "population")
        }
        session.add_all(indicators.values())
        session.flush()
        values = {
            "b1": {"a1": 50, "a2": 10, "b1": 5, "population": 100},
            "b2": {"a1": 100, "a2": 0, "b1": 10, "population": 300},
            "b3": {"a1": 0, "a2": 50, "population": 100},
        }
        for unit, row in values.items():
            for code, value in row.items():
                session.add(
                    models.Observation(
                        indicator_id=indicators[code].id,
                        unit_id=units[unit].id,
                        period_id=period.id,
                        value=value,
                    )
                )
        # ignored: a suppressed value and a value for women only
        session.add(
            models.Observation(
                indicator_id=indicators["b1"].id,
                unit_id=units["b3"].id,
                period_id=period.id,
                value=None,
                status="suppressed",
            )
        )
        session.add(
            models.Observation(
                indicator_id=indicators["a1"].id,
                unit_id=units["b3"].id,
                period_id=period.id,
                value=99,
                sex="F",
            )
        )
    return url, engine


def test_build_stores_a_run_with_scores(tiny_city, tmp_path):
    _url, engine = tiny_city
    spec_file = tmp_path / "tiny.yaml"
    spec_file.write_text(SPEC, encoding="utf-8")
    summary = build_run(engine, "TNY", "2020", load_spec(spec_file))
    # same numbers as the file round trip: IDX 57.5, 100, 0; population 100, 300, 100
    assert summary.units == 3
    # three units × (3 nodes + 3 indicators, whose normalised scores are kept too)
    assert summary.scores_written == 3 * 6
    assert summary.city_score == pytest.approx((57.5 * 100 + 100 * 300) / 500)
    with transaction(engine) as session:
        run = session.scalar(select(models.MarkerRun))
        assert run.spec_code == "tiny" and run.spec_hash == load_spec(spec_file).hash
        assert run.input_hash == summary.result.provenance.input_hash
        assert run.level_id is not None
        rows = session.execute(
            select(
                models.SpatialUnit.code,
                models.MarkerScore.score,
                models.MarkerScore.rank,
                models.MarkerScore.level,
                models.MarkerScore.coverage,
            )
            .join(models.SpatialUnit, models.SpatialUnit.id == models.MarkerScore.unit_id)
            .where(models.MarkerScore.node_code == "IDX")
            .order_by(models.SpatialUnit.code)
        ).all()
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [
        ("b1", pytest.approx(57.5), 2, "moderately_weak"),
        ("b2", pytest.approx(100.0), 1, "very_solid"),
        ("b3", pytest.approx(0.0), 3, "very_weak"),
    ]
    assert rows[2][4] == pytest.approx(0.5)  # b3 lacks b1 (suppressed): half of IDX's parts
    with transaction(engine) as session:
        kept = dict(
            session.execute(
                select(models.SpatialUnit.code, models.MarkerScore.score)
                .join(models.SpatialUnit, models.SpatialUnit.id == models.MarkerScore.unit_id)
                .where(models.MarkerScore.node_code == "b1")
            ).all()
        )
    normalised = summary.result.normalised["b1"]
    assert kept["b1"] == pytest.approx(normalised["b1"])
    assert kept["b2"] == pytest.approx(normalised["b2"])
    assert kept["b3"] is None  # its only value was suppressed: no score, not a zero


def test_build_from_the_command_line(tiny_city, tmp_path, capsys):
    url, engine = tiny_city
    spec_file = tmp_path / "tiny.yaml"
    spec_file.write_text(SPEC, encoding="utf-8")
    main(
        [
            "--lang",
            "en",
            "--database",
            url,
            "marker",
            "build",
            "--city",
            "TNY",
            "--period",
            "2020",
            "--spec",
            str(spec_file),
            "--level",
            "block",
        ]
    )
    out = capsys.readouterr().out
    assert "Stored marker run 1 for TNY 2020: 3 units, 18 scores" in out
    with transaction(engine) as session:
        assert session.scalar(select(models.MarkerRun.city_score)) == pytest.approx(71.5)


def test_build_with_uim_basic_reports_absent_indicators(tiny_city):
    _url, engine = tiny_city
    # no uim-basic indicator is observed in this city: nothing to store (tests/marker/
    # test_empty_runs.py checks that no run is left behind)
    with pytest.raises(MarkerError, match="no values for durable_housing, overcrowding"):
        build_run(engine, "TNY", "2020", load_spec("uim-basic"))


def test_build_errors(tiny_city):
    _url, engine = tiny_city
    spec = load_spec("uim-basic")
    with pytest.raises(MarkerError, match="no city 'XX'"):
        build_run(engine, "XX", "2020", spec)
    with pytest.raises(MarkerError, match="no period '1999'"):
        build_run(engine, "TNY", "1999", spec)
    with pytest.raises(MarkerError, match="no unit level 'grid'"):
        build_run(engine, "TNY", "2020", spec, level="grid")
    with pytest.raises(MarkerError, match="no units at level 'barrio'"):
        build_run(engine, "TNY", "2020", spec, level="barrio")


def test_build_keeps_rank_intervals_from_a_seeded_monte_carlo(tiny_city, tmp_path):
    _url, engine = tiny_city
    spec_file = tmp_path / "tiny.yaml"
    spec_file.write_text(SPEC, encoding="utf-8")
    spec = load_spec(spec_file)
    first = build_run(engine, "TNY", "2020", spec, uncertainty_replicates=16, seed=7)
    again = build_run(engine, "TNY", "2020", spec, uncertainty_replicates=16, seed=7)
    with transaction(engine) as session:
        runs = {
            run.id: run.parameters
            for run in session.scalars(select(models.MarkerRun).order_by(models.MarkerRun.id))
        }
    intervals = runs[first.run_id]["rank_intervals"]
    assert set(intervals) == {"b1", "b2", "b3"}
    assert all(1 <= low <= high <= 3 for low, high in intervals.values())
    assert runs[again.run_id]["rank_intervals"] == intervals  # same seed, same intervals
    assert runs[first.run_id]["uncertainty"] == {"replicates": 16, "seed": 7}
    plain = build_run(engine, "TNY", "2020", spec)
    with transaction(engine) as session:
        assert "rank_intervals" not in session.get(models.MarkerRun, plain.run_id).parameters


def test_indicators_of_a_coarser_level_are_taken_from_each_units_ancestor(tmp_path, capsys):
    """b1 is observed only by barrio (X: 8, Y: 2): blocks take their barrio's value."""
    url = f"sqlite:///{tmp_path / 'obs.db'}"
    engine = init_database(url)
    with transaction(engine) as session:
        city = models.City(code="TNY", name="Tiny", is_synthetic=True)
        session.add(city)
        session.flush()
        barrio = models.UnitLevel(city_id=city.id, code="barrio", depth=0)
        block = models.UnitLevel(city_id=city.id, code="block", depth=1)
        period = models.Period(code="2020")
        session.add_all([barrio, block, period])
        session.flush()
        parents = {
            code: models.SpatialUnit(city_id=city.id, level_id=barrio.id, code=code)
            for code in ("X", "Y")
        }
        session.add_all(parents.values())
        session.flush()
        blocks = {
            code: models.SpatialUnit(
                city_id=city.id, level_id=block.id, code=code, parent_id=parents[parent].id
            )
            for code, parent in (("b1", "X"), ("b2", "X"), ("b3", "Y"))
        }
        session.add_all(blocks.values())
        indicators = {
            code: models.Indicator(code=code, name_es=code, name_en=code)
            for code in ("a1", "b1", "population")
        }
        session.add_all(indicators.values())
        session.flush()

        def observe(code: str, unit: models.SpatialUnit, value: float) -> None:
            session.add(
                models.Observation(
                    indicator_id=indicators[code].id,
                    unit_id=unit.id,
                    period_id=period.id,
                    value=value,
                )
            )

        for code, value in (("b1", 10.0), ("b2", 60.0), ("b3", 90.0)):
            observe("a1", blocks[code], value)
        for code, people in (("b1", 100.0), ("b2", 300.0)):  # b3 has no count: weight 0
            observe("population", blocks[code], people)
        observe("b1", parents["X"], 8.0)
        observe("b1", parents["Y"], 2.0)
    spec_file = tmp_path / "tiny.yaml"
    spec_file.write_text(SPEC, encoding="utf-8")
    summary = build_run(engine, "TNY", "2020", load_spec(spec_file), level="block")
    assert summary.inherited == {"b1": "barrio"}
    assert "b1" not in summary.absent_indicators and "a2" in summary.absent_indicators
    normalised = summary.result.normalised["b1"]  # goalposts 0-10
    assert normalised.to_dict() == {"b1": 80.0, "b2": 80.0, "b3": 20.0}
    with transaction(engine) as session:
        run = session.scalar(select(models.MarkerRun))
        assert run.parameters["inherited"] == {"b1": "barrio"}
    # a run at the barrio level uses the barrio values of b1 and aggregates a1 from its
    # blocks: population-weighted (b1: 100, b2: 300 people in X), equal weights without
    barrio_run = build_run(engine, "TNY", "2020", load_spec(spec_file), level="barrio")
    assert barrio_run.inherited == {} and barrio_run.aggregated == {"a1": "block"}
    assert barrio_run.result.normalised["a1"].to_dict() == {
        "X": pytest.approx((10.0 * 100 + 60.0 * 300) / 400),
        "Y": pytest.approx(90.0),
    }
    args = ["--database", url, "marker", "build", "--city", "TNY", "--period", "2020"]
    main(["--lang", "en", *args, "--spec", str(spec_file), "--level", "block"])
    out = capsys.readouterr().out
    assert "b1: no values at this level; each unit takes its barrio's value." in out
    main(["--lang", "en", *args, "--spec", str(spec_file), "--level", "barrio"])
    out = capsys.readouterr().out
    assert (
        "a1: no values at this level; each unit takes the population-weighted mean of its parts "
        "at level block." in out
    )
