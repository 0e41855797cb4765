"""``governance``: migration-governance assessments from the command line (issue #19)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from inclusive_cities.cli.app import state
from inclusive_cities.i18n import current_language, format_number
from inclusive_cities.i18n import gettext as _

console = Console(highlight=False, soft_wrap=True)
governance_app = typer.Typer(
    help="Migration governance: frameworks, assessments, local vs national, initiatives.",
    no_args_is_help=True,
)

FRAMEWORK_HELP = "Built-in framework name or YAML file."


def _engine():  # type: ignore[no-untyped-def]
    from inclusive_cities import store

    engine = store.connect(state.database_url)
    store.require_current(engine)
    return engine


def _score(value: float | None) -> str:
    return "-" if value is None else format_number(value, 1)


@governance_app.command("frameworks")
def frameworks() -> None:
    """List the built-in governance frameworks."""
    from inclusive_cities.governance import builtin_frameworks, load_framework

    table = Table(_("Framework"), _("Name"), _("Domains"), _("Questions"))
    for name in sorted(builtin_frameworks()):
        framework = load_framework(name)
        table.add_row(
            framework.label,
            framework.name.text(current_language()),
            str(len(framework.domains)),
            str(len(framework.questions())),
        )
    console.print(table)


@governance_app.command("framework")
def framework_command(
    name: str = typer.Argument("mgi-demo", metavar="FRAMEWORK", help=FRAMEWORK_HELP),
) -> None:
    """Check a framework and print its domains and questions (errors name file and line)."""
    from inclusive_cities.governance import load_framework

    framework = load_framework(name)
    lang = current_language()
    console.print(f"{framework.label}: {framework.name.text(lang)}", markup=False)
    for domain in framework.domains:
        console.print(f"{domain.code}  {domain.name.text(lang)}", markup=False)
        for sub in domain.subdomains:
            console.print(f"  {sub.code}  {sub.name.text(lang)}", markup=False)
            for question in sub.questions:
                console.print(f"    {question.code}  {question.text.text(lang)}", markup=False)


@governance_app.command("template")
def template(
    out: Path = typer.Option(..., "--out", "-o", help="XLSX file to write."),
    lang: str = typer.Option("es", "--lang", help="Language of the template: es or en."),
    framework: str = typer.Option("mgi-demo", "--framework", help=FRAMEWORK_HELP),
) -> None:
    """Write the XLSX template of an assessment, to fill in and import.

    Example: inclusive-cities governance template --lang es --out evaluacion.xlsx
    """
    from inclusive_cities.governance import load_framework, write_template

    path = write_template(load_framework(framework), lang, out)
    console.print(_("Template written: {path}").format(path=path), markup=False)


@governance_app.command("xlsform")
def xlsform(
    out: Path = typer.Option(..., "--out", "-o", help="XLSForm file to write."),
    framework: str = typer.Option("mgi-demo", "--framework", help=FRAMEWORK_HELP),
) -> None:
    """Write the framework as an XLSForm (Spanish and English) to deploy in KoBo or ODK."""
    from inclusive_cities.governance import load_framework, write_xlsform

    path = write_xlsform(load_framework(framework), out, current_language())
    console.print(_("XLSForm written: {path}").format(path=path), markup=False)


@governance_app.command("import")
def import_command(
    file: Path = typer.Argument(..., help="Filled-in template, or a KoBo export (XLSX)."),
    city: str = typer.Option(None, "--city", help="City code (a local assessment)."),
    country: str = typer.Option(
        None, "--country", help="ISO 3166 alpha-3 country code (a national assessment)."
    ),
    framework: str = typer.Option(
        None, "--framework", help="Framework file, when it is not built in or stored."
    ),
) -> None:
    """Import an assessment in one transaction (re-importing the same place and date replaces it).

    Example: inclusive-cities governance import evaluacion.xlsx --city DEMO
    """
    from inclusive_cities.cli.progress import progress_bar
    from inclusive_cities.governance import import_assessment

    with progress_bar() as progress:
        summary = import_assessment(
            _engine(), file, city=city, country=country, framework=framework, progress=progress
        )
    for line in summary.summary_lines(current_language()):
        console.print(line, markup=False)


@governance_app.command("list")
def list_command(
    city: str = typer.Option(None, "--city", help="City code."),
    country: str = typer.Option(None, "--country", help="ISO 3166 alpha-3 country code."),
) -> None:
    """List the assessments in the observatory."""
    from inclusive_cities.governance import list_assessments

    rows = list_assessments(_engine(), city=city, country=country)
    if not rows:
        console.print(_("No governance assessment yet."), markup=False)
        raise typer.Exit(1)
    lang = current_language()
    table = Table(_("Id"), _("Place"), _("Date"), _("Framework"), _("Overall score"))
    for row in rows:
        table.add_row(
            str(row.id),
            row.place_label(lang),
            row.assessed_on.isoformat(),
            f"{row.framework_code}@{row.framework_version}",
            _score(row.overall),
        )
    console.print(table)


@governance_app.command("show")
def show(
    assessment: str = typer.Argument(None, metavar="[ID]", help="Assessment id (default: latest)."),
    city: str = typer.Option(None, "--city", help="City code (its latest local assessment)."),
    country: str = typer.Option(
        None, "--country", help="Country code (its latest national assessment)."
    ),
    evidence: bool = typer.Option(
        False, "--evidence", help="Also print the marker areas and indicators each domain links to."
    ),
) -> None:
    """Print an assessment's scores by domain, its strengths and its gaps."""
    from inclusive_cities.governance import domain_evidence, resolve

    result = resolve(_engine(), assessment, city=city, country=country)
    lang = current_language()
    info = result.info
    console.print(
        _("{place}, {date} ({framework}): overall score {score} of 100").format(
            place=info.place_label(lang),
            date=info.assessed_on.isoformat(),
            framework=f"{info.framework_code}@{info.framework_version}",
            score=_score(result.overall),
        ),
        markup=False,
    )
    table = Table(_("Domain"), _("Score"), _("Answered"), _("Not applicable"), _("Band"))
    bands = {"strength": _("strength"), "middle": _("middle"), "gap": _("gap")}
    for domain in result.domains:
        table.add_row(
            domain.name.text(lang),
            _score(domain.score),
            f"{domain.answered}/{domain.questions}",
            str(domain.not_applicable),
            bands.get(domain.band or "", "-"),
        )
    console.print(table)
    scoring = result.framework.scoring
    no_strength = _("No strengths yet: no domain scores {score} of 100 or more.").format(
        score=format_number(scoring.strength, 0)
    )
    for title, lines, empty in (
        (_("Strengths"), result.strengths(lang), no_strength),
        (_("Gaps"), result.gaps(lang), _("No gap was found.")),
    ):
        console.print(title, style="bold", markup=False)
        if not lines:
            console.print(f"  {empty}", markup=False)
        for line in lines:
            console.print(f"  - {line}", markup=False)
    if evidence:
        console.print(_("Beside the evidence"), style="bold", markup=False)
        for item in domain_evidence(_engine(), result):
            linked = [
                f"{v.name.text(lang)} {_score(v.value)}" for v in [*item.areas, *item.indicators]
            ]
            console.print(f"  {item.name.text(lang)}: {'; '.join(linked) or '-'}", markup=False)


