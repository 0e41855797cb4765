"""``workshop``: co-creation workshops from the command line (issue #17 §1)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from inclusive_cities.cli.app import state
from inclusive_cities.i18n import current_language, format_number
from inclusive_cities.i18n import gettext as _

console = Console(highlight=False, soft_wrap=True)
workshop_app = typer.Typer(
    help="Co-creation workshops: template, import, problem tree, matrix, evidence, record.",
    no_args_is_help=True,
)


def _engine():  # type: ignore[no-untyped-def]
    from inclusive_cities import store

    engine = store.connect(state.database_url)
    store.require_current(engine)
    return engine


@workshop_app.command("template")
def template(
    out: Path = typer.Option(..., "--out", "-o", help="XLSX file to write."),
    lang: str = typer.Option("es", "--lang", help="Language of the template: es or en."),
) -> None:
    """Write the XLSX template facilitators fill: workshop, problem tree and matrix sheets.

    Example: inclusive-cities workshop template --lang es --out taller.xlsx
    """
    from inclusive_cities.planning.workshop_templates import write_template

    path = write_template(out, lang)
    console.print(_("Template written: {path}").format(path=path), markup=False)


@workshop_app.command("xlsform")
def xlsform(
    out: Path = typer.Option(..., "--out", "-o", help="XLSForm file to write."),
    lang: str = typer.Option("es", "--lang", help="Language of the form: es or en."),
) -> None:
    """Write the workshop form as an XLSForm to deploy in KoBoToolbox or ODK."""
    from inclusive_cities.planning.workshop_templates import write_xlsform

    path = write_xlsform(out, lang)
    console.print(_("XLSForm written: {path}").format(path=path), markup=False)


@workshop_app.command("import")
def import_command(
    file: Path = typer.Argument(..., help="Filled-in template, or a KoBo export (XLSX)."),
    city: str = typer.Option(..., "--city", help="City code."),
    form: Path = typer.Option(
        None, "--form", help="The XLSForm the KoBo export came from (default: the shipped one)."
    ),
) -> None:
    """Import a workshop in one transaction (re-importing the same code replaces it).

    Example: inclusive-cities workshop import taller.xlsx --city DEMO
    """
    from inclusive_cities.planning.workshop_import import import_workshop

    summary = import_workshop(_engine(), file, city, form=form)
    for workshop_id, code in zip(summary.workshop_ids, summary.codes, strict=True):
        console.print(
            _("Workshop {code} stored with id {id}.").format(code=code, id=workshop_id),
            markup=False,
        )
    console.print(
        _(
            "{nodes} tree nodes, {rows} matrix rows, {people} participants; {replaced} "
            "workshop(s) replaced."
        ).format(
            nodes=summary.nodes,
            rows=summary.rows,
            people=format_number(summary.participants),
            replaced=summary.replaced,
        ),
        markup=False,
    )


@workshop_app.command("list")
def list_command(city: str = typer.Option(..., "--city", help="City code.")) -> None:
    """List a city's workshops, newest first."""
    from inclusive_cities.planning.workshops import list_workshops
    from inclusive_cities.store import transaction

    with transaction(_engine()) as session:
        rows = list_workshops(session, city)
    if not rows:
        console.print(_("City {city} has no workshop yet.").format(city=city), markup=False)
        raise typer.Exit(1)
    table = Table()
    # Codes, dates and unit codes are identifiers: never cut them ("TALLER-2024…"); titles wrap.
    table.add_column(_("Id"), no_wrap=True)
    table.add_column(_("Code"), no_wrap=True, min_width=max(len(r.code) for r in rows))
    table.add_column(_("Date"), no_wrap=True, min_width=10)
    table.add_column(_("Unit"), no_wrap=True)
    table.add_column(_("Title"), min_width=16)
    table.add_column(_("Nodes"), justify="right")
    table.add_column(_("Matrix rows"), justify="right")
    for row in rows:
        table.add_row(
            str(row.id),
            row.code,
            row.held_on.isoformat() if row.held_on else "-",
            row.unit_code or "-",
            row.title,
            str(row.n_nodes),
            str(row.n_rows),
        )
    console.print(table)


