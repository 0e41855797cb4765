"""``plan create|list|show|import|export|add-project|publish|report`` and ``plan proposals …``,
``plan designs …``: territorial intervention plans from the command line (issue #17 §2)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from inclusive_cities.cli.app import state
from inclusive_cities.errors import UsageError
from inclusive_cities.i18n import format_number
from inclusive_cities.i18n import gettext as _

console = Console(highlight=False)
proposals_app = typer.Typer(
    help="Neighbourhood proposals: import them and see what became of each.",
    no_args_is_help=True,
)
designs_app = typer.Typer(
    help="Participatory design of public spaces: options, the chosen one, photos.",
    no_args_is_help=True,
)


def _engine():  # type: ignore[no-untyped-def]
    from inclusive_cities import store

    engine = store.connect(state.database_url)
    store.require_current(engine)
    return engine


def create_command(
    city: str = typer.Option(..., "--city", help="City code in the observatory."),
    period: str = typer.Option(..., "--period", help="The plan's period, e.g. 2026-2029."),
    code: str = typer.Option(None, "--code", help="The plan's code (default: the period)."),
    name: str = typer.Option("", "--name", help="The plan's name."),
    description: str = typer.Option("", "--description", help="What the plan is for."),
) -> None:
    """Create a territorial intervention plan for a city and period (or rename it).

    Example: inclusive-cities plan create --city DEMO --period 2026-2029 --code PIT-2026
    """
    from inclusive_cities.planning.territorial_plan import create_plan

    info = create_plan(_engine(), city, period, code=code, name=name, description=description)
    console.print(
        _("Plan {code} of {city} for {period}: {items} projects.").format(
            code=info.code, city=city, period=info.period, items=info.items
        )
    )


def list_command(
    city: str = typer.Option(..., "--city", help="City code in the observatory."),
) -> None:
    """List a city's plans: period, projects, cost, how many done, published or not."""
    from inclusive_cities.planning.territorial_plan import list_plans

    plans = list_plans(_engine(), city)
    if not plans:
        console.print(_("{city} has no plan yet: create one with 'plan create'.").format(city=city))
        return
    table = Table(
        _("Code"), _("Name"), _("Period"), _("Projects"), _("Cost"), _("Executed"), _("Published")
    )
    for p in plans:
        table.add_row(
            p.code,
            p.name,
            p.period,
            str(p.items),
            format_number(p.cost, 0),
            str(p.done),
            _("yes") if p.published else _("no"),
        )
    console.print(table)


def show_command(
    city: str = typer.Option(..., "--city", help="City code in the observatory."),
    plan: str = typer.Option(..., "--plan", help="Plan code (or its period)."),
) -> None:
    """Show a plan's projects, and the workshop solutions no project answers yet."""
    from inclusive_cities.planning.territorial_plan import load_plan, unanswered_solutions
    from inclusive_cities.reports.plan_report import status_label, type_label

    engine = _engine()
    loaded = load_plan(engine, city, plan)
    table = Table(_("Code"), _("Project"), _("Type"), _("Status"), _("Cost"), _("Start"), _("End"))
    for item in loaded.items.itertuples():
        table.add_row(
            item.code,
            item.name,
            type_label(item.type),
            status_label(item.status),
            format_number(item.cost, 0),
            item.start_date.isoformat() if item.start_date else "",
            item.end_date.isoformat() if item.end_date else "",
        )
    console.print(table)
    open_solutions = unanswered_solutions(engine, city, loaded.info.code)
    if not open_solutions.empty:
        console.print(
            _("Workshop solutions with no project yet: {codes}.").format(
                codes=", ".join(
                    f"{w}:{c}"
                    for w, c in zip(open_solutions["workshop"], open_solutions["code"], strict=True)
                )
            )
        )


def import_command(
    file: Path = typer.Argument(..., help="Projects: .gpkg (points or polygons) or .xlsx."),
    city: str = typer.Option(..., "--city", help="City code in the observatory."),
    plan: str = typer.Option(..., "--plan", help="Plan code (or its period)."),
    layer: str = typer.Option(None, "--layer", help="GeoPackage layer (default: the first)."),
    replace: bool = typer.Option(
        False, "--replace", help="Remove the plan's projects that the file does not hold."
    ),
) -> None:
    """Import a plan's projects from a GeoPackage or a workbook (Spanish or English headers).

    Example: inclusive-cities plan import proyectos.xlsx --city DEMO --plan PIT-2026
    """
    from inclusive_cities.planning.plan_io import import_plan

    count = import_plan(_engine(), city, plan, file, layer=layer, replace=replace)
    console.print(_("Imported {n} projects into plan {plan}.").format(n=count, plan=plan))


