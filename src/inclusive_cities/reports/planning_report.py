"""The planner's printed outputs: the selection of projects under a budget, for a council,
and the impact of a project, in plain words (WeasyPrint from the report template).

    from inclusive_cities import planning
    from inclusive_cities.reports.planning_report import selection_report
    plan = planning.prioritise(engine, "DEMO", "1", constraints=planning.Constraints(budget=2e6))
    pages = selection_report(engine, "DEMO", plan, "seleccion.pdf", language="es")

The figures are the planning domain's (:mod:`inclusive_cities.planning`); this module only
lays them out, with the same chart definitions the web planner draws.
"""

from __future__ import annotations

import base64
import io
from datetime import date
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from inclusive_cities.charts.planning import budget_curve, impact_trend
from inclusive_cities.i18n import current_language, use_language
from inclusive_cities.i18n import gettext as _
from inclusive_cities.reports import fmt
from inclusive_cities.reports.document import Document, Figure, KeyFigure, Section, Table
from inclusive_cities.reports.errors import ReportError
from inclusive_cities.reports.labels import labels as report_labels
from inclusive_cities.reports.render import to_html, to_pdf
from inclusive_cities.store import models

CURRENCY = "$"
LEVEL_COLOURS = [
    (80.0, "#1a9641"),
    (70.0, "#73c374"),
    (60.0, "#c4e687"),
    (50.0, "#fec981"),
    (40.0, "#f07c4a"),
    (0.0, "#d7191c"),
]
"""Colours of the marker's performance levels (the web's default levels, best first)."""


def type_labels() -> dict[str, str]:
    """Project types in the reader's language."""
    return {
        "public_space": _("Public space"),
        "housing": _("Housing"),
        "services": _("Services"),
        "centre": _("Integration centre"),
        "economic": _("Economic development"),
        "social_cohesion": _("Social cohesion"),
    }


def chart_png(chart: Any, language: str) -> str:
    """A chart as a PNG data URI with numbers written as ``language`` writes them."""
    import vl_convert

    from inclusive_cities.charts.planning import NUMBER_LOCALES

    png = vl_convert.vegalite_to_png(
        chart.to_dict(), scale=2.0, format_locale=NUMBER_LOCALES.get(language, NUMBER_LOCALES["en"])
    )
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _money(value: float | None, language: str) -> str:
    return f"{CURRENCY} {fmt.number(value, language)}"


def _city(session: Session, code: str) -> models.City:
    city = session.scalar(select(models.City).where(models.City.code == code))
    if city is None:
        raise ReportError(_("There is no city with code {code}.").format(code=code))
    return city


def _run_context(session: Session, run_id: int) -> tuple[models.MarkerRun, models.Period]:
    run = session.get(models.MarkerRun, run_id)
    if run is None:
        raise ReportError(_("There is no marker run {id}.").format(id=run_id))
    period = session.get(models.Period, run.period_id)
    assert period is not None
    return run, period


def _units_frame(session: Session, city_id: int, level_id: int | None) -> gpd.GeoDataFrame:
    query = select(models.SpatialUnit.code, models.SpatialUnit.geometry).where(
        models.SpatialUnit.city_id == city_id, models.SpatialUnit.geometry.is_not(None)
    )
    if level_id is not None:
        query = query.where(models.SpatialUnit.level_id == level_id)
    rows = session.execute(query).all()
    return gpd.GeoDataFrame(
        {"code": [r.code for r in rows]},
        geometry=[shapely.from_wkb(r.geometry) for r in rows],
        crs="EPSG:4326",
    )


def _level_colour(score: float | None) -> str:
    if score is None or pd.isna(score):
        return "#d9d9d9"
    return next(colour for minimum, colour in LEVEL_COLOURS if score >= minimum)


