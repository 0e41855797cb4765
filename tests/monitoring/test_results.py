"""Programme results (issue #18 §1): computed indicators are queries, typed ones come from the
template or a 5W export, people counts are disclosure-controlled, exports validate (IATI 2.03).

The store is built in code: one store city (TST) with three neighbourhoods, two of them with
observations, a published marker run and a published human-mobility layer; two results-only
cities (MED in Colombia, QTO in Ecuador). Expected figures are worked out by hand below.
"""

from __future__ import annotations

import csv
import re
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from inclusive_cities import monitoring
from inclusive_cities.cli import app
from inclusive_cities.monitoring.computed_store import PROFILE_ACTION
from inclusive_cities.monitoring.entry import import_5w, import_template, write_template
from inclusive_cities.monitoring.exports import export, validate_iati
from inclusive_cities.store import init_database, models, transaction
from inclusive_cities.store.monitoring_models import IndicatorValue
from inclusive_cities.store.web_models import AuditEntry, PublishedLayer

TYPED = "people_reached_campaigns"


def build(url: str, results_only_cities: bool = True) -> Engine:
    """The tiny store and programme described in the module docstring."""
    engine = init_database(url)
    with transaction(engine) as session:
        city = models.City(code="TST", name="Ciudad Prueba", country="COL")
        session.add(city)
        session.flush()
        top = models.UnitLevel(city_id=city.id, code="localidad", depth=0)
        barrio = models.UnitLevel(city_id=city.id, code="barrio", depth=1)
        session.add_all([top, barrio])
        session.flush()
        units = [
            models.SpatialUnit(city_id=city.id, level_id=barrio.id, code=f"B{i}", name=f"B{i}")
            for i in range(3)
        ]
        session.add_all(units)
        period = models.Period(
            code="2024", start_date=date(2024, 1, 1), end_date=date(2024, 12, 31)
        )
        population = models.Indicator(code="population", name_es="Población", name_en="Population")
        venezuelan = models.Indicator(
            code="venezuelan_population", name_es="Población venezolana", name_en="Venezuelans"
        )
        session.add_all([period, population, venezuelan])
        session.flush()
        for unit in units[:2]:
            session.add(
                models.Observation(
                    indicator_id=population.id, unit_id=unit.id, period_id=period.id, value=999
                )
            )
        session.add(
            models.MarkerRun(
                city_id=city.id,
                period_id=period.id,
                spec_code="uim-basic",
                spec_hash="x",
                input_hash="y",
                software_version="t",
                published=True,
            )
        )
        session.add(
            PublishedLayer(city_id=city.id, period_id=period.id, indicator_id=venezuelan.id)
        )
        # its Human Mobility Profile of 2024 was written (what `report profile` records)
        session.add(
            AuditEntry(action=PROFILE_ACTION, target="city:TST", details={"period": "2024"})
        )
        programme = monitoring.install_framework(session, monitoring.load_framework())
        monitoring.add_target_city(
            session,
            programme,
            "TST",
            "Ciudad Prueba",
            "COL",
            store_city="TST",
            longitude=-72.48,
            latitude=7.9,
        )
        if not results_only_cities:
            return engine
        monitoring.add_target_city(
            session,
            programme,
            "MED",
            "Medellín",
            "COL",
            adm1="Antioquia",
            longitude=-75.56,
            latitude=6.25,
        )
        monitoring.add_target_city(
            session, programme, "QTO", "Quito", "ECU", longitude=-78.47, latitude=-0.18
        )
    return engine


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    return build(f"sqlite:///{tmp_path_factory.mktemp('programme')}/p.db")


def fill(path: Path, rows: list[list[object]], sheet: str = "valores") -> None:
    book = load_workbook(path)
    values = book[sheet]
    values.delete_rows(2, values.max_row)
    for row in rows:
        values.append(row)
    book.save(path)


def stored(engine: Engine) -> int:
    with transaction(engine) as session:
        return len(session.scalars(select(IndicatorValue)).all())


