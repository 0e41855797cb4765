"""``programme``: the results framework of a programme across cities (issue #18 §1)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from inclusive_cities.cli.app import state
from inclusive_cities.i18n import current_language, format_number
from inclusive_cities.i18n import gettext as _

if TYPE_CHECKING:
    from inclusive_cities.monitoring.results import ProgrammeResults, ResultRow

console = Console(highlight=False, soft_wrap=True)
programme_app = typer.Typer(
    help="Programme monitoring: results framework, targets and actuals across target cities.",
    no_args_is_help=True,
)

PROGRAMME_HELP = "Programme code."
LANG_HELP = "Language of headers and names: es or en."


def _engine():  # type: ignore[no-untyped-def]
    from inclusive_cities import store

    engine = store.connect(state.database_url)
    store.require_current(engine)
    return engine


def _lang(value: str | None) -> str:
    return value if value in ("es", "en") else current_language()


def _unit(unit: str) -> str:
    """The unit in the reader's language (the framework keeps it in English)."""
    names = {
        "cities": _("cities"),
        "people": _("people"),
        "neighbourhoods": _("neighbourhoods"),
        "policies": _("policies"),
        "workshops": _("workshops"),
        "projects": _("projects"),
        "centres": _("centres"),
    }
    return names.get(unit, unit)


def _figure(value: float | None, unit: str = "") -> str:
    if value is None:
        return "—"
    digits = 0 if float(value).is_integer() else 1  # whole per cent as the web prints it
    return format_number(value, digits)


@programme_app.command("install")
def install(
    framework: str = typer.Argument(
        "inclusive_cities", metavar="FRAMEWORK", help="Built-in framework name or YAML file."
    ),
) -> None:
    """Install or update a programme's results framework (its values are kept)."""
    from inclusive_cities import monitoring
    from inclusive_cities.store import transaction

    spec = monitoring.load_framework(framework)
    with transaction(_engine()) as session:
        monitoring.install_framework(session, spec)
    console.print(
        _("Programme {code}: {n} indicators installed.").format(
            code=spec.code, n=len(spec.indicators)
        )
    )


@programme_app.command("add-city")
def add_city(
    code: str = typer.Argument(..., metavar="CODE", help="Target city code."),
    name: str = typer.Option(..., "--name", help="Target city name."),
    country: str = typer.Option(..., "--country", help="ISO 3166 alpha-3 country code."),
    store_city: str | None = typer.Option(
        None, "--store-city", help="City of the observatory this target city is."
    ),
    adm1: str = typer.Option("", "--adm1", help="Province or department."),
    lon: float | None = typer.Option(None, "--lon", help="Longitude (WGS 84)."),
    lat: float | None = typer.Option(None, "--lat", help="Latitude (WGS 84)."),
    programme: str = typer.Option("inclusive_cities", "--programme", help=PROGRAMME_HELP),
) -> None:
    """Add or update a target city (a store city, or a name, country and point only)."""
    from inclusive_cities import monitoring
    from inclusive_cities.store import transaction

    with transaction(_engine()) as session:
        prog = monitoring.get_programme(session, programme)
        monitoring.add_target_city(
            session,
            prog,
            code,
            name,
            country,
            store_city=store_city,
            longitude=lon,
            latitude=lat,
            adm1=adm1,
        )
    console.print(_("Target city {code} saved.").format(code=code))


@programme_app.command("template")
def template(
    out: Path = typer.Option(..., "--out", help="XLSX file to write."),
    lang: str = typer.Option("es", "--lang", help=LANG_HELP),
    city: str | None = typer.Option(None, "--city", help="Target city to pre-fill rows for."),
    period: str | None = typer.Option(None, "--period", help="Period to pre-fill (2025, 2025-S1)."),
    programme: str = typer.Option("inclusive_cities", "--programme", help=PROGRAMME_HELP),
) -> None:
    """Write the XLSX template for typing baselines, targets and actuals."""
    from inclusive_cities.monitoring.entry import write_template

    path = write_template(
        _engine(), out, lang=_lang(lang), programme=programme, city=city, period=period
    )
    console.print(_("Template written to {path}.").format(path=path))


