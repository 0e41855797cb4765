"""``marker build --spec uim-extended`` takes migration_governance_score from the city's
latest local assessment instead of an imported number (the rule in governance.marker_link)."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from inclusive_cities.cli import main
from inclusive_cities.governance import domain_evidence, resolve
from inclusive_cities.marker import load_spec
from inclusive_cities.store import init_database, models, transaction

PERIOD = "2024"


def _city_with_every_indicator(url: str) -> None:
    """Two barrios with a value of every uim-extended indicator in 2024, and an imported
    migration_governance_score of 10 that the assessment must replace."""
    spec = load_spec("uim-extended")
    engine = init_database(url)
    with transaction(engine) as session:
        city = models.City(code="DEMO", name="Ciudad Demo", country="COL")
        period = models.Period(code=PERIOD)
        session.add_all([city, period])
        session.flush()
        level = models.UnitLevel(city_id=city.id, code="barrio", depth=0)
        session.add(level)
        session.flush()
        units = [
            models.SpatialUnit(city_id=city.id, level_id=level.id, code=code)
            for code in ("0101", "0102")
        ]
        session.add_all(units)
        session.flush()
        for indicator in spec.indicators():
            row = models.Indicator(code=indicator.code, name_es=indicator.code, name_en="x")
            session.add(row)
            session.flush()
            posts = spec.normalisation_for(indicator)
            for share, unit in zip((0.25, 0.75), units, strict=True):
                value = posts.lower + share * (posts.upper - posts.lower)
                if indicator.code == "migration_governance_score":
                    value = 10.0
                if indicator.code == "pop_within_2km_protection_centre":
                    value = 40.0
                session.add(
                    models.Observation(
                        indicator_id=row.id, unit_id=unit.id, period_id=period.id, value=value
                    )
                )


def _run(*args: str) -> None:
    try:
        main(list(args))
    except SystemExit as stop:
        assert stop.code in (0, None), args


def test_marker_build_takes_the_assessment_score(sqlite_url: str, tmp_path: Path) -> None:
    _city_with_every_indicator(sqlite_url)
    template = tmp_path / "evaluation.xlsx"
    _run("--database", sqlite_url, "governance", "template", "--lang", "en", "--out", str(template))
    book = load_workbook(template)
    book["Assessment"]["B3"] = "2024-05-31"
    answers = {"R04": "no", "R05": 2, "B04": "not applicable", "B05": 4}
    for row in book["Answers"].iter_rows(min_row=2):
        row[6].value = answers.get(str(row[0].value), "yes")
        row[7].value = "Decreto 12"
    book.save(template)
    _run("--database", sqlite_url, "governance", "import", str(template), "--city", "DEMO")
    _run(
        "--database",
        sqlite_url,
        "marker",
        "build",
        "--city",
        "DEMO",
        "--period",
        PERIOD,
        "--spec",
        "uim-extended",
        "--level",
        "barrio",
    )
    # by hand: every question is 'yes' (1) except in Migrants' rights, where R04 'no' (0) and
    # R05 = 2 on 0-4 (0.5) make equal treatment 0.25 and access (3 yes) 1: the domain is
    # (1 + 0.25) / 2 = 62.5; B04 is not applicable and B05 = 4 of 4 keeps well-being at 100.
    # Overall = (62.5 + 5 * 100) / 6 = 93.75
    overall = (62.5 + 5 * 100) / 6
    engine = init_database(sqlite_url)
    with Session(engine) as session:
        values = session.scalars(
            select(models.Observation.value)
            .join(models.Indicator, models.Indicator.id == models.Observation.indicator_id)
            .where(models.Indicator.code == "migration_governance_score")
        ).all()
        g_ins = session.scalars(
            select(models.MarkerScore.score).where(models.MarkerScore.node_code == "G_INS")
        ).all()
    assert values == pytest.approx([overall, overall])
    # beside the evidence: the whole-of-government domain links G_INS and the indicator
    result = resolve(engine, None, city="DEMO")
    whole = next(d for d in domain_evidence(engine, result) if d.domain == "WHOLE_GOV")
    assert (whole.spec, whole.period) == ("uim-extended", PERIOD)
    assert [(v.code, v.value) for v in whole.areas] == [
        ("G_INS", pytest.approx((overall + 40) / 2))
    ]
    # the assessment's own score is no evidence of itself (and a period's value may be an
    # older assessment's, issue #19): the linked indicator is left out
    assert whole.indicators == []
    # two areas named "Refugee and migrant population" are told apart by their parent
    wellbeing = next(d for d in domain_evidence(engine, result) if d.domain == "WELLBEING")
    assert [v.name.es for v in wellbeing.areas][2:] == [
        "Esperanza de vida (considerando brecha de género) › Población refugiada y migrante",
        "Nivel educativo (considerando brecha de género) › Población refugiada y migrante",
    ]
    unpublished = domain_evidence(engine, result, published_only=True)
    assert unpublished[1].run_id is None and unpublished[1].areas[0].value is None
    # G_INS = mean of the two goalpost-normalised (0-100) indicators: the score and 40 %
    assert g_ins == pytest.approx([(overall + 40.0) / 2] * 2)


def test_the_assessment_in_force_for_a_period() -> None:
    from datetime import date

    from inclusive_cities.governance.marker_link import in_force, period_end

    def local(day: str, ident: int) -> models.GovernanceAssessment:
        return models.GovernanceAssessment(id=ident, assessed_on=date.fromisoformat(day))

    assessments = [local("2022-11-30", 1), local("2024-06-30", 2), local("2025-02-01", 3)]
    year = models.Period(code="2024")
    dated = models.Period(code="censo", end_date=date(2023, 3, 31))
    round_ = models.Period(code="ronda-3")
    assert period_end(year) == date(2024, 12, 31)
    assert [in_force(assessments, p).id for p in (year, dated, round_)] == [2, 1, 3]  # type: ignore[union-attr]
    assert in_force(assessments, models.Period(code="2021")) is None


def _assessment(sqlite_url: str, path: Path, day: str, answer: str) -> Path:
    _run("--database", sqlite_url, "governance", "template", "--lang", "en", "--out", str(path))
    book = load_workbook(path)
    book["Assessment"]["B3"] = day
    for row in book["Answers"].iter_rows(min_row=2):
        scale = str(row[4].value).startswith("scale")
        row[6].value = (4 if answer == "yes" else 0) if scale else answer
        row[7].value = "Decreto 12"
    book.save(path)
    return path


def test_a_new_score_names_the_public_layer_and_the_runs_it_changes(
    sqlite_url: str, tmp_path: Path
) -> None:
    """Trial #5 T15: a second 2024 assessment (every answer "no") rewrote the published
    governance layer and left the 2024 uim-extended run stale, with no word."""
    from inclusive_cities.governance.importer import import_assessment
    from inclusive_cities.store.web_models import PublishedLayer

    _city_with_every_indicator(sqlite_url)
    first = _assessment(sqlite_url, tmp_path / "may.xlsx", "2024-05-31", "yes")
    _run("--database", sqlite_url, "governance", "import", str(first), "--city", "DEMO")
    _run(
        *("--database", sqlite_url, "marker", "build", "--city", "DEMO", "--period", PERIOD),
        *("--spec", "uim-extended", "--level", "barrio"),
    )
    engine = init_database(sqlite_url)
    with transaction(engine) as session:
        ids = {
            "city_id": session.scalar(select(models.City.id)),
            "period_id": session.scalar(select(models.Period.id)),
            "indicator_id": session.scalar(
                select(models.Indicator.id).where(
                    models.Indicator.code == "migration_governance_score"
                )
            ),
        }
        session.add(PublishedLayer(**ids))
        run_id = session.scalar(select(models.MarkerRun.id))
    same = import_assessment(engine, first, city="DEMO")  # the same score: nothing to say
    assert same.stale == ()
    second = _assessment(sqlite_url, tmp_path / "dec.xlsx", "2024-12-01", "no")
    summary = import_assessment(engine, second, city="DEMO")
    lines = "\n".join(summary.summary_lines("en"))
    assert "published layer of migration_governance_score for 2024" in lines
    assert (
        f"Marker runs computed with the earlier score: run {run_id} (uim-extended, 2024)" in lines
    )


def test_an_assessment_after_every_period_says_it_applies_to_none_yet(
    sqlite_url: str, tmp_path: Path
) -> None:
    """Trial #5 T20: an assessment dated 2026 said the marker "now takes this score" though
    the store's only period, 2024, keeps the 2024 assessment's."""
    from inclusive_cities.governance.importer import import_assessment

    _city_with_every_indicator(sqlite_url)
    engine = init_database(sqlite_url)
    may = import_assessment(
        engine, _assessment(sqlite_url, tmp_path / "may.xlsx", "2024-05-31", "yes"), city="DEMO"
    )
    assert may.periods == ("2024",)
    assert "takes this score in 2024." in "\n".join(may.summary_lines("en"))
    later = import_assessment(
        engine, _assessment(sqlite_url, tmp_path / "later.xlsx", "2026-02-01", "no"), city="DEMO"
    )
    assert later.periods == () and later.stale == ()
    lines = "\n".join(later.summary_lines("en"))
    assert "No period of the observatory takes this score yet" in lines
    assert "takes this score in" not in lines