def test_computed_indicators_are_queries_and_typed_actuals_for_them_are_refused(
    engine: Engine,
) -> None:
    with transaction(engine) as session:
        monitoring.set_value(
            session, "inclusive_cities", "cities_with_marker", "MED", "2025", "actual", 1
        )
        monitoring.set_value(
            session, "inclusive_cities", "cities_with_marker", "QTO", "2025", "actual", 0
        )
        monitoring.set_value(
            session, "inclusive_cities", "cities_with_marker", "TST", "2025", "target", 1
        )
        with pytest.raises(monitoring.MonitoringError, match="computed from the observatory"):
            monitoring.set_value(
                session, "inclusive_cities", "cities_with_marker", "TST", "2025", "actual", 0
            )
        # F2-11: a per-city yes/no indicator is 0 or 1, people are whole, shares 0-100
        with pytest.raises(monitoring.MonitoringError, match=r"must be 1 \(yes\) or 0 \(no\)"):
            monitoring.set_value(
                session, "inclusive_cities", "cities_with_marker", "MED", "2025", "actual", 5
            )
        with pytest.raises(monitoring.MonitoringError, match="whole number of people"):
            monitoring.set_value(session, "inclusive_cities", TYPED, "MED", "2025", "actual", 2.5)
    report = monitoring.results(engine, period="2025", lang="en")
    tst = report.row("cities_with_marker", city="TST", country="COL")
    assert (tst.actual, tst.computed, tst.target, tst.progress) == (1.0, True, 1.0, 1.0)
    # two of the three barrios have observations by the end of 2025
    assert report.row("neighbourhoods_covered", city="TST", country="COL").actual == 2.0
    assert report.row("cities_with_mobility_profile", city="TST", country="COL").actual == 1.0
    # TST (computed) and MED (typed) have a marker, QTO not: 2 of 3
    assert report.row("cities_with_marker").actual == 2.0
    assert "Target cities with a published Urban Inclusion Marker: 2 of 3" in report.lines
    # the marker of 2024 did not exist yet in 2023: the query follows the period
    early = monitoring.results(engine, period="2023", lang="es")
    assert early.row("cities_with_marker", city="TST", country="COL").actual == 0.0
    assert "Ciudades objetivo con un Marcador de Inclusión Urbana publicado: 0 de 3" in early.lines


def test_workshops_and_plan_projects_are_counted_in_their_period(tmp_path: Path) -> None:
    """Workshops held on 2025-02-10, 2025-09-01 and 2026-01-15: one in 2025-S1, two in 2025.
    Plan items: done ending 2025-05-31, done without an end date, done ending 2026-03-01,
    approved: 2 done by the end of 2025-S1 and 3 by the end of 2026."""
    from inclusive_cities.store.plan_models import TerritorialPlan, TerritorialPlanItem
    from inclusive_cities.store.workshop_models import Workshop

    engine = build(f"sqlite:///{tmp_path}/w.db", results_only_cities=False)
    with transaction(engine) as session:
        city_id = session.scalar(select(models.City.id).where(models.City.code == "TST"))
        for code, day in [
            ("T-1", date(2025, 2, 10)),
            ("T-2", date(2025, 9, 1)),
            ("T-3", date(2026, 1, 15)),
        ]:
            session.add(Workshop(city_id=city_id, code=code, held_on=day))
        plan = TerritorialPlan(city_id=city_id, code="PIT", period="2025-2026")
        session.add(plan)
        session.flush()
        for code, status, end in [
            ("P1", "done", date(2025, 5, 31)),
            ("P2", "done", None),
            ("P3", "done", date(2026, 3, 1)),
            ("P4", "approved", None),
        ]:
            session.add(
                TerritorialPlanItem(
                    plan_id=plan.id, code=code, type="housing", status=status, end_date=end
                )
            )
    counts = {}
    for period in ("2025-S1", "2025", "2026"):
        report = monitoring.results(engine, period=period)
        counts[period] = (
            report.row("workshops_held", city="TST", country="COL").actual,
            report.row("projects_done", city="TST", country="COL").actual,
        )
    assert counts == {"2025-S1": (1, 2), "2025": (2, 2), "2026": (1, 3)}