@programme_app.command("xlsform")
def xlsform(
    out: Path = typer.Option(..., "--out", help="XLSForm file to write."),
    programme: str = typer.Option("inclusive_cities", "--programme", help=PROGRAMME_HELP),
) -> None:
    """Write an XLSForm (es/en) to collect actuals with KoBo; import its export back."""
    from inclusive_cities.monitoring.entry import write_xlsform

    path = write_xlsform(_engine(), out, programme=programme)
    console.print(_("XLSForm written to {path}.").format(path=path))


def _missing(value: str | None) -> tuple[str, ...]:
    from inclusive_cities.monitoring.entry import MISSING_CODES

    if value is None:
        return MISSING_CODES
    return ("", *[v.strip() for v in value.split(",")])


MISSING_HELP = (
    "Comma-separated cell values meaning no data (default: blank, 999, -999, 9999, -9999, -99, "
    "NA, N/A, ND, s.d., -)."
)


@programme_app.command("import")
def import_command(
    path: Path = typer.Argument(..., metavar="FILE", help="Filled template or KoBo export."),
    city: str | None = typer.Option(None, "--city", help="Observatory city the file is for."),
    target_city: str | None = typer.Option(
        None, "--target-city", help="Target city (code or name) the file is for."
    ),
    missing: str | None = typer.Option(None, "--missing", help=MISSING_HELP),
    programme: str = typer.Option("inclusive_cities", "--programme", help=PROGRAMME_HELP),
) -> None:
    """Import a filled template (es or en) in one transaction; re-importing replaces."""
    from inclusive_cities.monitoring.entry import import_template

    summary = import_template(
        _engine(),
        path,
        programme=programme,
        city=city,
        target_city=target_city,
        user="cli",
        missing=_missing(missing),
    )
    for line in summary.lines():
        console.print(line)


@programme_app.command("import-5w")
def import_5w_command(
    path: Path = typer.Argument(..., metavar="FILE", help="5W export (XLSX or CSV)."),
    maps: list[str] = typer.Option(
        [], "--map", help="'5W indicator=code' when the 5W names an indicator differently."
    ),
    missing: str | None = typer.Option(None, "--missing", help=MISSING_HELP),
    replace: bool = typer.Option(
        False,
        "--replace",
        help="The file replaces earlier 5W figures of its indicators and months in every city.",
    ),
    programme: str = typer.Option("inclusive_cities", "--programme", help=PROGRAMME_HELP),
) -> None:
    """Import a 5W export (who, what, where, when, for whom) as monthly actuals."""
    from inclusive_cities.errors import UsageError
    from inclusive_cities.monitoring.entry import import_5w

    mapping = {}
    for item in maps:
        left, sep, right = item.partition("=")
        if not sep:
            raise UsageError(_("--map {value} is not '5W indicator=code'.").format(value=item))
        mapping[left.strip()] = right.strip()
    summary = import_5w(
        _engine(),
        path,
        programme=programme,
        mapping=mapping,
        user="cli",
        missing=_missing(missing),
        replace=replace,
    )
    for line in summary.lines():
        console.print(line)


