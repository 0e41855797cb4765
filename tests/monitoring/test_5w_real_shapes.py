"""5W exports as R4V partners send them (trial #5 T1–T3, T6–T8).

Real exports name the pendular population "Refugees and Migrants PENDULARS", add a "Colombian
Returnees" column, write the municipality as people say it ("Cúcuta" for the target city "San
José de Cúcuta"), end with a totals row, and arrive after a semester was typed by hand. Each
test writes such a file and checks the stored figures against sums worked out by hand, or the
one-line refusal and that the store is unchanged.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from inclusive_cities import monitoring
from inclusive_cities.cli import app
from inclusive_cities.monitoring.entry import import_5w
from inclusive_cities.monitoring.errors import MonitoringError
from inclusive_cities.monitoring.framework import load_framework
from inclusive_cities.monitoring.results import headline_period
from inclusive_cities.store import init_database, transaction
from inclusive_cities.store.monitoring_models import IndicatorValue, TargetCity
from tests.monitoring.frameworks import one_output_framework

PROGRAMME = "r4v_test"
HEADER = [
    "Appealing Organization",
    "Implementing Partner",
    "Admin2",
    "Month",
    "Indicator",
    "Total monthly beneficiaries",
    "New beneficiaries of the month",
    "Refugees and Migrants IN DESTINATION",
    "Refugees and Migrants IN TRANSIT",
    "Host Communities Beneficiaries",
    "Refugees and Migrants PENDULARS",
    "Colombian Returnees",
    "Women under 18",
    "Men under 18",
    "Women above 18",
    "Men above 18",
]
# new = destination + transit + host + pendular + returnees = women + men (both ages)
JANUARY = [
    ["UNHCR", "UNHCR", "CUC", "January 2026", "reached", 150, 120, 60, 10, 40, 10, 0, 3, 2, 60, 55],
    ["IOM", "IOM", "CUC", "January 2026", "reached", 80, 60, 30, 0, 25, 5, 0, 0, 0, 35, 25],
]


def _framework(path: Path) -> Path:
    reached = {
        "code": "reached",
        "accumulation": "per_period",
        "unit": "people",
        "name_es": "Personas alcanzadas",
        "name_en": "People reached",
    }
    return one_output_framework(
        path,
        PROGRAMME,
        [reached],
        name_es="Prueba R4V",
        name_en="R4V test",
        start_date="2025-01-01",
        end_date="2027-12-31",
    )


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    engine = init_database(f"sqlite:///{tmp_path / 'p.db'}")
    with transaction(engine) as session:
        programme = monitoring.install_framework(
            session, load_framework(_framework(tmp_path / "framework.yaml"))
        )
        monitoring.add_target_city(session, programme, "CUC", "San José de Cúcuta", "COL")
    return engine


def _write(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _cells(engine: Engine, period: str) -> dict[tuple[str, str, str], float]:
    with transaction(engine) as session:
        return {
            (v.sex, v.age_group, v.nationality): v.value
            for v in session.scalars(select(IndicatorValue).where(IndicatorValue.period == period))
        }


def _count(engine: Engine) -> int:
    with transaction(engine) as session:
        return int(session.scalar(select(func.count()).select_from(IndicatorValue)) or 0)


def test_pendulars_count_among_refugees_and_migrants(engine: Engine, tmp_path: Path) -> None:
    """T1: "Refugees and Migrants PENDULARS" was not read, so January's refugees and migrants
    came out 100 instead of 90 + 10 + 15 = 115 (exit 0, no warning)."""
    import_5w(engine, _write(tmp_path / "5w.csv", HEADER, JANUARY), programme=PROGRAMME)
    cells = _cells(engine, "2026-01")
    assert cells[("_T", "_T", "_T")] == 120 + 60
    assert cells[("_T", "_T", "refugee_migrant")] == (60 + 10 + 10) + (30 + 0 + 5)
    assert cells[("_T", "_T", "host")] == 40 + 25
    assert cells[("female", "_T", "_T")] == (3 + 60) + (0 + 35)


def test_a_population_column_under_another_name_is_refused(engine: Engine, tmp_path: Path) -> None:
    """A group the import does not know ("SEASONAL") leaves the groups short of the row's new
    beneficiaries: refused by row, naming the column it did not read; nothing stored."""
    header = [h.replace("PENDULARS", "SEASONAL") for h in HEADER]
    path = _write(tmp_path / "5w_seasonal.csv", header, JANUARY)
    with pytest.raises(MonitoringError) as caught:
        import_5w(engine, path, programme=PROGRAMME)
    message = str(caught.value)
    assert message.startswith(
        "5w_seasonal.csv, row 2, column 'New beneficiaries of the month', value '120'"
    )
    assert "add up to 110, not to the row's 120" in message  # 60 + 10 + 40 + 0
    assert "'Refugees and Migrants SEASONAL'" in message
    assert "\n" not in message
    assert _count(engine) == 0


def test_sex_and_age_that_do_not_add_up_are_refused(engine: Engine, tmp_path: Path) -> None:
    rows = [list(JANUARY[0]), list(JANUARY[1])]
    rows[1][-1] = 20  # men above 18: 35 + 20 = 55, not 60
    with pytest.raises(MonitoringError, match=re.escape("row 3, column 'New beneficiaries")):
        import_5w(engine, _write(tmp_path / "5w_sex.csv", HEADER, rows), programme=PROGRAMME)
    assert _count(engine) == 0


def test_a_blank_breakdown_cell_is_not_checked(engine: Engine, tmp_path: Path) -> None:
    """A breakdown with a missing cell (999, blank) cannot be added up: the row is kept."""
    rows = [list(JANUARY[0])]
    rows[0][HEADER.index("Colombian Returnees")] = 999
    import_5w(engine, _write(tmp_path / "5w_blank.csv", HEADER, rows), programme=PROGRAMME)
    assert _cells(engine, "2026-01")[("_T", "_T", "_T")] == 120


def test_a_municipality_named_differently_is_mapped(engine: Engine, tmp_path: Path) -> None:
    """T2: R4V writes "Cúcuta"; the refusal says how to map it, and --map does."""
    rows = [[*r[:2], "Cúcuta", *r[3:]] for r in JANUARY]
    path = _write(tmp_path / "5w_cucuta.csv", HEADER, rows)
    with pytest.raises(MonitoringError) as caught:
        import_5w(engine, path, programme=PROGRAMME)
    assert "row 2, column 'Admin2', value 'Cúcuta'" in str(caught.value)
    assert '--map "Cúcuta=CUC"' in str(caught.value)
    import_5w(engine, path, programme=PROGRAMME, mapping={"Cúcuta": "CUC"})
    assert _cells(engine, "2026-01")[("_T", "_T", "_T")] == 180


def test_months_contradicting_a_typed_semester_warn(engine: Engine, tmp_path: Path) -> None:
    """T3: 2025-S1 typed as 735; the 5W's six months add up to 100 * 5 + 5 = 505."""
    with transaction(engine) as session:
        monitoring.set_value(session, PROGRAMME, "reached", "CUC", "2025-S1", "actual", 735)
    months = [
        ["UNHCR", "", "CUC", f"2025-{m:02d}", "reached", 100, 100 if m < 6 else 5]
        + [""] * (len(HEADER) - 7)
        for m in range(1, 7)
    ]
    summary = import_5w(engine, _write(tmp_path / "5w_s1.csv", HEADER, months), programme=PROGRAMME)
    warned = [w for w in summary.warnings if "2025-S1" in w]
    assert len(warned) == 1
    assert "735" in warned[0] and "505" in warned[0]
    assert warned[0] in summary.lines()
    # the quarters were not typed: nothing to contradict there
    assert not [w for w in summary.warnings if "Q1" in w or "Q2" in w]