def test_template_round_trip_with_missing_codes_and_one_line_errors(
    engine: Engine, tmp_path: Path
) -> None:
    path = write_template(engine, tmp_path / "plantilla.xlsx", lang="es", city="MED", period="2025")
    book = load_workbook(path)
    assert book.sheetnames == ["instrucciones", "valores", "indicadores"]
    header = [c.value for c in book["valores"][1]]
    assert header[:5] == ["indicador", "nombre_indicador", "ciudad", "periodo", "tipo"]
    rows = [
        [TYPED, "", "", "2025", "meta", "", "", "", "", 400],
        [TYPED, "", "", "2025", "real", "", "", "", "", "1.250"],  # Spanish thousands
        [TYPED, "", "", "2025", "real", "mujer", "", "", "", 700],
        [TYPED, "", "", "2025", "real", "hombre", "", "", "", -999],  # missing code
        [TYPED, "", "", "2025", "linea_base", "", "", "", "", 999],  # missing code
    ]
    fill(path, rows)
    before = stored(engine)
    summary = import_template(engine, path, target_city="Medellín", user="ana")
    assert (summary.rows_read, summary.values_written, summary.rows_missing) == (5, 3, 2)
    assert stored(engine) == before + 3
    import_template(engine, path, target_city="MED")  # re-import: same cells replaced
    assert stored(engine) == before + 3
    report = monitoring.results(engine, period="2025", lang="es")
    med = report.row(TYPED, city="MED", country="COL")
    assert (med.target, med.actual, med.progress) == (400.0, 1250.0, 1250 / 400)
    # a bad cell stops the whole file, names file, row, column and value, changes nothing
    rows[2][5] = "x"
    rows.append([TYPED, "", "QTO", "2025", "real", "", "", "", "", 5])
    fill(path, rows)
    with pytest.raises(monitoring.MonitoringError) as error:
        import_template(engine, path, target_city="MED")
    assert str(error.value).startswith("plantilla.xlsx, row 4, column 'sexo', value 'x'")
    assert "\n" not in str(error.value)
    assert stored(engine) == before + 3
    # --city names the observatory's city: TST is the store city behind target city TST
    store_file = write_template(engine, tmp_path / "tst.xlsx", lang="en", city="TST", period="2025")
    fill(store_file, [[TYPED, "", "", "2025", "target", "", "", "", "", 1000]], sheet="values")
    assert import_template(engine, store_file, city="TST").cities == {"TST"}
    with pytest.raises(monitoring.MonitoringError, match="NOPE of the observatory"):
        import_template(engine, store_file, city="NOPE")
    # another city's row in a file imported for MED is refused
    rows[2][5] = ""
    fill(path, rows)
    with pytest.raises(monitoring.MonitoringError, match="row 7, column 'ciudad'"):
        import_template(engine, path, target_city="MED")


def test_small_counts_of_people_are_withheld_with_a_second_cell(engine: Engine) -> None:
    """COL has TST = 7 (under the threshold of 10) and MED = 1,250; COL's total 1,257 is
    published, so MED must be withheld too (else TST = 1,257 - 1,250). QTO = 40, alone in
    ECU, is not under the threshold, and the programme total 1,297 is published."""
    with transaction(engine) as session:
        monitoring.set_value(session, "inclusive_cities", TYPED, "TST", "2025", "actual", 7)
        monitoring.set_value(session, "inclusive_cities", TYPED, "QTO", "2025", "actual", 40)
    report = monitoring.results(engine, period="2025")
    tst = report.row(TYPED, city="TST", country="COL")
    med = report.row(TYPED, city="MED", country="COL")
    assert (tst.actual, tst.withheld) == (None, True)
    assert (med.actual, med.withheld) == (None, True)
    assert report.row(TYPED, country="COL").actual == 1257.0
    assert report.row(TYPED, city="QTO", country="ECU").actual == 40.0
    assert report.row(TYPED).actual == 1297.0


