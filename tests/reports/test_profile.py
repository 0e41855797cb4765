"""The Human Mobility Profile as PDF in both languages, checked through pdftotext."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine

from inclusive_cities import reports
from inclusive_cities.i18n import use_language
from inclusive_cities.reports.labels import labels
from tests.reports.conftest import CITY_SCORE

SECTION_KEYS = [
    "summary",
    "context",
    "demographics",
    "rights",
    "marker",
    "governance",
    "recommendations",
    "methods",
]


def pdf_pages(path: Path) -> list[str]:
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    return text.split("\f")[:-1]


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text)


@pytest.fixture(scope="module")
def built(
    tmp_path_factory: pytest.TempPathFactory, city_engine: Engine, hfs_rounds: pd.DataFrame
) -> dict[str, tuple[reports.ReportResult, list[str]]]:
    out = tmp_path_factory.mktemp("profile")
    results = {}
    for language in ("es", "en"):
        result = reports.profile(
            city_engine,
            "TST",
            "2024",
            out / f"perfil-{language}.pdf",
            language=language,
            hfs=hfs_rounds,
        )
        results[language] = (result, pdf_pages(result.pdf))
    return results


def latest_city(hfs: pd.DataFrame) -> pd.DataFrame:
    return hfs[(hfs["round"] == "R3") & (hfs["city"] == "TST")]


def test_pdf_pages_and_section_headings(built: dict) -> None:
    for language, (result, pages) in built.items():
        assert result.pages == len(pages)
        use_language(language)
        titles = labels()
        starts = []
        for position, key in enumerate(SECTION_KEYS, start=1):
            heading = f"{position}. {titles[key]}"
            found = [i for i, page in enumerate(pages) if heading in squash(page)]
            assert found, f"{heading} missing in the {language} PDF"
            starts.append(found[-1])  # the contents page lists it first
        assert starts == sorted(starts)
        # cover, contents, then 7 sections that each open a page (governance shares one)
        assert len(pages) >= 9
        assert titles["contents"] in pages[1]
        assert titles["synthetic_banner"] in pages[2]  # running header on inner pages
    use_language("en")


def test_figures_computed_independently_appear(built: dict, hfs_rounds: pd.DataFrame) -> None:
    r3 = latest_city(hfs_rounds)
    persons = (r3["weight"] * r3["household_size"]).sum()
    regular = r3.loc[r3["regular_status"] == "regular", "weight"].sum() / r3["weight"].sum()
    en = squash(" ".join(built["en"][1]))
    es = squash(" ".join(built["es"][1]))
    assert f"{persons:,.0f} refugees and migrants" in en
    assert f"{persons:,.0f}".replace(",", ".") + " personas refugiadas" in es
    assert f"{100 * regular:.0f}%" in en
    # the city beside every surveyed city (national domain of the same round)
    everyone = hfs_rounds[hfs_rounds["round"] == "R3"]
    national = (
        everyone.loc[everyone["regular_status"] == "regular", "weight"].sum()
        / everyone["weight"].sum()
    )
    stayers = r3.loc[(r3["origin_country"] == "VEN") & (r3["intention"] == "stay"), "weight"]
    assert f"Venezuela Villa Prueba {stayers.sum():,.0f} " in en  # origin → destination table
    row = rf"Regular status {100 * regular:.1f}% \S+ – \S+ {100 * national:.1f}% \S+ – \S+"
    assert re.search(row, en)
    # health insurance pooled with n: host sum((90-i)*200)/1200 = 87.5, migrants 57.5
    assert "87.5 57.5 30.0 %" in en
    assert "87,5 57,5 30,0 %" in es
    # unemployment (lower is better): host 10.0, migrants sum((18+i)*40)/240 = 20.5
    assert "10.0 20.5 10.5 %" in en
    assert f"{CITY_SCORE:.1f}".replace(".", ",") in es
    # weakest unit with its rank interval from the run's parameters
    assert "6 Brisas del Río (B6) 36.1 Very weak 5–6" in en


def test_spanish_pdf_has_no_english_heading(built: dict) -> None:
    es_text = squash(" ".join(built["es"][1]))
    use_language("es")
    spanish = labels()
    use_language("en")
    english = labels()
    leaked = [
        english[k]
        for k in english
        if english[k] != spanish[k] and len(english[k]) > 12 and english[k] in es_text
    ]
    assert leaked == []
    for key in SECTION_KEYS:
        assert english[key] not in es_text


def test_recommendations_follow_the_figures(built: dict, hfs_rounds: pd.DataFrame) -> None:
    result, pages = built["en"]
    ids = [r.id for r in result.recommendations]
    assert "health_affiliation" in ids  # gap of 30 points >= 10
    assert "weak_neighbourhoods" in ids  # 3 of 6 units weak or very weak = 50%
    assert ids.index("health_affiliation") < ids.index("weakest_area")  # high before low
    text = squash(" ".join(pages))
    assert "their enrolment rate is 30 percentage points below" in text


def test_annex_holds_the_figures(built: dict) -> None:
    result, _pages = built["en"]
    book = pd.read_excel(result.annex, sheet_name=None)
    assert {
        "about",
        "hfs_figures",
        "rights_gaps",
        "marker_units",
        "recommendations",
        "flows",
    } <= set(book)
    gaps = book["rights_gaps"].set_index("indicator")
    assert gaps.loc["health_insurance", "disadvantage"] == pytest.approx(30.0)
    assert len(book["marker_units"]) == 6