@governance_app.command("compare")
def compare(
    ids: list[int] = typer.Argument(
        None,
        metavar="[ID ID]",
        help="Two assessments: a local and a national one, or one place twice.",
    ),
    city: str = typer.Option(None, "--city", help="City code: its latest local vs national."),
) -> None:
    """Compare a city with its country question by question (ahead, behind, same), or one
    place at two dates (improved, worsened, same).

    Example: inclusive-cities governance compare --city DEMO
    """
    from inclusive_cities.errors import UsageError
    from inclusive_cities.governance import compare_changes, compare_levels, resolve

    engine = _engine()
    if ids and len(ids) != 2:
        raise UsageError(_("Give two assessment ids, or --city alone."))
    if ids:
        first, second = resolve(engine, ids[0]), resolve(engine, ids[1])
        if first.info.level != second.info.level:
            local, national = (first, second) if first.info.level == "local" else (second, first)
            comparison = compare_levels(
                engine, local_id=local.info.id, national_id=national.info.id
            )
        else:
            comparison = compare_changes(engine, ids[0], ids[1])
    elif city:
        comparison = compare_levels(engine, city)
    else:
        raise UsageError(_("Give two assessment ids, or --city alone."))
    lang = current_language()
    for line in comparison.summary(lang):
        console.print(line, markup=False)
    left, right = (
        (_("Local"), _("National")) if comparison.kind == "levels" else (_("After"), _("Before"))
    )
    table = Table(_("Question"), left, right, _("Status"))
    for question in comparison.questions:
        left_answer, right_answer = comparison.answer_labels(question, lang)
        table.add_row(
            f"{question.code} {question.text.text(lang)}",
            left_answer,
            right_answer,
            comparison.status_label(question.status, lang),
        )
    console.print(table)


