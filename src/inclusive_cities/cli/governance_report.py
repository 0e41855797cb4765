"""``report governance``: the migration-governance assessment report (PDF or HTML, es or en).

It joins the other reports under ``report`` (the command is added to that group), so a user
finds it beside the profile and the marker report.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from inclusive_cities.cli.app import state
from inclusive_cities.cli.report import report_app
from inclusive_cities.i18n import gettext as _

console = Console(highlight=False)


@report_app.command("governance")
def governance(
    city: str = typer.Option(..., "--city", help="City code, e.g. DEMO."),
    out: Path = typer.Option(..., "--out", help="Output file: .pdf or .html."),
    lang: str = typer.Option(
        None, "--lang", help="Report language: es or en (default: messages')."
    ),
    assessment: int = typer.Option(
        None,
        "--assessment",
        help="Id of a local assessment of the city (default: its latest; see 'governance list').",
    ),
) -> None:
    """Migration governance assessment: the city beside its country and the evidence.

    Example: inclusive-cities report governance --city DEMO --lang es --out gobernanza.pdf
    """
    from inclusive_cities.i18n import normalise_language
    from inclusive_cities.reports import ReportError
    from inclusive_cities.reports.governance_report import governance_report
    from inclusive_cities.store import init_database

    language = state.language if lang is None else normalise_language(lang)
    if language is None:
        raise ReportError(_("Unknown report language '{lang}': use es or en.").format(lang=lang))
    result = governance_report(init_database(state.database_url), city, out, language, assessment)
    if result.pages:
        console.print(
            _("Wrote {path} ({pages} pages).").format(path=result.path, pages=result.pages)
        )
    else:
        console.print(_("Wrote {path}.").format(path=result.path))
