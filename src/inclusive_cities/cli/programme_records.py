"""``programme`` delivery commands: trainings, entrepreneurs, policies, centres, commitments.

Registered into the ``programme`` group by :func:`register_records`. Facilitators fill one
workbook (``programme deliveries template``) and import it whole, or import one kind from a
CSV; the centres network also comes from and goes to a GeoPackage.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from inclusive_cities.cli.app import state
from inclusive_cities.i18n import current_language, format_number
from inclusive_cities.i18n import gettext as _

console = Console(highlight=False, soft_wrap=True)

deliveries_app = typer.Typer(
    help="What the programme delivers: the facilitators' workbook, its import and a summary.",
    no_args_is_help=True,
)
trainings_app = typer.Typer(help="Training sessions and their participants.", no_args_is_help=True)
entrepreneurs_app = typer.Typer(
    help="Entrepreneurs supported and their follow-up.", no_args_is_help=True
)
policies_app = typer.Typer(help="Policies and local instruments supported.", no_args_is_help=True)
centres_app = typer.Typer(
    help="The network of Social Integration and Habitat Co-creation Centres.", no_args_is_help=True
)
commitments_app = typer.Typer(
    help="Commitments agreed in multilevel dialogue spaces.", no_args_is_help=True
)

FILE_HELP = "CSV or XLSX file (Spanish or English headers)."


def _engine():  # type: ignore[no-untyped-def]
    from inclusive_cities import store

    engine = store.connect(state.database_url)
    store.require_current(engine)
    return engine


def _report(result) -> None:  # type: ignore[no-untyped-def]
    kind = {
        "trainings": _("Training sessions"),
        "entrepreneurs": _("Entrepreneurs"),
        "policies": _("Policies"),
        "centres": _("Centres"),
        "commitments": _("Commitments"),
    }.get(result.kind, result.kind)
    console.print(
        _("{kind}: {created} created, {updated} updated (import batch {batch}).").format(
            kind=kind, created=result.created, updated=result.updated, batch=result.batch_id
        )
    )


@deliveries_app.command("template")
def template(
    out: Path = typer.Option(..., "--out", help="Workbook to write (.xlsx)."),
    lang: str = typer.Option("", "--lang", help="Language of sheets and headers: es or en."),
) -> None:
    """Write the facilitators' workbook: one sheet per kind of record, with drop-down lists."""
    from inclusive_cities.monitoring.delivery_workbook import write_workbook

    written = write_workbook(out, lang or current_language())
    console.print(_("Template written to {path}.").format(path=written))


@deliveries_app.command("import")
def import_all(
    workbook: Path = typer.Argument(..., metavar="FILE.xlsx", help="The filled workbook."),
) -> None:
    """Import every filled sheet of the workbook in one transaction."""
    from inclusive_cities.monitoring.delivery_workbook import import_workbook

    for result in import_workbook(_engine(), workbook):
        _report(result)