def project_map(
    units: gpd.GeoDataFrame,
    scores: dict[str, float],
    points: list[tuple[float, float, bool]],
    chosen_label: str,
    other_label: str,
) -> str:
    """Static map: units coloured by marker level, chosen projects as filled dots, others
    hollow (matplotlib, no tiles: a report must print the same offline)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    figure, axis = plt.subplots(figsize=(7.0, 5.5))
    frame = units.copy()
    if not frame.empty:
        utm = frame.estimate_utm_crs()
        frame = frame.to_crs(utm)
        colours = [_level_colour(scores.get(code)) for code in frame["code"]]
        frame.plot(ax=axis, color=colours, edgecolor="white", linewidth=0.3, alpha=0.8)
        if points:
            sites = gpd.GeoSeries(
                [shapely.Point(x, y) for x, y, _c in points], crs="EPSG:4326"
            ).to_crs(utm)
            chosen = [c for _x, _y, c in points]
            for site, is_chosen in zip(sites, chosen, strict=True):
                axis.plot(
                    site.x,
                    site.y,
                    marker="o",
                    markersize=8 if is_chosen else 6,
                    markerfacecolor="#1d2733" if is_chosen else "white",
                    markeredgecolor="#1d2733",
                    markeredgewidth=1.5,
                )
    handles = [
        Line2D([], [], marker="o", linestyle="", markersize=8, color="#1d2733", label=chosen_label),
        Line2D(
            [],
            [],
            marker="o",
            linestyle="",
            markersize=6,
            markerfacecolor="white",
            markeredgecolor="#1d2733",
            label=other_label,
        ),
    ]
    axis.legend(handles=handles, loc="lower left", bbox_to_anchor=(1.01, 0.0), frameon=False)
    axis.set_axis_off()
    axis.set_aspect("equal")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=120, bbox_inches="tight", pad_inches=0.05)
    plt.close(figure)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _project_sites(
    projects: pd.DataFrame, units: gpd.GeoDataFrame
) -> dict[str, tuple[float, float]]:
    """code -> (lon, lat): the site, the centre of the polygon, or of the units it serves."""
    by_code = dict(zip(units["code"], units.geometry, strict=True)) if not units.empty else {}
    sites: dict[str, tuple[float, float]] = {}
    for row in projects.to_dict("records"):
        lon, lat = row.get("longitude"), row.get("latitude")
        if lon is not None and lat is not None and not (pd.isna(lon) or pd.isna(lat)):
            sites[str(row["code"])] = (float(lon), float(lat))
            continue
        geometry = row.get("geometry")
        if isinstance(geometry, bytes | bytearray):
            geometry = shapely.from_wkb(bytes(geometry))
        if not isinstance(geometry, shapely.Geometry) or geometry.is_empty:
            parts = [by_code[c] for c in (row.get("unit_codes") or []) if c in by_code]
            geometry = shapely.union_all(parts) if parts else None
        if geometry is not None and not geometry.is_empty:
            centre = geometry.representative_point()
            sites[str(row["code"])] = (float(centre.x), float(centre.y))
    return sites


def _frame(value: Any) -> pd.DataFrame:
    return value if isinstance(value, pd.DataFrame) else pd.DataFrame(value or [])


def selection_document(
    engine: Engine, city_code: str, plan: Any, language: str, today: date | None = None
) -> Document:
    """The selection as a document: summary, map, budget curve, the projects, robustness
    and how it was chosen. ``plan`` is :func:`inclusive_cities.planning.prioritise`'s result."""
    t = report_labels()
    selection = plan.selection
    places = plan.places
    table = _frame(selection.table)
    constraints = selection.constraints
    with Session(engine) as session:
        city = _city(session, city_code)
        run, period = _run_context(session, int(places.run_id))
        units = _units_frame(session, city.id, run.level_id)
        projects = _frame(_stored_projects(session, city.id))
    scores = dict(zip(places.units["unit_code"], places.units["score"], strict=True))
    types = type_labels()
    budget = float(constraints.budget)
    chosen = table[table["chosen"].astype(bool)] if len(table) else table
    # each unit's residents once, however many chosen projects reach them
    host, migrant = float(selection.people_host), float(selection.people_migrant)
    source = _(
        "Urban Inclusion Marker run {run} ({period}) and the city's candidate projects"
    ).format(run=run.id, period=period.label or period.code)

    summary = Section("summary", _("Summary"), new_page=False)
    summary.key_figures(
        [
            KeyFigure(_("Budget"), _money(budget, language)),
            KeyFigure(
                _("Projects chosen"),
                _("{count} of {total}").format(count=len(chosen), total=len(table)),
                _money(float(selection.cost), language),
            ),
            KeyFigure(
                _("People who benefit"),
                fmt.number(host + migrant, language),
                _("{host} host · {migrant} refugees and migrants").format(
                    host=fmt.number(host, language), migrant=fmt.number(migrant, language)
                ),
            ),
            KeyFigure(_("Total benefit (points)"), fmt.number(selection.benefit, language, 1)),
        ]
    )
    summary.p(
        _(
            "With a budget of {budget}, the best combination of candidate projects is the {count} "
            "listed below: together they cost {cost} and reach the neighbourhoods with the "
            "greatest need. Choosing instead by benefit per peso until the money runs out (the "
            "simple rule) would reach {greedy} points, {gap} less."
        ).format(
            budget=_money(budget, language),
            count=len(chosen),
            cost=_money(float(selection.cost), language),
            greedy=fmt.number(selection.greedy_benefit, language, 1),
            gap=fmt.percent(float(selection.gap), language),
        )
    )
    sites = _project_sites(projects, units)
    chosen_codes = set(map(str, selection.chosen))
    points = [(x, y, code in chosen_codes) for code, (x, y) in sites.items()]
    summary.figure(
        Figure(
            project_map(units, scores, points, _("Chosen project"), _("Project not chosen")),
            _("Candidate projects over the neighbourhoods coloured by their marker level"),
            source,
            wide=True,
        )
    )

    curve_section = Section("curve", _("What each budget buys"), new_page=False)
    curve_section.p(
        _(
            "Total benefit of the best choice for each budget. Where the line is steep, a little "
            "more money helps many people; where it is flat, more money adds little."
        )
    )
    curve = budget_curve(
        _frame(plan.curve).to_dict("records"),
        budget,
        budget_title=_("Budget ({currency})").format(currency=CURRENCY),
        benefit_title=_("Total benefit (points)"),
        exact_label=_("Best choice"),
        greedy_label=_("Simple rule (benefit per peso)"),
        budget_label=_("Chosen budget"),
    )
    curve_section.figure(
        Figure(chart_png(curve, language), _("Total benefit as the budget grows"), source)
    )
    curve_rows = [
        [
            _money(float(r["budget"]), language),
            fmt.number(r["benefit"], language, 1),
            fmt.number(r.get("greedy_benefit"), language, 1),
            fmt.number(r.get("projects"), language),
        ]
        for r in _frame(plan.curve).to_dict("records")
    ]
    curve_section.table(
        Table(
            [_("Budget"), _("Best choice"), _("Simple rule"), _("Projects")],
            curve_rows,
            _("Benefit reached at each budget"),
            source,
            numeric=[True, True, True, True],
        )
    )

    projects_section = Section("projects", _("Candidate projects"))
    projects_section.p(
        _(
            "Benefit = need of the neighbourhoods it reaches × people who benefit × expected "
            "effect. People who benefit are those living within the project's reach, from the "
            "census counts."
        )
    )
    ordered = table.sort_values(["chosen", "benefit"], ascending=[False, False])
    rows = [
        [
            _("Yes") if bool(r["chosen"]) else _("No"),
            f"{r['name'] or r['code']} ({r['code']})",
            types.get(str(r["type"]), str(r["type"])),
            _money(float(r["cost"]), language),
            fmt.number(r["beneficiaries_host"], language),
            fmt.number(r["beneficiaries_migrant"], language),
            fmt.number(r["benefit"], language, 1),
            _("Yes") if bool(r["greedy_chosen"]) else _("No"),
        ]
        for r in ordered.to_dict("records")
    ]
    projects_section.table(
        Table(
            [
                _("Chosen"),
                _("Project"),
                _("Type"),
                _("Cost"),
                _("Host population"),
                _("Refugees and migrants"),
                _("Benefit (points)"),
                _("Simple rule"),
            ],
            rows,
            _("Chosen projects first, then the others by benefit"),
            source,
            numeric=[False, False, False, True, True, True, True, False],
            small=True,
        )
    )
    sections = [summary, curve_section, projects_section]

    robust = _frame(getattr(plan, "robust", None))
    if len(robust):
        robust_section = Section("robust", _("How sure is the choice?"), new_page=False)
        robust_section.p(
            _(
                "The marker has uncertainty. The selection was solved again for each of its "
                "{n} simulations: a project chosen in nearly all of them is a safe choice; one "
                "chosen in about half depends on figures we do not know precisely."
            ).format(n=getattr(places, "replicates", "–"))
        )
        robust_rows = [
            [
                f"{r.get('name') or r['code']} ({r['code']})",
                fmt.percent(r["share_chosen"], language, 0),
            ]
            for r in robust.sort_values("share_chosen", ascending=False).to_dict("records")
        ]
        robust_section.table(
            Table(
                [_("Project"), _("Chosen in")],
                robust_rows,
                _("Share of the marker's simulations in which each project is chosen"),
                source,
                numeric=[False, True],
                small=True,
            )
        )
        sections.append(robust_section)

    method = Section("method", _("How the projects were chosen"), new_page=False)
    method.p(
        _(
            "The planner solves an integer program exactly (HiGHS): it maximises the total "
            "benefit of the chosen projects without exceeding the budget, respecting each "
            "project's dependencies and exclusions and the city's rules listed below."
        )
    )
    rules = [
        (_("Budget"), _money(budget, language)),
        (
            _("Minimum share of the benefit for refugees and migrants"),
            fmt.percent(float(getattr(constraints, "min_migrant_share", 0) or 0), language, 0),
        ),
        (
            _("Minimum share of the benefit for the host population"),
            fmt.percent(float(getattr(constraints, "min_host_share", 0) or 0), language, 0),
        ),
    ]
    weights = getattr(places, "weights", {}) or {}
    labels = getattr(places, "area_labels", {}) or {}
    for area, weight in weights.items():
        rules.append(
            (
                _("Weight of {area}").format(area=labels.get(area, area)),
                fmt.number(weight, language, 1),
            )
        )
    method.table(Table([_("Rule"), _("Value")], [list(r) for r in rules], _("Rules used"), source))
    sections.append(method)

    return Document(
        kind="planning",
        language=language,
        title=_("Investment prioritisation"),
        subtitle=city.name,
        city_name=city.name,
        period_label=period.label or period.code,
        generated=(today or date.today()).isoformat(),
        synthetic=bool(city.is_synthetic),
        labels=t,
        sections=sections,
    )