def test_5w_export_adds_rows_of_a_month_and_is_safe_to_re_import(
    engine: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "5w_r4v.csv"
    header = [
        "Appealing organisation",
        "Implementing partner",
        "Month",
        "Country",
        "Admin1",
        "Admin2",
        "Sector",
        "Indicator",
        "Activity Name",
        "Total monthly beneficiaries",
        "New beneficiaries of the month",
        "Refugees and Migrants IN DESTINATION",
        "Refugees and Migrants IN TRANSIT",
        "Host Communities Beneficiaries",
        "Women under 18",
        "Men under 18",
        "Women above 18",
        "Men above 18",
    ]
    rows = [
        [
            "UN-Habitat",
            "Fundación A",
            "2025-03",
            "Ecuador",
            "Pichincha",
            "Quito",
            "Integration",
            TYPED,
            "Mural",
            90,
            60,
            30,
            10,
            20,
            5,
            5,
            30,
            20,
        ],
        [
            "UN-Habitat",
            "Fundación B",
            "March 2025",
            "Ecuador",
            "Pichincha",
            "Quito",
            "Integration",
            TYPED,
            "Feria",
            50,
            40,
            20,
            "",
            20,
            0,
            0,
            25,
            15,
        ],
        [
            "UN-Habitat",
            "",
            "2025-03",
            "Ecuador",
            "Pichincha",
            "Quito",
            "Integration",
            TYPED,
            "Sin dato",
            999,
            999,
            "",
            "",
            "",
            "",
            "",
            "",
            "",
        ],
    ]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(header)
        writer.writerows(rows)
    summary = import_5w(engine, path)
    assert (summary.rows_read, summary.rows_missing) == (3, 1)
    import_5w(engine, path)
    with transaction(engine) as session:
        cells = {
            (v.sex, v.age_group, v.nationality): v.value
            for v in session.scalars(
                select(IndicatorValue).where(IndicatorValue.period == "2025-03")
            )
        }
    assert cells[("_T", "_T", "_T")] == 60 + 40
    assert cells[("female", "_T", "_T")] == (5 + 30) + (0 + 25)
    assert cells[("male", "_T", "_T")] == (5 + 20) + (0 + 15)
    assert cells[("_T", "0-17", "_T")] == 10 + 0
    assert cells[("_T", "_T", "refugee_migrant")] == (30 + 10) + 20
    assert cells[("_T", "_T", "host")] == 20 + 20
    bad = tmp_path / "5w_bad.csv"
    bad.write_text(
        f"Month,Admin2,Indicator,New beneficiaries of the month\n2025-13,Quito,{TYPED},4\n",
        encoding="utf-8",
    )
    with pytest.raises(
        monitoring.MonitoringError, match=re.escape("5w_bad.csv, row 2, column 'Month'")
    ):
        import_5w(engine, bad)


def test_5w_counts_with_thousands_separators_are_thousands(engine: Engine, tmp_path: Path) -> None:
    """Trial #3 F3: an English 5W export writes "2,000" people; it was read as 2.0 and the
    month's actual came out 852 instead of 2,850. A fraction of a person is refused by cell."""
    path = tmp_path / "5w_thousands.csv"
    path.write_text(
        "Month,Admin2,Indicator,New beneficiaries of the month,Women above 18,Men above 18\n"
        f'2025-07,Quito,{TYPED},"2,000","1,000","1,000"\n'
        f"July 2025,Quito,{TYPED},850,400,450\n"
        f'2025-07,Quito,{TYPED},"1.250","600","650"\n',
        encoding="utf-8",
    )
    import_5w(engine, path)
    with transaction(engine) as session:
        cells = {
            (v.sex, v.age_group): v.value
            for v in session.scalars(
                select(IndicatorValue).where(
                    IndicatorValue.period == "2025-07", IndicatorValue.nationality == "_T"
                )
            )
        }
    assert cells[("_T", "_T")] == 2000 + 850 + 1250
    assert cells[("female", "_T")] == 1000 + 400 + 600
    bad = tmp_path / "5w_fraction.csv"
    bad.write_text(
        f'Month,Admin2,Indicator,New beneficiaries of the month\n2025-08,Quito,{TYPED},"12,5"\n',
        encoding="utf-8",
    )
    with pytest.raises(
        monitoring.MonitoringError,
        match=re.escape("5w_fraction.csv, row 2, column 'New beneficiaries of the month'"),
    ) as caught:
        import_5w(engine, bad)
    assert "whole number" in str(caught.value)


def test_exports_hxl_and_iati_carry_the_results(engine: Engine, tmp_path: Path) -> None:
    hxl = export(engine, "hxl", tmp_path / "results.csv")
    with hxl.open(encoding="utf-8") as handle:
        lines = list(csv.reader(handle))
    assert lines[1][:4] == ["#org+name", "#country+code", "#adm1+name", "#adm2+code"]
    columns = lines[0]
    qto = next(
        r
        for r in lines[2:]
        if r[columns.index("city")] == "QTO"
        and r[columns.index("indicator")] == TYPED
        and r[columns.index("period")] == "2025"
    )
    assert qto[columns.index("actual")] == "40"
    assert qto[columns.index("disaggregation")] == ""
    assert lines[1][-2:] == ["#meta+disaggregation", "#meta+category"]
    # the typed breakdown by sex (MED, 2025: 700 women, from the template) follows its total
    women = [
        r
        for r in lines[2:]
        if r[columns.index("city")] == "MED"
        and r[columns.index("period")] == "2025"
        and r[columns.index("disaggregation")] == "sex"
        and r[columns.index("category")] == "female"
    ]
    assert [r[columns.index("actual")] for r in women] == ["700"]
    assert women[0][columns.index("target")] == ""
    assert women[0][columns.index("country")] == "COL"
    path = export(engine, "iati", tmp_path / "iati.xml")
    assert validate_iati(path) == []
    from lxml import etree

    tree = etree.parse(str(path))
    actuals = tree.xpath(
        "//indicator[title/narrative='People reached by anti-xenophobia campaigns']"
        "/period[period-start/@iso-date='2025-01-01']/actual[location/@ref='QTO']/@value"
    )
    assert actuals == ["40"]
    # the typed breakdown by sex (MED, 2025: 700 women, imported from the template) goes along
    women = tree.xpath(
        "//period[period-start/@iso-date='2025-01-01']/actual[location/@ref='MED']"
        "[dimension/@name='sex'][dimension/@value='female']/@value"
    )
    assert women == ["700"]
    assert tree.xpath("//recipient-country/@code") == ["CO", "EC"]
    # the validation can fail: without its identifier the activity is not IATI
    activity = tree.getroot()[0]
    activity.remove(activity.find("iati-identifier"))
    tree.write(str(tmp_path / "broken.xml"))
    assert validate_iati(tmp_path / "broken.xml") != []


def test_programme_role_edits_only_its_cities(engine: Engine, tmp_path: Path) -> None:
    from inclusive_cities.web import auth

    runner = CliRunner()
    url = str(engine.url)
    result = runner.invoke(
        app,
        [
            "--database",
            url,
            "users",
            "add",
            "--role",
            "programme",
            "--city",
            "MED",
            "--email",
            "oficial@example.org",
            "--password",
            "una-clave-larga",
        ],
    )
    assert result.exit_code == 0, result.output
    refused = runner.invoke(
        app,
        [
            "--database",
            url,
            "users",
            "add",
            "--role",
            "analyst",
            "--city",
            "MED",
            "--email",
            "otra@example.org",
            "--password",
            "una-clave-larga",
        ],
    )
    assert refused.exit_code == 1
    with transaction(engine) as session:
        user = session.scalar(select(auth.User).where(auth.User.email == "oficial@example.org"))
        assert user is not None and user.role == "programme"
        who = auth.Identity(user.id, user.email, user.role)
        assert auth.can_edit_city(who, "MED", session)
        assert not auth.can_edit_city(who, "QTO", session)
        assert auth.can_edit_city(auth.Identity(0, "a@b.org", "analyst"), "QTO", session)
        assert not auth.can_edit_city(None, "MED", session)
    # the account logs in, enters its programme pages and no other staff page
    from fastapi import HTTPException
    from starlette.requests import Request

    token = auth.login(engine, "oficial@example.org", "una-clave-larga", "test").token

    def request(path: str) -> Request:
        cookie = f"{auth.SESSION_COOKIE}={token}".encode()
        scope = {"type": "http", "method": "GET", "path": path, "headers": [(b"cookie", cookie)]}
        return Request(scope)

    with transaction(engine) as session:
        assert auth.require_user(request("/admin/programme"), session).role == "programme"
        with pytest.raises(HTTPException) as refused_page:
            auth.require_user(request("/admin/layers/publish"), session)
        assert refused_page.value.status_code == 403
    path = write_template(engine, tmp_path / "t.xlsx", lang="en", city="QTO", period="2025")
    fill(path, [[TYPED, "", "QTO", "2025", "actual", "", "", "", "", 41]], sheet="values")
    with pytest.raises(monitoring.MonitoringError, match="may not edit target city QTO"):
        import_template(engine, path, allowed_cities={"MED"})


def test_results_command_prints_the_n_of_m_lines(engine: Engine) -> None:
    result = CliRunner().invoke(
        app,
        ["--database", str(engine.url), "--lang", "es", "programme", "results", "--period", "2025"],
    )
    assert result.exit_code == 0, result.output
    assert (
        "Ciudades objetivo con un Marcador de Inclusión Urbana publicado: 2 de 3" in result.output
    )


@pytest.mark.postgres
def test_results_on_postgresql(postgres_url: str) -> None:
    engine = build(postgres_url)
    with transaction(engine) as session:
        monitoring.set_value(session, "inclusive_cities", TYPED, "MED", "2025", "actual", 120)
        monitoring.set_value(session, "inclusive_cities", TYPED, "QTO", "2025", "actual", 80)
    report = monitoring.results(engine, period="2025", lang="en")
    assert report.row("cities_with_marker", city="TST", country="COL").actual == 1.0
    assert report.row("neighbourhoods_covered", city="TST", country="COL").actual == 2.0
    assert report.row(TYPED).actual == 200.0


def test_xlsform_for_kobo_and_its_export_read_back(engine: Engine, tmp_path: Path) -> None:
    from openpyxl import Workbook

    from inclusive_cities.monitoring.entry import write_xlsform

    with transaction(engine) as session:
        monitoring.set_value(session, "inclusive_cities", TYPED, "QTO", "2025", "actual", 40)
    from pyxform.xls2xform import convert

    form_path = write_xlsform(engine, tmp_path / "form.xlsx")
    # pyxform, the reference XLSForm compiler KoBo uses, accepts it without warnings
    assert convert(xlsform=str(form_path)).warnings == []
    form = load_workbook(form_path)
    assert form.sheetnames == ["survey", "choices", "settings"]
    names = [row[1] for row in form["survey"].iter_rows(min_row=2, values_only=True)]
    # typed indicators are asked, with their sex breakdown; computed-only ones are not
    assert {TYPED, f"{TYPED}__female", f"{TYPED}__male"} <= set(names)
    assert "centres_in_network" not in names
    cities = [row[1] for row in form["choices"].iter_rows(min_row=2, values_only=True)]
    assert sorted(cities) == ["MED", "QTO", "TST"]
    # KoBo's export: one row per submission, group paths in the headers
    export_book = Workbook()
    sheet = export_book.active
    assert sheet is not None
    sheet.append(
        ["start", "city", "period", f"actuals/{TYPED}", f"actuals/{TYPED}__female", "_uuid"]
    )
    sheet.append(["2026-01-05", "QTO", "2025-S2", 310, 170, "abc-1"])
    path = tmp_path / "kobo_export.xlsx"
    export_book.save(path)
    summary = import_template(engine, path)
    assert summary.values_written == 2
    report = monitoring.results(engine, period="2025-S2", lang="en")
    assert report.row(TYPED, city="QTO", country="ECU").actual == 310.0
    xlsx = export(engine, "xlsx", tmp_path / "results.xlsx", lang="en")
    book = load_workbook(xlsx)
    assert book.sheetnames == ["results", "framework"]
    rows = list(book["results"].iter_rows(values_only=True))
    header = rows[0]
    qto = [
        r
        for r in rows[1:]
        if r[header.index("city")] == "QTO" and r[header.index("indicator")] == TYPED
    ]
    assert {(r[header.index("period")], r[header.index("actual")]) for r in qto} >= {
        ("2025", 40),
        ("2025-S2", 310),
    }


def test_disaggregated_people_counts_leave_no_cell_recoverable(engine: Engine) -> None:
    """2025-S1 by sex: MED 124 women + 6 men = 130, QTO 20 + 30 = 50. Men in MED (6) are
    under 10; the city totals (130, 50), the programme total (180) stay published, and no
    row or column of the table with margins is left with a single hidden cell."""
    with transaction(engine) as session:
        for city, sex, value in [
            ("MED", "_T", 130),
            ("MED", "female", 124),
            ("MED", "male", 6),
            ("QTO", "_T", 50),
            ("QTO", "female", 20),
            ("QTO", "male", 30),
        ]:
            monitoring.set_value(
                session, "inclusive_cities", TYPED, city, "2025-S1", "actual", value, sex=sex
            )
    table = monitoring.disaggregated(engine, "inclusive_cities", TYPED, "2025-S1", "sex")
    cell = {(r.city, r.category): r for r in table.itertuples()}
    assert cell[("MED", "male")].withheld
    assert (cell[("MED", "_T")].value, cell[("QTO", "_T")].value) == (130, 50)
    assert cell[("_T", "_T")].value == 180
    for key in ("city", "category"):
        for _name, line in table.groupby(key):
            assert int(line["withheld"].sum()) != 1
    report = monitoring.results(engine, period="2025", lang="en")
    marker = next(line for line in report.lines if line.code == "cities_with_marker")
    assert (marker.n, marker.m) == (int(report.row("cities_with_marker").actual or 0), 3)


def test_demo_programme_gives_the_programmes_headline_lines(tmp_path: Path) -> None:
    """Nine target cities: the store city TST (marker published and profile written, so both
    computed answers are 1) and eight results-only cities typed with 5 markers and 7 profiles
    in 2025-S2: 6 of 9 and 8 of 9, the programme's own figures."""
    from inclusive_cities.demo.programme import build_demo_programme

    engine = build(f"sqlite:///{tmp_path}/demo.db", results_only_cities=False)
    demo = build_demo_programme(engine, "TST")
    assert demo.cities == 9
    report = monitoring.results(engine, lang="en")
    assert report.period == "2025-S2"
    lines = {line.code: (line.n, line.m) for line in report.lines}
    assert lines == {"cities_with_marker": (6, 9), "cities_with_mobility_profile": (8, 9)}
    assert report.row("policies_supported").target == 4 * 2 + 5 * 1
    # trial #3 F11: people trained are counted per period (the period's own sessions), so
    # their target is per period too: 15 a half-year per city, not the year's 30 in S2
    assert report.row("public_servants_trained").target == 9 * 15
    assert report.row("community_trained").target == 9 * 30
    assert report.row("entrepreneurs_supported").target == 9 * 40  # a count at the period's end
    # F2-7: the demo's workshops are held in 2024-S2, so their target is set there, not in 2025
    assert report.row("workshops_held", city="TST", country="COL").target is None
    held = monitoring.results(engine, period="2024-S2", lang="en")
    assert "2024-S2" in held.periods
    assert held.row("workshops_held", city="TST", country="COL").target == 2


def test_a_per_cent_typed_in_excel_is_read_as_the_per_cent_it_shows(
    engine: Engine, tmp_path: Path
) -> None:
    """Trial #3 F10: '85 %' typed in Excel is stored as 0.85 in a cell formatted 0%; it was
    imported as 0.85 % and the programme's target fell from 85 % to 75.7 %."""
    path = write_template(engine, tmp_path / "metas.xlsx", lang="es", city="MED", period="2027")
    fill(path, [["improved_knowledge_share", "", "", "2027", "meta", "", "", "", "", 0.85]])
    book = load_workbook(path)
    book["valores"].cell(2, 10).number_format = "0%"
    book.save(path)
    import_template(engine, path, target_city="MED")
    csv_file = tmp_path / "metas.csv"
    csv_file.write_text(
        "indicador,ciudad,periodo,tipo,valor\nimproved_knowledge_share,MED,2028,meta,90 %\n",
        encoding="utf-8",
    )
    import_template(engine, csv_file)
    with transaction(engine) as session:
        targets = {
            v.period: v.value
            for v in session.scalars(
                select(IndicatorValue).where(IndicatorValue.period.in_(["2027", "2028"]))
            )
        }
    assert targets == {"2027": pytest.approx(85.0), "2028": pytest.approx(90.0)}


def test_a_kobo_answer_the_store_computes_is_left_out_not_fatal(
    engine: Engine, tmp_path: Path
) -> None:
    """Trial #5 T18: the form asks every city; one answer for cities_with_marker in TST (a
    city of the store, where the observatory computes it) refused the whole export, naming a
    column 'value' the export does not have. It is left out with a note naming the export's
    column; the other answers are stored."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["city", "period", "actuals/cities_with_marker", f"actuals/{TYPED}", "_uuid"])
    sheet.append(["TST", "2026-S1", 1, 55, "k-1"])
    sheet.append(["QTO", "2026-S1", None, 65, "k-2"])
    path = tmp_path / "kobo_store_city.xlsx"
    book.save(path)
    summary = import_template(engine, path)
    assert summary.values_written == 2  # the two typed answers
    note = [w for w in summary.warnings if "actuals/cities_with_marker" in w]
    assert len(note) == 1 and "row 2" in note[0] and "computed from the observatory" in note[0]
    report = monitoring.results(engine, period="2026-S1", lang="en")
    assert report.row(TYPED, city="QTO", country="ECU").actual == 65.0
    # a refused KoBo value names the export's column
    sheet.append(["QTO", "2026-S1", None, 2.5, "k-3"])
    book.save(path)
    with pytest.raises(monitoring.MonitoringError) as caught:
        import_template(engine, path)
    assert f"row 4, column 'actuals/{TYPED}'" in str(caught.value)