def export_command(
    city: str = typer.Option(..., "--city", help="City code in the observatory."),
    plan: str = typer.Option(..., "--plan", help="Plan code (or its period)."),
    out: Path = typer.Option(..., "--out", help="File to write: .gpkg or .xlsx."),
) -> None:
    """Export a plan's projects as GeoPackage (any GIS) or XLSX, headers in the language set."""
    from inclusive_cities.planning.plan_io import export_plan

    path = export_plan(_engine(), city, plan, out, language=state.language or "es")
    console.print(_("Wrote {path}.").format(path=path))


def add_project_command(
    city: str = typer.Option(..., "--city", help="City code in the observatory."),
    plan: str = typer.Option(..., "--plan", help="Plan code (or its period)."),
    project: str = typer.Option(..., "--project", help="Code of a candidate project."),
    status: str = typer.Option("approved", "--status", help="proposed, approved, under_way, done."),
    start: str = typer.Option(None, "--start", help="Start date, e.g. 2026-03-01."),
    end: str = typer.Option(None, "--end", help="End date, e.g. 2026-12-15."),
    solutions: str = typer.Option(
        None, "--solutions", help="Workshop solutions it answers, e.g. TALLER-01:S-02."
    ),
) -> None:
    """Add a candidate project (from 'plan import-projects') to a plan.

    Example: inclusive-cities plan add-project --city DEMO --plan PIT-2026 --project PRJ-07
    """
    from inclusive_cities.planning.territorial_plan import add_project

    overrides: dict[str, object] = {"status": status}
    if start:
        overrides["start_date"] = start
    if end:
        overrides["end_date"] = end
    if solutions:
        overrides["solution_codes"] = solutions
    code = add_project(_engine(), city, plan, project, **overrides)
    console.print(_("Added project {code} to plan {plan}.").format(code=code, plan=plan))


def publish_command(
    city: str = typer.Option(..., "--city", help="City code in the observatory."),
    plan: str = typer.Option(..., "--plan", help="Plan code (or its period)."),
    withdraw: bool = typer.Option(False, "--withdraw", help="Withdraw the plan instead."),
) -> None:
    """Publish a plan: its projects appear in the OGC API (/ogc/collections)."""
    from inclusive_cities.planning.territorial_plan import set_published
    from inclusive_cities.web.plan_features import collection_id

    info = set_published(_engine(), city, plan, not withdraw)
    if info.published:
        console.print(
            _("Plan {plan} is published as the OGC collection {id}.").format(
                plan=info.code, id=collection_id(city, info.code)
            )
        )
    else:
        console.print(_("Plan {plan} is withdrawn.").format(plan=info.code))


def report_command(
    city: str = typer.Option(..., "--city", help="City code in the observatory."),
    plan: str = typer.Option(..., "--plan", help="Plan code (or its period)."),
    out: Path = typer.Option(..., "--out", help="Output file: .pdf or .html."),
    lang: str = typer.Option(
        None, "--lang", help="Report language: es or en (default: messages')."
    ),
) -> None:
    """Write the Territorial Intervention Plan report (PDF or HTML, es or en).

    Example: inclusive-cities plan report --city DEMO --plan PIT-2026 --lang es --out plan.pdf
    """
    from inclusive_cities.i18n import normalise_language
    from inclusive_cities.reports.plan_report import write_plan_report

    language = state.language if lang is None else normalise_language(lang)
    if language is None:
        raise UsageError(_("Unknown report language '{lang}': use es or en.").format(lang=lang))
    path, pages = write_plan_report(_engine(), city, plan, out, language)
    if pages:
        console.print(_("Wrote {path} ({pages} pages).").format(path=path, pages=pages))
    else:
        console.print(_("Wrote {path}.").format(path=path))


@proposals_app.command("import")
def proposals_import_command(
    file: Path = typer.Argument(..., help="Workbook (.xlsx) with one proposal per row."),
    city: str = typer.Option(..., "--city", help="City code in the observatory."),
) -> None:
    """Import neighbourhood proposals (Spanish or English headers); safe to re-run.

    Example: inclusive-cities plan proposals import propuestas.xlsx --city DEMO
    """
    from inclusive_cities.planning.proposals import import_proposals

    count = import_proposals(_engine(), city, file)
    console.print(_("Imported {n} proposals.").format(n=count))


@proposals_app.command("list")
def proposals_list_command(
    city: str = typer.Option(..., "--city", help="City code in the observatory."),
) -> None:
    """List the proposals and what became of each (adopted as which project, or why not)."""
    from inclusive_cities.planning.proposals import list_proposals
    from inclusive_cities.reports.plan_report import outcome_label, supporters_text

    table = Table(
        _("Code"),
        _("Proposal"),
        _("Neighbourhood"),
        _("Supporters"),
        _("Outcome"),
        _("Why / project"),
    )
    for p in list_proposals(_engine(), city).itertuples():
        table.add_row(
            p.code,
            p.title,
            p.unit_code,
            supporters_text(int(p.supporters)),
            outcome_label(p.outcome),
            p.item if p.outcome == "adopted" else p.reason,
        )
    console.print(table)