@governance_app.command("export")
def export(
    assessment: str = typer.Argument(None, metavar="[ID]", help="Assessment id (default: latest)."),
    out: Path = typer.Option(..., "--out", "-o", help="XLSX file to write."),
    city: str = typer.Option(None, "--city", help="City code (its latest local assessment)."),
    country: str = typer.Option(
        None, "--country", help="Country code (its latest national assessment)."
    ),
    lang: str = typer.Option(None, "--lang", help="Language of the workbook: es or en."),
) -> None:
    """Export an assessment's results to XLSX, with the local vs national comparison when
    both exist."""
    from inclusive_cities.governance import export_assessment, resolve

    engine = _engine()
    result = resolve(engine, assessment, city=city, country=country)
    path = export_assessment(engine, result.info.id, out, lang or current_language())
    console.print(_("Results written: {path}").format(path=path), markup=False)


@governance_app.command("import-initiatives")
def import_initiatives_command(
    file: Path = typer.Argument(..., help="CSV or XLSX of initiatives and good practices."),
    framework: str = typer.Option("mgi-demo", "--framework", help=FRAMEWORK_HELP),
) -> None:
    """Import initiatives and good practices (re-importing a code updates it)."""
    from inclusive_cities.governance import import_initiatives

    done = import_initiatives(_engine(), file, framework=framework)
    console.print(
        _("{created} initiatives created, {updated} updated.").format(
            created=done.created, updated=done.updated
        ),
        markup=False,
    )


@governance_app.command("search")
def search(
    text: str = typer.Argument(None, help="Words to look for (any case, with or without accents)."),
    kind: str = typer.Option(None, "--kind", help="initiative or good_practice."),
    domain: str = typer.Option(None, "--domain", help="Domain code (such as RIGHTS)."),
    city: str = typer.Option(None, "--city", help="City code."),
    country: str = typer.Option(None, "--country", help="ISO 3166 alpha-3 country code."),
    level: str = typer.Option(None, "--level", help="local or national."),
    status: str = typer.Option(None, "--status", help="planned, ongoing, completed, suspended."),
    framework: str = typer.Option(
        "mgi-demo", "--framework", help=FRAMEWORK_HELP + " Names the domains."
    ),
) -> None:
    """Search the initiatives and good practices."""
    from inclusive_cities.governance import load_framework, search_initiatives
    from inclusive_cities.governance.initiatives import status_label
    from inclusive_cities.mobility.schema import country_name

    found = search_initiatives(
        _engine(),
        text,
        kind=kind,
        domain=domain,
        city=city,
        country=country,
        level=level,
        status=status,
    )
    if not found:
        console.print(_("Nothing found."), markup=False)
        raise typer.Exit(1)
    lang = current_language()
    domains = {d.code: d.name.text(lang) for d in load_framework(framework).domains}
    table = Table(_("Code"), _("Name"), _("Domain"), _("Place"), _("Status"), _("Partners"))
    for record in found:
        table.add_row(
            record.code,
            record.name.text(lang),
            domains.get(record.domain, record.domain),
            record.city_name or record.city or country_name(record.country, lang),
            status_label(record.status, lang),
            record.partners,
        )
    console.print(table)


@governance_app.command("sync")
def sync_command(city: str = typer.Option(..., "--city", help="City code.")) -> None:
    """Write the latest local assessment's score as the marker's migration_governance_score."""
    from inclusive_cities.governance import sync

    written = sync(_engine(), city)
    console.print(
        _("{count} values of migration_governance_score written.").format(count=written),
        markup=False,
    )
    if not written:
        raise typer.Exit(1)


@governance_app.command("demo")
def demo_command(
    city: str = typer.Option("DEMO", "--city", help="City code of the loaded demo city."),
    country: str = typer.Option("COL", "--country", help="Its country (ISO 3166 alpha-3)."),
) -> None:
    """Import the demo city's synthetic assessments (local 2022 and 2024, national 2024) and
    initiatives, through the template and the importers.

    Example: inclusive-cities governance demo --city DEMO
    """
    from inclusive_cities.demo.governance import load_governance_demo

    ids = load_governance_demo(_engine(), city, country)
    console.print(
        _("Demo governance data loaded: assessments {ids}.").format(
            ids=", ".join(str(i) for i in ids)
        ),
        markup=False,
    )


def register(app: typer.Typer) -> None:
    app.add_typer(governance_app, name="governance")