@programme_app.command("results")
def results_command(
    period: str | None = typer.Option(None, "--period", help="Period (default: the latest)."),
    city: str | None = typer.Option(None, "--city", help="Show one target city's rows."),
    programme: str = typer.Option("inclusive_cities", "--programme", help=PROGRAMME_HELP),
) -> None:
    """Results against targets (disclosure-controlled) and the 'n of m cities' lines."""
    from inclusive_cities import monitoring

    lang = current_language()
    report = monitoring.results(_engine(), programme, period, lang)
    title = _("{programme} — period {period}").format(
        programme=report.programme.name, period=report.period
    )
    table = Table(
        _("Indicator"), _("Baseline"), _("Target value"), _("Actual"), _("Progress"), title=title
    )
    names = {c.code: c.name for c in report.cities}
    if city is not None:
        from inclusive_cities.monitoring import MonitoringError

        if city not in names:
            raise MonitoringError(
                _("{city} is not a target city of {programme}: known ones are {known}.").format(
                    city=city, programme=programme, known=", ".join(sorted(names))
                )
            )
        rows = [r for r in report.city_rows if r.city == city]
        table.title = f"{title} — {names[city]}"
    else:
        rows = report.headline
    if _nothing_in(report, rows):
        raise _nothing_for(report, city)
    for row in rows:
        info = report.indicator(row.indicator)
        actual = _("withheld") if row.withheld else _figure(row.actual, info.unit)
        if row.computed:
            actual += " *"
        progress = "—" if row.progress is None else format_number(100 * row.progress, 0) + " %"
        table.add_row(
            f"{info.name} ({_unit(info.unit)})",
            _figure(row.baseline, info.unit),
            _figure(row.target, info.unit),
            actual,
            progress,
        )
    console.print(table)
    console.print(_("* computed from the observatory"))
    for line in report.lines:
        console.print(line)


def _nothing_in(report: ProgrammeResults, rows: list[ResultRow]) -> bool:
    """No target and no typed actual, and the computed ones all 0 or the period outside the
    programme's dates: a table of "—" and "0 *" that would read as "nothing reached"."""
    from inclusive_cities.monitoring.periods import window

    if any(r.target is not None or r.withheld or (r.actual and not r.computed) for r in rows):
        return False
    if any(r.actual is not None and not r.computed for r in rows):
        return False
    span = window(report.period)
    start, end = report.programme.start_date, report.programme.end_date
    outside = bool(start and span.end.isoformat() < start) or bool(
        end and span.start.isoformat() > end
    )
    return outside or not any(r.actual for r in rows)


def _nothing_for(report: ProgrammeResults, city: str | None) -> Exception:
    """Why a results table would be all dashes, and the periods that do have values (a table
    of "—" exiting 0 read as "nothing reached")."""
    from inclusive_cities.monitoring import MonitoringError

    with_values = [p for p in report.periods if p != report.period]
    where = "" if city is None else " " + _("in {city}").format(city=city)
    return MonitoringError(
        _(
            "{programme} has no target or actual for {period}{where} (a quarter, semester or "
            "year only adds up once all its months are in). Periods with values: {periods}."
        ).format(
            programme=report.programme.name,
            period=report.period,
            where=where,
            periods=", ".join(with_values) or "-",
        )
    )


@programme_app.command("export")
def export_command(
    fmt: str = typer.Option("xlsx", "--format", help="xlsx, hxl (CSV) or iati (XML)."),
    out: Path = typer.Option(..., "--out", help="File to write."),
    lang: str | None = typer.Option(None, "--lang", help=LANG_HELP),
    programme: str = typer.Option("inclusive_cities", "--programme", help=PROGRAMME_HELP),
) -> None:
    """Export the results (every period) as XLSX, HXL-tagged CSV or IATI activity XML."""
    from inclusive_cities.monitoring.exports import export

    path = export(_engine(), fmt, out, programme=programme, lang=_lang(lang))
    console.print(_("Results exported to {path}.").format(path=path))


@programme_app.command("demo")
def demo_command(
    city: str = typer.Option("DEMO", "--city", help="Observatory city to include in full."),
) -> None:
    """Build the demo programme: 9 target cities, targets and a year of results."""
    from inclusive_cities.demo.programme import build_demo_programme

    result = build_demo_programme(_engine(), city)
    console.print(
        _("Demo programme {code}: {cities} target cities, {values} values.").format(
            code=result.programme, cities=result.cities, values=result.values
        )
    )


def register(app: typer.Typer) -> None:
    """Add the ``programme`` group, with the delivery commands when that module is there."""
    try:
        from inclusive_cities.cli import programme_records
    except ImportError:
        programme_records = None  # type: ignore[assignment]
    if programme_records is not None:
        programme_records.register_records(programme_app)
    app.add_typer(programme_app, name="programme")