def _stored_projects(session: Session, city_id: int) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(models.PlanningProject).where(models.PlanningProject.city_id == city_id)
    ).all()
    return [
        {
            "code": r.code,
            "longitude": r.longitude,
            "latitude": r.latitude,
            "geometry": r.geometry,
            "unit_codes": r.unit_codes,
        }
        for r in rows
    ]


def write_document(document: Document, out: str | Path) -> int | None:
    """PDF (returns its pages) or HTML by the file's suffix."""
    out = Path(out)
    page = to_html(document)
    if out.suffix.lower() == ".pdf":
        return to_pdf(page, out)
    if out.suffix.lower() in (".html", ".htm"):
        try:
            out.write_text(page, encoding="utf-8")
        except OSError as error:
            raise ReportError(
                _("Cannot write {path} ({reason}); choose another --out.").format(
                    path=out, reason=error.strerror or error
                )
            ) from None
        return None
    raise ReportError(
        _("The output file must end in .pdf or .html, not '{name}'.").format(name=out.name)
    )


def selection_report(
    engine: Engine, city_code: str, plan: Any, out: str | Path, language: str = "es"
) -> int | None:
    """Write the selection report (PDF or HTML) in ``language``; returns the PDF's pages."""
    previous = current_language()
    use_language(language)
    try:
        return write_document(selection_document(engine, city_code, plan, language), out)
    finally:
        use_language(previous)