def test_a_totals_row_is_left_out_with_a_note(engine: Engine, tmp_path: Path) -> None:
    """T7: a totals row at the bottom was refused as an unknown indicator (advice: --map)."""
    total = ["Total", "", "", "", "", 230, 180, 90, 10, 65, 15, 0, 3, 2, 95, 80]
    summary = import_5w(
        engine, _write(tmp_path / "5w_total.csv", HEADER, [*JANUARY, total]), programme=PROGRAMME
    )
    assert summary.rows_read == 2
    assert any("row 4" in w and "totals row" in w for w in summary.warnings)
    assert _cells(engine, "2026-01")[("_T", "_T", "_T")] == 180


def test_a_missing_month_column_is_named_as_the_file_would(engine: Engine, tmp_path: Path) -> None:
    """T8: the refusal said "it lacks month" (an identifier) in a Spanish sentence."""
    header = ["Mes de atención" if h == "Month" else h for h in HEADER]
    with pytest.raises(MonitoringError, match=re.escape("Month / Mes")):
        import_5w(engine, _write(tmp_path / "5w_mes.csv", header, JANUARY), programme=PROGRAMME)


def test_results_of_a_period_without_values_exit_non_zero(engine: Engine, tmp_path: Path) -> None:
    """T6: `programme results --period 2019` printed a table of dashes and exited 0."""
    import_5w(engine, _write(tmp_path / "5w.csv", HEADER, JANUARY), programme=PROGRAMME)
    runner = CliRunner()
    base = ["--database", str(engine.url), "programme", "results", "--programme", PROGRAMME]
    empty = runner.invoke(app, [*base, "--period", "2019"])
    assert empty.exit_code == 1
    assert isinstance(empty.exception, MonitoringError)  # the CLI prints it as one line
    assert "2019" in str(empty.exception) and "2026-01" in str(empty.exception)
    january = runner.invoke(app, [*base, "--period", "2026-01"])
    assert january.exit_code == 0, january.output
    assert "180" in january.output


