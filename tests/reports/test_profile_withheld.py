"""Reports print the marker scores the web withholds as withheld (trial finding F2).

The tiny city TST (tests/reports/conftest.py) scores six barrios; here the run also scores
the indicator ``health_insurance``, and barrio B3's all-groups health insurance rate rests on
6 people, so the web withholds it (fewer than 10) and every score normalised from it: B3's
index (55.5) and its five area scores (52, 58, 57, 54, 56; the run stores no recipe, so every
aggregate node goes). Ranked among the five published barrios, B4 (stored rank 4 of 6) is
3rd, B5 4th and B6 5th. The Human Mobility Profile's PDF and annex, the UIM report and B3's
fact sheet must never carry those figures, and must say "Withheld for confidentiality".
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine, select, update

from inclusive_cities import reports
from inclusive_cities.cache import CACHE
from inclusive_cities.disclosure.served import run_scores
from inclusive_cities.store import models, transaction
from tests.reports.conftest import BARRIOS, build_city

HIDDEN = "B3"
HIDDEN_SCORES = (55.5, 52.0, 58.0, 57.0, 54.0, 56.0)  # B3's index and areas, by hand
PUBLISHED_RANKS = {"B1": 1, "B2": 2, "B4": 3, "B5": 4, "B6": 5}


def withheld_city(url: str) -> Engine:
    engine = build_city(url)
    with transaction(engine) as s:
        run = s.scalar(select(models.MarkerRun))
        assert run is not None
        health = s.scalar(
            select(models.Indicator).where(models.Indicator.code == "health_insurance")
        )
        assert health is not None
        units = dict(s.execute(select(models.SpatialUnit.code, models.SpatialUnit.id)).all())
        for code, (_name, _parent, score, *_rest) in BARRIOS.items():
            s.add(
                models.MarkerScore(
                    run_id=run.id, unit_id=units[code], node_code="health_insurance", score=score
                )
            )
        s.execute(
            update(models.Observation)
            .where(
                models.Observation.indicator_id == health.id,
                models.Observation.unit_id == units[HIDDEN],
                models.Observation.nationality == models.TOTAL,
            )
            .values(n=6)
        )
    CACHE.clear()
    return engine


def pdf_text(path: Path) -> str:
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    return re.sub(r"\s+", " ", text)


def written(value: float, language: str) -> str:
    """A score as a report writes it, one decimal (comma in Spanish)."""
    text = f"{value:.1f}"
    return text.replace(".", ",") if language == "es" else text


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> tuple[Engine, Path]:
    out = tmp_path_factory.mktemp("withheld")
    return withheld_city(f"sqlite:///{out / 'observatory.db'}"), out


@pytest.fixture(scope="module")
def profile(city: tuple[Engine, Path]) -> reports.ReportResult:
    engine, out = city
    return reports.profile(engine, "TST", "2024", out / "perfil-es.pdf", language="es")


def test_the_web_withholds_b3_in_this_city(city: tuple[Engine, Path]) -> None:
    engine, _out = city
    with transaction(engine) as s:
        run = s.scalar(select(models.MarkerRun))
        assert run is not None
        scores = run_scores(s, run.id)
        codes = dict(s.execute(select(models.SpatialUnit.id, models.SpatialUnit.code)).all())
    withheld = {codes[int(u)] for u in scores.unit_ids[scores.is_withheld("UIM")]}
    assert withheld == {HIDDEN}


def test_profile_annex_never_holds_a_withheld_score(profile: reports.ReportResult) -> None:
    assert profile.annex is not None
    units = pd.read_excel(profile.annex, sheet_name="marker_units").set_index("code")
    row = units.loc[HIDDEN]
    assert row[["score", "rank", "VIV", "SAL", "EDU", "EPUB", "OPO"]].isna().all()
    assert pd.isna(row["level"])
    assert "Reservado por confidencialidad" in row["note"]
    published = units.drop(index=HIDDEN)
    assert published["rank"].astype(int).to_dict() == PUBLISHED_RANKS
    assert published["score"].to_dict() == {c: BARRIOS[c][2] for c in PUBLISHED_RANKS}
    for sheet in pd.read_excel(profile.annex, sheet_name=None).values():
        numbers = pd.to_numeric(sheet.stack(), errors="coerce").dropna()
        assert 55.5 not in set(numbers.round(2))


def test_profile_pdf_prints_withheld_and_ranks_among_published(
    profile: reports.ReportResult,
) -> None:
    assert profile.pdf is not None
    text = pdf_text(profile.pdf)
    assert written(55.5, "es") not in text
    assert "reservado por confidencialidad" in text
    # the lowest-scoring table: published units only, ranked among the five
    assert "Las 5 unidades con menor puntaje de 5." in text
    assert "No se muestran intervalos de posición" in text
    assert f"5 {BARRIOS['B6'][0]} (B6) {written(36.1, 'es')}" in text
    assert f"({HIDDEN})" not in text
    # the share of weak units is of the five published, and says so (trial #4 F19)
    flat = " ".join(text.split())
    assert "El marcador cubre 6 unidades" in flat and "5 de ellas con un nivel publicado" in flat


def test_marker_report_and_fact_sheet_say_withheld(city: tuple[Engine, Path]) -> None:
    engine, _out = city
    report = reports.render_marker_html(engine, "TST", "2024", language="en")
    sheet = reports.render_factsheets_html(engine, "TST", "2024", language="en", units=[HIDDEN])
    for value in HIDDEN_SCORES:
        assert f">{written(value, 'en')}<" not in report
    assert "withheld for confidentiality" in report.lower()
    # the sheet's score, level chip and rank, then each area's score (its city mean, over
    # the published barrios, may be printed: EDU's is 52.0 = (71+65+46+41+37)/5)
    assert "<div class='sheet-score'></div>" in sheet
    assert sheet.count("Withheld for confidentiality") == 2 + 5
    areas = re.findall(r"<tr><td>[^<]+</td><td class='num'>([^<]*)</td>", sheet)[:5]
    assert areas == ["Withheld for confidentiality"] * 5
    assert f">{written(55.5, 'en')}<" not in sheet


def test_the_plan_report_map_leaves_a_withheld_score_grey(city: tuple[Engine, Path]) -> None:
    """The plan report colours units by their index (a continuous scale prints the score)."""
    from inclusive_cities.reports.plan_report import marker_layer

    engine, _out = city
    with transaction(engine) as s:
        s.execute(update(models.MarkerRun).values(published=True))
    CACHE.clear()
    layer = marker_layer(engine, "TST")
    assert layer is not None
    scores = sorted(layer.units["score"].dropna().tolist())
    assert scores == sorted(BARRIOS[c][2] for c in PUBLISHED_RANKS)
    assert int(layer.units["score"].isna().sum()) == 1