@deliveries_app.command("summary")
def summary(
    target_city: str = typer.Option("", "--target-city", help="Only this target city (code)."),
) -> None:
    """Print the delivery figures: people trained, improved knowledge with its 95 % CI,
    policies by stage, centres, entrepreneurs and businesses open."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from inclusive_cities.monitoring import centres, entrepreneurs, policies, trainings
    from inclusive_cities.monitoring.delivery_import import DeliveryError
    from inclusive_cities.store.monitoring_models import TargetCity

    engine = _engine()
    city_id: int | None = None
    if target_city:
        with Session(engine) as session:
            city_id = session.scalar(select(TargetCity.id).where(TargetCity.code == target_city))
        if city_id is None:
            raise DeliveryError(
                _(
                    "There is no target city '{code}': see 'inclusive-cities programme results'."
                ).format(code=target_city)
            )
    lang = current_language()
    for audience in ("public_servants", "community"):
        console.print(
            _("People trained ({audience}): {n}").format(
                audience=trainings.audience_label(audience, lang),
                n=format_number(
                    trainings.people_trained(engine, audience=audience, target_city_id=city_id), 0
                ),
            )
        )
    estimate = trainings.improved_knowledge(engine, target_city_id=city_id)
    if estimate.share is None or estimate.low is None or estimate.high is None:
        console.print(_("Improved knowledge: no public servant has both assessments yet."))
    else:
        console.print(
            _(
                "Improved knowledge (public servants): {share} % (95 % CI {low}-{high} %, "
                "{improved} of {n} assessed in {sessions} sessions; Wilson interval, design "
                "effect {deff})"
            ).format(
                share=format_number(100 * estimate.share, 1),
                low=format_number(100 * estimate.low, 1),
                high=format_number(100 * estimate.high, 1),
                improved=estimate.improved,
                n=estimate.assessed,
                sessions=estimate.sessions,
                deff=format_number(estimate.design_effect, 2),
            )
        )
    stages = policies.policies_by_stage(engine, target_city_id=city_id)
    console.print(
        _("Policies supported: {total} ({stages})").format(
            total=sum(stages.values()),
            stages=", ".join(f"{policies.stage_label(s, lang)} {n}" for s, n in stages.items()),
        )
    )
    if not target_city:
        console.print(
            _("Centres in the network (active): {n}").format(n=centres.centres_in_network(engine))
        )
    console.print(
        _("Entrepreneurs supported: {n}").format(
            n=entrepreneurs.entrepreneurs_supported(engine, target_city_id=city_id)
        )
    )
    for months in (6, 12):
        follow = entrepreneurs.business_open(engine, months, target_city_id=city_id)
        console.print(
            _("Business open after {months} months: {open} of {followed} followed up").format(
                months=months, open=follow.open, followed=follow.followed
            )
        )


@deliveries_app.command("demo")
def demo(
    out: Path = typer.Option(..., "--out", help="Folder for the demo workbook and GeoPackage."),
) -> None:
    """Write and import a year of demo deliveries for the programme's target cities."""
    from inclusive_cities.demo.programme_deliveries import build_demo_deliveries

    result = build_demo_deliveries(_engine(), out)
    console.print(
        _(
            "Demo deliveries: {trainings} training sessions ({participants} participants), "
            "{entrepreneurs} entrepreneurs, {policies} policies, {centres} centres, "
            "{commitments} commitments."
        ).format(
            trainings=result.trainings,
            participants=result.participants,
            entrepreneurs=result.entrepreneurs,
            policies=result.policies,
            centres=result.centres,
            commitments=result.commitments,
        )
    )


@trainings_app.command("import")
def import_trainings(
    file: Path = typer.Argument(..., metavar="FILE", help=FILE_HELP),
    participants: Path | None = typer.Option(
        None, "--participants", help="Participants with pre/post scores, when in another file."
    ),
) -> None:
    """Import training sessions (and their participants)."""
    from inclusive_cities.monitoring.trainings import import_trainings as run

    _report(run(_engine(), file, participants))


@entrepreneurs_app.command("import")
def import_entrepreneurs(
    file: Path = typer.Argument(..., metavar="FILE", help=FILE_HELP),
) -> None:
    """Import entrepreneurs and their follow-up."""
    from inclusive_cities.monitoring.entrepreneurs import import_entrepreneurs as run

    _report(run(_engine(), file))


@policies_app.command("import")
def import_policies(
    file: Path = typer.Argument(..., metavar="FILE", help=FILE_HELP),
) -> None:
    """Import policies and local instruments."""
    from inclusive_cities.monitoring.policies import import_policies as run

    _report(run(_engine(), file))


@commitments_app.command("import")
def import_commitments(
    file: Path = typer.Argument(..., metavar="FILE", help=FILE_HELP),
) -> None:
    """Import city commitments."""
    from inclusive_cities.monitoring.commitments import import_commitments as run

    _report(run(_engine(), file))


@centres_app.command("import")
def import_centres(
    file: Path = typer.Argument(
        ..., metavar="FILE", help="CSV, XLSX (lon/lat columns) or GeoPackage (points)."
    ),
) -> None:
    """Import centres of the network (re-importing updates them)."""
    from inclusive_cities.monitoring.centres import import_centres as run

    _report(run(_engine(), file))


@centres_app.command("export")
def export_centres(
    out: Path = typer.Option(..., "--out", help="GeoPackage to write (.gpkg)."),
    lang: str = typer.Option("", "--lang", help="Language of the headers: es or en."),
) -> None:
    """Write the centres network to a GeoPackage that 'centres import' reads back."""
    from inclusive_cities.monitoring.centres import export_centres as run

    count = run(_engine(), out, lang or current_language())
    console.print(_("{n} centres written to {path}.").format(n=count, path=out))


def register_records(app: typer.Typer) -> None:
    """Add the delivery subcommands to the ``programme`` group."""
    app.add_typer(deliveries_app, name="deliveries")
    app.add_typer(trainings_app, name="trainings")
    app.add_typer(entrepreneurs_app, name="entrepreneurs")
    app.add_typer(policies_app, name="policies")
    app.add_typer(centres_app, name="centres")
    app.add_typer(commitments_app, name="commitments")