@designs_app.command("add")
def designs_add_command(
    city: str = typer.Option(..., "--city", help="City code in the observatory."),
    code: str = typer.Option(..., "--code", help="The design's code, e.g. DP-01."),
    name: str = typer.Option(..., "--name", help="The public space's name."),
    polygon: str = typer.Option(None, "--polygon", help="The space as WKT in EPSG:4326."),
    plan: str = typer.Option(None, "--plan", help="Plan code of the project it belongs to."),
    item: str = typer.Option(None, "--project", help="Plan project it belongs to."),
    workshops: str = typer.Option("", "--workshops", help="Workshop codes held, e.g. T-01,T-02."),
    option: list[str] = typer.Option(
        [], "--option", help="A design option as CODE=title: description (repeat it)."
    ),
    chosen: str = typer.Option("", "--chosen", help="Code of the chosen option."),
) -> None:
    """Record a participatory design of a public space.

    Example: inclusive-cities plan designs add --city DEMO --code DP-01 --name "Parque"
    --option "A=Juegos: zona infantil" --option "B=Huerta: huerta comunitaria" --chosen B
    """
    from inclusive_cities.planning.designs import save_design

    options = []
    for text in option:
        key, sep, rest = text.partition("=")
        if not sep:
            raise UsageError(
                _("--option '{text}': write CODE=title: description.").format(text=text)
            )
        title, _colon, description = rest.partition(":")
        options.append(
            {"code": key.strip(), "title": title.strip(), "description": description.strip()}
        )
    saved = save_design(
        _engine(),
        city,
        {
            "code": code,
            "name": name,
            "geometry": polygon,
            "plan": plan,
            "item": item,
            "workshop_codes": [w for w in workshops.replace(";", ",").split(",") if w.strip()],
            "options": options,
            "chosen_option": chosen,
        },
    )
    console.print(_("Saved design {code}.").format(code=saved))


@designs_app.command("photo")
def designs_photo_command(
    file: Path = typer.Argument(..., help="A JPEG, PNG or WebP photo of at most 5 MB."),
    city: str = typer.Option(..., "--city", help="City code in the observatory."),
    design: str = typer.Option(..., "--design", help="The design's code."),
    stage: str = typer.Option(..., "--stage", help="before or after."),
    caption: str = typer.Option("", "--caption", help="What the photo shows."),
) -> None:
    """Add a before or after photo to a participatory design (kept in the store)."""
    from inclusive_cities.planning.designs import add_photo

    photo = add_photo(_engine(), city, design, file, stage=stage, caption=caption)
    console.print(_("Stored photo {id}.").format(id=photo))


def register(plan_app: typer.Typer) -> None:
    """Add the territorial-plan commands to the ``plan`` group."""
    plan_app.command("create")(create_command)
    plan_app.command("list")(list_command)
    plan_app.command("show")(show_command)
    plan_app.command("import")(import_command)
    plan_app.command("export")(export_command)
    plan_app.command("add-project")(add_project_command)
    plan_app.command("publish")(publish_command)
    plan_app.command("report")(report_command)
    plan_app.command("demo-plan")(demo_plan_command)
    plan_app.command("template")(template_command)
    plan_app.add_typer(proposals_app, name="proposals")
    plan_app.add_typer(designs_app, name="designs")


def demo_plan_command(
    city: str = typer.Option("DEMO", "--city", help="City code in the observatory."),
) -> None:
    """Build the demo's territorial plan, proposals and participatory design (synthetic)."""
    from inclusive_cities.demo.plan import build_demo_plan

    built = build_demo_plan(_engine(), city)
    console.print(
        _("Demo plan {plan}: {items} projects, {proposals} proposals, {designs} design.").format(
            plan=built.plan, items=built.items, proposals=built.proposals, designs=built.designs
        )
    )


def template_command(
    out: Path = typer.Option(..., "--out", help="Workbook to write (.xlsx)."),
    lang: str = typer.Option(None, "--lang", help="Headers' language: es or en."),
) -> None:
    """Write an empty workbook of projects and proposals to fill and import.

    Example: inclusive-cities plan template --lang es --out plantilla-plan.xlsx
    """
    from inclusive_cities.i18n import normalise_language
    from inclusive_cities.planning.plan_io import write_template

    language = state.language if lang is None else normalise_language(lang)
    if language is None:
        raise UsageError(_("Unknown report language '{lang}': use es or en.").format(lang=lang))
    console.print(_("Wrote {path}.").format(path=write_template(out, language)))