def test_one_monthly_file_does_not_become_the_headline() -> None:
    """Trial #5 T12: the latest period with any actual was the programme's headline, so one
    month of one indicator for two cities replaced a semester of nine cities. Pairs are
    (indicator, city); the semester covers 9, the month 2 (< 9 / 2), a later quarter 5."""
    values = {(1, c, "actual", "2025-S2"): 1.0 for c in range(9)}
    values |= {(1, c, "actual", "2026-01"): 1.0 for c in range(2)}
    values |= {(1, c, "target", "2026-02"): 1.0 for c in range(9)}  # targets do not count
    periods = ["2025-S2", "2026-01", "2026-02"]
    assert headline_period(values, periods) == "2025-S2"
    values |= {(2, c, "actual", "2026-Q1"): 1.0 for c in range(5)}
    assert headline_period(values, [*periods, "2026-Q1"]) == "2026-Q1"
    assert headline_period({}, periods) == "2026-02"


def test_adults_are_not_an_age_group_of_their_own(engine: Engine, tmp_path: Path) -> None:
    """T13: "18+" was stored beside the framework's 18-29 / 30-59 / 60+, so a sum over ages
    counted people over 60 twice. Under-18s are kept (3 + 2 girls and boys in January)."""
    import_5w(engine, _write(tmp_path / "5w.csv", HEADER, JANUARY), programme=PROGRAMME)
    ages = {age for (_sex, age, _nat) in _cells(engine, "2026-01")}
    assert ages == {"_T", "0-17"}
    assert _cells(engine, "2026-01")[("_T", "0-17", "_T")] == 3 + 2 + 0 + 0


def test_a_refused_value_is_written_as_the_reader_writes_it(engine: Engine) -> None:
    """T14: "El valor 1250.5 de people_reached_campaigns …": an English decimal point and an
    identifier in a Spanish sentence. Now the number in Spanish and the indicator's name."""
    from inclusive_cities.i18n import use_language

    use_language("es")
    try:
        with transaction(engine) as session, pytest.raises(MonitoringError) as caught:
            monitoring.set_value(session, PROGRAMME, "reached", "CUC", "2025", "actual", 1250.5)
    finally:
        use_language("en")
    assert "1.250,5" in str(caught.value)
    assert "«Personas alcanzadas» (reached)" in str(caught.value)