def units_frame(engine: Engine, city_code: str, level_id: int | None) -> gpd.GeoDataFrame:
    """The city's units of one level with their geometries (code, geometry; EPSG:4326)."""
    with Session(engine) as session:
        city = _city(session, city_code)
        return _units_frame(session, city.id, level_id)


def prepost_maps(
    units: gpd.GeoDataFrame,
    table: pd.DataFrame,
    *,
    marker: bool,
    treated_label: str,
    value_label: str,
    other_label: str,
) -> tuple[str, str]:
    """Two maps on one continuous colour scale (so a change shows as a change of colour):
    the outcome before the project started and after, with the project's neighbourhoods
    outlined. ``table`` has ``unit, role, pre, post`` (NaN where a value is missing or
    withheld, drawn grey); the marker is drawn on its 0-100 scale."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import colormaps
    from matplotlib.colors import Normalize, to_hex
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    frame = units.merge(table, left_on="code", right_on="unit", how="left")
    if not frame.empty:
        frame = frame.to_crs(frame.estimate_utm_crs())
    values = pd.concat([frame["pre"], frame["post"]]).dropna()
    if marker:  # the marker's own 0-100 scale, red (low) to green (high) as its levels
        norm, cmap = Normalize(0.0, 100.0), colormaps["RdYlGn"]
    else:
        low = float(values.min()) if len(values) else 0.0
        high = float(values.max()) if len(values) else 1.0
        norm, cmap = Normalize(low, high if high > low else low + 1.0), colormaps["viridis"]

    def colour(value: float | None) -> str:
        if value is None or pd.isna(value):
            return "#d9d9d9"
        return str(to_hex(cmap(norm(value))))

    images = []
    for column in ("pre", "post"):
        figure, axis = plt.subplots(figsize=(3.6, 3.0))
        if not frame.empty:
            frame.plot(
                ax=axis,
                color=[colour(v) for v in frame[column]],
                edgecolor="white",
                linewidth=0.4,
            )
            treated = frame[frame["role"] == "treated"]
            if not treated.empty:
                treated.boundary.plot(ax=axis, color="#111111", linewidth=2.0)
        handles = [
            Line2D([], [], color="#111111", linewidth=2.0, label=treated_label),
            Patch(facecolor="#d9d9d9", edgecolor="#999999", label=other_label),
        ]
        axis.legend(handles=handles, loc="upper left", bbox_to_anchor=(0.0, -0.02), frameon=False)
        if len(values):
            bar = figure.colorbar(
                matplotlib.cm.ScalarMappable(norm=norm, cmap=cmap), ax=axis, shrink=0.7
            )
            bar.set_label(value_label)
        axis.set_axis_off()
        axis.set_aspect("equal")
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight", pad_inches=0.05)
        plt.close(figure)
        images.append("data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode())
    return images[0], images[1]


def group_labels() -> dict[str, str]:
    return {
        "treated": _("Neighbourhoods with the project"),
        "comparison": _("Comparison neighbourhoods"),
        "synthetic": _("Synthetic comparison"),
    }


def impact_section(
    engine: Engine,
    city_code: str,
    result: Any,
    language: str,
    *,
    project: dict[str, Any],
    units: pd.DataFrame,
    level_id: int | None,
    periods: list[str],
    start_period: str | None,
) -> Section:
    """One project's impact for a report: the verdict in plain words, the estimate with its
    95 % interval, treated vs comparison over time, maps before and after, the assumptions.
    ``result`` is :func:`inclusive_cities.planning.impact.measure_impact`'s."""
    name = str(project.get("name") or project.get("code"))
    section = Section(f"impact-{project.get('code')}", _("Impact: {project}").format(project=name))
    label = result.outcome_label or result.outcome
    source = _("Urban Inclusion Marker runs and indicators of {periods}").format(
        periods=", ".join(periods)
    )
    section.key_figures(
        [
            KeyFigure(_("Estimated effect"), fmt.number(result.estimate, language, 1), label),
            KeyFigure(
                _("95 % confidence interval"),
                fmt.interval(result.ci_low, result.ci_high, language, 1, as_percent=False),
            ),
            KeyFigure(
                _("Significant") if result.significant else _("Not significant"),
                _("Yes") if result.significant else _("No"),
                _p_label(result.p_value),
            ),
        ]
    )
    section.p(result.verdict())
    groups = group_labels()
    trend = [
        {
            "period": str(r["period"]),
            "group": groups.get(str(r["group"]), str(r["group"])),
            "value": float(r["value"]),
        }
        for r in result.tables.get("trend", pd.DataFrame()).to_dict("records")
    ]
    if trend:
        chart = impact_trend(
            trend,
            start=start_period,
            value_title=label,
            period_title=_("Period"),
            start_label=_("First period after the start"),
            groups=list(groups.values()),
        )
        section.figure(
            Figure(
                chart_png(chart, language),
                _("Neighbourhoods with the project and comparison neighbourhoods over time"),
                source,
            )
        )
    if len(units):
        pre, post = prepost_maps(
            units_frame(engine, city_code, level_id),
            units,
            marker=result.outcome == "marker",
            treated_label=_("Neighbourhoods with the project"),
            value_label=label,
            other_label=_("Not compared or no data"),
        )
        first, last = (periods[0], periods[-1]) if periods else ("", "")
        section.figure(Figure(pre, _("Before: {period}").format(period=first), source))
        section.figure(Figure(post, _("After: {period}").format(period=last), source))
        rows = [
            [
                f"{r.get('name') or r['unit']} ({r['unit']})",
                groups.get(str(r["role"]), str(r["role"])),
                fmt.number(r["pre"], language, 1),
                fmt.number(r["post"], language, 1),
                fmt.number(r["change"], language, 1),
            ]
            for r in units.to_dict("records")
        ]
        section.table(
            Table(
                [_("Neighbourhood"), _("Group"), _("Before"), _("After"), _("Change")],
                rows,
                _("Neighbourhood by neighbourhood"),
                source,
                numeric=[False, False, True, True, True],
                small=True,
            )
        )
    section.h3(_("What this rests on"))
    section.p(result.assumptions())
    return section


def impact_report(
    engine: Engine,
    city_code: str,
    result: Any,
    out: str | Path,
    language: str = "es",
    **section: Any,
) -> int | None:
    """Write one project's impact as a report (PDF or HTML by the suffix)."""
    previous = current_language()
    use_language(language)
    try:
        with Session(engine) as session:
            city = _city(session, city_code)
        periods = section.get("periods") or []
        document = Document(
            kind="impact",
            language=language,
            title=_("Impact of projects"),
            subtitle=city.name,
            city_name=city.name,
            period_label=" – ".join(p for p in (periods[:1] + periods[-1:]) if p),
            generated=date.today().isoformat(),
            synthetic=bool(city.is_synthetic),
            labels=report_labels(),
            sections=[impact_section(engine, city_code, result, language, **section)],
            contents=False,
        )
        return write_document(document, out)
    finally:
        use_language(previous)


def _p_label(p_value: float) -> str:
    """'p = 0,034' or 'p < 0,001': a p-value is never printed as zero (as the page and CLI)."""
    from inclusive_cities.planning.impact import p_value_text

    text = p_value_text(p_value)
    return "p " + text if text.startswith("<") else _("p = {p}").format(p=text)