@workshop_app.command("show")
def show(
    workshop_id: int = typer.Argument(..., metavar="ID", help="Workshop id."),
    protect: bool = typer.Option(
        True, "--protect/--no-protect", help="Apply disclosure control to the evidence."
    ),
) -> None:
    """Print a workshop: participants (as published), tree, matrix and the evidence."""
    from inclusive_cities.planning.workshop_evidence import claim_evidence
    from inclusive_cities.planning.workshop_templates import kind_names
    from inclusive_cities.planning.workshops import load_workshop, published_participants
    from inclusive_cities.reports.workshop_report import (
        evidence_columns,
        evidence_rows,
        participant_rows,
    )
    from inclusive_cities.store import transaction

    lang = current_language()
    kinds = kind_names(lang)
    with transaction(_engine()) as session:
        w = load_workshop(session, workshop_id)
        people = published_participants(session, workshop_id)
        evidence = claim_evidence(session, workshop_id, lang=lang, protect=protect, workshop=w)
    console.print(
        f"{w.code} · {w.title} · {w.held_on.isoformat() if w.held_on else '-'} · "
        f"{w.place_name} {w.unit_code} · {', '.join(w.areas)}",
        markup=False,
    )
    table = Table(_("Split by"), _("Group"), _("Participants"), title=_("Participants"))
    for row in participant_rows(people, lang):
        table.add_row(*row)
    console.print(table)
    tree = Table(_("Code"), _("Kind"), _("Hangs from"), _("Text"), title=_("Problem tree"))
    for n in w.nodes:
        tree.add_row(n.code, kinds[n.kind], n.parent or "-", n.text)
    console.print(tree)
    matrix = Table(
        _("Area"),
        _("Matrix column"),
        _("Code"),
        _("Text"),
        _("Solutions proposed"),
        title=_("Systematisation matrix"),
    )
    for r in w.matrix:
        matrix.add_row(r.area, kinds[r.kind], r.code, r.text, ", ".join(r.solutions) or "-")
    console.print(matrix)
    if evidence:
        table = Table(*evidence_columns(), title=_("Evidence beside each claim"))
        for row in evidence_rows(evidence):
            table.add_row(*row)
        console.print(table)


@workshop_app.command("tree")
def tree_command(
    workshop_id: int = typer.Argument(..., metavar="ID", help="Workshop id."),
    out: Path = typer.Option(..., "--out", "-o", help="SVG file to write."),
) -> None:
    """Draw the workshop's problem tree as SVG (the drawing the web and the PDF show)."""
    from inclusive_cities.planning.problem_tree import tree_svg
    from inclusive_cities.planning.workshops import load_workshop
    from inclusive_cities.store import transaction

    with transaction(_engine()) as session:
        workshop = load_workshop(session, workshop_id)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(tree_svg(workshop, current_language()), encoding="utf-8")
    console.print(_("Problem tree written: {path}").format(path=out), markup=False)


@workshop_app.command("record")
def record(
    workshop_id: int = typer.Argument(..., metavar="ID", help="Workshop id."),
    out: Path = typer.Option(..., "--out", "-o", help="PDF, HTML or XLSX file to write."),
    lang: str = typer.Option(None, "--lang", help="Language of the record: es or en."),
) -> None:
    """Write the workshop record (PDF, HTML or XLSX by the extension of --out).

    Example: inclusive-cities workshop record 1 --lang es --out taller-1.pdf
    """
    from inclusive_cities.reports.workshop_report import workshop_record

    result = workshop_record(_engine(), workshop_id, out, lang or current_language())
    if result.pages:
        console.print(
            _("Record written: {path} ({pages} pages)").format(
                path=result.path, pages=result.pages
            ),
            markup=False,
        )
    else:
        console.print(_("Record written: {path}").format(path=result.path), markup=False)


@workshop_app.command("export")
def export(
    workshop_id: int = typer.Argument(..., metavar="ID", help="Workshop id."),
    out: Path = typer.Option(..., "--out", "-o", help="XLSX file to write."),
    lang: str = typer.Option(None, "--lang", help="Language of the template: es or en."),
) -> None:
    """Write a stored workshop back into the template, to correct it and import it again."""
    from inclusive_cities.planning.workshop_templates import write_filled_template
    from inclusive_cities.planning.workshops import load_workshop
    from inclusive_cities.store import transaction

    with transaction(_engine()) as session:
        workshop = load_workshop(session, workshop_id)
    path = write_filled_template(out, workshop, lang or current_language())
    console.print(_("Template written: {path}").format(path=path), markup=False)


@workshop_app.command("demo")
def demo(
    city: str = typer.Option("DEMO", "--city", help="City code."),
    out: Path = typer.Option(
        Path("demo-workshops"), "--out", "-o", help="Folder for the filled templates."
    ),
) -> None:
    """Import the demo city's two workshops (filled templates, through the real importer)."""
    from inclusive_cities.demo.workshops import load_demo_workshops

    for summary in load_demo_workshops(_engine(), city, out):
        console.print(
            _("Workshop {code} stored with id {id}.").format(
                code=summary.codes[0], id=summary.workshop_ids[0]
            ),
            markup=False,
        )


def register(app: typer.Typer) -> None:
    app.add_typer(workshop_app, name="workshop")
