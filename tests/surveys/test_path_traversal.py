"""``survey import`` never writes outside the data folder, and bad survey inputs are one line.

Probing found that ``--period ../../../../tmp/x`` (and ``--survey``) wrote refugee and
migrant microdata outside the data folder. Every identifier that becomes a folder is now
checked against one strict pattern, at the CLI and again where the path is built.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import select

from inclusive_cities.cli import main
from inclusive_cities.ingest.identifiers import IdentifierError
from inclusive_cities.store import models, transaction
from inclusive_cities.surveys import SurveyError, load_design
from inclusive_cities.surveys.demo_survey import generate_demo_survey
from inclusive_cities.surveys.kobo import locate, read_form, read_kobo
from inclusive_cities.surveys.storage import load_survey, store_survey, survey_dir
from tests.ingest.conftest import files_under, snapshot

from .helpers import tiny_boundaries, tiny_store


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("traversal")
    boundaries = tiny_boundaries(root / "boundaries.gpkg")
    return boundaries, generate_demo_survey(boundaries, root / "survey", households=60, take=8)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    try:
        main(["--lang", "en", *argv])
        code = 0
    except SystemExit as stop:
        code = int(stop.code or 0)
    out, err = capsys.readouterr()
    return code, out + err


@pytest.mark.parametrize(
    ("option", "value", "fragment"),
    [
        ("--period", "../../../../tmp/x", "--period '../../../../tmp/x' is not a valid code"),
        ("--period", "..", "--period '..' is not a valid code"),
        ("--period", "", "--period is empty"),
        ("--period", "20x4", "--period '20x4' is not a period"),
        ("--survey", "../../../escape", "--survey '../../../escape' is not a valid code"),
        ("--survey", "a/b", "--survey 'a/b' is not a valid code"),
        ("--city", "../DEMO", "--city '../DEMO' is not a valid code"),
    ],
)
def test_identifiers_that_would_escape_are_refused(
    tmp_path: Path,
    files,
    capsys: pytest.CaptureFixture[str],
    option: str,
    value: str,
    fragment: str,
) -> None:  # type: ignore[no-untyped-def]
    boundaries, survey = files
    work = tmp_path / "work"
    url = f"sqlite:///{tmp_path / 'obs.db'}"
    engine = tiny_store(url, boundaries)
    data = work / "data"
    data.mkdir(parents=True)
    options = {"--city": "DEMO", "--period": "2024", "--survey": "encuesta", option: value}
    before, listing = snapshot(engine), files_under(tmp_path)
    code, text = run(
        capsys,
        "--database", url, "survey", "import", str(survey.form), str(survey.data),
        "--design", str(survey.design), "--data-dir", str(data),
        *[part for pair in options.items() for part in pair],
    )  # fmt: skip
    line = " ".join(text.split())
    assert code == 1, text
    assert fragment in line and "Unexpected" not in line, line
    assert text.strip().count("\n") == 0, text
    assert snapshot(engine) == before
    # nothing written inside or outside the data folder (../../../../tmp/x from
    # data/surveys/DEMO would land in tmp_path/tmp/x)
    assert files_under(tmp_path) == listing


def test_path_building_functions_refuse_escapes(tmp_path: Path) -> None:
    for city, period, name in (
        ("DEMO", "../../x", "s"),
        ("DEMO", "2024", "../s"),
        ("..", "2024", "s"),
        ("DEMO", "2024", ""),
        ("DEMO", "2024", "a\\b"),
    ):
        with pytest.raises(IdentifierError):
            survey_dir(city, period, name, tmp_path)
        with pytest.raises(IdentifierError):
            load_survey(city, period, name, tmp_path)
    assert survey_dir("DEMO", "2024", "s", tmp_path) == tmp_path / "surveys/DEMO/2024/s"


def test_unsafe_form_id_needs_survey_name(tmp_path: Path, files) -> None:  # type: ignore[no-untyped-def]
    boundaries, survey = files
    form = tmp_path / "form.xlsx"
    shutil.copy(survey.form, form)
    book = openpyxl.load_workbook(form)
    settings = book["settings"]
    header = [c.value for c in settings[1]]
    settings.cell(row=2, column=header.index("form_id") + 1, value="../../evil")
    book.save(form)
    engine = tiny_store(f"sqlite:///{tmp_path / 'obs.db'}", boundaries)
    design = load_design(survey.design)
    result = locate(read_kobo(form, survey.data), unit_column=design.unit_column)
    with pytest.raises(SurveyError, match=r"form id '\.\./\.\./evil' cannot name"):
        store_survey(
            engine, result, design, city="DEMO", period="2024", sources=[form, survey.data],
            data_dir=tmp_path / "data",
        )  # fmt: skip
    assert not (tmp_path / "evil").exists() and not (tmp_path / "data").exists()


def test_same_files_for_another_period_are_imported(tmp_path: Path, files) -> None:  # type: ignore[no-untyped-def]
    boundaries, survey = files
    engine = tiny_store(f"sqlite:///{tmp_path / 'obs.db'}", boundaries)
    design = load_design(survey.design)
    result = locate(read_kobo(survey.form, survey.data), unit_column=design.unit_column)
    stored = {}
    for period in ("2024", "2025", "2024"):
        stored[period] = store_survey(
            engine, result, design, city="DEMO", period=period,
            sources=[survey.form, survey.data], data_dir=tmp_path / "data",
        )  # fmt: skip
    assert stored["2025"].created  # was "already imported": nothing written for 2025
    assert not stored["2024"].created  # the same period again is still a no-op
    with transaction(engine) as session:
        rows = session.execute(
            select(models.Period.code, models.ImportBatch.status)
            .join(models.Period, models.Period.id == models.ImportBatch.period_id)
            .where(models.ImportBatch.kind == "survey")
        ).all()
    assert sorted(rows) == [("2024", "active"), ("2025", "active")]
    tables, _design = load_survey("DEMO", "2025", "encuesta_migrantes_demo", tmp_path / "data")
    assert len(tables["main"]) == survey.households


def test_missing_form_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(SurveyError, match=r"The form file .*nope\.xlsx does not exist"):
        read_form(tmp_path / "nope.xlsx")
    with pytest.raises(SurveyError, match=r"is a folder"):
        read_form(tmp_path)
