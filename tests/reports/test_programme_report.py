"""The donor report "Programme results": PDF in Spanish (read back with pdftotext, through the
CLI a user runs) and HTML in English, on the small programme of tests/web/programme_city.py.

By hand (see that module): people reached by the campaigns 950 of 2,000 (48 %), Colombia 800
of 1,400 (57 %), Ecuador 150 of 600 (25 %); 1 of 3 target cities has a published marker (the
only store city, TST, computed live); 14 of 15 public servants assessed improved (93 %); 3
active centres (the fourth is in preparation).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from inclusive_cities.cli import app
from inclusive_cities.i18n import use_language
from inclusive_cities.reports import ReportError
from inclusive_cities.reports.programme_report import programme_report, render_programme_html
from inclusive_cities.store import connect
from tests.web.programme_city import ProgrammeCity, programme_copy


@pytest.fixture(scope="module")
def programme(tmp_path_factory: pytest.TempPathFactory) -> ProgrammeCity:
    return programme_copy(tmp_path_factory, "report")


def plain(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_html_report_in_english(programme: ProgrammeCity) -> None:
    text = plain(render_programme_html(connect(programme.url), "en"))
    assert "Programme results" in text and "Inclusive Cities, Communities of Solidarity" in text
    assert re.search(
        r"People reached by anti-xenophobia campaigns — 2,000 950 48 % of the target", text
    )
    assert "Colombia" in text and "800 57 % of the target" in text
    assert "Ecuador" in text and "600 150 25 % of the target" in text
    assert "1 / 3 — Target cities with a published Urban Inclusion Marker" in text
    assert "93 %" in text and "15 people assessed" in text
    assert "3 Social Integration and Habitat Co-creation Centres are active" in text
    assert re.search(r"drafted 1 .*adopted 2", text)  # policies by stage: PL2; PL1 and PL3
    assert "Colombia 2 Ciudad Prueba, Medellín" in text and "Ecuador 2 Quito" in text
    # inclusion and diversity: C1 4, C2 3, C3 2, C4 1: two of four centres at 3 or 4
    assert "Inclusion and integration that respect diversity 2 of 4 50 %" in text
    # Medellín's 3 trained public servants are below the disclosure threshold
    medellin = text[text.index("Medellín (Colombia)") :]
    assert re.search(r"Public servants trained ● — — withheld", medellin)


def test_pdf_report_in_spanish_through_the_cli(programme: ProgrammeCity, tmp_path: Path) -> None:
    out = tmp_path / "programa.pdf"
    command = ["--database", programme.url, "--lang", "es", "report", "programme"]
    done = CliRunner().invoke(app, [*command, "--lang", "es", "--out", str(out)])
    assert done.exit_code == 0, done.output
    assert "Se escribió" in done.output and "páginas" in done.output
    text = subprocess.run(
        ["pdftotext", "-layout", str(out), "-"], capture_output=True, text=True, check=True
    ).stdout
    flat = re.sub(r"\s+", " ", text)
    assert "Resultados del programa" in flat
    assert "2.000 950 48 % de la meta" in flat
    assert "1.400 800 57 % de la meta" in flat
    assert "1 / 3 — Ciudades objetivo con un Marcador de Inclusión Urbana publicado" in flat
    assert "93 %" in flat


def test_a_report_must_be_pdf_or_html(programme: ProgrammeCity, tmp_path: Path) -> None:
    use_language("en")
    with pytest.raises(ReportError) as error:
        programme_report(connect(programme.url), tmp_path / "p.docx", "en")
    assert str(error.value) == "The output file must end in .pdf or .html, not 'p.docx'."
    assert not (tmp_path / "p.docx").exists()
