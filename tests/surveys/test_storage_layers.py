"""Stored microdata stay in Parquet; layers become observations, small cells suppressed."""

from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import func, select

from inclusive_cities.store import models, transaction
from inclusive_cities.surveys import Design, SurveyError, estimate, load_design
from inclusive_cities.surveys.demo_survey import generate_demo_survey
from inclusive_cities.surveys.kobo import locate, read_kobo
from inclusive_cities.surveys.layers import analysis_tables, survey_indicators, write_layers
from inclusive_cities.surveys.storage import load_survey, store_survey

from .helpers import tiny_boundaries, tiny_store


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("files")
    boundaries = tiny_boundaries(root / "boundaries.gpkg")
    return boundaries, generate_demo_survey(boundaries, root / "survey", households=200, take=8)


@pytest.fixture()
def world(tmp_path, files):
    boundaries, survey = files
    engine = tiny_store(f"sqlite:///{tmp_path / 'obs.db'}", boundaries)
    return tmp_path, engine, survey


def _import(tmp_path, engine, survey):
    design = load_design(survey.design)
    result = locate(read_kobo(survey.form, survey.data), unit_column=design.unit_column)
    return store_survey(
        engine,
        result,
        design,
        city="DEMO",
        period="2024",
        sources=[survey.form, survey.data],
        data_dir=tmp_path / "data",
    ), design


def _expected_cells(barrios: int) -> int:
    by_sex = [s for s in survey_indicators() if "sex" in s.disaggregations]
    assert len(by_sex) == 9  # the person entries of the shipped catalogue estimated by sex
    return barrios * (3 * len(by_sex) + (len(survey_indicators()) - len(by_sex)))


def test_import_writes_parquet_and_one_batch_and_is_idempotent(world):
    tmp_path, engine, survey = world
    stored, _design = _import(tmp_path, engine, survey)
    assert stored.created
    # each import has its own folder, named by its batch, inside the survey's folder
    assert (
        stored.directory.parent
        == tmp_path / "data" / "surveys" / "DEMO" / "2024" / "encuesta_migrantes_demo"
    )
    assert {p.name for p in stored.directory.iterdir()} == {
        "main.parquet",
        "miembros.parquet",
        "issues.csv",
        "design.yaml",
    }
    again, _ = _import(tmp_path, engine, survey)
    assert not again.created and again.batch_id == stored.batch_id
    with transaction(engine) as session:
        batches = session.scalars(select(models.ImportBatch)).all()
        assert [(b.kind, b.status) for b in batches] == [("survey", "active")]
        assert batches[0].sha256 and batches[0].rows_read == survey.households + survey.members
        # microdata never enter the database's public tables
        assert session.scalar(select(func.count()).select_from(models.Observation)) == 0
    tables, design = load_survey("DEMO", "2024", "encuesta_migrantes_demo", tmp_path / "data")
    assert len(tables["main"]) == survey.households
    assert design.strata == "estrato_muestral"


def test_import_refuses_unknown_city(world):
    tmp_path, engine, survey = world
    result = read_kobo(survey.form, survey.data)
    with pytest.raises(SurveyError, match="no city 'LIMA'"):
        store_survey(
            engine,
            result,
            Design(weight="peso"),
            city="LIMA",
            period="2024",
            sources=[survey.data],
            data_dir=tmp_path / "data",
        )


def test_layers_become_observations_with_suppression(world):
    tmp_path, engine, survey = world
    stored, _ = _import(tmp_path, engine, survey)
    tables, design = load_survey("DEMO", "2024", "encuesta_migrantes_demo", tmp_path / "data")
    summary = write_layers(
        engine,
        tables,
        design,
        city="DEMO",
        period="2024",
        level="barrio",
        batch_id=stored.batch_id,
        min_n=30,
    )
    with transaction(engine) as session:
        observations = pd.read_sql(select(models.Observation), session.connection())
        indicators = session.scalars(select(models.Indicator.code)).all()
    assert set(indicators) == {i.code for i in survey_indicators()}
    assert summary.attrs["skipped"] == {}  # the demo form has every question the entries read
    assert set(observations["status"]) <= {"estimated", "suppressed"}
    suppressed = observations[observations["status"] == "suppressed"]
    assert suppressed["value"].isna().all() and not (observations["value"] == 0).all()
    assert suppressed["n"].isna().all()  # a hidden cell's count is not published either
    assert (observations.loc[observations["status"] == "estimated", "n"] >= 30).all()
    estimated = observations[observations["status"] == "estimated"]
    assert not estimated.empty
    assert (estimated["ci_low"] <= estimated["value"]).all()
    assert (estimated["standard_error"] > 0).all()
    # 4 barrios x (total + F + M) for the entries by sex, 4 x total for the others
    assert len(observations) == _expected_cells(barrios=4)
    # the stored value is the design-based domain estimate, recomputed independently
    frames = analysis_tables(tables, design)
    persons = frames["persons"].copy()
    persons["barrio"] = persons["unit_code"].str[:5]
    persons["ok"] = persons["afiliado_salud"].isin(["si"]).astype(float)
    direct = estimate(persons, design, "ok", by="barrio").set_index("barrio")
    row = summary[(summary["indicator"] == "mig_health_affiliation") & (summary["sex"] == "_T")]
    for record in row.itertuples():
        if record.status == "estimated":
            assert record.estimate == pytest.approx(100 * direct.loc[record.unit, "estimate"])
            assert record.se == pytest.approx(100 * direct.loc[record.unit, "se"])
    # re-running replaces instead of duplicating
    write_layers(engine, tables, design, city="DEMO", period="2024", level="barrio", min_n=30)
    with transaction(engine) as session:
        assert session.scalar(select(func.count()).select_from(models.Observation)) == len(
            observations
        )


def test_layers_with_census_covariates_from_the_store(world):
    tmp_path, engine, survey = world
    _import(tmp_path, engine, survey)
    tables, design = load_survey("DEMO", "2024", "encuesta_migrantes_demo", tmp_path / "data")
    with pytest.raises(SurveyError, match="No census values of census_x"):
        write_layers(
            engine,
            tables,
            design,
            city="DEMO",
            period="2024",
            level="barrio",
            sae_covariates=["census_x"],
        )
    with transaction(engine) as session:
        indicator = models.Indicator(code="census_x", name_es="x", name_en="x")
        period = session.scalar(select(models.Period).where(models.Period.code == "2024"))
        session.add(indicator)
        session.flush()
        barrios = session.scalars(
            select(models.SpatialUnit)
            .join(models.UnitLevel, models.UnitLevel.id == models.SpatialUnit.level_id)
            .where(models.UnitLevel.code == "barrio")
        ).all()
        ids = {"indicator_id": indicator.id, "period_id": period.id}
        session.add_all(
            models.Observation(unit_id=unit.id, value=float(k), n=100, status="observed", **ids)
            for k, unit in enumerate(barrios)
        )
    summary = write_layers(
        engine,
        tables,
        design,
        city="DEMO",
        period="2024",
        level="barrio",
        sae_covariates=["census_x"],
        min_n=10,
    )
    assert set(summary["method"]) <= {"direct", "fay_herriot"}
    assert len(summary) == _expected_cells(barrios=4)
