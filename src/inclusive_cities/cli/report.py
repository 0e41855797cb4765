"""``report``: Human Mobility Profile, UIM city report and fact sheets as PDF or HTML."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from inclusive_cities.cli.app import state
from inclusive_cities.cli.progress import progress_bar
from inclusive_cities.i18n import gettext as _

console = Console(highlight=False)
report_app = typer.Typer(
    help="Write reports (PDF or HTML, Spanish or English) with an XLSX data annex.",
    no_args_is_help=True,
)

CITY = typer.Option(..., "--city", help="City code, e.g. DEMO.")
PERIOD = typer.Option(..., "--period", help="Period code, e.g. 2024.")
LANG = typer.Option(None, "--lang", help="Report language: es or en (default: messages').")
OUT = typer.Option(..., "--out", help="Output file: .pdf or .html.")


def _engine():
    from inclusive_cities.store import init_database

    return init_database(state.database_url)


def _language(lang: str | None) -> str:
    from inclusive_cities.i18n import normalise_language
    from inclusive_cities.reports import ReportError

    if lang is None:
        return state.language
    chosen = normalise_language(lang)
    if chosen is None:
        raise ReportError(_("Unknown report language '{lang}': use es or en.").format(lang=lang))
    return chosen


def _governance(path: Path | None):
    if path is None:
        return None
    import pandas as pd

    from inclusive_cities.reports import ReportError

    try:
        frame = (
            pd.read_csv(path)
            if path.suffix.lower() == ".csv"
            else pd.read_excel(path, engine="openpyxl")
        )
    except (OSError, ValueError) as error:
        raise ReportError(
            _("Cannot read the governance assessment {path} ({reason}).").format(
                path=path, reason=str(error).splitlines()[0]
            )
        ) from None
    missing = {"domain", "score", "strengths", "gaps"} - set(frame.columns)
    if missing:
        raise ReportError(
            _(
                "The governance assessment {path} needs the columns domain, score, strengths, "
                "gaps; missing: {missing}."
            ).format(path=path, missing=", ".join(sorted(missing)))
        )
    return frame


def _rank_intervals(path: Path | None):
    if path is None:
        return None
    import pandas as pd

    from inclusive_cities.reports import ReportError

    try:
        frame = pd.read_csv(path, dtype={"code": str})
    except (OSError, ValueError) as error:
        raise ReportError(
            _("Cannot read the rank intervals {path} ({reason}).").format(
                path=path, reason=str(error).splitlines()[0]
            )
        ) from None
    missing = {"code", "rank_p05", "rank_p95"} - set(frame.columns)
    if missing:
        raise ReportError(
            _(
                "The rank intervals file {path} needs the columns code, rank_p05, rank_p95; "
                "missing: {missing}."
            ).format(path=path, missing=", ".join(sorted(missing)))
        )
    return frame


def _print_result(result) -> None:
    target = result.pdf or result.html
    if result.pages:
        console.print(_("Wrote {path} ({pages} pages).").format(path=target, pages=result.pages))
    else:
        console.print(_("Wrote {path}.").format(path=target))
    if result.annex:
        console.print(_("Data annex: {path}").format(path=result.annex))
    timings = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in result.timings.items())
    console.print(_("Time per step: {timings}").format(timings=timings))


@report_app.command("profile")
def profile(
    city: str = CITY,
    period: str = PERIOD,
    out: Path = OUT,
    lang: str = LANG,
    hfs: Path = typer.Option(
        None, "--hfs", help="Mapping file of the high-frequency survey rounds (mapping.yaml)."
    ),
    hfs_survey: str = typer.Option(
        None,
        "--hfs-survey",
        help="Survey name of high-frequency survey rounds imported with 'survey import' for "
        "--city (--hfs then maps only the rounds whose questions changed).",
    ),
    recommendations: Path = typer.Option(
        None, "--recommendations", help="Rule catalogue or edited draft (YAML)."
    ),
    edit: bool = typer.Option(
        False,
        "--edit",
        help="Write the recommendations as an editable YAML draft to --out "
        "and stop; pass it back with --recommendations.",
    ),
    governance: Path = typer.Option(
        None,
        "--governance",
        help="Governance assessment (CSV/XLSX: domain, score, strengths, gaps).",
    ),
    rank_intervals: Path = typer.Option(
        None, "--rank-intervals", help="CSV with code, rank_p05, rank_p95 per unit."
    ),
    no_annex: bool = typer.Option(False, "--no-annex", help="Do not write the XLSX annex."),
) -> None:
    """Human Mobility Profile of a city.

    Example: inclusive-cities report profile --city DEMO --period 2024 --lang es
    --hfs hfs/mapping.yaml --out perfil.pdf
    """
    from inclusive_cities import reports
    from inclusive_cities.mobility import harmonise, harmonise_imported

    if hfs_survey:
        rounds = harmonise_imported(_engine(), city, hfs_survey, hfs)
    else:
        rounds = harmonise(hfs) if hfs else None
    options = {
        "hfs": rounds,
        "recommendations": str(recommendations) if recommendations else None,
        "governance": _governance(governance),
        "rank_intervals": _rank_intervals(rank_intervals),
    }
    language = _language(lang)
    if edit:
        items = reports.recommendations_draft(_engine(), city, period, out, language, **options)
        console.print(
            _(
                "Wrote {count} recommendations to {path}; edit them, then run again with "
                "--recommendations {path}."
            ).format(count=len(items), path=out)
        )
        return
    with progress_bar(_("Writing the report")) as progress:
        result = reports.profile(
            _engine(),
            city,
            period,
            out,
            language,
            annex=not no_annex,
            progress=progress,
            **options,
        )
    from inclusive_cities.monitoring.computed_store import record_profile

    # the programme's "cities with a mobility profile" counts written profiles (trial F3)
    record_profile(_engine(), city, period, language, str(result.pdf or result.html))
    _print_result(result)


@report_app.command("marker")
def marker(
    city: str = CITY,
    period: str = PERIOD,
    out: Path = OUT,
    lang: str = LANG,
    rank_intervals: Path = typer.Option(
        None, "--rank-intervals", help="CSV with code, rank_p05, rank_p95 per unit."
    ),
    no_annex: bool = typer.Option(False, "--no-annex", help="Do not write the XLSX annex."),
) -> None:
    """Urban Inclusion Marker city report."""
    from inclusive_cities import reports

    with progress_bar(_("Writing the report")) as progress:
        result = reports.marker_report(
            _engine(),
            city,
            period,
            out,
            _language(lang),
            annex=not no_annex,
            rank_intervals=_rank_intervals(rank_intervals),
            progress=progress,
        )
    _print_result(result)


@report_app.command("factsheets")
def factsheets(
    city: str = CITY,
    period: str = PERIOD,
    out: Path = OUT,
    lang: str = LANG,
    unit: list[str] = typer.Option(None, "--unit", help="Only these unit codes (repeat)."),
    rank_intervals: Path = typer.Option(
        None, "--rank-intervals", help="CSV with code, rank_p05, rank_p95 per unit."
    ),
) -> None:
    """One fact sheet page per neighbourhood of the marker run."""
    from inclusive_cities import reports

    with progress_bar(_("Writing the report")) as progress:
        result = reports.factsheets(
            _engine(),
            city,
            period,
            out,
            _language(lang),
            units=unit or None,
            rank_intervals=_rank_intervals(rank_intervals),
            progress=progress,
        )
    _print_result(result)


def register(app: typer.Typer) -> None:
    app.add_typer(report_app, name="report")
