"""``plan``: which places most need investment and which projects to fund within a budget."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from inclusive_cities.cli.app import state
from inclusive_cities.cli.progress import progress_bar
from inclusive_cities.errors import UsageError
from inclusive_cities.i18n import format_number
from inclusive_cities.i18n import gettext as _

console = Console(highlight=False)
plan_app = typer.Typer(
    help="Investment planning: rank places by need and select projects under a budget.",
    no_args_is_help=True,
)


def parse_weights(text: str | None) -> dict[str, float] | None:
    """``"VIV=2,SAL=1.5"`` -> {"VIV": 2.0, "SAL": 1.5}."""
    if not text:
        return None
    weights: dict[str, float] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        code, sep, value = part.partition("=")
        try:
            if not sep:
                raise ValueError(part)
            weights[code.strip()] = float(value)
        except ValueError:
            raise UsageError(
                _(
                    "--weights '{part}': write area=weight pairs separated by commas, e.g. "
                    "VIV=2,SAL=1."
                ).format(part=part.strip())
            ) from None
    return weights


def _engine():  # type: ignore[no-untyped-def]
    from inclusive_cities import store

    engine = store.connect(state.database_url)
    store.require_current(engine)
    return engine


@plan_app.command("places")
def places_command(
    city: str = typer.Option(..., "--city", help="City code in the observatory."),
    run: str = typer.Option(..., "--run", help="Marker run id, or a spec code for its latest run."),
    k: int = typer.Option(10, "--k", min=1, help="How many most-excluded places to count."),
    out: Path = typer.Option(..., "--out", help="Workbook to write (.xlsx)."),
    weights: str = typer.Option(None, "--weights", help="Area weights, e.g. VIV=2,SAL=1."),
    target: float = typer.Option(
        None, "--target", help="Score every area should reach (default: the city's median)."
    ),
    replicates: int = typer.Option(
        None, "--replicates", min=2, help="Monte Carlo base sample (default: the run's)."
    ),
    weight_spread: float = typer.Option(
        0.25, "--weight-spread", help="Move each area weight by up to ±this share (0.25 = ±25 %)."
    ),
) -> None:
    """Rank places from the most excluded, with the probability of being among the k most
    excluded, what drives each gap and who lives there.

    Example: inclusive-cities plan places --city DEMO --run uim-basic --k 10 --out places.xlsx
    """
    from inclusive_cities.planning.output import write_places_xlsx
    from inclusive_cities.planning.places import prioritise_places

    with progress_bar(_("Ranking the places")) as progress:
        places = prioritise_places(
            _engine(),
            city,
            run,
            k=k,
            weights=parse_weights(weights),
            target=target,
            replicates=replicates,
            weight_spread=weight_spread,
            progress=progress,
        )
    table = Table(
        _("Rank"),
        _("Unit"),
        _("Locality"),
        _("Score"),
        _("P(top {k})").format(k=k),
        _("What drives the gap"),
    )
    for row in places.units.head(k).itertuples():
        if row.excluded_rank != row.excluded_rank:  # NaN: no index, nothing more is ranked
            break
        table.add_row(
            str(int(row.excluded_rank)),
            f"{row.unit_name} ({row.unit_code})",
            str(row.locality),
            format_number(row.score, 1),
            format_number(100 * row.p_top_k, 0) + " %",
            str(row.drivers),
        )
    console.print(table)
    write_places_xlsx(places, out)
    console.print(
        _(
            "{units} places of run {run} ranked over {replicates} Monte Carlo replicates; "
            "Spearman correlation with ±{spread:.0%} area weights: {rho}. Wrote {path}."
        ).format(
            units=len(places.units),
            run=places.run_id,
            replicates=2 * places.replicates,
            spread=places.spearman["spread"],
            rho=format_number(places.spearman["median"], 3),
            path=out,
        )
    )


@plan_app.command("import-projects")
def import_command(
    city: str = typer.Option(..., "--city", help="City code in the observatory."),
    projects: Path = typer.Option(..., "--projects", help="Candidate projects (.xlsx or .gpkg)."),
    level: str = typer.Option(None, "--level", help="Unit level of the beneficiaries."),
    period: str = typer.Option(None, "--period", help="Period of the population counts."),
    streets: Path = typer.Option(
        None, "--streets", help="Street network: catchments along the streets."
    ),
    catchment: float = typer.Option(
        500.0, "--catchment", help="Catchment radius in metres where a project gives none."
    ),
) -> None:
    """Store a city's candidate projects with their beneficiaries (replaces the earlier
    candidates; projects already under way are kept, unless the file has their code).

    Example: inclusive-cities plan import-projects --city DEMO --projects proyectos.gpkg
    --level barrio
    """
    from inclusive_cities.planning.projects import import_projects

    summary = import_projects(
        _engine(),
        city,
        projects,
        level=level,
        period=period,
        streets=streets,
        default_catchment_m=catchment,
        imported_by="cli",
    )
    console.print(
        _(
            "Stored {count} candidate projects of {file} for {city} at level '{level}': "
            "{host} host and {migrant} refugee and migrant residents in the projects' "
            "catchments, counted once (population of period {period})."
        ).format(
            count=summary.projects,
            file=summary.file,
            city=city,
            level=summary.level,
            period=summary.period,
            host=format_number(summary.beneficiaries_host, 0),
            migrant=format_number(summary.beneficiaries_migrant, 0),
        )
    )
    if summary.kept:
        console.print(
            _(
                "Kept {kept} projects already under way (started on or before today) for "
                "impact measurement; the earlier candidate projects were replaced."
            ).format(kept=summary.kept)
        )


@plan_app.command("prioritise")
def prioritise_command(
    city: str = typer.Option(..., "--city", help="City code in the observatory."),
    run: str = typer.Option(..., "--run", help="Marker run id, or a spec code for its latest run."),
    budget_text: str = typer.Option(
        ..., "--budget", help="Money available, e.g. 2500000 or 2.500.000."
    ),
    out: Path = typer.Option(..., "--out", help="Workbook to write (.xlsx)."),
    projects: Path = typer.Option(
        None, "--projects", help="Candidate projects (.xlsx or .gpkg); default: those stored."
    ),
    constraints: Path = typer.Option(None, "--constraints", help="Constraints (YAML)."),
    weights: str = typer.Option(None, "--weights", help="Area weights, e.g. VIV=2,SAL=1."),
    streets: Path = typer.Option(
        None, "--streets", help="Street network: catchments along the streets."
    ),
    robust: int = typer.Option(
        50, "--robust", min=0, help="Monte Carlo base sample for robustness (0: skip)."
    ),
) -> None:
    """Select the projects that do the most good within the budget and the constraints.

    Example: inclusive-cities plan prioritise --city DEMO --run uim-basic --projects
    proyectos.gpkg --budget 2500000 --constraints c.yaml --out seleccion.xlsx
    """
    from inclusive_cities.planning.output import type_label, write_selection_xlsx
    from inclusive_cities.planning.projects import parse_amount
    from inclusive_cities.planning.selection import Constraints, load_constraints, prioritise

    budget = parse_amount(budget_text)
    if budget is None or budget <= 0:
        raise UsageError(
            _(
                "--budget '{value}' is not an amount of money: write it as 2500000 or "
                "2.500.000 (a dot or comma before the last three digits groups thousands)."
            ).format(value=budget_text)
        )
    rules = load_constraints(constraints, budget) if constraints else Constraints(budget=budget)
    with progress_bar(_("Selecting the projects")) as progress:
        plan = prioritise(
            _engine(),
            city,
            run,
            rules,
            projects_path=projects,
            streets=streets,
            weights=parse_weights(weights),
            robust_replicates=robust or None,
            imported_by="cli",
            progress=progress,
        )
    chosen = plan.selection.table[plan.selection.table["chosen"]]
    table = Table(_("Code"), _("Project"), _("Type"), _("Locality"), _("Cost"), _("Benefit"))
    for row in chosen.sort_values("benefit", ascending=False).itertuples():
        table.add_row(
            str(row.code),
            str(row.name),
            type_label(str(row.type)),
            str(row.locality),
            format_number(row.cost, 0),
            format_number(row.benefit, 1),
        )
    console.print(table)
    write_selection_xlsx(plan, out)
    selection = plan.selection
    console.print(
        _(
            "{count} projects chosen for {cost} of {budget}: benefit {benefit} (greedy "
            "benefit/cost choice: {greedy}, gap {gap}). Wrote {path}."
        ).format(
            count=len(selection.chosen),
            cost=format_number(selection.cost, 0),
            budget=format_number(rules.budget, 0),
            benefit=format_number(selection.benefit, 1),
            greedy=format_number(selection.greedy_benefit, 1),
            gap=format_number(selection.gap * 100, 1) + " %",
            path=out,
        )
    )
    console.print(
        _(
            "People the chosen projects reach, each neighbourhood's residents counted once "
            "(population of period {period}, the marker run's): {host} host residents and "
            "{migrant} refugees and migrants."
        ).format(
            period=plan.places.run.period,
            host=format_number(selection.people_host, 0),
            migrant=format_number(selection.people_migrant, 0),
        )
    )
    if selection.greedy_violations:
        console.print(
            _("The greedy choice misses: {constraints}.").format(
                constraints="; ".join(selection.greedy_violations)
            )
        )
    if not selection.chosen:
        from inclusive_cities.planning.errors import PlanningError

        raise PlanningError(
            _(
                "No project fits in a budget of {budget}: the cheapest costs {cheapest}. Check "
                "--budget (2500000 or 2.500.000) and the costs in the projects file."
            ).format(
                budget=format_number(rules.budget, 0),
                cheapest=format_number(float(plan.selection.table["cost"].min()), 0),
            )
        )


@plan_app.command("demo-projects")
def demo_projects_command(
    boundaries: Path = typer.Argument(..., help="The demo city's boundaries.gpkg."),
    out: Path = typer.Option(..., "--out", help="GeoPackage to write."),
    count: int = typer.Option(40, "--count", min=7, help="About how many projects."),
    seed: int = typer.Option(16, "--seed", help="Seed: the same seed gives the same projects."),
) -> None:
    """Write candidate projects for the demo city (names, sites, costs, effects)."""
    from inclusive_cities.demo.projects import write_demo_projects

    path = write_demo_projects(boundaries, out, count=count, seed=seed)
    console.print(_("Wrote {path}.").format(path=path))


def register(app: typer.Typer) -> None:
    from inclusive_cities.cli import impact, territorial_plan

    impact.register(plan_app)
    territorial_plan.register(plan_app)
    app.add_typer(plan_app, name="plan")
