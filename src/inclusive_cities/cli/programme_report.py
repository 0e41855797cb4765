"""``report programme``: the programme's donor report (PDF or HTML, es or en).

It joins the other reports under ``report`` (the command is added to that group), so a user
finds it beside the profile, the marker and the governance reports.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from inclusive_cities.cli.app import state
from inclusive_cities.cli.report import report_app
from inclusive_cities.i18n import gettext as _

console = Console(highlight=False)


@report_app.command("programme")
def programme(
    out: Path = typer.Option(..., "--out", help="Output file: .pdf or .html."),
    lang: str = typer.Option(
        None, "--lang", help="Report language: es or en (default: messages')."
    ),
) -> None:
    """Programme results for donors: results against targets by country and city.

    Example: inclusive-cities report programme --lang es --out programa.pdf
    """
    from inclusive_cities.i18n import normalise_language
    from inclusive_cities.reports import ReportError
    from inclusive_cities.reports.programme_report import programme_report
    from inclusive_cities.store import init_database

    language = state.language if lang is None else normalise_language(lang)
    if language is None:
        raise ReportError(_("Unknown report language '{lang}': use es or en.").format(lang=lang))
    result = programme_report(init_database(state.database_url), out, language)
    if result.pages:
        console.print(
            _("Wrote {path} ({pages} pages).").format(path=result.path, pages=result.pages)
        )
    else:
        console.print(_("Wrote {path}.").format(path=result.path))