def test_a_breakdown_above_its_total_is_refused(engine: Engine, tmp_path: Path) -> None:
    """T18: the template took 600 women and 400 men against a total of 850 (exit 0). A
    breakdown may be incomplete (women only), never larger than its total."""
    from inclusive_cities.monitoring.entry import import_template

    header = ["indicator", "city", "period", "kind", "sex", "value"]
    rows = [
        ["reached", "CUC", "2025", "actual", "", 850],
        ["reached", "CUC", "2025", "actual", "female", 600],
        ["reached", "CUC", "2025", "actual", "male", 400],
    ]
    path = _write(tmp_path / "values.csv", header, rows)
    with pytest.raises(MonitoringError) as caught:
        import_template(engine, path, programme=PROGRAMME)
    message = str(caught.value)
    assert message.startswith("values.csv, row 4, column 'value', value '400'")
    assert "add up to 1,000, more than its total 850 (row 2)" in message
    assert _count(engine) == 0
    partial = _write(tmp_path / "partial.csv", header, rows[:2])
    assert import_template(engine, partial, programme=PROGRAMME).values_written == 2


def test_a_corrected_export_names_or_replaces_what_it_dropped(
    engine: Engine, tmp_path: Path
) -> None:
    """T17: a corrected 5W without BAQ's January left BAQ's figures in place with no word.
    They are named (and kept); with replace=True (--replace) they are removed, breakdowns too."""
    with transaction(engine) as session:
        programme = monitoring.get_programme(session, PROGRAMME)
        monitoring.add_target_city(session, programme, "BAQ", "Barranquilla", "COL")
    baq = [[*JANUARY[1][:2], "BAQ", *JANUARY[1][3:]]]
    import_5w(engine, _write(tmp_path / "5w.csv", HEADER, JANUARY[:1] + baq), programme=PROGRAMME)
    corrected = _write(tmp_path / "5w_v2.csv", HEADER, JANUARY[:1])

    def baq_cells() -> int:
        with transaction(engine) as session:
            city = session.scalar(select(TargetCity).where(TargetCity.code == "BAQ"))
            return len(
                session.scalars(
                    select(IndicatorValue).where(IndicatorValue.target_city_id == city.id)
                ).all()
            )

    assert baq_cells() > 1  # the total and its breakdowns
    kept = import_5w(engine, corrected, programme=PROGRAMME)
    assert any("BAQ 2026-01 reached = 60" in w and "--replace" in w for w in kept.warnings)
    assert baq_cells() > 1
    replaced = import_5w(engine, corrected, programme=PROGRAMME, replace=True)
    assert any("removed BAQ 2026-01 reached = 60" in w for w in replaced.warnings)
    assert baq_cells() == 0
    assert _cells(engine, "2026-01")[("_T", "_T", "_T")] == 120  # CUC's row stays


def test_a_kobo_export_with_labels_says_how_to_export_it(engine: Engine, tmp_path: Path) -> None:
    """T19: a KoBo export "with labels" was refused as "has no rows to import"."""
    from inclusive_cities.monitoring.entry import import_template

    header = ["Ciudad", "Periodo", "Valores logrados/Personas alcanzadas", "_id", "_uuid"]
    path = _write(tmp_path / "kobo_labels.csv", header, [["CUC", "2026-S2", 900, 1, "a1"]])
    with pytest.raises(MonitoringError) as caught:
        import_template(engine, path, programme=PROGRAMME)
    assert "has 1 rows but none of its columns is an indicator" in str(caught.value)
    assert "'Ciudad'" in str(caught.value) and "XML values and headers" in str(caught.value)
