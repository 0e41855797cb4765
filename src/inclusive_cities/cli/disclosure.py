"""``disclosure audit``: attack what the observatory would publish and list what comes back."""

from __future__ import annotations

import typer
from rich.console import Console

from inclusive_cities.cli.app import state
from inclusive_cities.cli.progress import progress_bar
from inclusive_cities.i18n import gettext as _

console = Console(highlight=False, soft_wrap=True)
disclosure_app = typer.Typer(
    help="Disclosure control: audit what the public can recover from published figures.",
    no_args_is_help=True,
)


@disclosure_app.command("audit")
def audit_command(
    city: str = typer.Option(..., "--city", help="City code."),
    without_control: bool = typer.Option(
        False,
        "--without-control",
        help="Audit what would be served with disclosure control switched off.",
    ),
    limit: int = typer.Option(
        0, "--limit", min=0, help="Print at most this many findings (0: every one)."
    ),
) -> None:
    """Run the attacker against every public figure of a city; exit 1 if any cell comes back.

    Example: inclusive-cities disclosure audit --city DEMO
    """
    from sqlalchemy.orm import Session

    from inclusive_cities import store
    from inclusive_cities.disclosure import audit, control
    from inclusive_cities.disclosure.secondary import parallel_solves

    engine = store.connect(state.database_url)
    store.require_current(engine)
    with (
        control(not without_control),
        parallel_solves(),  # a protection not stored yet is solved on both cores
        Session(engine) as session,
        progress_bar(_("Disclosure audit")) as progress,
    ):
        report = audit(session, city, progress=progress)
    shown = report.findings if not limit else report.findings[:limit]
    for finding in shown:
        console.print(report.line(finding), markup=False)
    console.print(report.summary(), markup=False)
    for attack, count in report.by_attack().items():
        console.print(
            _("  {attack}: {count} cells").format(attack=attack, count=count), markup=False
        )
    if report.findings:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(disclosure_app, name="disclosure")
